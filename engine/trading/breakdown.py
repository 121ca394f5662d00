"""A book's daily returns broken down by market regime and by sector, each part with its
Sharpe, hit rate and excess over the universe, and moving-block bootstrap intervals.

- By regime: each day's return is filed under the regime known at the close before it
  (the regime of the previous session: what a trader knew when holding through the day).
- By sector: a sector's contribution on day t is what its positions held at the close of
  t-1 made marked to the close of t, over the book's value at t-1. The day's total
  return minus every sector's contribution is kept as its own part, "trading and costs"
  (fills away from the close, commissions, slippage), so the parts add up to the total.
- Intervals are Bonferroni-adjusted over the parts (level 1 - 0.05 / k for k parts), as
  the model zoo's: a table of k parts is k comparisons, and on noise none may stand out.
- Excess: a part's return minus the universe's equal-weight return times the part's net
  weight at t-1 (the whole book: its net weight); annualized with ``TRADING_DAYS``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from engine.metrics import (
    IC_BLOCK,
    N_BOOT,
    TRADING_DAYS,
    Interval,
    bootstrap_interval,
    sharpe,
    wilson_interval,
)

TRADING_AND_COSTS = "trading and costs"
MIN_BLOCKS = 5  # a part with fewer than this many blocks of days gets no figures (NaN)
BREAKDOWN_COLUMNS = (
    "part",
    "days",
    "sharpe",
    "sharpe_low",
    "sharpe_high",
    "hit_rate",
    "hit_rate_low",
    "hit_rate_high",
    "excess",
    "excess_low",
    "excess_high",
)


def _figures(
    returns: np.ndarray, excess: np.ndarray, *, level: float, block: int, n_boot: int, seed: int
) -> list[float]:
    """Sharpe, hit rate (share of days above 0) and annualized excess, with intervals: the
    moving-block bootstrap for the Sharpe and the excess; Wilson's for the hit rate (the
    percentile bootstrap of a share of days covered 0.5 too rarely on noise: 92%, not 95%)."""
    if len(returns) < MIN_BLOCKS * block:  # a few blocks resample into nonsense intervals
        return [np.nan] * 9
    resample = {"level": level, "block": block, "n_boot": n_boot, "seed": seed}
    parts: list[Interval] = [
        bootstrap_interval(sharpe, returns, **resample),
        wilson_interval(float(np.sum(returns > 0)), len(returns), level),
        bootstrap_interval(lambda e: float(np.mean(e) * TRADING_DAYS), excess, **resample),
    ]
    return [v for i in parts for v in (i.estimate, i.low, i.high)]


def compute_breakdown(
    parts: pd.DataFrame,
    excess: pd.DataFrame,
    *,
    block: int = IC_BLOCK,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per column of ``parts``: its days (non-NaN rows), Sharpe, hit rate and
    annualized excess with intervals at 95% Bonferroni-adjusted over the parts (columns
    ``BREAKDOWN_COLUMNS``); NaN for a part of fewer than ``MIN_BLOCKS`` blocks of days.

    Parameters
    ----------
    parts, excess : DataFrame of shape (T, k)
        Daily returns of each part (NaN on a day the part is not in) and the same parts'
        excess returns, aligned.
    """
    rows, level = [], 1 - 0.05 / max(len(parts.columns), 1)
    for name in parts.columns:
        known = parts[name].notna() & excess[name].notna()
        values = _figures(
            parts.loc[known, name].to_numpy(),
            excess.loc[known, name].to_numpy(),
            level=level,
            block=block,
            n_boot=n_boot,
            seed=seed,
        )
        rows.append([name, int(known.sum()), *values])
    return pd.DataFrame(rows, columns=list(BREAKDOWN_COLUMNS))


def _universe_return(close: pd.DataFrame) -> pd.Series:
    """The equal-weight mean of the tickers' close-to-close returns, by date."""
    return close.pct_change(fill_method=None).mean(axis=1)


def regime_parts(
    returns: pd.Series, net_weight: pd.Series, close: pd.DataFrame, regimes: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The book's daily ``returns`` split into one column per regime (the regime of the
    session before each day), and their excess over the universe at the book's net weight
    of the day before. ``regimes``: regime name by date (rows <= each date only)."""
    known = regimes.reindex(returns.index.union(regimes.index)).ffill().shift(1)
    known = known.reindex(returns.index)
    excess = returns - net_weight.shift(1).reindex(returns.index) * _universe_return(close).reindex(
        returns.index
    )
    names = [n for n in pd.unique(known.dropna())]
    parts = pd.DataFrame({n: returns.where(known == n) for n in names}, index=returns.index)
    excesses = pd.DataFrame({n: excess.where(known == n) for n in names}, index=returns.index)
    return parts, excesses


def sector_parts(
    positions: pd.DataFrame,
    close: pd.DataFrame,
    equity: pd.Series,
    sectors: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each sector's daily contribution to the book's return, the "trading and costs"
    remainder (the parts add up to the return), and each part's excess over the universe.

    Parameters
    ----------
    positions : DataFrame of shape (T, N)
        Shares held at each close (dates x tickers).
    close : DataFrame of shape (T, N)
        Closes of the same tickers and dates (NaN where a ticker has none).
    equity : Series of shape (T,)
        The book's value at each close.
    sectors : ticker -> sector (a ticker without one is its own sector).
    """
    marks = close.ffill()
    held = positions.shift(1).fillna(0.0)
    value_before = (held * marks.shift(1)).fillna(0.0)
    pnl = (held * marks.diff()).fillna(0.0)
    before = equity.shift(1)
    total = equity.pct_change()
    universe = _universe_return(close)
    groups = [sectors.get(t, t) for t in positions.columns]
    contribution = pnl.T.groupby(groups).sum().T.div(before, axis=0)
    weight = value_before.T.groupby(groups).sum().T.div(before, axis=0)
    active = weight.ne(0)
    parts = contribution.where(active)
    excess = (contribution - weight.mul(universe, axis=0)).where(active)
    parts[TRADING_AND_COSTS] = total - contribution.sum(axis=1)
    excess[TRADING_AND_COSTS] = parts[TRADING_AND_COSTS]
    return parts.iloc[1:], excess.iloc[1:]

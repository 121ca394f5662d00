"""Stress tests of a book as it stands at date t: today's weights through past crises, and
shocks to the market.

Conventions (checked by hand in tests/engine/book/test_stress.py):

- The book is its weights at t: each position's value over the book's value (negative
  for a short), the rest in cash, which earns nothing.
- A historical replay holds today's shares through a past window (no trading): the book's
  path is 1 + sum_i w_i (P_i(d) / P_i(start) - 1), from the last close before the window
  to each of its sessions. Only windows that end on or before t are replayed (nothing
  after t is read).
- A name without closes through a window (not yet listed, or another vendor's span) is
  replayed as beta_i times the index's path, and named in ``proxied``; a window the index
  does not cover either is left out.
- beta_i is cov(r_i, r_m) / var(r_m) of daily returns over the ``BETA_SESSIONS`` sessions
  up to t (``engine.book.risk.beta``); a name with fewer than ``MIN_BETA_RETURNS`` returns
  there gets beta 1, named in ``unit_beta``.
- The index shock: the book's return when the index moves by ``shock`` and each name by
  beta_i times it.
- A factor shock: the factor's worst move over ``SHOCK_SESSIONS`` sessions in its return
  history up to t (a momentum crash: the momentum factor's worst month), times the book's
  exposure to it (``B' w`` of the risk model as of t).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.book.risk import beta
from engine.studies.scenarios import Scenario

BETA_SESSIONS = 252
SHOCK_SESSIONS = 21
MIN_BETA_RETURNS = 60
STRESS_COLUMNS = ("scenario", "start", "end", "book_return", "worst_drawdown", "proxied")
FACTOR_SHOCK_COLUMNS = ("factor", "worst_move", "ended", "exposure", "book_return")


@dataclass(frozen=True)
class BookBetas:
    """Each name's beta to the index at t, and the names given beta 1 for want of data."""

    betas: pd.Series
    unit_beta: tuple[str, ...]


def compute_betas(close: pd.DataFrame, index_close: pd.Series, as_of: pd.Timestamp) -> BookBetas:
    """Betas of ``close``'s columns (dates x tickers) to ``index_close`` over the
    ``BETA_SESSIONS`` sessions up to ``as_of`` (rows <= as_of only)."""
    market = index_close.loc[:as_of].pct_change(fill_method=None).iloc[-BETA_SESSIONS:]
    returns = close.loc[:as_of].pct_change(fill_method=None).reindex(market.index)
    betas, unit = {}, []
    for ticker in close.columns:
        known = returns[ticker].notna() & market.notna()
        value = beta(returns[ticker], market) if known.sum() >= MIN_BETA_RETURNS else np.nan
        if not np.isfinite(value):
            unit.append(ticker)
            value = 1.0
        betas[ticker] = value
    return BookBetas(pd.Series(betas, dtype=float), tuple(unit))


def index_shock(weights: pd.Series, betas: pd.Series, shock: float) -> float:
    """The book's return when the index returns ``shock``: sum_i w_i beta_i shock."""
    return float((weights * betas.reindex(weights.index)).sum() * shock)


def _window_paths(
    close: pd.DataFrame, index_close: pd.Series, scenario: Scenario
) -> tuple[pd.DataFrame, pd.Series] | None:
    """Each name's and the index's price relative to the last close before the window,
    over the window's sessions; None when the index does not cover the window."""
    before = index_close.loc[: scenario.start - pd.Timedelta(days=1)].dropna()
    window = index_close.loc[scenario.start : scenario.end].dropna()
    if before.empty or window.empty or window.index[-1] < scenario.end - pd.Timedelta(days=7):
        return None
    dates = window.index
    base = close.loc[: before.index[-1]].iloc[-1:] if len(close) else close
    names = close.reindex(dates) / base.reindex(columns=close.columns).to_numpy()
    return names, window / before.iloc[-1]


def replay_windows(
    weights: pd.Series,
    close: pd.DataFrame,
    index_close: pd.Series,
    betas: pd.Series,
    scenarios: Iterable[Scenario],
    *,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Today's book through each past window that ends by ``as_of`` (module doc).

    Parameters
    ----------
    weights : Series of shape (N,)
        Position value over book value by ticker at ``as_of``.
    close : DataFrame of shape (T, N)
        Closes by date and ticker, dates <= ``as_of``.
    index_close : Series of shape (T,)
        The index's closes, dates <= ``as_of``.
    betas : Series of shape (N,)
        Each name's beta (``compute_betas``).

    Returns
    -------
    DataFrame with ``STRESS_COLUMNS``: the book's return over the window and its worst
    drawdown within it, and the names replayed through the index.
    """
    close, index_close = close.loc[:as_of], index_close.loc[:as_of]
    rows = []
    for scenario in scenarios:
        if scenario.end > as_of:
            continue
        paths = _window_paths(close.reindex(columns=weights.index), index_close, scenario)
        if paths is None:
            continue
        names, market = paths
        missing = [t for t in weights.index if names[t].isna().any()]
        for ticker in missing:  # beta times the index's move, from the same start
            names[ticker] = 1.0 + betas.get(ticker, 1.0) * (market - 1.0)
        value = 1.0 + (names - 1.0).mul(weights, axis=1).sum(axis=1)
        drawdown = float((value / value.cummax().clip(lower=1.0) - 1.0).min())
        rows.append(
            (
                scenario.name,
                scenario.start,
                scenario.end,
                float(value.iloc[-1] - 1.0),
                min(drawdown, 0.0),
                ", ".join(missing),
            )
        )
    return pd.DataFrame(rows, columns=list(STRESS_COLUMNS))


def factor_shocks(
    exposures: pd.Series, factor_returns: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Each factor's worst ``SHOCK_SESSIONS``-session move up to ``as_of`` applied to the
    book's exposure to it (module doc).

    Parameters
    ----------
    exposures : Series of shape (K,)
        The book's factor exposures ``B' w`` by factor name.
    factor_returns : DataFrame of shape (T, K)
        Daily factor returns by date (rows after ``as_of`` are ignored).

    Returns
    -------
    DataFrame with ``FACTOR_SHOCK_COLUMNS``, one row per factor with a full window: the
    worst summed move, the date its window ended, the exposure and the book's return.
    """
    known = factor_returns.loc[:as_of, list(exposures.index)]
    moves = known.rolling(SHOCK_SESSIONS, min_periods=SHOCK_SESSIONS).sum()
    rows = []
    for factor in exposures.index:
        if moves[factor].notna().any():
            ended = moves[factor].idxmin()
            worst = float(moves.at[ended, factor])
            rows.append((factor, worst, ended, float(exposures[factor]), worst * exposures[factor]))
    return pd.DataFrame(rows, columns=list(FACTOR_SHOCK_COLUMNS))

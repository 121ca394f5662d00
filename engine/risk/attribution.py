"""Return attribution of a portfolio: each factor's part, the specific part, exactly.

On day d the portfolio holds weights ``w_d`` (decided with data <= d - 1) and earns
``R_d = sum_i w_i r_i``. With the exposures ``B_{d-1}`` known at the close of d - 1 and the
factor returns ``f_d`` of the same regression (engine.risk.factor_returns), factor j's part
is ``(w_d' B_{d-1})_j f_{d,j}`` and the specific part is ``R_d`` minus the factor parts, so
the parts add up to the total on every day by construction.

Cumulative attribution links the daily parts with Carino's method: with ``R`` the
compounded return to date, ``k_d = ln(1 + R_d) / R_d`` and ``K = ln(1 + R) / R`` (both 1
where the return is 0), a part's cumulative contribution is ``sum_d k_d part_d / K``. The
linked parts add up to the compounded return ``prod(1 + R_d) - 1`` exactly, through every
date (a plain sum of daily parts would add up to the sum of daily returns instead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.metrics import IC_BLOCK, N_BOOT, TRADING_DAYS, bootstrap_interval
from engine.risk.exposures import Exposures

SPECIFIC = "specific"
TRADING_AND_COSTS = "trading and costs"
TOTAL = "total"


@dataclass(frozen=True)
class Attribution:
    """A portfolio's return split into factor and specific parts.

    Attributes
    ----------
    daily : DataFrame of shape (D - 1, K + 2)
        By date from the second date of the exposures: one column per factor, then
        ``specific`` and ``total`` (the portfolio's simple return); each row's parts add
        up to its total.
    cumulative : DataFrame of shape (D - 1, K + 2)
        Carino-linked parts through each date; ``total`` is the compounded return.
    unpriced : Series of shape (D - 1,)
        Held names without a return that day: their weight counts as 0 that day.
    intervals : DataFrame, optional
        ``attribution_intervals`` of ``daily`` where a caller computed them.
    """

    daily: pd.DataFrame
    cumulative: pd.DataFrame
    unpriced: pd.Series
    intervals: pd.DataFrame | None = None


def _linking(returns: np.ndarray) -> np.ndarray:
    """``ln(1 + x) / x`` elementwise, 1 where x is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(returns == 0.0, 1.0, np.log1p(returns) / returns)


def compute_attribution(
    weights: pd.DataFrame,
    returns: pd.DataFrame,
    exposures: Exposures,
    factor_returns: pd.DataFrame,
    *,
    book: pd.Series | None = None,
) -> Attribution:
    """Daily and cumulative factor / specific attribution of a weight history.

    Parameters
    ----------
    weights : DataFrame of shape (D, N)
        Weights held over each date (decided with data <= the previous date); a missing
        weight is 0.
    returns : DataFrame of shape (D, N)
        Simple daily returns dated at the end of their interval.
    exposures : Exposures
        Its dates are the grid; day d uses the exposures of the previous date.
    factor_returns : DataFrame of shape (D, K)
        Factor returns by date (``FactorReturns.returns``); a date without them (NaN)
        puts its whole return in ``specific``.
    book : Series of shape (D,), optional
        The book's own daily return (its value's change: fills away from the close,
        commissions and cash included). Given, ``total`` is the book's return and a
        ``trading and costs`` part (book less holdings) joins the parts.

    Returns
    -------
    Attribution
    """
    grid = {"index": exposures.dates, "columns": exposures.tickers}
    w = weights.reindex(**grid).fillna(0.0).to_numpy(dtype=float)[1:]
    r = returns.reindex(**grid).to_numpy(dtype=float)[1:]
    f = factor_returns.reindex(index=exposures.dates, columns=list(exposures.factors))
    f = f.to_numpy(dtype=float)[1:]
    priced = np.isfinite(r)
    unpriced = ((w != 0) & ~priced).sum(axis=1)
    w = np.where(priced, w, 0.0)
    total = (w * np.where(priced, r, 0.0)).sum(axis=1)
    held = np.einsum("dn,dnk->dk", w, exposures.values[:-1])
    parts = held * np.nan_to_num(f, nan=0.0)
    columns = [*exposures.factors, SPECIFIC]
    daily = np.column_stack([parts, total - parts.sum(axis=1)])
    if book is not None:
        book_return = book.reindex(exposures.dates).to_numpy(dtype=float)[1:]
        book_return = np.where(np.isfinite(book_return), book_return, total)
        daily = np.column_stack([daily, book_return - total])
        columns.append(TRADING_AND_COSTS)
        total = book_return
    daily = np.column_stack([daily, total])
    columns.append(TOTAL)
    if np.any(total <= -1.0):
        raise ValueError("a daily portfolio return of -100% or worse cannot be linked")
    compounded = np.expm1(np.cumsum(np.log1p(total)))
    linked = np.cumsum(daily * _linking(total)[:, None], axis=0)
    cumulative = linked / _linking(compounded)[:, None]
    cumulative[:, -1] = compounded
    dates = exposures.dates[1:]
    return Attribution(
        daily=pd.DataFrame(daily, index=dates, columns=columns),
        cumulative=pd.DataFrame(cumulative, index=dates, columns=columns),
        unpriced=pd.Series(unpriced, index=dates, name="unpriced"),
    )


def attribution_intervals(
    daily: pd.DataFrame, *, block: int = IC_BLOCK, n_boot: int = N_BOOT, seed: int = 0
) -> pd.DataFrame:
    """Each part's mean daily contribution, annualized (times ``TRADING_DAYS``), with a
    moving-block bootstrap interval at 95% Bonferroni-adjusted over the parts.

    Parameters
    ----------
    daily : DataFrame of shape (D, parts)
        ``Attribution.daily``.

    Returns
    -------
    DataFrame indexed by part: ``annual``, ``low``, ``high``; NaN bounds with fewer than
    two blocks of days.
    """
    level = 1 - 0.05 / max(daily.shape[1], 1)
    rows = {}
    for part in daily.columns:
        values = daily[part].dropna().to_numpy()
        mean = float(np.mean(values) * TRADING_DAYS) if len(values) else np.nan
        if len(values) < 2 * block:
            rows[part] = (mean, np.nan, np.nan)
            continue
        found = bootstrap_interval(
            lambda x: float(np.mean(x) * TRADING_DAYS),
            values,
            block=block,
            n_boot=n_boot,
            level=level,
            seed=seed,
        )
        rows[part] = (found.estimate, found.low, found.high)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["annual", "low", "high"])

"""A book's returns by market regime and by sector (a backtest's, the paper account's):
``engine.trading.breakdown`` on the store's regime history and the universe's sectors."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.data.universe import SECTORS
from engine.metrics import N_BOOT
from engine.trading.breakdown import compute_breakdown, regime_parts, sector_parts
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import load_regime_history


@dataclass(frozen=True)
class BookBreakdown:
    """Tables of ``engine.trading.breakdown.BREAKDOWN_COLUMNS``: one row per regime (the
    regime known the session before each day) and one per sector (plus "trading and
    costs"), with Bonferroni-adjusted 95% intervals."""

    by_regime: pd.DataFrame
    by_sector: pd.DataFrame


def break_down_book(
    db_path: DbPath,
    equity: pd.Series,
    positions: pd.DataFrame,
    close: pd.DataFrame,
    *,
    n_boot: int = N_BOOT,
) -> BookBreakdown:
    """The breakdowns of a book whose value by date is ``equity``, holding ``positions``
    (shares, dates x tickers) at each close, marked with ``close`` (same shape); the
    regimes come from the store's market data dated on or before the book's last day."""
    close = close.reindex(index=equity.index, columns=positions.columns)
    net_weight = (positions.fillna(0.0) * close.ffill()).sum(axis=1) / equity
    regimes = load_regime_history(db_path, as_of=equity.index.max())["regime_name"]
    returns = equity.pct_change().iloc[1:]
    by_regime = compute_breakdown(*regime_parts(returns, net_weight, close, regimes), n_boot=n_boot)
    by_sector = compute_breakdown(*sector_parts(positions, close, equity, SECTORS), n_boot=n_boot)
    return BookBreakdown(by_regime, by_sector)

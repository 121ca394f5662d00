"""The paper account's book analysed as a backtest's is: its returns by regime, by sector
and by risk factor, and its book as of a date stressed and decomposed."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.risk import Attribution
from engine.workflows.data.prices import DbPath, load_prices
from engine.workflows.research.book_risk import BookStress, stress_book
from engine.workflows.research.breakdowns import BookBreakdown, break_down_book
from engine.workflows.research.risk_models import attribute_book
from engine.workflows.trading.paper_account import load_paper_state
from store.db import StoreError


@dataclass(frozen=True)
class PaperBookRisk:
    """The paper book's breakdowns and attribution over its steps (None before two
    steps), and its stress as of the date."""

    breakdown: BookBreakdown | None
    attribution: Attribution | None
    stress: BookStress


def paper_positions(fills: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Shares held at each close of ``dates`` (dates x tickers), rebuilt from the fills
    alone: a fill on a session is held at that session's close."""
    if fills.empty:
        return pd.DataFrame(index=dates)
    traded = fills.pivot_table(
        index="fill_date", columns="ticker", values="quantity", aggfunc="sum"
    ).fillna(0.0)
    held = traded.cumsum().reindex(traded.index.union(dates)).ffill().fillna(0.0)
    return held.reindex(dates)


def paper_book_risk(db_path: DbPath, as_of: pd.Timestamp | None = None) -> PaperBookRisk:
    """The paper account's analysis as of its last step on or before ``as_of`` (None: its
    newest): steps, fills and prices dated on or before that step only, the positions
    and cash as they stood then. ``StoreError`` without an account or such a step."""
    state = load_paper_state(db_path, as_of)
    steps = state.steps
    if as_of is not None:
        steps = steps[steps["step_date"] <= pd.Timestamp(as_of)]
    if steps.empty:
        raise StoreError(f"no paper step on or before {pd.Timestamp(as_of):%Y-%m-%d}")
    day = steps["step_date"].iloc[-1]
    equity = steps.set_index("step_date")["equity"].rename_axis("date")
    positions = paper_positions(
        state.fills[state.fills["fill_date"] <= day], pd.DatetimeIndex(equity.index)
    )
    shares = positions.iloc[-1].to_dict() if len(positions.columns) else {}
    stress = stress_book(db_path, shares, float(steps["cash"].iloc[-1]), day, equity)
    if len(equity) < 2:
        return PaperBookRisk(None, None, stress)
    tickers = list(positions.columns)
    prices = load_prices(db_path, tickers, end=day)
    close = prices.pivot_table(index="date", columns="ticker", values="close")
    close = close.reindex(index=equity.index, columns=tickers)
    return PaperBookRisk(
        break_down_book(db_path, equity, positions, close),
        attribute_book(db_path, equity, positions, close) if tickers else None,
        stress,
    )

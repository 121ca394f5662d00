"""Transaction-cost analysis through the store: the paper journal's fills and the broker
mirror's, each against the execution model's estimate (``engine.trading.tca``), and the
slippage guardrail's check.

Paper fills are the execution model's own, so their execution cost equals its estimate
by construction (when the cost model in force is the one the steps used): the analysis
of paper fills checks the journal. Broker fills are the market's: their implementation
shortfall against the decision price (the close the target was decided at) and the
arrival price (the fill session's open: a market day order sent after the close is
queued for that open, and the mirror records no quote at sending) is the realized cost.

Only fills dated on or before the as-of date and prices up to it are used.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from engine.data.calendar import EXCHANGE_TZ, last_session_on_or_before
from engine.features.panel import to_wide
from engine.trading.execution import HISTORY_SESSIONS, corwin_schultz_half_spread, cost_inputs
from engine.trading.paper import PaperParams
from engine.trading.tca import (
    DEFAULT_TOLERANCE_BPS,
    FILL_INPUT_COLUMNS,
    TCA_COLUMNS,
    CostReestimate,
    compute_fill_tca,
    reestimate_costs,
    slippage_reason,
    summarize_tca,
)
from engine.workflows.data.prices import DbPath, load_prices
from store.broker import BrokerRepository
from store.db import open_db
from store.paper import PaperLedger

TcaSource = Literal["paper", "broker"]
TCA_SOURCES = ("paper", "broker")


@dataclass(frozen=True)
class TcaReport:
    """Fills of one ``source`` up to ``as_of`` against the cost model in force.

    ``fills``: one row per fill (``engine.trading.tca.TCA_COLUMNS``); ``summary``: means
    with intervals by side and size bucket; ``reestimate``: the cost model's parameters
    from these fills, beside those in force (never applied); ``unpriced``: broker fills
    left out for want of a fill time or price.
    """

    source: str
    as_of: pd.Timestamp
    fills: pd.DataFrame
    summary: pd.DataFrame
    reestimate: CostReestimate
    unpriced: int = 0


def _session_of(stamps: pd.Series) -> pd.Series:
    """The exchange's date of each UTC timestamp text (NaT where missing or unreadable)."""
    utc = pd.to_datetime(stamps, utc=True, errors="coerce", format="ISO8601")
    return utc.dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None).dt.normalize()


def _decided(client_order_ids: pd.Series, orders: pd.DataFrame) -> pd.DatetimeIndex:
    """The step date of each journal order (NaT for an order the journal does not hold)."""
    steps = orders.set_index("client_order_id")["step_date"]
    return pd.DatetimeIndex(steps.reindex(client_order_ids.to_numpy()).to_numpy())


def _paper_fills(db_path: DbPath, day: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """The journal's fills dated <= ``day`` (``FILL_INPUT_COLUMNS``): a rebalance decided at its
    order's step date, an exit by no close (NaT)."""
    with closing(open_db(db_path)) as db:
        ledger = PaperLedger(db)
        fills, orders = ledger.fills(), ledger.orders()
    fills = fills[fills["fill_date"] <= day]
    decided = _decided(fills["client_order_id"], orders)
    frame = pd.DataFrame(
        {
            "fill_id": fills["fill_id"],
            "date": fills["fill_date"],
            "decided": decided.where((fills["reason"] == "rebalance").to_numpy()),
            "ticker": fills["ticker"],
            "reason": fills["reason"],
            "shares": fills["quantity"].astype(float),
            "fill_price": fills["price"].astype(float),
            "commission": fills["fees"].astype(float),
        },
        columns=list(FILL_INPUT_COLUMNS),
    )
    return frame, 0


def _broker_fills(db_path: DbPath, day: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """The mirror's filled orders whose fill session is <= ``day`` (``FILL_INPUT_COLUMNS``; no
    commission is reported), each decided at its journal order's step date; and how many
    filled orders have no fill time or price."""
    with closing(open_db(db_path)) as db:
        mirror = BrokerRepository(db).orders()
        orders = PaperLedger(db).orders()
    filled = mirror[mirror["filled_qty"].fillna(0.0) != 0].copy()
    filled["session"] = _session_of(filled["filled_at"])
    priced = filled["session"].notna() & np.isfinite(filled["filled_avg_price"])
    unpriced = int((~priced).sum())
    filled = filled[priced & (filled["session"] <= day)]
    frame = pd.DataFrame(
        {
            "fill_id": filled["client_order_id"],
            "date": filled["session"],
            "decided": _decided(filled["client_order_id"], orders),
            "ticker": filled["ticker"],
            "reason": "rebalance",
            "shares": filled["filled_qty"].astype(float),
            "fill_price": filled["filled_avg_price"].astype(float),
            "commission": np.nan,
        },
        columns=list(FILL_INPUT_COLUMNS),
    )
    return frame, unpriced


def fill_costs_as_of(
    db_path: DbPath,
    as_of: pd.Timestamp,
    source: TcaSource = "paper",
    *,
    params: PaperParams | None = None,
) -> tuple[pd.DataFrame, int]:
    """Each fill of ``source`` dated <= ``as_of`` against the estimate of ``params``' cost
    model (``engine.trading.tca.compute_fill_tca``), and the broker fills left unpriced."""
    if source not in TCA_SOURCES:
        raise ValueError(f"source must be one of {', '.join(TCA_SOURCES)}, not {source!r}")
    params = params or PaperParams()
    day = last_session_on_or_before(pd.Timestamp(as_of))
    fills, unpriced = (_paper_fills if source == "paper" else _broker_fills)(db_path, day)
    if fills.empty:
        return pd.DataFrame(columns=list(TCA_COLUMNS)), unpriced
    first = pd.concat([fills["date"], fills["decided"]]).min()
    start = first - pd.Timedelta(days=3 * HISTORY_SESSIONS)  # the cost inputs' history
    tickers = sorted(set(fills["ticker"]))
    prices = load_prices(db_path, tickers, start, day)
    if prices.empty:
        raise ValueError(f"no stored prices of {', '.join(tickers)} to price the fills with")
    panel = to_wide(prices)
    spread = corwin_schultz_half_spread(panel) if params.corwin_schultz_spread else None
    inputs = cost_inputs(panel, params.costs, spread)
    return compute_fill_tca(fills, panel, params.costs, inputs), unpriced


def transaction_costs(
    db_path: DbPath,
    as_of: pd.Timestamp,
    source: TcaSource = "paper",
    *,
    params: PaperParams | None = None,
) -> TcaReport:
    """The transaction-cost analysis of ``source``'s fills up to ``as_of``: per fill,
    summarized, and the cost model re-estimated (shown only: nothing here changes the
    cost model the execution model uses)."""
    params = params or PaperParams()
    tca, unpriced = fill_costs_as_of(db_path, as_of, source, params=params)
    return TcaReport(
        source=source,
        as_of=last_session_on_or_before(pd.Timestamp(as_of)),
        fills=tca,
        summary=summarize_tca(tca),
        reestimate=reestimate_costs(tca, params.costs),
        unpriced=unpriced,
    )


def slippage_check(
    db_path: DbPath,
    as_of: pd.Timestamp,
    tolerance_bps: float = DEFAULT_TOLERANCE_BPS,
    *,
    source: TcaSource = "broker",
    params: PaperParams | None = None,
) -> str | None:
    """The slippage guardrail: a reason (realized and estimated bps, the interval) when
    the realized execution cost of ``source``'s fills dated <= ``as_of`` exceeds the cost
    model's estimate beyond ``tolerance_bps`` (``engine.trading.tca.slippage_reason``);
    None otherwise, and with too few fills. Broker fills by default: paper fills are the
    execution model's own and match its estimate."""
    tca, _ = fill_costs_as_of(db_path, as_of, source, params=params)
    return slippage_reason(tca, tolerance_bps)

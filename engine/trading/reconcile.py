"""Reconciliation of the local paper journal against its broker mirror. Pure functions.

The local journal is the source of truth (it follows the backtest's execution model); the
broker's orders, fills and positions are compared with it and every difference is listed,
never written back: per client order id the status, filled quantity and fill price on
both sides, per ticker the shares held on both sides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from engine.trading.broker import BrokerAccount

ORDER_REPORT_COLUMNS = (
    "client_order_id", "ticker", "mirror_state", "local_status", "broker_status",
    "local_filled_qty", "broker_filled_qty", "local_price", "broker_price", "difference",
)  # fmt: skip
POSITION_REPORT_COLUMNS = ("ticker", "local_qty", "broker_qty", "difference")
# the broker statuses that agree with each local status; any other is a difference
AGREEING_STATUS = {
    "open": {"new", "accepted", "pending_new", "accepted_for_bidding", "held"},
    "filled": {"filled"},
    "cancelled": {"canceled", "expired", "rejected", "done_for_day"},
}
PRICE_TOLERANCE = 0.005  # dollars: half a cent is the same price
QTY_TOLERANCE = 1e-9


@dataclass(frozen=True)
class ReconciliationReport:
    """Local journal vs broker: ``orders`` (``ORDER_REPORT_COLUMNS``), ``positions``
    (``POSITION_REPORT_COLUMNS``), each difference as a line, the broker account (None
    when it was not read) and a one-line summary."""

    orders: pd.DataFrame
    positions: pd.DataFrame
    differences: tuple[str, ...]
    account: BrokerAccount | None
    message: str

    @property
    def matches(self) -> bool:
        return not self.differences


def _number(value: object, missing: float = math.nan) -> float:
    return missing if value is None or pd.isna(value) else float(value)


def _order_differences(row: dict) -> list[str]:
    """What differs between the local and the broker side of one mirrored order."""
    if row["mirror_state"] == "failed":
        return [f"not at the broker: {row['reason']}"]
    if row["broker_status"] is None or pd.isna(row["broker_status"]):
        return ["not found at the broker"]
    found = []
    local, broker = row["local_status"], row["broker_status"]
    if broker not in AGREEING_STATUS.get(local, set()):
        found.append(f"status: local {local}, broker {broker}")
    local_qty, broker_qty = row["local_filled_qty"], row["broker_filled_qty"]
    if abs(local_qty - broker_qty) > QTY_TOLERANCE:
        found.append(f"filled quantity: local {local_qty:g}, broker {broker_qty:g}")
    local_price, broker_price = row["local_price"], row["broker_price"]
    both = math.isfinite(local_price) and math.isfinite(broker_price)
    if both and abs(local_price - broker_price) > PRICE_TOLERANCE:
        bps = (broker_price / local_price - 1.0) * 1e4
        found.append(
            f"fill price: local {local_price:.4f}, broker {broker_price:.4f} ({bps:+.1f} bps)"
        )
    return found


def compare_orders(
    local_orders: pd.DataFrame, local_fills: pd.DataFrame, mirror: pd.DataFrame
) -> pd.DataFrame:
    """One row per order mirrored to the broker (``ORDER_REPORT_COLUMNS``; dry-run records
    are left out: nothing was sent).

    Parameters
    ----------
    local_orders : DataFrame, ``client_order_id``, ``status``
        The local journal's orders.
    local_fills : DataFrame, ``client_order_id``, ``quantity``, ``price``
        The local journal's fills (signed quantities).
    mirror : DataFrame, ``store.broker.BROKER_ORDER_COLUMNS``
        The mirror, with the broker's state as last read.
    """
    sent = mirror[mirror["state"] != "dry_run"]
    status = local_orders.set_index("client_order_id")["status"]
    fills = local_fills.groupby("client_order_id").agg(
        quantity=("quantity", "sum"), price=("price", "mean")
    )
    rows = []
    for order in sent.itertuples(index=False):
        cid = order.client_order_id
        row = {
            "client_order_id": cid,
            "ticker": order.ticker,
            "mirror_state": order.state,
            "local_status": status.get(cid, "missing"),
            "broker_status": order.broker_status,
            "local_filled_qty": float(fills["quantity"].get(cid, 0.0)),
            "broker_filled_qty": _number(order.filled_qty, 0.0),
            "local_price": _number(fills["price"].get(cid)),
            "broker_price": _number(order.filled_avg_price),
            "reason": order.reason,
        }
        row["difference"] = "; ".join(_order_differences(row))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(ORDER_REPORT_COLUMNS))


def compare_positions(local: pd.Series, broker: pd.Series) -> pd.DataFrame:
    """Shares held per ticker on both sides (``POSITION_REPORT_COLUMNS``), every ticker
    held on either side."""
    tickers = sorted(set(local.index[local != 0]) | set(broker.index[broker != 0]))
    frame = pd.DataFrame(
        {
            "ticker": tickers,
            "local_qty": local.reindex(tickers).fillna(0.0).to_numpy(float),
            "broker_qty": broker.reindex(tickers).fillna(0.0).to_numpy(float),
        }
    )
    gap = frame["broker_qty"] - frame["local_qty"]
    frame["difference"] = [
        "" if abs(g) <= QTY_TOLERANCE else f"broker holds {g:+g} shares vs local" for g in gap
    ]
    return frame[list(POSITION_REPORT_COLUMNS)]


def reconcile(
    local_orders: pd.DataFrame,
    local_fills: pd.DataFrame,
    mirror: pd.DataFrame,
    positions: tuple[pd.Series, pd.Series],
    account: BrokerAccount | None = None,
) -> ReconciliationReport:
    """The report: both comparisons (``positions``: shares by ticker, local and broker)
    and every difference, one line each."""
    orders = compare_orders(local_orders, local_fills, mirror)
    held = compare_positions(*positions)
    differences = tuple(
        [f"{r.client_order_id} ({r.ticker}): {r.difference}" for r in orders.itertuples()
         if r.difference]
        + [f"position {r.ticker}: local {r.local_qty:g}, broker {r.broker_qty:g}"
           for r in held.itertuples() if r.difference]
    )  # fmt: skip
    message = f"{len(orders)} mirrored order(s) and {len(held)} position(s) compared: " + (
        f"{len(differences)} difference(s)." if differences else "no differences."
    )
    return ReconciliationReport(orders, held, differences, account, message)

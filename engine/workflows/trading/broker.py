"""The broker mirror through the store: send the journal's open orders, reconcile.

``mirror_orders`` runs after a paper step has committed: it reads the orders the step left
open (to trade at the next open) and mirrors each to the broker under the same client
order id, recording the outcome in ``broker_orders`` only. The local journal (orders,
fills, positions, cash) is read and never written, so a broker that is down or refuses
leaves it exactly as it was; the order's mirror state becomes "failed" with the reason,
and the next run resends it (idempotently: see ``engine.trading.broker.submit``). Before
it is sent, each order passes the pre-trade checks (``engine.trading.pretrade``) against
the prices stored up to its step's date; one refused is recorded "failed" with the
refusing check in ``refused_by`` and is never sent nor tried again.

``reconcile_broker`` reads the broker's orders and positions, stores the broker's side of
each mirrored order in ``broker_orders`` (its ids, status, fills, timestamps) and reports
every difference from the local journal, which stays the source of truth.

Every broker message stored, returned or raised here is redacted (``engine.redaction``:
the keys, tokens, query strings), whatever the broker's answer echoed.
"""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass

import pandas as pd
from alpaca.trading.client import TradingClient

from engine.redaction import redact
from engine.trading.broker import (
    MESSAGE_LIMIT,
    STOPS_SENDING,
    BrokerError,
    BrokerSettings,
    account,
    lookup,
    make_client,
    order_request,
    positions,
    recent_orders,
    request_body,
    submit,
)
from engine.trading.pretrade import PretradeParams, check_orders, market_inputs
from engine.trading.reconcile import (
    ORDER_REPORT_COLUMNS,
    POSITION_REPORT_COLUMNS,
    ReconciliationReport,
    reconcile,
)
from engine.workflows.data.prices import DbPath, load_prices
from store.broker import BrokerRepository
from store.db import open_db
from store.paper import PaperLedger

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class MirrorResult:
    """What a mirror run did: counts by outcome and one message per order."""

    mode: str
    sent: int
    recorded: int  # dry run: recorded as they would be sent
    failed: int
    already: int  # mirrored before: not sent again
    messages: tuple[str, ...]
    refused: int = 0  # refused by a pre-trade check: never sent

    @property
    def message(self) -> str:
        if self.mode == "dry_run":
            return f"Dry run: {self.recorded} order(s) recorded as they would be sent, none sent."
        text = f"{self.sent} order(s) sent to the broker, {self.failed} failed"
        text += f" ({self.refused} refused by a pre-trade check)" if self.refused else ""
        return text + (f", {self.already} mirrored before." if self.already else ".")


def _redacted(exc: BrokerError, settings: BrokerSettings) -> BrokerError:
    """``exc`` with its message redacted of ``settings``' keys and of any token."""
    return BrokerError(exc.kind, redact(str(exc), settings.secrets, MESSAGE_LIMIT), exc.status)


def _describe(order: dict) -> str:
    quantity = float(order["quantity"])
    side = "buy" if quantity > 0 else "sell"
    return f"{side} {abs(quantity):g} {order['ticker']} (market, day)"


def _refusals(
    db_path: DbPath, todo: list[dict], open_orders: pd.DataFrame, sent: set, params: PretradeParams
) -> dict[str, tuple[str, str]]:
    """The pre-trade refusals of the orders in ``todo``, by client order id: (check,
    reason). Each step's orders are checked against the prices stored up to its date, the
    shares the local journal holds, and that step's orders already sent."""
    if not todo:
        return {}
    frame = pd.DataFrame(todo)
    tickers = sorted(set(frame["ticker"]))
    start = frame["step_date"].min() - pd.Timedelta(days=3 * params.adv_sessions)
    prices = load_prices(db_path, tickers, start, frame["step_date"].max())
    with closing(open_db(db_path)) as db:
        held = PaperLedger(db).positions().set_index("ticker")["quantity"].astype(float)
    refused = {}
    for day, orders in frame.groupby("step_date"):
        same_day = open_orders[open_orders["step_date"] == day]
        placed = same_day[same_day["client_order_id"].isin(sent)]
        market = market_inputs(prices, day, params.adv_sessions)
        verdicts = check_orders(orders, market, held, params, placed)
        for verdict in verdicts[verdicts["check"] != ""].itertuples():
            refused[verdict.client_order_id] = (verdict.check, verdict.reason)
    return refused


def mirror_orders(
    db_path: DbPath,
    settings: BrokerSettings,
    *,
    client: TradingClient | None = None,
    pretrade: PretradeParams | None = None,
) -> MirrorResult:
    """Mirror the journal's open orders to the broker (``settings.mode``).

    Every order not yet mirrored passes the pre-trade checks (``pretrade``, default
    limits) first: one refused is recorded failed with the check (``refused_by``) and its
    reason, is not sent, and is not tried again. Dry run: record each order's body as it
    would be sent; no HTTP call. Paper: send each order not yet at the broker; after the
    broker is found down or refuses the keys, the remaining orders are not tried (each is
    recorded failed with that reason). ``client`` replaces the one ``make_client`` builds
    (tests).
    """
    with closing(open_db(db_path)) as db:
        open_orders = PaperLedger(db).orders("open")
        mirror = BrokerRepository(db).orders().set_index("client_order_id")
    states, refused_before = mirror["state"], mirror.index[mirror["refused_by"] != ""]
    sent = set(mirror.index[states == "sent"])
    todo = [
        o
        for o in open_orders.to_dict("records")
        if o["client_order_id"] not in sent and o["client_order_id"] not in refused_before
    ]
    already = int(open_orders["client_order_id"].isin(sent).sum())
    refusals = _refusals(db_path, todo, open_orders, sent, pretrade or PretradeParams())
    if settings.mode == "paper" and len(todo) > len(refusals) and client is None:
        client = make_client(settings)
    messages, counts, stopped = [], {"sent": 0, "dry_run": 0, "failed": 0}, ""
    with closing(open_db(db_path)) as db:
        repository = BrokerRepository(db)
        for order in todo:
            cid = order["client_order_id"]
            attempts = int(mirror["attempts"].get(cid, 0))
            row = {"ticker": order["ticker"], "mode": settings.mode, "request_json": ""}
            if cid in refusals:
                check, reason = refusals[cid]
                text = f"refused by the pre-trade check {check}: {reason}"
                repository.record(cid, **row, state="failed", reason=text, refused_by=check)
                messages.append(f"{cid}: not sent: {text}")
                continue
            try:
                request = order_request(order)
                row["request_json"] = request_body(request)
                if settings.mode == "dry_run":
                    repository.record(cid, **row, state="dry_run", reason="")
                    counts["dry_run"] += 1
                    messages.append(f"{cid}: dry run, would {_describe(order)}")
                    continue
                if stopped:
                    raise BrokerError("unavailable", f"not sent: {stopped}")
                attempts += 1
                placed, resent = submit(client, request)
            except BrokerError as raw:
                exc = _redacted(raw, settings)
                repository.record(cid, **row, state="failed", reason=str(exc), attempts=attempts)
                counts["failed"] += 1
                messages.append(f"{cid}: failed: {exc}")
                LOG.warning("broker mirror of %s failed: %s", cid, exc)
                stopped = stopped or (str(exc) if exc.kind in STOPS_SENDING else "")
                continue
            row |= placed.state()
            repository.record(cid, **row, state="sent", reason="", attempts=attempts)
            counts["sent"] += 1
            how = "already at the broker (a resend), found by client order id" if resent else "sent"
            messages.append(f"{cid}: {how}: {_describe(order)}, broker status {placed.status}")
    return MirrorResult(
        settings.mode,
        counts["sent"],
        counts["dry_run"],
        counts["failed"],
        already,
        tuple(messages),
        len(refusals),
    )


def reconcile_broker(
    db_path: DbPath, settings: BrokerSettings, *, client: TradingClient | None = None
) -> ReconciliationReport:
    """Read the broker's orders, fills and positions, record the broker's side of each
    mirrored order, and compare with the local journal (which is never written).

    Raises ``BrokerError`` when the broker cannot be read (down, bad keys): nothing is
    written then. Dry run: nothing was sent, so nothing is read; the report says so.
    """
    with closing(open_db(db_path)) as db:
        ledger = PaperLedger(db)
        local_orders, local_fills = ledger.orders(), ledger.fills()
        held = ledger.positions().set_index("ticker")["quantity"].astype(float)
        mirror = BrokerRepository(db).orders()
    if settings.mode == "dry_run":
        return ReconciliationReport(
            pd.DataFrame(columns=list(ORDER_REPORT_COLUMNS)),
            pd.DataFrame(columns=list(POSITION_REPORT_COLUMNS)),
            (),
            None,
            "Dry-run mode: nothing was sent to the broker, so there is nothing to reconcile.",
        )
    try:
        broker_account, found, broker_held = _read_broker(client or make_client(settings), mirror)
    except BrokerError as exc:
        raise _redacted(exc, settings) from None
    with closing(open_db(db_path)) as db:
        repository = BrokerRepository(db)
        for cid in mirror.loc[mirror["state"] != "dry_run", "client_order_id"]:
            if cid in found:  # a failed send the broker did get is at the broker: sent
                repository.record(cid, **found[cid].state(), state="sent", reason="")
        mirror = repository.orders()
    return reconcile(local_orders, local_fills, mirror, (held, broker_held), broker_account)


def _read_broker(client: TradingClient, mirror: pd.DataFrame) -> tuple:
    """The broker's account, its orders by client order id (each mirrored order sent
    looked up when not among the newest) and its positions."""
    broker_account = account(client)
    found = recent_orders(client)
    for cid in mirror.loc[mirror["state"] == "sent", "client_order_id"]:
        if cid not in found:
            try:
                found[cid] = lookup(client, cid)
            except BrokerError as exc:
                if exc.kind != "not_found":
                    raise
    return broker_account, found, positions(client)


def load_broker_orders(db_path: DbPath) -> pd.DataFrame:
    """The mirror, one row per order (``store.broker.BROKER_ORDER_COLUMNS``)."""
    with closing(open_db(db_path)) as db:
        return BrokerRepository(db).orders()

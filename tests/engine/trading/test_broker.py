"""The broker mirror on recorded HTTP answers (tests/fixtures/alpaca, hand-built in the
documented Alpaca API v2 shapes): dry run, the exact bodies sent, idempotent resends,
reconciliation, a broker that is down or refuses, bad keys, hostile settings."""

from __future__ import annotations

import json
import logging
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
import requests

from engine import workflows
from engine.trading.broker import BrokerSettings, make_client
from store.broker import BrokerRepository
from store.db import open_db
from store.paper import PaperLedger
from tests.alert_servers import free_port, silent_port
from tests.recorded_http import recorded_session

KEY, SECRET = "PKTESTKEY0123456789", "test-secret-0123456789abcdefghij"
PAPER = BrokerSettings(mode="paper", key_id=KEY, secret_key=SECRET)
ORDERS, BY_ID = "/v2/orders", "/v2/orders:by_client_order_id"
ORDERS_ = [("20180702-AAPL", "AAPL", 100.0), ("20180702-KO", "KO", 200.0)]
BODIES = [
    {"client_order_id": cid, "qty": qty, "side": "buy", "symbol": ticker}
    | {"time_in_force": "day", "type": "market"}
    for cid, ticker, qty in ORDERS_
]
ACCEPTED = [(200, "alpaca/order_AAPL_accepted.json"), (200, "alpaca/order_KO_accepted.json")]


@pytest.fixture
def journal(tmp_path) -> Path:
    """A paper account whose step on 2018-07-02 left two buy orders open."""
    path = tmp_path / "broker.db"
    with closing(open_db(path)) as db:
        ledger = PaperLedger(db)
        ledger.open_account(1_000_000.0)
        for cid, ticker, qty in ORDERS_:
            ledger.add_order(
                {"client_order_id": cid, "step_date": "2018-07-02", "ticker": ticker}
                | {"quantity": qty, "target_weight": 0.02}
            )
    return path


def broker(*routes) -> tuple:
    """A client on recorded answers: ``routes`` are (method, path, answers, params)."""
    session, adapter = recorded_session()
    for method, path, answers, params in routes:
        adapter.add(path, answers, method=method, **params)
    return make_client(PAPER, session=session), adapter


def posts(adapter) -> list:
    return [body for method, path, body in adapter.bodies if method == "POST"]


def local_tables(path: Path) -> bytes:
    """Every row of the local journal's tables (paper_*), as bytes."""
    with closing(open_db(path)) as db:
        names = sorted(n for n in db.table_names() if n.startswith("paper_"))
        rows = {n: db.execute(f"SELECT * FROM {n} ORDER BY 1").fetchall() for n in names}
    return json.dumps(rows).encode()


def mirror_rows(path: Path) -> pd.DataFrame:
    return workflows.load_broker_orders(path).set_index("client_order_id")


def fill_locally(path: Path, prices: dict[str, float]) -> None:
    """The next step's fills, as the execution model books them (one per order)."""
    with closing(open_db(path)) as db:
        ledger = PaperLedger(db)
        for cid, ticker, qty in ORDERS_:
            ledger.record_fill(
                {"fill_id": f"fill-{cid}", "client_order_id": cid, "fill_date": "2018-07-03"}
                | {"ticker": ticker, "quantity": qty, "price": prices[ticker], "fees": 1.0}
            )


def test_dry_run_records_each_body_and_sends_nothing(journal, monkeypatch) -> None:
    def no_http(*args, **kwargs):
        raise AssertionError("a dry run made an HTTP call")

    monkeypatch.setattr(requests.Session, "send", no_http)
    before = local_tables(journal)
    result = workflows.mirror_orders(journal, BrokerSettings())
    assert result.mode == "dry_run" and result.recorded == 2 and result.sent == 0
    assert result.messages[0] == "20180702-AAPL: dry run, would buy 100 AAPL (market, day)"
    rows = mirror_rows(journal)
    assert (rows["state"] == "dry_run").all() and (rows["attempts"] == 0).all()
    assert [json.loads(b) for b in rows["request_json"]] == BODIES
    assert rows["broker_order_id"].isna().all()
    assert local_tables(journal) == before
    report = workflows.reconcile_broker(journal, BrokerSettings())
    assert "nothing to reconcile" in report.message and report.matches


def test_paper_mode_sends_the_exact_body_of_each_order(journal) -> None:
    client, adapter = broker(("POST", ORDERS, ACCEPTED, {}))
    before = local_tables(journal)
    result = workflows.mirror_orders(journal, PAPER, client=client)
    assert (result.sent, result.failed) == (2, 0), result.messages
    assert posts(adapter) == BODIES  # symbol, qty, side, type, time_in_force, client_order_id
    assert [p for p in adapter.requests if p["path"] != ORDERS] == []
    rows = mirror_rows(journal)
    assert (rows["state"] == "sent").all() and (rows["attempts"] == 1).all()
    assert rows.at["20180702-AAPL", "broker_order_id"] == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    assert rows.at["20180702-AAPL", "broker_status"] == "accepted"
    assert rows.at["20180702-AAPL", "submitted_at"] == "2018-07-02T20:05:00.120000Z"
    assert [json.loads(b) for b in rows["request_json"]] == BODIES  # recorded = sent
    assert local_tables(journal) == before
    again = workflows.mirror_orders(journal, PAPER, client=client)
    assert (again.sent, again.already) == (0, 2) and len(posts(adapter)) == 2  # nothing resent


def test_a_resend_finds_the_order_by_client_order_id_instead_of_a_second_one(journal) -> None:
    refused = requests.ConnectionError("Connection refused")  # yet the POST reached it
    client, adapter = broker(("POST", ORDERS, [refused], {}))
    first = workflows.mirror_orders(journal, PAPER, client=client)
    assert (first.sent, first.failed) == (0, 2)
    assert "cannot be reached" in first.messages[0] and "not sent" in first.messages[1]
    assert posts(adapter) == BODIES[:1]  # the broker is down: KO is not tried
    assert (mirror_rows(journal)["state"] == "failed").all()
    duplicate = (422, "alpaca/error_duplicate_client_order_id.json")
    client, adapter = broker(
        ("POST", ORDERS, [duplicate, (200, "alpaca/order_KO_accepted.json")], {}),
        ("GET", BY_ID, [(200, "alpaca/order_AAPL_accepted.json")], {}),
    )
    second = workflows.mirror_orders(journal, PAPER, client=client)
    assert (second.sent, second.failed) == (2, 0), second.messages
    assert "already at the broker (a resend), found by client order id" in second.messages[0]
    assert posts(adapter) == BODIES  # AAPL's POST is refused as a duplicate: no second order
    lookups = [r for r in adapter.requests if r["path"] == BY_ID]
    assert lookups == [{"path": BY_ID, "client_order_id": "20180702-AAPL"}]
    rows = mirror_rows(journal)
    assert (rows["state"] == "sent").all() and rows.at["20180702-AAPL", "attempts"] == 2
    assert rows.at["20180702-AAPL", "broker_order_id"] == "61e69015-8549-4bfd-b9c3-01e75843f47d"


def test_reconciliation_lists_a_partial_fill_a_price_difference_and_positions(journal) -> None:
    client, _ = broker(("POST", ORDERS, ACCEPTED, {}))
    workflows.mirror_orders(journal, PAPER, client=client)
    fill_locally(journal, {"AAPL": 187.50, "KO": 43.80})
    before = local_tables(journal)
    client, adapter = broker(
        ("GET", "/v2/account", [(200, "alpaca/account.json")], {}),
        ("GET", ORDERS, [(200, "alpaca/orders_all.json")], {"status": "all", "limit": "500"}),
        ("GET", "/v2/positions", [(200, "alpaca/positions.json")], {}),
    )
    report = workflows.reconcile_broker(journal, PAPER, client=client)
    assert local_tables(journal) == before  # broker fills never overwrite local ones
    orders = report.orders.set_index("client_order_id")
    aapl, ko = orders.loc["20180702-AAPL"], orders.loc["20180702-KO"]
    assert (aapl["local_status"], aapl["broker_status"]) == ("filled", "filled")
    assert (aapl["local_price"], aapl["broker_price"]) == (187.50, 187.62)
    assert aapl["difference"] == "fill price: local 187.5000, broker 187.6200 (+6.4 bps)"
    assert (ko["local_filled_qty"], ko["broker_filled_qty"]) == (200.0, 120.0)
    assert ko["difference"] == (
        "status: local filled, broker partially_filled; filled quantity: local 200, broker 120"
    )
    held = report.positions.set_index("ticker")
    assert held.loc["AAPL", "difference"] == ""
    assert held.loc["KO", "difference"] == "broker holds -80 shares vs local"
    assert report.differences == (
        "20180702-AAPL (AAPL): fill price: local 187.5000, broker 187.6200 (+6.4 bps)",
        "20180702-KO (KO): status: local filled, broker partially_filled; "
        "filled quantity: local 200, broker 120",
        "position KO: local 200, broker 120",
    )
    assert not report.matches and "3 difference(s)" in report.message
    assert report.account.status == "ACTIVE" and report.account.equity == 1_000_040.0
    rows = mirror_rows(journal)  # the broker's side, with its ids and timestamps
    assert rows.at["20180702-KO", "broker_status"] == "partially_filled"
    assert rows.at["20180702-KO", "filled_qty"] == 120.0
    assert rows.at["20180702-AAPL", "filled_at"] == "2018-07-03T13:30:01.234567Z"
    assert rows.at["20180702-AAPL", "filled_avg_price"] == 187.62


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (requests.ConnectionError("[Errno 111] Connection refused"), "cannot be reached"),
        ((503, "alpaca/error_503.html"), "unavailable (HTTP 503: <html>"),
    ],
)
def test_a_broker_that_is_down_leaves_the_journal_byte_identical(journal, answer, reason) -> None:
    client, adapter = broker(("POST", ORDERS, [answer], {}))
    before = local_tables(journal)
    result = workflows.mirror_orders(journal, PAPER, client=client)
    assert local_tables(journal) == before
    assert (result.sent, result.failed) == (0, 2) and len(posts(adapter)) == 1
    rows = mirror_rows(journal)
    assert (rows["state"] == "failed").all()
    assert reason in rows.at["20180702-AAPL", "reason"]
    assert rows.at["20180702-KO", "reason"].startswith("not sent: the broker")
    assert rows.at["20180702-KO", "attempts"] == 0
    client, adapter = broker(("POST", ORDERS, ACCEPTED, {}))  # back up: the retry sends both
    retry = workflows.mirror_orders(journal, PAPER, client=client)
    assert retry.sent == 2 and posts(adapter) == BODIES
    assert local_tables(journal) == before


def test_a_refusal_is_recorded_per_order_and_the_journal_is_untouched(journal) -> None:
    refusals = [(403, "alpaca/error_insufficient_buying_power.json")]
    refusals.append((422, "alpaca/error_unprocessable_qty.json"))
    client, adapter = broker(("POST", ORDERS, refusals, {}))
    before = local_tables(journal)
    result = workflows.mirror_orders(journal, PAPER, client=client)
    assert local_tables(journal) == before
    assert (result.sent, result.failed) == (0, 2) and posts(adapter) == BODIES  # each tried
    rows = mirror_rows(journal)
    assert rows.at["20180702-AAPL", "reason"] == (
        "the broker refused (HTTP 403, code 40310000: insufficient buying power)"
    )
    assert rows.at["20180702-KO", "reason"] == (
        "the broker refused (HTTP 422, code 40010001: qty must be > 0)"  # not a duplicate
    )
    assert "20180702-AAPL: failed: the broker refused (HTTP 403" in result.messages[0]


def test_bad_keys_say_so_and_never_show_the_keys(journal, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client, adapter = broker(
        ("POST", ORDERS, [(401, "alpaca/error_unauthorized.json")], {}),
        ("GET", "/v2/account", [(401, "alpaca/error_unauthorized.json")], {}),
    )
    result = workflows.mirror_orders(journal, PAPER, client=client)
    assert result.failed == 2 and len(posts(adapter)) == 1  # the keys fail every order
    reason = mirror_rows(journal).at["20180702-AAPL", "reason"]
    assert reason.startswith("the broker refused the API keys (HTTP 401: unauthorized.)")
    assert "ALPACA_API_KEY_ID" in reason and "ALPACA_API_SECRET_KEY" in reason
    with pytest.raises(workflows.BrokerError, match="refused the API keys") as raised:
        workflows.reconcile_broker(journal, PAPER, client=client)
    assert raised.value.kind == "unauthorized" and raised.value.status == 401
    shown = " ".join([*result.messages, caplog.text, repr(PAPER), str(raised.value)])
    assert KEY not in shown and SECRET not in shown
    assert journal.read_bytes().find(SECRET.encode()) == -1


def test_a_silent_broker_times_out_and_a_closed_port_is_refused(journal) -> None:
    quick = BrokerSettings(mode="paper", key_id=KEY, secret_key=SECRET, timeout_s=0.5)
    with silent_port() as port:
        client = make_client(quick, url_override=f"http://127.0.0.1:{port}")
        result = workflows.mirror_orders(journal, quick, client=client)  # the timeout ends it
    assert result.failed == 2 and "did not answer in time" in result.messages[0]
    client = make_client(quick, url_override=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(workflows.BrokerError, match="cannot be reached") as raised:
        workflows.reconcile_broker(journal, quick, client=client)
    assert raised.value.kind == "unavailable"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mode": "live"}, "broker_mode must be one of dry_run, paper"),
        ({"mode": "PAPER"}, "broker_mode must be one of"),
        ({"mode": ""}, "broker_mode must be one of"),
        ({"mode": "paper"}, "paper mode needs both ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY"),
        ({"mode": "paper", "key_id": KEY, "secret_key": "  "}, "paper mode needs both"),
        ({"key_id": "PK with space"}, "ALPACA_API_KEY_ID must be at most 256 printable"),
        ({"secret_key": "sec\nret"}, "ALPACA_API_SECRET_KEY must be at most"),
        ({"key_id": 12345}, "ALPACA_API_KEY_ID must be text"),
        ({"timeout_s": 0}, "timeout_s must be above 0"),
        ({"timeout_s": "10"}, "timeout_s must be a number"),
        ({"timeout_s": True}, "timeout_s must be a number"),
    ],
)
def test_hostile_settings_are_refused_by_name(values, message) -> None:
    with pytest.raises(workflows.BrokerSettingsError, match=message) as raised:
        BrokerSettings(**values)
    assert "sec\nret" not in str(raised.value) and "PK with space" not in str(raised.value)


def test_settings_from_secrets_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"broker_mode": "paper", "api_key_id": KEY, "api_secret_key": SECRET}
    assert workflows.parse_broker_settings(table) == PAPER
    with pytest.raises(workflows.BrokerSettingsError, match="unknown broker setting.*mode"):
        workflows.parse_broker_settings({"mode": "paper"})
    assert workflows.broker_settings().mode == "dry_run"  # dry run by default
    monkeypatch.setenv("WORKBENCH_BROKER_MODE", "paper")
    monkeypatch.setenv("ALPACA_API_KEY_ID", KEY)
    monkeypatch.setenv("ALPACA_API_SECRET_KEY", SECRET)
    assert workflows.broker_settings() == PAPER
    with pytest.raises(workflows.BrokerSettingsError, match="dry-run mode sends nothing"):
        make_client(BrokerSettings())


def test_a_real_step_s_orders_are_mirrored_under_their_client_order_ids(seeded_db) -> None:
    targets = pd.DataFrame(
        {"target_weight": [0.1, 0.05], "stop": [float("nan")] * 2}
        | {"take_profit": [float("nan")] * 2, "trailing": [False, False]},
        index=pd.Index(["AAPL", "KO"], name="ticker"),
    )
    day = pd.Timestamp("2018-07-02")
    step = workflows.paper_step(seeded_db, day, ["AAPL", "KO"], targets=targets)
    assert step.status == "done" and step.orders == 2
    placed = workflows.load_paper_state(seeded_db).orders
    before = local_tables(seeded_db)
    result = workflows.mirror_orders(seeded_db, BrokerSettings())
    assert local_tables(seeded_db) == before and result.recorded == 2
    with closing(open_db(seeded_db)) as db:
        rows = BrokerRepository(db).orders()
    assert list(rows["client_order_id"]) == ["20180702-AAPL", "20180702-KO"]
    sent = [json.loads(b) for b in rows["request_json"]]
    assert [b["qty"] for b in sent] == list(placed["quantity"].abs())
    assert all(b["side"] == "buy" and b["time_in_force"] == "day" for b in sent)

"""The Broker page in AppTest: dry run by default (no HTTP), the mirror and the report,
hostile settings named."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.workflows.trading import broker as broker_workflow
from store.db import open_db
from store.paper import PaperLedger
from tests.builders import toml_table
from tests.engine.trading.test_broker import KEY, ORDERS, PAPER, SECRET, broker
from tests.engine.trading.test_broker_redaction import BEARER, QUERY_TOKEN, stored_text


def open_one_order(path: Path) -> None:
    """A paper account whose step on 2018-07-02 left one buy order open."""
    with closing(open_db(path)) as db:
        ledger = PaperLedger(db)
        ledger.open_account(1_000_000.0)
        ledger.add_order(
            {"client_order_id": "20180702-AAPL", "step_date": "2018-07-02", "ticker": "AAPL"}
            | {"quantity": 100.0, "target_weight": 0.02}
        )


def open_broker(at: AppTest) -> AppTest:
    at.switch_page("views/broker.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_dry_run_mirrors_and_says_there_is_nothing_to_reconcile(
    app: AppTest, seeded_db: Path
) -> None:
    open_one_order(seeded_db)
    at = open_broker(app)
    assert [t.value for t in at.title] == ["Broker"]
    assert any("**dry run**" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Mirror to broker").click().run()
    assert any("Dry run: 1 order(s) recorded" in s.value for s in at.success)
    assert any("would buy 100 AAPL (market, day)" in m.value for m in at.markdown)
    mirrored = next(d.value for d in at.dataframe if "request_json" in d.value.columns)
    assert list(mirrored["state"]) == ["dry_run"]
    next(b for b in at.button if b.label == "Reconcile").click().run()
    assert any("nothing to reconcile" in s.value for s in at.success)


def test_hostile_settings_are_named_and_nothing_runs(
    app: AppTest, secrets_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_BROKER_MODE", "live")
    at = open_broker(app)
    assert any("broker_mode must be one of dry_run, paper" in e.value for e in at.error)
    assert not [b for b in at.button if b.label == "Mirror to broker"]
    monkeypatch.setenv("WORKBENCH_BROKER_MODE", "paper")
    at = open_broker(app)
    assert any("paper mode needs both ALPACA_API_KEY_ID" in e.value for e in at.error)
    monkeypatch.setenv("WORKBENCH_BROKER_MODE", "dry_run")
    secrets_file.write_text("[broker]\ntimeout_s = 'soon'\n")
    at = open_broker(app)
    assert any(e.value.startswith("Settings: broker.timeout_s (") for e in at.error)


def test_the_environment_wins_over_the_secrets_file(
    app: AppTest, secrets_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file asks for paper mode (alone, it is used: the test above), the environment
    for a dry run: a dry run (this page once read the file first, the Sources page the
    environment first)."""
    paper = {"broker_mode": "paper", "api_key_id": KEY, "api_secret_key": SECRET}
    secrets_file.write_text(toml_table("broker", paper))
    monkeypatch.setenv("WORKBENCH_BROKER_MODE", "dry_run")
    at = open_broker(app)
    assert any("**dry run**" in i.value for i in at.info) and not at.error


def test_an_echoing_broker_s_errors_are_shown_redacted(
    app: AppTest, seeded_db: Path, secrets_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paper mode against recorded answers that echo the keys, a bearer token and a query
    token: the page's messages, error and table show none of them."""
    open_one_order(seeded_db)
    echo = [(403, "alpaca/error_echoes_keys.json")]
    client, _ = broker(("POST", ORDERS, echo, {}), ("GET", "/v2/account", echo, {}))
    monkeypatch.setattr(broker_workflow, "make_client", lambda settings: client)
    paper = {"broker_mode": "paper", "api_key_id": KEY, "api_secret_key": SECRET}
    secrets_file.write_text(toml_table("broker", paper))
    at = open_broker(app)
    assert PAPER.mode == "paper" and any("**paper**" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Mirror to broker").click().run()
    next(b for b in at.button if b.label == "Reconcile").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(e.startswith("Reconciliation failed: the broker refused (HTTP 403") for e in errors)
    reasons = [str(d.value.get("reason", "")) for d in at.dataframe]
    shown = [*errors, *(m.value for m in at.markdown), *(w.value for w in at.warning), *reasons]
    assert any("failed: the broker refused (HTTP 403" in s for s in shown)
    for secret in (KEY, SECRET, BEARER, QUERY_TOKEN):
        assert not any(secret in s for s in shown), secret
        assert secret not in stored_text(seeded_db)

"""A broker whose errors echo the keys, a bearer token or a query string with a token: the
message stored in ``broker_orders``, returned by the workflow and raised by the
reconciliation holds none of them (recorded answers, tests/fixtures/alpaca). A broker
endpoint that redirects is not followed (a local server on 127.0.0.1)."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import pytest
import requests

from engine import workflows
from engine.redaction import redact
from engine.trading.broker import BrokerSettings, make_client
from store.db import open_db
from tests.alert_servers import webhook_server
from tests.engine.trading.test_broker import KEY, ORDERS, PAPER, SECRET, broker
from tests.engine.trading.test_broker import journal as journal  # noqa: F401 - the fixture
from tests.recorded_http import recorded_session

BEARER, QUERY_TOKEN = "eyJhbGciOiJIUzI1NiJ9.echoed.token", "qs-token-0123456789"
HEADER_TOKEN = "hdr-token-0123456789"
HIDDEN = (KEY, SECRET, BEARER, QUERY_TOKEN, HEADER_TOKEN)


def stored_text(path: Path) -> str:
    """Every value of ``broker_orders``, as one text."""
    with closing(open_db(path)) as db:
        return repr(db.execute("SELECT * FROM broker_orders").fetchall())


def assert_hidden(*texts: str, secrets: tuple[str, ...] = HIDDEN) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret!r} shown in {text!r}"
            assert secret[:12] not in text, f"part of {secret!r} shown in {text!r}"


def body_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)  # absolute: the recorded adapter reads it as it is


@pytest.mark.parametrize(
    ("answer", "kind", "shown"),
    [
        ((403, "alpaca/error_echoes_keys.json"), "refused", "HTTP 403, code 40310000"),
        ((401, "alpaca/error_echoes_headers.txt"), "unauthorized", "refused the API keys"),
        (
            requests.ConnectionError(
                f"HTTPSConnectionPool(host='paper-api.alpaca.markets'): Max retries exceeded "
                f"with url: /v2/orders?access_token={QUERY_TOKEN} (key {KEY})"
            ),
            "unavailable",
            "cannot be reached",
        ),
    ],
)
def test_an_echoing_broker_shows_no_secret_when_mirroring(journal, answer, kind, shown) -> None:
    client, adapter = broker(("POST", ORDERS, [answer], {}))
    result = workflows.mirror_orders(journal, PAPER, client=client)
    assert result.failed == 2 and len(adapter.bodies) >= 1
    reasons = list(workflows.load_broker_orders(journal)["reason"])
    assert shown in reasons[0] and "***" in reasons[0]
    assert_hidden(*reasons, *result.messages, result.message, stored_text(journal))


def test_reconciliation_raises_a_redacted_error(journal) -> None:
    client, _ = broker(("GET", "/v2/account", [(403, "alpaca/error_echoes_keys.json")], {}))
    with pytest.raises(workflows.BrokerError) as raised:
        workflows.reconcile_broker(journal, PAPER, client=client)
    assert raised.value.kind == "refused" and raised.value.status == 403
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert_hidden(str(raised.value), repr(raised.value.args))


def test_a_secret_at_the_cut_is_not_left_half_shown(journal, tmp_path) -> None:
    echo = json.dumps({"code": 42210000, "message": "x" * 190 + SECRET})
    client, _ = broker(("POST", ORDERS, [(422, body_file(tmp_path, "cut.json", echo))], {}))
    workflows.mirror_orders(journal, PAPER, client=client)
    reason = workflows.load_broker_orders(journal)["reason"].iloc[0]
    assert reason.startswith("the broker refused (HTTP 422, code 42210000: xxx")
    assert_hidden(reason, stored_text(journal), secrets=(SECRET,))
    assert_hidden(reason, secrets=(SECRET[:8],))


def test_a_percent_encoded_secret_is_redacted_too(journal, tmp_path) -> None:
    secret = "sec/ret+key=0123456789abcdef"
    settings = BrokerSettings(mode="paper", key_id=KEY, secret_key=secret)
    encoded = "sec%2Fret%2Bkey%3D0123456789abcdef"
    echo = json.dumps({"message": f"echo ?x=1 secret={encoded} raw {secret}"})
    session, adapter = recorded_session()
    adapter.add(ORDERS, [(400, body_file(tmp_path, "enc.json", echo))], method="POST")
    result = workflows.mirror_orders(
        journal, settings, client=make_client(settings, session=session)
    )
    assert result.failed == 2
    assert_hidden(*result.messages, stored_text(journal), secrets=(secret, "sec%2Fret", KEY))


def test_redact_masks_known_secrets_and_token_shapes() -> None:
    text = (
        f"key {KEY}; Authorization: Bearer {BEARER}; https://h.example/p?token={QUERY_TOKEN}&a=1;"
        f' "api_secret_key": "{HEADER_TOKEN}"; HTTP 404 Not Found'
    )
    shown = redact(text, (KEY, ""))
    assert_hidden(shown)
    assert shown.startswith("key ***;") and "https://h.example/p?***" in shown
    assert shown.endswith("HTTP 404 Not Found")
    assert redact("HTTP 500 Internal Server Error", ()) == "HTTP 500 Internal Server Error"
    assert len(redact("y" * 1000, (), limit=50)) == 50


def test_a_redirecting_broker_endpoint_is_not_followed(journal) -> None:
    with webhook_server() as target:
        elsewhere = target.url.replace("/hook", f"/steal?token={QUERY_TOKEN}")
        with webhook_server([302] * 10, location=elsewhere) as endpoint:
            base = endpoint.url.removesuffix("/hook")
            client = make_client(PAPER, url_override=base)
            result = workflows.mirror_orders(journal, PAPER, client=client)
            with pytest.raises(workflows.BrokerError) as raised:
                workflows.reconcile_broker(journal, PAPER, client=client)
        assert [path for path, _ in endpoint.received] == ["/v2/orders", "/v2/account"]
        assert target.received == []  # the keys never went to the redirect's target
    assert result.failed == 2 and result.sent == 0
    reason = workflows.load_broker_orders(journal)["reason"].iloc[0]
    assert reason == (
        "the broker cannot be used (HTTP 302: the broker's endpoint answered with a "
        "redirect, which is not followed)"
    )
    assert raised.value.kind == "unavailable" and "HTTP 302" in str(raised.value)
    assert_hidden(reason, str(raised.value), *result.messages, secrets=(KEY, SECRET, QUERY_TOKEN))
    assert "steal" not in reason + str(raised.value)

"""The broker adapter: Alpaca's paper account through alpaca-py, dry-run by default.

The local journal (``engine.trading.paper``, the execution model) decides every order; the
broker is a mirror of it. This module knows how an order of the journal is sent (a market
order, time in force "day", the journal's client order id), how the broker's answers and
errors read, and nothing of the store. Every function that talks to the broker takes the
client (``make_client``), so tests pass one whose HTTP session serves recorded answers.

- ``BrokerSettings.mode`` is ``"dry_run"`` (the default: record what would be sent, no
  HTTP call at all) or ``"paper"`` (Alpaca's paper endpoint, never the live one).
- The keys come in as arguments (``engine.settings`` reads ``ALPACA_API_KEY_ID`` /
  ``ALPACA_API_SECRET_KEY`` or ``[broker]`` in the secrets file); they travel in headers only,
  and ``repr`` and every message leave them out: an error whose body echoes them (or a
  bearer token, or a query string) is redacted (``engine.redaction``) before it is cut.
- A resend is idempotent: the client order id is the journal's, and the broker refuses a
  second order with it (HTTP 422 "client_order_id must be unique", code 40010001), so
  ``submit`` then looks the order up by its client order id instead.
- A market day order sent after the close is queued for the next session's open: the
  open the execution model fills the same order at.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, MarketOrderRequest
from requests.adapters import HTTPAdapter

from engine.redaction import redact

BrokerMode = Literal["dry_run", "paper"]
BROKER_MODES = ("dry_run", "paper")
KEY_ENV, SECRET_ENV = "ALPACA_API_KEY_ID", "ALPACA_API_SECRET_KEY"
SETTING_NAMES = ("broker_mode", "api_key_id", "api_secret_key", "timeout_s")  # [broker]
MAX_KEY = 256
ORDERS_LIMIT = 500  # the most GET /v2/orders returns in one page
# how long a connection or an answer may take; alpaca-py itself sets no timeout
DEFAULT_TIMEOUT_S = 10.0
MESSAGE_LIMIT = 500  # characters of a BrokerError's message (the broker's text: 200)
ErrorKind = Literal["unavailable", "unauthorized", "refused", "duplicate", "not_found", "invalid"]
# a broker that is down or refuses the keys refuses every order: stop sending
STOPS_SENDING = ("unavailable", "unauthorized")


class BrokerSettingsError(ValueError):
    """A broker setting is invalid; the message names the setting, never a key."""


class BrokerError(RuntimeError):
    """The broker did not do what was asked; ``kind`` says how (``ErrorKind``)."""

    def __init__(self, kind: ErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.status = kind, status


def _check_key(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise BrokerSettingsError(f"{name} must be text")
    value = value.strip()
    if len(value) > MAX_KEY or any(not 33 <= ord(c) <= 126 for c in value):
        raise BrokerSettingsError(
            f"{name} must be at most {MAX_KEY} printable characters without spaces"
        )
    return value


@dataclass(frozen=True)
class BrokerSettings:
    """How to reach the broker. ``mode``: dry_run (the default) or paper; the keys are
    needed in paper mode only and never appear in ``repr``."""

    mode: BrokerMode = "dry_run"
    key_id: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.mode not in BROKER_MODES:
            raise BrokerSettingsError(f"broker_mode must be one of {', '.join(BROKER_MODES)}")
        object.__setattr__(self, "key_id", _check_key(KEY_ENV, self.key_id))
        object.__setattr__(self, "secret_key", _check_key(SECRET_ENV, self.secret_key))
        if self.mode == "paper" and not (self.key_id and self.secret_key):
            raise BrokerSettingsError(f"paper mode needs both {KEY_ENV} and {SECRET_ENV}")
        timeout = self.timeout_s
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise BrokerSettingsError("timeout_s must be a number of seconds")
        if not 0 < timeout <= 120:
            raise BrokerSettingsError("timeout_s must be above 0 and at most 120 seconds")

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values never to show: the key id and the secret key."""
        return tuple(v for v in (self.key_id, self.secret_key) if v)


def parse_broker_settings(table: Mapping[str, Any]) -> BrokerSettings:
    """Settings from a ``[broker]`` table (``SETTING_NAMES``; an unknown name is refused)."""
    unknown = sorted(set(table) - set(SETTING_NAMES))
    if unknown:
        raise BrokerSettingsError(
            f"unknown broker setting(s): {', '.join(map(str, unknown))}; "
            f"known: {', '.join(SETTING_NAMES)}"
        )
    return BrokerSettings(
        mode=table.get("broker_mode", "dry_run"),
        key_id=table.get("api_key_id", ""),
        secret_key=table.get("api_secret_key", ""),
        timeout_s=table.get("timeout_s", DEFAULT_TIMEOUT_S),
    )


class RedirectRefused(requests.exceptions.RequestException):
    """The broker's endpoint answered with a redirect (never followed: the keys travel in
    headers that a redirect to another host would carry along)."""


def _refuse_redirects(response: requests.Response, *args, **kwargs) -> None:
    """A response hook: raise ``RedirectRefused`` on a 3xx, naming only its status."""
    if 300 <= response.status_code < 400:
        raise RedirectRefused(
            f"HTTP {response.status_code}: the broker's endpoint answered with a redirect, "
            "which is not followed"
        )


class _TimeoutAdapter(HTTPAdapter):
    """An HTTP adapter that gives every request a timeout (alpaca-py passes none)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        return super().send(request, **kwargs)


def make_client(
    settings: BrokerSettings,
    *,
    session: requests.Session | None = None,
    url_override: str | None = None,
) -> TradingClient:
    """A ``TradingClient`` on Alpaca's paper endpoint answering raw JSON.

    ``session`` replaces alpaca-py's HTTP session (tests mount recorded answers on one);
    by default a session whose every request times out after ``settings.timeout_s``.
    ``url_override`` is alpaca-py's own (a proxy; tests point it at a local port). No
    redirect is followed: a 3xx answer is a ``BrokerError`` naming its status only.
    """
    if settings.mode != "paper":
        raise BrokerSettingsError("dry-run mode sends nothing: there is no client to make")
    client = TradingClient(
        settings.key_id, settings.secret_key, paper=True, raw_data=True, url_override=url_override
    )
    if session is None:
        session = requests.Session()
        for prefix in ("https://", "http://"):
            session.mount(prefix, _TimeoutAdapter(settings.timeout_s))
    session.max_redirects = 0  # alpaca-py already asks for none; never follow one anyway
    session.hooks["response"] = [*session.hooks.get("response", []), _refuse_redirects]
    client._session = session  # alpaca-py keeps its requests.Session here (common/rest.py)
    return client


def client_secrets(client: TradingClient) -> tuple[str, ...]:
    """The credentials ``client`` sends (alpaca-py keeps them in ``_api_key``,
    ``_secret_key`` and ``_oauth_token``, common/rest.py): never to be shown."""
    names = ("_api_key", "_secret_key", "_oauth_token")
    return tuple(v for v in (getattr(client, n, None) for n in names) if isinstance(v, str) and v)


def _api_error(exc: APIError, secrets: tuple[str, ...]) -> BrokerError:
    status = exc.status_code
    try:
        body = json.loads(str(exc))
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    raw = str(body.get("message") or str(exc)).strip()
    text = redact(raw, secrets, limit=200) or "no message"  # redacted, then cut
    code = f", code {body['code']}" if "code" in body else ""
    where = f"HTTP {status}{code}"
    if status == 401:
        return BrokerError(
            "unauthorized",
            f"the broker refused the API keys ({where}: {text}): check {KEY_ENV} and "
            f"{SECRET_ENV} (paper keys for the paper endpoint)",
            status,
        )
    if status == 404:
        return BrokerError("not_found", f"not found at the broker ({where}: {text})", status)
    if status == 422 and "client_order_id must be unique" in text:
        return BrokerError("duplicate", f"the broker has this order already ({where})", status)
    if status is not None and (status >= 500 or status == 429):
        return BrokerError("unavailable", f"the broker is unavailable ({where}: {text})", status)
    return BrokerError("refused", f"the broker refused ({where}: {text})", status)


def _call(client: TradingClient, request: Callable[[], Any]) -> Any:
    """``request()``, with every failure turned into a ``BrokerError`` whose message is
    redacted (``client``'s keys, tokens, query strings). The failure is not chained: its
    text (the broker's answer, the request's URL) may hold what was redacted."""
    secrets = client_secrets(client)
    try:
        return request()
    except APIError as exc:
        error = _api_error(exc, secrets)
    except RedirectRefused as exc:
        error = BrokerError("unavailable", f"the broker cannot be used ({exc})")
    except requests.exceptions.JSONDecodeError:
        error = BrokerError("invalid", "the broker's answer is not JSON")
    except requests.exceptions.Timeout as exc:
        error = BrokerError("unavailable", f"the broker did not answer in time ({exc})")
    except requests.exceptions.RequestException as exc:
        error = BrokerError("unavailable", f"the broker cannot be reached ({exc})")
    raise BrokerError(error.kind, redact(str(error), secrets, MESSAGE_LIMIT), error.status)


@dataclass(frozen=True)
class BrokerOrder:
    """An order as the broker holds it. Quantities are signed (+ buy, - sell); the
    timestamps are the broker's text (ISO 8601, UTC); the price is NaN before a fill."""

    broker_order_id: str
    client_order_id: str
    ticker: str
    status: str
    qty: float
    filled_qty: float
    filled_avg_price: float
    submitted_at: str | None
    filled_at: str | None
    updated_at: str | None

    @classmethod
    def from_json(cls, raw: object) -> BrokerOrder:
        """From an order object of the Alpaca API v2 (``BrokerError`` when it is not one)."""
        try:
            sign = {"buy": 1.0, "sell": -1.0}[raw["side"]]
            price = raw.get("filled_avg_price")
            return cls(
                str(raw["id"]),
                str(raw["client_order_id"]),
                str(raw["symbol"]),
                str(raw["status"]),
                sign * float(raw.get("qty") or 0.0),
                sign * float(raw.get("filled_qty") or 0.0),
                math.nan if price in (None, "") else float(price),
                raw.get("submitted_at"),
                raw.get("filled_at"),
                raw.get("updated_at"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BrokerError("invalid", f"the broker's order is malformed ({exc!r})") from exc

    def state(self) -> dict:
        """The ``broker_orders`` columns this order sets."""
        price = self.filled_avg_price
        return {
            "broker_order_id": self.broker_order_id,
            "broker_status": self.status,
            "filled_qty": self.filled_qty,
            "filled_avg_price": None if math.isnan(price) else price,
            "submitted_at": self.submitted_at,
            "filled_at": self.filled_at,
            "broker_updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class BrokerAccount:
    """The broker account's status and money (``GET /v2/account``)."""

    status: str
    currency: str
    cash: float
    equity: float
    buying_power: float


def order_request(order: Mapping[str, Any]) -> MarketOrderRequest:
    """The market day order that mirrors a journal order (``client_order_id``, ``ticker``,
    signed ``quantity``)."""
    quantity = float(order["quantity"])
    if not math.isfinite(quantity) or quantity == 0:
        raise BrokerError("invalid", f"order {order['client_order_id']} has no quantity to send")
    return MarketOrderRequest(
        symbol=str(order["ticker"]),
        qty=abs(quantity),
        side=OrderSide.BUY if quantity > 0 else OrderSide.SELL,
        time_in_force=TimeInForce.DAY,
        client_order_id=str(order["client_order_id"]),
    )


def request_body(request: MarketOrderRequest) -> str:
    """The JSON body ``POST /v2/orders`` gets for ``request`` (what a dry run records)."""
    return json.dumps(request.to_request_fields(), sort_keys=True)


def lookup(client: TradingClient, client_order_id: str) -> BrokerOrder:
    """The broker's order with ``client_order_id`` (``GET /v2/orders:by_client_order_id``)."""
    return BrokerOrder.from_json(
        _call(client, lambda: client.get_order_by_client_id(client_order_id))
    )


def submit(client: TradingClient, request: MarketOrderRequest) -> tuple[BrokerOrder, bool]:
    """Send ``request`` once; the broker's order and whether it already had it (a resend:
    the order is looked up by its client order id, and no second one is created)."""
    try:
        raw = _call(client, lambda: client.submit_order(request))
    except BrokerError as exc:
        if exc.kind != "duplicate":
            raise
        return lookup(client, request.client_order_id), True
    order = BrokerOrder.from_json(raw)
    if order.client_order_id != request.client_order_id:
        raise BrokerError("invalid", f"the broker answered with order {order.client_order_id}")
    return order, False


def recent_orders(client: TradingClient) -> dict[str, BrokerOrder]:
    """The newest ``ORDERS_LIMIT`` orders of any status, by client order id."""
    query = GetOrdersRequest(status=QueryOrderStatus.ALL, limit=ORDERS_LIMIT)
    raw = _call(client, lambda: client.get_orders(query))
    if not isinstance(raw, list):
        raise BrokerError("invalid", "the broker's order list is not a list")
    orders = [BrokerOrder.from_json(item) for item in raw]
    return {order.client_order_id: order for order in orders}


def positions(client: TradingClient) -> pd.Series:
    """Signed shares held at the broker by ticker (``GET /v2/positions``)."""
    raw = _call(client, client.get_all_positions)
    try:
        held = {
            str(p["symbol"]): abs(float(p["qty"])) * (-1.0 if p["side"] == "short" else 1.0)
            for p in raw
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise BrokerError("invalid", f"the broker's positions are malformed ({exc!r})") from exc
    return pd.Series(held, dtype=float, name="quantity")


def account(client: TradingClient) -> BrokerAccount:
    """The broker account (``GET /v2/account``): a first call that checks the keys."""
    raw = _call(client, client.get_account)
    try:
        return BrokerAccount(
            str(raw["status"]),
            str(raw.get("currency", "USD")),
            float(raw["cash"]),
            float(raw["equity"]),
            float(raw["buying_power"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BrokerError("invalid", f"the broker's account is malformed ({exc!r})") from exc

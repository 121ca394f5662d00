"""Pre-trade checks: every paper and broker order is checked before it is placed or sent.

``check_orders`` gives each order either a pass or the name of the first check that
refused it and why. The checks, in order:

- ``duplicate``: the same client order id, or the same ticker and side, already placed
  (or passed earlier in the same batch);
- ``fractional``: a quantity that is not whole shares, unless fractions are allowed;
- ``short_sale``: a sell that would leave the position below zero where shorting is off;
- ``price_band``: a limit (or indicative) price more than ``price_band`` from the last
  close;
- ``adv``: a quantity above ``max_adv_fraction`` of the average daily volume over the
  last ``adv_sessions`` sessions (a ticker without any volume stored, an index or a
  close-only series, has no ADV to hold the order to: the check does not apply, as the
  execution model then charges its fixed impact instead of one from the volume);
- ``order_notional``: an order worth more than ``max_order_notional``;
- ``daily_notional``: the orders of one day, in their order, worth more than
  ``max_daily_notional`` together (the order that crosses it is refused).

An order whose ticker has no stored close has nothing to be valued with: the price band,
ADV and notional checks do not apply to it (a paper step never places one, as stale data
blocks the step; the broker mirror only sends the paper journal's orders).

Pure functions of price rows dated <= the order's date; the workflows read the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.modeling.param_limits import Limit, check_limits

PRETRADE_LIMITS = {
    "max_adv_fraction": Limit(0, 1, open_low=True),
    "adv_sessions": Limit(1, 250, whole=True),
    "price_band": Limit(0, 1, open_low=True),
    "max_order_notional": Limit(0, 1e12, open_low=True),
    "max_daily_notional": Limit(0, 1e13, open_low=True),
}
VERDICT_COLUMNS = ("client_order_id", "ticker", "check", "reason")  # check "": passed


@dataclass(frozen=True)
class PretradeParams:
    """Limits of the pre-trade checks (see the module's docstring for each)."""

    max_adv_fraction: float = 0.05
    adv_sessions: int = 20
    price_band: float = 0.10
    max_order_notional: float = 500_000.0
    max_daily_notional: float = 2_000_000.0
    allow_short: bool = True
    allow_fractional: bool = False

    def __post_init__(self) -> None:
        check_limits(self, PRETRADE_LIMITS, "pre-trade limits")


def market_inputs(prices: pd.DataFrame, as_of: pd.Timestamp, sessions: int) -> pd.DataFrame:
    """The last close and the average daily volume per ticker from rows dated <= ``as_of``.

    Parameters
    ----------
    prices : DataFrame of price rows: ``ticker``, ``date``, ``close``, ``volume``
    as_of : Timestamp
        Rows after it are never looked at.
    sessions : int
        The ADV's window: the ticker's last ``sessions`` bars (missing volumes skipped;
        NaN when none has one).

    Returns
    -------
    DataFrame indexed by ticker: ``last_close``, ``adv``
    """
    rows = prices[pd.to_datetime(prices["date"]) <= pd.Timestamp(as_of)].sort_values("date")
    grouped = rows.groupby("ticker")
    last_close = grouped["close"].apply(
        lambda s: s.dropna().iloc[-1] if s.notna().any() else np.nan
    )
    adv = grouped["volume"].apply(lambda s: s.tail(sessions).mean())
    return pd.DataFrame({"last_close": last_close.astype(float), "adv": adv.astype(float)})


def check_orders(
    orders: pd.DataFrame,
    market: pd.DataFrame,
    held: pd.Series,
    params: PretradeParams,
    placed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each order's verdict, in the orders' order.

    Parameters
    ----------
    orders : DataFrame of shape (n, >= 3)
        ``client_order_id``, ``ticker``, signed ``quantity`` (buy > 0); optional
        ``limit_price`` (NaN or absent: a market order, valued at the last close).
    market : DataFrame indexed by ticker: ``last_close``, ``adv`` (``market_inputs``)
    held : Series of shares held per ticker before these orders (missing: 0)
    params : PretradeParams
    placed : DataFrame, optional
        Orders of the same day already placed (``client_order_id``, ``ticker``,
        ``quantity``): duplicates of them are refused and their notional counts toward
        the day's cap.

    Returns
    -------
    DataFrame of shape (n, 4), ``VERDICT_COLUMNS``: ``check`` is "" for an order that
    passed, else the refusing check's name, with ``reason``.
    """
    if placed is None:
        placed = pd.DataFrame(columns=["client_order_id", "ticker", "quantity"])
    quantity = placed["quantity"].astype(float)
    ids = set(placed["client_order_id"])
    sides = set(zip(placed["ticker"], np.sign(quantity), strict=True))
    value = quantity.abs() * placed["ticker"].map(market["last_close"]).astype(float)
    day_notional = float(value.sum())  # a placed order without a close adds nothing
    verdicts = []
    for order in orders.to_dict("records"):
        check, reason, notional = _check_one(order, market, held, params, ids=ids, sides=sides)
        if not check and day_notional + notional > params.max_daily_notional:
            check = "daily_notional"
            reason = (
                f"the day's orders would reach {day_notional + notional:,.0f}, above the "
                f"{params.max_daily_notional:,.0f} cap"
            )
        if not check:
            day_notional += notional
            sides.add((order["ticker"], np.sign(float(order["quantity"]))))
        ids.add(order["client_order_id"])
        verdicts.append((order["client_order_id"], order["ticker"], check, reason))
    return pd.DataFrame(verdicts, columns=list(VERDICT_COLUMNS))


def _check_one(
    order: dict,
    market: pd.DataFrame,
    held: pd.Series,
    params: PretradeParams,
    *,
    ids: set,
    sides: set,
) -> tuple[str, str, float]:
    """(check, reason, notional) of one order; check "" when it passes."""
    ticker, quantity = order["ticker"], float(order["quantity"])
    side = "buy" if quantity > 0 else "sell"
    if order["client_order_id"] in ids:
        return "duplicate", f"client order id {order['client_order_id']} already placed", 0.0
    if (ticker, np.sign(quantity)) in sides:
        return "duplicate", f"a {side} of {ticker} is already open this step", 0.0
    if not params.allow_fractional and quantity != round(quantity):
        return "fractional", f"{abs(quantity):g} shares is not a whole number", 0.0
    after = float(held.get(ticker, 0.0)) + quantity
    if not params.allow_short and quantity < 0 and after < 0:
        return "short_sale", f"selling {-quantity:g} would leave {after:g} shares: no shorting", 0.0
    close = float(market["last_close"].get(ticker, np.nan))
    if not np.isfinite(close) or close <= 0:  # nothing to value it with: no price checks
        return "", "", 0.0
    limit = order.get("limit_price")
    price = close if limit is None or pd.isna(limit) else float(limit)
    if abs(price / close - 1.0) > params.price_band:
        band = f"{params.price_band:.0%} band"
        return (
            "price_band",
            f"price {price:,.2f} is {price / close - 1:+.1%} from the last close "
            f"{close:,.2f}, outside the {band}",
            0.0,
        )
    adv = float(market["adv"].get(ticker, np.nan))
    if np.isfinite(adv) and abs(quantity) > params.max_adv_fraction * adv:
        share = abs(quantity) / adv
        return (
            "adv",
            f"{abs(quantity):,.0f} shares is {share:.1%} of the {params.adv_sessions}-session "
            f"ADV (limit {params.max_adv_fraction:.0%})",
            0.0,
        )
    notional = abs(quantity) * price
    if notional > params.max_order_notional:
        return (
            "order_notional",
            f"{notional:,.0f} is above the {params.max_order_notional:,.0f} cap per order",
            0.0,
        )
    return "", "", notional


def screen_orders(
    orders: list[dict], prices: pd.DataFrame, held: pd.Series, params: PretradeParams
) -> tuple[list[dict], list[tuple[dict, str]]]:
    """The orders of one day (``check_orders``' columns, ``step_date`` among them) that
    pass, and those refused with "check: reason", checked against ``prices`` dated <= that
    day and the shares ``held``."""
    if not orders:
        return [], []
    market = market_inputs(prices, orders[0]["step_date"], params.adv_sessions)
    verdicts = check_orders(pd.DataFrame(orders), market, held, params)
    passed, refused = [], []
    for order, check, reason in zip(orders, verdicts["check"], verdicts["reason"], strict=True):
        if check:
            refused.append((order, f"{check}: {reason}"))
        else:
            passed.append(order)
    return passed, refused

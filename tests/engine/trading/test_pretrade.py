"""Pre-trade checks: each refuses what it should, names itself and says why; the others
pass; the market inputs read rows dated <= the as-of date only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.trading.pretrade import (
    PretradeParams,
    check_orders,
    market_inputs,
    screen_orders,
)

DAY = pd.Timestamp("2018-07-02")
MARKET = pd.DataFrame(
    {"last_close": [100.0, 50.0, 20.0], "adv": [100_000.0, 1_000.0, np.nan]},
    index=["AAA", "BBB", "NOV"],
)
PARAMS = PretradeParams()


def orders(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["client_order_id", "ticker", "quantity"])
    return frame.assign(limit_price=np.nan)


def verdict(frame: pd.DataFrame, held=None, params=PARAMS, placed=None) -> list[tuple]:
    held = pd.Series(held or {}, dtype=float)
    result = check_orders(frame, MARKET, held, params, placed)
    return list(zip(result["check"], result["reason"], strict=True))


def test_an_ordinary_order_passes() -> None:
    assert verdict(orders(("1", "AAA", 100.0))) == [("", "")]


def test_quantity_above_its_share_of_the_average_daily_volume_is_refused() -> None:
    ((check, reason),) = verdict(orders(("1", "BBB", 51.0)))
    assert check == "adv"
    assert reason == "51 shares is 5.1% of the 20-session ADV (limit 5%)"
    assert verdict(orders(("1", "BBB", 50.0))) == [("", "")]


def test_no_volume_means_no_adv_to_hold_the_order_to() -> None:
    assert verdict(orders(("1", "NOV", 10_000.0))) == [("", "")]


def test_a_limit_price_far_from_the_last_close_is_refused() -> None:
    frame = orders(("1", "AAA", 10.0), ("2", "AAA", -10.0))
    frame["limit_price"] = [111.0, 95.0]
    (first, second) = verdict(frame)
    assert first[0] == "price_band" and "+11.0% from the last close 100.00" in first[1]
    assert second == ("", "")


def test_notional_caps_per_order_and_per_day() -> None:
    params = PretradeParams(max_order_notional=10_000.0, max_daily_notional=15_000.0)
    frame = orders(
        ("1", "AAA", 101.0), ("2", "AAA", 90.0), ("3", "BBB", -40.0), ("4", "NOV", 250.0)
    )
    checks = verdict(frame, params=params)
    assert checks[0] == ("order_notional", "10,100 is above the 10,000 cap per order")
    assert checks[1:3] == [("", ""), ("", "")]  # 9,000 then 2,000: 11,000 so far
    assert checks[3] == (
        "daily_notional",
        "the day's orders would reach 16,000, above the 15,000 cap",
    )


def test_the_day_cap_counts_the_orders_already_placed() -> None:
    params = PretradeParams(max_daily_notional=13_000.0)
    placed = pd.DataFrame({"client_order_id": ["0"], "ticker": ["AAA"], "quantity": [-120.0]})
    ((check, reason),) = verdict(orders(("1", "BBB", 40.0)), params=params, placed=placed)
    assert (check, reason) == (
        "daily_notional",
        "the day's orders would reach 14,000, above the 13,000 cap",
    )
    assert verdict(orders(("1", "BBB", 20.0)), params=params, placed=placed) == [("", "")]


def test_duplicates_by_id_and_by_ticker_and_side() -> None:
    frame = orders(("1", "AAA", 10.0), ("1", "BBB", 5.0), ("2", "AAA", 5.0), ("3", "AAA", -5.0))
    checks = verdict(frame)
    assert checks[0] == ("", "")
    assert checks[1] == ("duplicate", "client order id 1 already placed")
    assert checks[2] == ("duplicate", "a buy of AAA is already open this step")
    assert checks[3] == ("", "")  # the other side
    placed = pd.DataFrame({"client_order_id": ["9"], "ticker": ["BBB"], "quantity": [-1.0]})
    assert verdict(orders(("4", "BBB", -2.0)), placed=placed)[0][0] == "duplicate"


def test_short_sales_only_where_allowed() -> None:
    no_short = PretradeParams(allow_short=False)
    ((check, reason),) = verdict(orders(("1", "AAA", -15.0)), {"AAA": 10.0}, no_short)
    assert check == "short_sale" and reason == "selling 15 would leave -5 shares: no shorting"
    assert verdict(orders(("1", "AAA", -10.0)), {"AAA": 10.0}, no_short) == [("", "")]
    assert verdict(orders(("1", "AAA", -15.0)), {"AAA": 10.0}) == [("", "")]


def test_whole_shares_unless_fractions_are_allowed() -> None:
    ((check, reason),) = verdict(orders(("1", "AAA", 2.5)))
    assert check == "fractional" and reason == "2.5 shares is not a whole number"
    assert verdict(orders(("1", "AAA", 2.5)), params=PretradeParams(allow_fractional=True)) == [
        ("", "")
    ]


def test_market_inputs_use_rows_up_to_the_date_only() -> None:
    dates = pd.bdate_range("2018-06-01", periods=30)
    prices = pd.DataFrame(
        {"ticker": "AAA", "date": dates, "close": np.arange(30.0) + 1, "volume": 100.0}
    )
    prices.loc[prices["date"] > dates[24], ["close", "volume"]] = [999.0, 1e9]  # the future
    market = market_inputs(prices, dates[24], 20)
    assert market.loc["AAA", "last_close"] == 25.0 and market.loc["AAA", "adv"] == 100.0


def test_screen_orders_splits_passed_and_refused_with_the_check_named() -> None:
    dates = pd.bdate_range("2018-06-01", periods=5)
    prices = pd.DataFrame({"ticker": "AAA", "date": dates, "close": 100.0, "volume": 1_000.0})
    planned = [
        {"client_order_id": "1", "step_date": dates[-1], "ticker": "AAA", "quantity": 10.0},
        {"client_order_id": "2", "step_date": dates[-1], "ticker": "AAA", "quantity": -100.0},
    ]
    passed, refused = screen_orders(planned, prices, pd.Series(dtype=float), PARAMS)
    assert [o["client_order_id"] for o in passed] == ["1"]
    assert refused == [(planned[1], "adv: 100 shares is 10.0% of the 20-session ADV (limit 5%)")]


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="max_adv_fraction must be in"):
        PretradeParams(max_adv_fraction=0.0)

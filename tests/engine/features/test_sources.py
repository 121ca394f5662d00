"""Macro, BTC and sentiment inputs: when each becomes usable, and NaN + flag without them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.finnhub import public_dates
from engine.data.macro import MACRO_COLUMNS
from engine.features import SentimentInputs, build_context, compute_features
from engine.features.macro import COLUMNS as MACRO_FEATURES
from engine.features.registry import family_columns
from tests.builders import bars

SESSIONS = 160  # 2022-01-03 .. 2022-08-22
T = pd.Timestamp("2022-03-04")  # a Friday session
NEXT = pd.Timestamp("2022-03-07")  # the Monday after


def one_ticker() -> pd.DataFrame:
    closes = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, SESSIONS)))
    return bars([(c, c, c, c, 1e6) for c in closes])


def covered(first: str = "2021-10-01", last: str = "2022-12-30") -> pd.DataFrame:
    return pd.DataFrame(
        [("T", kind, pd.Timestamp(first), pd.Timestamp(last)) for kind in ("news", "insider")],
        columns=["ticker", "kind", "first_date", "last_date"],
    )


def news_at(*stamps: str) -> pd.DataFrame:
    published = pd.Series(pd.to_datetime(list(stamps)).tz_localize("America/New_York"))
    published = published.dt.tz_convert("UTC")
    return pd.DataFrame(
        {
            "ticker": "T",
            "item_id": [str(i) for i in range(len(stamps))],
            "published_utc": published,
            "public_date": public_dates(published),
            "headline": "",
            "source": "test",
            "score": 1.0,
        }
    )


def with_news(*stamps: str, last: str = "2022-12-30") -> SentimentInputs:
    return SentimentInputs(news=news_at(*stamps), coverage=covered(last=last))


def features(prices, *, macro=None, sentiment=None) -> pd.DataFrame:
    context = build_context(prices, macro=macro, sentiment=sentiment)
    return compute_features(prices, context=context, families=["cross_asset", "sentiment"]).loc["T"]


def test_news_published_after_the_close_of_t_is_first_used_the_next_session() -> None:
    out = features(one_ticker(), sentiment=with_news("2022-03-04 16:30"))
    assert out.at[T, "news_count_5d"] == 0 and out.at[T, "news_sentiment_5d"] == 0.0
    assert out.at[NEXT, "news_count_5d"] == 1 and out.at[NEXT, "news_sentiment_5d"] == 1.0


def test_news_published_during_the_session_of_t_is_not_used_at_t() -> None:
    out = features(one_ticker(), sentiment=with_news("2022-03-04 10:00"))
    assert out.at[T, "news_count_5d"] == 0 and out.at[NEXT, "news_count_5d"] == 1


def test_weekend_news_counts_from_monday_and_leaves_the_window_after_five_sessions() -> None:
    out = features(one_ticker(), sentiment=with_news("2022-03-05 12:00"))
    counts = out["news_count_5d"].loc["2022-03-04":"2022-03-14"]
    assert counts.tolist() == [0, 1, 1, 1, 1, 1, 0]


def test_an_insider_filing_counts_from_the_session_after_its_filing_date() -> None:
    filing = pd.DataFrame(
        {
            "ticker": ["T", "T"],
            "item_id": ["a", "b"],
            "filing_date": pd.to_datetime(["2022-06-03", "2022-06-03"]),  # a Friday
            "transaction_date": pd.to_datetime(["2022-06-01", "2022-06-01"]),
            "name": ["x", "y"],
            "code": ["P", "F"],  # F (tax withholding) is not open-market buying or selling
            "change": [500.0, -9000.0],
            "price": [10.0, 10.0],
        }
    )
    out = features(one_ticker(), sentiment=SentimentInputs(insider=filing, coverage=covered()))
    friday, monday = pd.Timestamp("2022-06-03"), pd.Timestamp("2022-06-06")
    assert out.at[friday, "insider_net_30d"] == 0.0 and out.at[monday, "insider_net_30d"] == 1.0
    assert np.isnan(out.iloc[50]["insider_net_90d"])  # 63 sessions of history needed


def test_outside_the_fetched_range_sentiment_is_missing_and_flagged() -> None:
    out = features(one_ticker(), sentiment=with_news("2022-03-04 10:00", last="2022-05-31"))
    assert out.at[pd.Timestamp("2022-06-01"), "avail_sentiment"] == 1
    after = out.loc["2022-06-02":]
    assert after["news_sentiment_5d"].isna().all() and (after["avail_sentiment"] == 0).all()


def macro_rows(series: str, dates: list, values: list[float], known: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": series,
            "date": pd.to_datetime(dates),
            "value": values,
            "known_date": pd.to_datetime(known),
            "realtime_start": pd.NaT,
            "source": "test",
        },
        columns=list(MACRO_COLUMNS),
    )


def test_a_macro_value_known_at_t_is_first_used_the_next_session() -> None:
    # the 10y yield of Thursday 03-03, known Friday 03-04; a revision known Monday 03-07
    rows = pd.concat(
        [
            macro_rows(
                "DGS10", ["2022-03-02", "2022-03-03"], [1.80, 1.90], ["2022-03-03", "2022-03-04"]
            ),
            macro_rows("DGS10", ["2022-03-03"], [1.95], ["2022-03-07"]),
            macro_rows("DGS2", ["2022-03-01"], [1.40], ["2022-03-02"]),
        ]
    )
    out = features(one_ticker(), macro=rows)
    slope = out["curve_slope_10y2y"]
    assert slope.at[T] == pytest.approx(1.80 - 1.40)  # known Thursday, used Friday
    assert slope.at[NEXT] == pytest.approx(1.90 - 1.40)  # known Friday, used Monday
    assert slope.at[pd.Timestamp("2022-03-08")] == pytest.approx(1.95 - 1.40)  # the revision


def test_btc_weekend_bars_reach_the_equity_rows_one_session_later() -> None:
    days = pd.date_range("2022-01-01", "2022-04-30", freq="D")
    rows = macro_rows("BTC-USD", list(days), list(np.arange(len(days)) + 100.0), list(days))
    out = features(one_ticker(), macro=rows)
    value = {d: 100.0 + (d - days[0]).days for d in days}
    tuesday = pd.Timestamp("2022-03-08")
    # Tuesday reads Monday's bar against the one of five sessions before (Monday 02-28)
    assert out.at[tuesday, "btc_ret_5d"] == pytest.approx(
        value[pd.Timestamp("2022-03-07")] / value[pd.Timestamp("2022-02-28")] - 1
    )
    # Monday reads Friday's bar: the weekend's bars wait for the next session
    assert out.at[NEXT, "btc_ret_5d"] == pytest.approx(
        value[T] / value[pd.Timestamp("2022-02-25")] - 1
    )


def test_a_stopped_series_goes_missing_instead_of_carrying_forward() -> None:
    rows = macro_rows("VIXCLS", ["2022-02-01"], [20.0], ["2022-02-02"])
    out = features(one_ticker(), macro=rows)["vixcls_level"]
    assert out.at[pd.Timestamp("2022-02-04")] == 20.0
    assert np.isnan(out.at[pd.Timestamp("2022-02-25")])


def test_the_offline_sample_has_no_macro_btc_or_sentiment_and_says_so(sample_slice) -> None:
    """The sample ships none of these: NaN and flagged, never synthesized."""
    out = compute_features(sample_slice, families=["cross_asset", "sentiment"])
    names = [c.name for c in MACRO_FEATURES]
    assert out[names].isna().all().all()
    assert out[[c.name for c in family_columns("sentiment")]].isna().all().all()
    assert (out["avail_sentiment"] == 0).all()
    assert (out["avail_cross_asset"] < 1).all()

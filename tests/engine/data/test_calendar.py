import pandas as pd

from engine.data.calendar import (
    compute_staleness,
    is_session,
    last_session_on_or_before,
    nyse_calendar,
    sessions_between,
)


def test_calendar_covers_the_sample_span_from_1990() -> None:
    assert nyse_calendar().first_session == pd.Timestamp("1990-01-02")


def test_holidays_and_weekends_are_not_sessions() -> None:
    days = pd.DatetimeIndex(
        ["2022-12-23", "2022-12-24", "2022-12-26", "2022-12-27", "2001-09-11", "1990-01-02"]
    )
    assert is_session(days).tolist() == [True, False, False, True, False, True]


def test_sessions_between_counts_trading_days() -> None:
    assert len(sessions_between(pd.Timestamp("2022-12-01"), pd.Timestamp("2022-12-31"))) == 21


def test_staleness_counts_sessions_after_the_last_date() -> None:
    coverage = pd.DataFrame(
        {
            "ticker": ["A", "B", "C", "D"],
            "last_date": ["2022-12-28", "2022-12-23", None, "2023-01-05"],
        }
    )
    out = compute_staleness(coverage, pd.Timestamp("2022-12-28"))
    # B: 12-27 and 12-28 are missing (12-26 was the Christmas holiday)
    assert out["sessions_behind"].tolist()[:2] == [0.0, 2.0]
    assert pd.isna(out["sessions_behind"].iloc[2])
    assert out["status"].tolist() == ["fresh", "stale", "no data", "fresh"]


def test_as_of_on_a_weekend_uses_the_last_session() -> None:
    assert last_session_on_or_before(pd.Timestamp("2022-12-25")) == pd.Timestamp("2022-12-23")

"""FRED client on recorded answers: parsing, "." as NaN, known dates, every failure named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.fred import OBSERVATIONS_URL, FredClient, known_dates
from engine.data.http import JsonClient, SourceError
from tests.recorded_http import recorded_session

PATH = "/fred/series/observations"
TODAY = pd.Timestamp("2024-02-16")
assert OBSERVATIONS_URL.endswith(PATH)


def client(*answers: tuple[int, str], series: str = "DGS10"):
    session, adapter = recorded_session()
    adapter.add(PATH, list(answers), series_id=series)
    sleeps: list[float] = []
    http = JsonClient("FRED", session=session, sleep=sleeps.append, seed=0)
    return FredClient("k" * 32, http=http), adapter, sleeps


def test_observations_parse_with_missing_values_and_known_dates() -> None:
    fred, adapter, _ = client((200, "fred/observations_DGS10.json"))
    rows = fred.fetch_series("DGS10", today=TODAY)
    asked = adapter.requests[0]
    assert asked["file_type"] == "json" and asked["api_key"] == "k" * 32
    assert asked["realtime_start"] == asked["realtime_end"] == "2024-02-16"
    assert len(rows) == 11 and rows["date"].dtype == "datetime64[ns]"
    assert rows["value"].iloc[0] == pytest.approx(4.16)
    holiday = rows.set_index("date").loc["2024-02-19"]
    assert np.isnan(holiday["value"])  # FRED's "." stays missing
    # known the next business day: Friday's value from Monday
    friday = rows.set_index("date").loc["2024-02-09"]
    assert friday["known_date"] == pd.Timestamp("2024-02-12")
    assert (rows["realtime_start"] == TODAY).all()


def test_the_weekly_dollar_index_waits_six_business_days() -> None:
    fred, _, _ = client((200, "fred/observations_DTWEXBGS.json"), series="DTWEXBGS")
    rows = fred.fetch_series("DTWEXBGS", today=TODAY).set_index("date")
    assert rows.at[pd.Timestamp("2024-02-05"), "known_date"] == pd.Timestamp("2024-02-13")


def test_known_dates_skip_weekends() -> None:
    dates = pd.Series(pd.to_datetime(["2024-02-08", "2024-02-09"]))
    assert known_dates(dates, 1).tolist() == list(pd.to_datetime(["2024-02-09", "2024-02-12"]))


def test_a_rate_limit_is_retried_with_backoff_then_succeeds() -> None:
    fred, adapter, sleeps = client(
        (429, "fred/error_rate_limit.json"), (200, "fred/observations_DGS10.json")
    )
    assert len(fred.fetch_series("DGS10", today=TODAY)) == 11
    assert len(adapter.requests) == 2 and len(sleeps) == 1 and 0 < sleeps[0] <= 2.0


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((429, "fred/error_rate_limit.json"), r"FRED: series DGS10: rate limit .* 4 attempts"),
        ((400, "fred/error_bad_key.json"), r"FRED: series DGS10: the API key was refused"),
        ((200, "fred/observations_empty.json"), r"FRED: series DGS10: no observations"),
        ((200, "fred/malformed.txt"), r"FRED: series DGS10: the answer is not valid JSON"),
        ((500, "fred/malformed.txt"), r"FRED: series DGS10: HTTP 500"),
    ],
)
def test_every_failure_names_the_source_and_series(answer, message) -> None:
    fred, _, _ = client(answer)
    with pytest.raises(SourceError, match=message) as caught:
        fred.fetch_series("DGS10", today=TODAY)
    assert "k" * 32 not in str(caught.value)  # the key never reaches a message


def test_no_key_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="FRED: no API key; set FRED_API_KEY"):
        FredClient("  ")

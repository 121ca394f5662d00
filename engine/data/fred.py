"""FRED (St. Louis Fed) observations: Treasury yields, the broad dollar, VIX. Needs a key.

One GET per series on ``fred/series/observations`` with ``file_type=json``. The answer is
``{"realtime_start", "realtime_end", ..., "observations": [{"realtime_start",
"realtime_end", "date", "value"}, ...]}`` with every value a string and "." for a missing
one (kept as NaN).

When was a value known? The real-time period asked for is the day of the request (FRED's
default, made explicit), so each row's ``realtime_start`` is the vintage it came from,
not its first publication. These daily market series carry no useful vintage history, so
the conservative rule is used instead: the value of date d is known from d + the series'
publication lag in business days (1 for the H.15 yields and VIX, 6 for the weekly H.10
dollar index; see ``engine.data.macro.FRED_SERIES``). A later refresh that finds a value
changed stores it as a revision known from the day of that refresh.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from engine.data.http import JsonClient, SourceError, require_key
from engine.data.macro import MACRO_COLUMNS, MACRO_SERIES

OBSERVATIONS_URL = "https://api.stlouisfed.org/fred/series/observations"
KEY_ENV_VAR = "FRED_API_KEY"
SOURCE = "FRED"


def known_dates(dates: pd.Series, lag_days: int) -> pd.Series:
    """``dates`` + ``lag_days`` business days (Monday to Friday), as datetime64[ns]."""
    shifted = pd.DatetimeIndex(dates) + pd.offsets.BDay(lag_days)
    return pd.Series(shifted.astype("datetime64[ns]"), index=dates.index)


def parse_observations(payload: object, series_id: str) -> pd.DataFrame:
    """FRED's JSON answer as macro rows (``MACRO_COLUMNS``); SourceError when malformed
    or empty."""
    what = f"{SOURCE}: series {series_id}"
    observations = payload.get("observations") if isinstance(payload, Mapping) else None
    if not isinstance(observations, list):
        raise SourceError(f"{what}: the answer has no list of observations")
    if not observations:
        raise SourceError(f"{what}: no observations came back (is the series id right?)")
    try:
        frame = pd.DataFrame.from_records(
            [(o["date"], o["value"], o.get("realtime_start")) for o in observations],
            columns=["date", "value", "realtime_start"],
        )
        dates = pd.to_datetime(frame["date"], format="%Y-%m-%d").astype("datetime64[ns]")
        values = pd.to_numeric(frame["value"].replace(".", np.nan), errors="raise")
        vintage = pd.to_datetime(frame["realtime_start"], format="%Y-%m-%d")
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"{what}: an observation could not be read ({exc})") from exc
    if dates.duplicated().any():
        raise SourceError(f"{what}: the answer repeats observation dates")
    return pd.DataFrame(
        {
            "series_id": series_id,
            "date": dates,
            "value": values.astype(float),
            "known_date": known_dates(dates, MACRO_SERIES[series_id].lag_days),
            "realtime_start": vintage.astype("datetime64[ns]"),
            "source": SOURCE,
        },
        columns=list(MACRO_COLUMNS),
    )


class FredClient:
    """The observations of one series at a time. ``http`` is injectable for tests."""

    def __init__(self, key: str, *, http: JsonClient | None = None) -> None:
        self.key = require_key(key, SOURCE, KEY_ENV_VAR)
        self.http = http or JsonClient(SOURCE)

    def fetch_series(
        self,
        series_id: str,
        *,
        today: pd.Timestamp,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Rows of ``series_id`` (all history unless ``start``/``end``), today's vintage."""
        if series_id not in MACRO_SERIES:
            raise SourceError(f"{SOURCE}: unknown series {series_id!r}")
        vintage = pd.Timestamp(today).strftime("%Y-%m-%d")
        params = {
            "series_id": series_id,
            "api_key": self.key,
            "file_type": "json",
            "realtime_start": vintage,
            "realtime_end": vintage,
        }
        if start is not None:
            params["observation_start"] = pd.Timestamp(start).strftime("%Y-%m-%d")
        if end is not None:
            params["observation_end"] = pd.Timestamp(end).strftime("%Y-%m-%d")
        payload = self.http.get(OBSERVATIONS_URL, params, f"series {series_id}")
        return parse_observations(payload, series_id)

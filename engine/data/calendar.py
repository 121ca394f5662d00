"""The NYSE session calendar (exchange_calendars' XNYS) and staleness against it."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd

# exchange_calendars builds XNYS 20 years back unless given a start; the sample data
# begins in 1990, so the calendar must too.
CALENDAR_START = "1990-01-01"
EXCHANGE_TZ = "America/New_York"
REGULAR_CLOSE = pd.Timedelta(hours=16)  # New York wall clock; early closes are 13:00


@lru_cache(maxsize=1)
def nyse_calendar() -> xcals.ExchangeCalendar:
    """The XNYS calendar from 1990 to exchange_calendars' default end (about a year ahead)."""
    return xcals.get_calendar("XNYS", start=CALENDAR_START)


def exchange_today() -> pd.Timestamp:
    """Today's date in New York, as a naive midnight timestamp."""
    return pd.Timestamp.now(tz=EXCHANGE_TZ).tz_localize(None).normalize()


def sessions_between(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """NYSE sessions in [start, end] (naive dates), clipped to the calendar's span."""
    calendar = nyse_calendar()
    lo = max(pd.Timestamp(start), calendar.first_session)
    hi = min(pd.Timestamp(end), calendar.last_session)
    if lo > hi:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    return calendar.sessions_in_range(lo, hi).astype("datetime64[ns]")


def is_session(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Boolean array: which of ``dates`` (naive midnights) are NYSE sessions.

    Dates outside the calendar's span count as sessions when they are weekdays: the
    calendar cannot judge them, and future dates are caught by their own check.
    """
    values = pd.DatetimeIndex(dates).astype("datetime64[ns]")
    calendar = nyse_calendar()
    sessions = calendar.sessions.astype("datetime64[ns]")
    inside = (values >= calendar.first_session) & (values <= calendar.last_session)
    weekday = values.day_of_week < 5
    return np.where(inside, values.isin(sessions), weekday)


def session_close_times(days: pd.Series | pd.DatetimeIndex) -> pd.Series:
    """The New York wall-clock time of each day's close, as a time since midnight.

    Parameters
    ----------
    days : pd.Series or pd.DatetimeIndex, shape (n,)
        Naive midnights.

    Returns
    -------
    pd.Series, shape (n,)
        Timedelta: 16:00 on a regular session, 13:00 on an early close (the day after
        Thanksgiving, Christmas Eve, ...); NaT for a day that is no session or lies
        outside the calendar's span. Positional, on a 0..n-1 index.
    """
    local = nyse_calendar().closes.dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None)
    clock = pd.Series((local - local.dt.normalize()).to_numpy(), index=local.index)
    clock.index = pd.DatetimeIndex(clock.index).astype("datetime64[ns]")
    wanted = pd.DatetimeIndex(days).astype("datetime64[ns]")
    return pd.Series(clock.reindex(wanted).to_numpy(), dtype="timedelta64[ns]")


def last_session_on_or_before(day: pd.Timestamp) -> pd.Timestamp:
    """The latest NYSE session at or before ``day``."""
    calendar = nyse_calendar()
    day = min(pd.Timestamp(day).normalize(), calendar.last_session)
    return calendar.date_to_session(day, direction="previous")


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class DateError(ValueError):
    """A date that cannot be read, or that lies outside the range allowed."""


def parse_date(
    value: object,
    what: str = "date",
    *,
    today: dt.date | None = None,
    from_first_session: bool = False,
) -> dt.date:
    """The one rule that reads and validates a date typed, imported or sent in: the
    watchlists' change dates, the book's opened dates and the API's as-of dates.

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime or pandas.Timestamp
        Text in the store's format, ``YYYY-MM-DD`` (surrounding spaces ignored), or a date
        object; a datetime or Timestamp counts only at midnight. Refused: any other text
        (``2024-2-5``, ``20240205``, ``05/02/2024``, a time of day), an impossible date
        (``2024-02-30``), a number, None.
    what : str
        The name the message gives the date (a column, a field, a query parameter).
    today : datetime.date, optional
        The last date allowed; default ``datetime.date.today()``: nothing is known about a
        later date.
    from_first_session : bool
        Also refuse dates before the NYSE calendar's first session (as-of dates). Any date
        Python can hold is judged here, before pandas (1677-09-22 to 2262-04-11 only) or
        the calendar (from ``CALENDAR_START``) could fail on it.

    Returns
    -------
    datetime.date

    Raises
    ------
    DateError
        A ValueError naming ``what``, the value refused and why.
    """
    day = None
    if isinstance(value, dt.datetime):  # pandas.Timestamp too; NaT has no date
        if value is not pd.NaT and value.time() == dt.time(0) and value.tzinfo is None:
            day = value.date()
        text = str(value)
    elif isinstance(value, dt.date):
        day, text = value, value.isoformat()
    else:
        text = value.strip() if isinstance(value, str) else repr(value)
        if isinstance(value, str) and ISO_DATE.fullmatch(text):
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:  # 2024-02-30
                day = None
    if day is None:
        raise DateError(f"{what}: {text[:40]!r} is not a date (YYYY-MM-DD)")
    last = today or dt.date.today()
    if from_first_session:
        first = nyse_calendar().first_session.date()
        if not first <= day <= last:
            raise DateError(
                f"{what} must be a date between {first} (the calendar's first session) and "
                f"{last} (today), not {day}"
            )
    elif day > last:
        raise DateError(f"{what}: {text[:40]!r} is after today ({last})")
    return day


def check_as_of(day: object, field: str = "as_of", *, today: dt.date | None = None) -> dt.date:
    """``day`` when it may be an as-of date: from the calendar's first session to today
    (``parse_date`` with ``from_first_session``); ``last_session_on_or_before`` gives the
    session it resolves to. DateError (a ValueError) names ``field`` and the range."""
    return parse_date(day, field, today=today, from_first_session=True)


def compute_staleness(coverage: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Sessions each ticker's data lags behind ``as_of``.

    Parameters
    ----------
    coverage : pd.DataFrame
        One row per ticker with at least ``ticker`` and ``last_date`` (ISO text or
        datetime; NaN when the ticker has no data).
    as_of : pd.Timestamp
        The review date; its own session counts as the one the data should reach.

    Returns
    -------
    pd.DataFrame
        ``coverage`` plus ``sessions_behind`` (float, NaN without data) and ``status``
        ("fresh", "stale" or "no data"). Uses only dates <= as_of.
    """
    out = coverage.copy()
    target = last_session_on_or_before(as_of)
    sessions = nyse_calendar().sessions.astype("datetime64[ns]")
    last = pd.DatetimeIndex(pd.to_datetime(out["last_date"])).astype("datetime64[ns]")
    # sessions after last_date up to the target = rank(target) - rank(last_date)
    ahead = sessions.searchsorted(target, side="right")
    behind = np.clip(ahead - sessions.searchsorted(last, side="right"), 0, None).astype(float)
    behind[last.isna()] = np.nan
    out["sessions_behind"] = behind
    out["status"] = np.select(
        [np.isnan(behind), behind == 0], ["no data", "fresh"], default="stale"
    )
    return out

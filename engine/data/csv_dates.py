"""The dates of a user's price CSV: one format for the whole file, and a time of day only
when it is the same on every row or each row's own session close."""

from __future__ import annotations

import re

import pandas as pd

from engine.data.calendar import EXCHANGE_TZ, REGULAR_CLOSE, session_close_times
from engine.data.csv_layouts import CsvImportError, file_line, shown

# Tried in order when no format is given; a file must parse whole in exactly one.
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y")
# A date with a time of day: "4/1/2015 16:00:00", "2015-04-01 16:00", "2015-04-01T16:00:00",
# and with a UTC offset: "2015-04-01T20:00:00Z", "2015-04-01 16:00:00-04:00"
_DATE_TIME = re.compile(
    r"^(?P<day>\S+)[ T](?P<time>\d{1,2}:\d{2}(?::\d{2})?)\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_ONE_TIME = "daily prices need one time of day per file"


def _session_days(values: pd.Series, column: str) -> tuple[pd.Series, pd.DataFrame | None]:
    """The date part of date-times ("4/1/2015 16:00:00" -> "4/1/2015"), ``values`` as they
    are when none has a time; and, when the times differ between rows, each row's time
    ("16:00:00") and UTC offset ("" when naive), for ``_check_closes``. A file in which
    some rows have a time and others none is refused."""
    parts = values.str.extract(_DATE_TIME)
    if parts["time"].isna().all():
        return values, None
    time = parts["time"].fillna("").str.replace(r"^(\d):", r"0\1:", regex=True)
    parts["time"] = time.where(time.str.len() != 5, time + ":00")  # 16:00 is 16:00:00
    parts["tz"] = parts["tz"].fillna("")
    stamp = parts["time"] + parts["tz"]
    known = values.notna()
    first = known.idxmax()
    differs = known & (stamp != stamp[first])
    timed = stamp != ""
    mixed = known & (timed != timed[first])  # some rows with a time, some without
    if mixed.any():
        at = mixed.idxmax()
        raise CsvImportError(
            f"Column {column!r}: {_ONE_TIME}; line {file_line(first)} has {shown(values[first])} "
            f"but line {file_line(at)} has {shown(values[at])}"
        )
    return parts["day"].where(known), parts[["time", "tz"]].where(known) if differs.any() else None


def _utc_offsets(tz: pd.Series) -> pd.Series:
    """Offsets such as "Z", "-05:00", "+0100" as Timedeltas; "" is zero."""
    digits = tz.replace("Z", "+0000").str.replace(":", "", regex=False)
    sign = digits.str[:1].map({"+": 1, "-": -1}).fillna(0)
    hours = pd.to_numeric(digits.str[1:3], errors="coerce").fillna(0)
    minutes = pd.to_numeric(digits.str[3:5], errors="coerce").fillna(0)
    return pd.to_timedelta(sign * (hours * 60 + minutes), unit="min")


def _check_closes(values: pd.Series, days: pd.Series, times: pd.DataFrame, column: str) -> None:
    """Refuse times of day that differ unless each is its own session's close.

    A file may stamp each row with the session's close: 16:00 New York time, 13:00 on an
    early close (the XNYS calendar). A naive time is New York time; one with a UTC offset
    is converted first. A day that is no session accepts only the regular close (the
    quality gate judges the day itself).
    """
    known = values.notna()
    clock = pd.to_timedelta(times["time"].fillna("00:00:00"))
    local = days + clock - _utc_offsets(times["tz"].fillna(""))  # UTC where an offset is
    aware = (times["tz"] != "") & known
    if aware.any():
        utc = local[aware].dt.tz_localize("UTC").dt.tz_convert(EXCHANGE_TZ)
        local[aware] = utc.dt.tz_localize(None)
    close = session_close_times(local.dt.normalize())
    close.index = values.index
    expected = close.fillna(REGULAR_CLOSE)
    wrong = known & ((local.dt.normalize() != days) | (local - local.dt.normalize() != expected))
    if wrong.any():
        first, at = known.idxmax(), wrong.idxmax()
        hours = f"{expected[at].components.hours:02d}:{expected[at].components.minutes:02d}"
        day = f"{days[at]:%Y-%m-%d}"
        when = f"is no session (a regular close is {hours})" if pd.isna(close[at]) else ""
        head = f"line {file_line(first)} has {shown(values[first])} but " if at != first else ""
        raise CsvImportError(
            f"Column {column!r}: {_ONE_TIME}, or each session's own close (New York time); "
            f"{head}line {file_line(at)} has {shown(values[at])}, while {day} "
            + (when or f"closed at {hours}")
        )


def parse_csv_dates(values: pd.Series, column: str, date_format: str | None) -> pd.Series:
    """Parse with the one format that reads every value; refuse mixed or ambiguous dates.

    A time of day is dropped (the session is the date part) when it is the same on every
    row, or when each row's is its session's close (``_check_closes``).
    """
    original = values
    values, times = _session_days(values, column)
    formats = (date_format,) if date_format else DATE_FORMATS
    fits = []
    for fmt in formats:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if parsed.notna().all():
            fits.append((fmt, parsed))
    if not fits:
        best = pd.to_datetime(values, format=formats[0], errors="coerce")
        bad = values[best.isna()]
        raise CsvImportError(
            f"Column {column!r}: {len(bad)} value(s) are not dates in one format "
            f"({', '.join(formats)}); first at line {file_line(bad.index[0])}: {shown(bad.iloc[0])}"
        )
    for fmt, parsed in fits[1:]:
        if not parsed.equals(fits[0][1]):
            raise CsvImportError(
                f"Column {column!r}: dates read as both {fits[0][0]} and {fmt}; "
                "choose the date format"
            )
    if times is not None:
        _check_closes(original, fits[0][1], times, column)
    return fits[0][1]

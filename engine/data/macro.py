"""Market-wide series that are not exchange prices: FRED macro series and BTC-USD.

One long schema for all of them, point in time: each row is one observation (``date``)
as it was known from ``known_date`` on. A revised value is a new row with a later
``known_date``; the old row stays, so what was known at any date can be replayed. A value
of NaN is missing (FRED's "."), never filled in.

BTC-USD trades every day, so it cannot pass the price store's session checks; it is kept
here with the date Yahoo gives its daily bar (a UTC day, which closes at 19:00 or 20:00 in
New York, after the NYSE close of the same date).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

MACRO_COLUMNS = ("series_id", "date", "value", "known_date", "realtime_start", "source")


@dataclass(frozen=True)
class MacroSeries:
    """A series the cross-asset family reads.

    ``lag_days`` is the conservative publication lag in business days: the value of date
    d counts as known from d + lag_days (see ``engine.data.fred.known_dates``).
    """

    series_id: str
    title: str
    lag_days: int


FRED_SERIES = (
    # H.15: posted on FRED the business day after the observation.
    MacroSeries("DGS10", "10-year Treasury yield (%)", 1),
    MacroSeries("DGS2", "2-year Treasury yield (%)", 1),
    # H.10 is weekly: Monday's release carries the previous week's days, so a Monday's
    # value waits a week; six business days also covers a release delayed by a holiday.
    MacroSeries("DTWEXBGS", "Broad U.S. dollar index (Jan 2006 = 100)", 6),
    # CBOE's VIX close, posted the next business day.
    MacroSeries("VIXCLS", "VIX close (FRED)", 1),
)
BTC_SERIES = MacroSeries("BTC-USD", "Bitcoin in U.S. dollars (Yahoo daily close)", 0)
MACRO_SERIES = {s.series_id: s for s in (*FRED_SERIES, BTC_SERIES)}


def empty_macro() -> pd.DataFrame:
    """A macro frame with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "series_id": pd.Series(dtype=str),
            "date": pd.Series(dtype="datetime64[ns]"),
            "value": pd.Series(dtype=float),
            "known_date": pd.Series(dtype="datetime64[ns]"),
            "realtime_start": pd.Series(dtype="datetime64[ns]"),
            "source": pd.Series(dtype=str),
        }
    )


def btc_rows(prices: pd.DataFrame) -> pd.DataFrame:
    """Normalized BTC-USD price rows as macro rows: the close, known on its own date.

    Yahoo dates a daily crypto bar by its UTC day, which ends after the NYSE close of that
    date in New York; the cross-asset family reads it one session later (T-1) like the
    rest, so a bar dated t never reaches the row of t.
    """
    rows = prices.loc[prices["ticker"] == BTC_SERIES.series_id, ["date", "close"]]
    dates = pd.to_datetime(rows["date"]).astype("datetime64[ns]")
    return pd.DataFrame(
        {
            "series_id": BTC_SERIES.series_id,
            "date": dates.to_numpy(),
            "value": rows["close"].to_numpy(dtype=float),
            "known_date": dates.to_numpy(),
            "realtime_start": pd.NaT,
            "source": "yfinance",
        },
        columns=list(MACRO_COLUMNS),
    ).astype({"realtime_start": "datetime64[ns]"})

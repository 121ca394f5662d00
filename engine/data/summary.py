"""Per-ticker price summary of the universe at an as-of date: last close, trailing returns."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Sessions back for each trailing return column.
RETURN_WINDOWS = {"ret_1d": 1, "ret_5d": 5, "ret_20d": 20, "ret_252d": 252}


def compute_price_summary(prices: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Last close and trailing returns per ticker, from rows dated <= as_of only.

    Parameters
    ----------
    prices : pd.DataFrame
        Normalized long frame (any number of tickers).
    as_of : pd.Timestamp
        Nothing after this date is looked at.

    Returns
    -------
    pd.DataFrame
        One row per ticker with data: ticker, last_date, last_close, and the simple
        returns of ``RETURN_WINDOWS`` over that many stored closes (NaN when the history
        is shorter). Missing closes are skipped, never filled.
    """
    past = prices[(prices["date"] <= pd.Timestamp(as_of)) & prices["close"].notna()]
    rows = []
    for ticker, group in past.groupby("ticker", sort=True):
        closes = group["close"].to_numpy()
        row = {
            "ticker": ticker,
            "last_date": group["date"].iloc[-1],
            "last_close": closes[-1],
        }
        for name, lag in RETURN_WINDOWS.items():
            row[name] = closes[-1] / closes[-1 - lag] - 1 if len(closes) > lag else np.nan
        rows.append(row)
    columns = ["ticker", "last_date", "last_close", *RETURN_WINDOWS]
    return pd.DataFrame(rows, columns=columns)

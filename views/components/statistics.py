"""Backtest statistics as a table (Backtest and Scenarios pages)."""

from __future__ import annotations

import pandas as pd


def statistics_table(statistics: dict) -> pd.DataFrame:
    """Backtest statistics as rows: estimate and interval, or a single value."""
    rows = []
    for name, value in statistics.items():
        if hasattr(value, "estimate"):
            rows.append(
                {"statistic": name, "value": value.estimate, "low": value.low, "high": value.high}
            )
        else:
            rows.append({"statistic": name, "value": float(value), "low": None, "high": None})
    return pd.DataFrame(rows)

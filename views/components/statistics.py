"""Backtest statistics as a table (Backtest and Scenarios pages); a book's returns by
regime and by sector (Backtest and Paper trading pages)."""

from __future__ import annotations

import pandas as pd
import streamlit as st


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


def _with_interval(table: pd.DataFrame, name: str, form: str) -> pd.Series:
    """ "estimate [low, high]" in ``form``; a blank where the part has too few days."""
    return pd.Series(
        [
            "" if pd.isna(e) else f"{e:{form}} [{lo:{form}}, {hi:{form}}]"
            for e, lo, hi in zip(
                table[name], table[f"{name}_low"], table[f"{name}_high"], strict=True
            )
        ],
        index=table.index,
    )


def render_breakdown(breakdown, key: str) -> None:
    """A ``BookBreakdown``'s two tables, side by side."""
    st.subheader("By regime and by sector")
    st.caption(
        "Each day's return filed under the regime known the session before, and each "
        "sector's contribution (its positions marked close to close; what fills and costs "
        "took is its own row). Intervals are 95%, Bonferroni-adjusted over the rows; a row "
        "of fewer than 105 days (five 21-day blocks) gets no figures."
    )
    for column, (title, table) in zip(
        st.columns(2),
        (("By regime", breakdown.by_regime), ("By sector", breakdown.by_sector)),
        strict=True,
    ):
        shown = pd.DataFrame(
            {
                title.removeprefix("By ").capitalize(): table["part"],
                "days": table["days"],
                "Sharpe": _with_interval(table, "sharpe", ".2f"),
                "hit rate": _with_interval(table, "hit_rate", ".1%"),
                "excess / year": _with_interval(table, "excess", ".1%"),
            }
        )
        column.markdown(f"**{title}**")
        column.dataframe(shown, hide_index=True, key=f"{key}.{title.split()[1]}")

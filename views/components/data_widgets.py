"""Widgets of stored data: freshness counts and ingest results (Data page, daily review),
the CSV import's column form and report (Data page)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import workflows
from engine.workflows.data import (
    DATE_FORMATS,
    FIELDS,
    CsvImportError,
    csv_columns,
    guess_mapping,
)

ADJUSTED_HELP = (
    "With a close and an adjusted close (Yahoo's Adj Close): checked stores adjusted prices "
    "(close = Adj Close, open/high/low scaled by Adj Close / Close, volume as is), "
    "unchecked the Close as it is. With one close: whether it is split- and "
    "dividend-adjusted."
)


def render_freshness_metrics(freshness: pd.DataFrame) -> None:
    """Counts of fresh, stale and missing tickers (rows of workflows.load_freshness)."""
    counts = freshness["status"].value_counts()
    columns = st.columns(4)
    columns[0].metric("Tickers", len(freshness))
    for column, status in zip(columns[1:], ("fresh", "stale", "no data"), strict=True):
        column.metric(status.capitalize(), int(counts.get(status, 0)))


def show_ingest_result(result: workflows.IngestResult) -> None:
    """Message, per-ticker outcomes and quality findings of a refresh or import."""
    show = {"ok": st.success, "partial": st.warning}.get(result.status, st.error)
    show(result.message)
    if not result.outcomes.empty:
        st.dataframe(result.outcomes, hide_index=True)
    if not result.findings.empty:
        st.caption("Quality findings (errors reject a ticker; warnings are stored and shown)")
        st.dataframe(result.findings, hide_index=True)


def render_column_form(data: bytes, key: str) -> tuple[dict[str, str | None] | None, str | None]:
    """Column and date-format choices, shown with the columns of the file ``data``.

    Returns (mapping, date_format): mapping None while it is the guessed one (each file's
    own guess applies then), date_format None for "infer".
    """
    try:
        columns = csv_columns(data)
    except CsvImportError:
        return None, None  # the preview says why
    guessed = guess_mapping(columns)
    choices = ["(none)", *columns]
    mapping = {}
    with st.expander("Columns and date format (of the first file; used for every file)"):
        for col, field in zip(st.columns(len(FIELDS)), FIELDS, strict=True):
            index = choices.index(guessed[field] or "(none)")
            pick = col.selectbox(field, choices, index=index, key=f"{key}.map.{field}")
            mapping[field] = None if pick == "(none)" else pick
        fmt = st.selectbox("Date format", ["infer", *DATE_FORMATS], key=f"{key}.date_format")
    return (None if mapping == guessed else mapping), (None if fmt == "infer" else fmt)


def show_import_report(report: workflows.ImportReport) -> None:
    """Message, per-file outcomes (each refused file's reason) and quality findings."""
    {"ok": st.success, "partial": st.warning}.get(report.status, st.error)(report.message)
    for row in report.files[report.files["outcome"] != "stored"].itertuples():
        st.error(f"{row.file}: {row.message}")
    st.dataframe(report.files, hide_index=True, key="data.csv.report")
    if not report.findings.empty:
        st.caption("Quality findings (errors refuse a file; warnings are stored and shown)")
        st.dataframe(report.findings, hide_index=True)

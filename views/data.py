"""Data: refresh, CSV import, freshness, watchlists, price chart, ingestion log."""

import pandas as pd
import streamlit as st

from engine import workflows
from engine.display.prices import plot_price_chart
from engine.workflows.data import (
    DESCRIPTIONS,
    REFRESHABLE_SOURCES,
    InvalidTickerError,
    parse_tickers,
)
from views.components.data_widgets import (
    ADJUSTED_HELP,
    render_column_form,
    render_freshness_metrics,
    show_import_report,
    show_ingest_result,
)
from views.components.loaders import cached_freshness, cached_import_preview, cached_prices
from views.components.membership import render_watchlists
from views.components.progress import StreamlitProgress
from views.components.state import data_version, global_params

params = global_params()
st.title("Data")
st.caption(
    f"Watchlist **{params.watchlist}** · as of **{params.as_of}** · source **{params.source}**"
)
refresh, upload, fresh, lists, chart, log = st.tabs(
    ["Refresh", "Import CSV", "Freshness", "Watchlists", "Price chart", "Ingestion log"]
)

with refresh:
    if params.source not in REFRESHABLE_SOURCES:
        st.info("The CSV source is imported from a file: use the Import CSV tab.")
    else:
        default = ", ".join(params.tickers)
        text = st.text_input("Tickers to refresh", default, key="data.refresh.tickers")
        start = st.date_input("From (empty: whole history)", value=None, key="data.refresh.start")
        if st.button("Refresh prices", key="data.refresh.run", type="primary"):
            progress = StreamlitProgress(f"Refreshing from {params.source}")
            try:
                tickers = parse_tickers(text)
                start = pd.Timestamp(start) if start else None
                result = workflows.refresh_data(
                    params.db_path, params.source, tickers, start=start, progress=progress
                )
            except InvalidTickerError as exc:
                progress.finish("Nothing refreshed", ok=False)
                st.error(str(exc))
            else:
                progress.finish(result.message, ok=result.status in ("ok", "partial"))
                show_ingest_result(result)

with upload:
    files = st.file_uploader(
        "Price files (.csv, .txt), one ticker per file or a ticker column",
        type=["csv", "txt", "tsv"],
        accept_multiple_files=True,
        key="data.csv.files",
    )
    if files:
        uploads = [(f.name, f.getvalue()) for f in files]
        mapping, date_format = render_column_form(uploads[0][1], "data.csv")
        ids = tuple(f.file_id for f in files)
        preview = cached_import_preview(ids, uploads, mapping, date_format)
        edited = st.data_editor(
            preview,
            hide_index=True,
            disabled=[c for c in preview.columns if c not in ("ticker", "adjusted")],
            column_config={"adjusted": st.column_config.CheckboxColumn(help=ADJUSTED_HELP)},
            key="data.csv.preview",
        )
        st.caption(f"Edit a ticker or the adjusted box; the import uses them. {ADJUSTED_HELP}")
        if st.button("Import", key="data.csv.import", type="primary"):
            progress = StreamlitProgress(f"Importing {len(uploads)} file(s)")
            report = workflows.import_files(
                params.db_path,
                uploads,
                tickers=edited["ticker"].tolist(),
                adjusted=edited["adjusted"].tolist(),
                mapping=mapping,
                date_format=date_format,
                progress=progress,
            )
            progress.finish(report.message, ok=report.status != "rejected")
            show_import_report(report)

version = data_version()  # read again: a refresh or import above may have just written
with fresh:
    table = cached_freshness(params.db_path, version, params.as_of, params.tickers)
    render_freshness_metrics(table)
    st.dataframe(table, hide_index=True, key="data.fresh.table")
    st.caption(
        "Sessions behind = NYSE sessions after the last stored date up to the as-of date. "
        "Close-only sources have no OHLC or volume (has_ohlc, has_volume)."
    )
    with st.expander("Every stored ticker"):
        st.dataframe(cached_freshness(params.db_path, version, params.as_of, None), hide_index=True)

with lists:
    render_watchlists(params)

with chart:
    stored = cached_freshness(params.db_path, version, params.as_of, None)
    available = stored.loc[stored["status"] != "no data", "ticker"].tolist()
    if not available:
        st.info("No prices stored yet: refresh or import some first.")
    else:
        first = params.tickers[0] if params.tickers and params.tickers[0] in available else None
        index = available.index(first) if first else 0
        ticker = st.selectbox("Ticker", available, index=index, key="data.chart.ticker")
        years = st.radio("Years", [1, 3, 5, 10, 40], horizontal=True, key="data.chart.years")
        rows = cached_prices(params.db_path, version, (ticker,))
        end = pd.Timestamp(params.as_of)
        rows = rows[(rows["date"] <= end) & (rows["date"] > end - pd.DateOffset(years=years))]
        if rows.empty:
            st.warning(f"{ticker} has no prices in this window before {params.as_of}.")
        else:
            st.plotly_chart(plot_price_chart(rows, ticker), key="data.chart.figure")
        if ticker in DESCRIPTIONS:
            st.caption(f"Offline sample: {DESCRIPTIONS[ticker]}")

with log:
    st.dataframe(
        workflows.load_ingestion_log(params.db_path), hide_index=True, key="data.log.table"
    )
    st.caption("Quality findings of stored batches")
    st.dataframe(workflows.load_findings(params.db_path), hide_index=True, key="data.log.findings")

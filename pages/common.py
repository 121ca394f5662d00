"""The only shared Streamlit helpers: cached loaders, global sidebar, progress adapter.

Cached loaders take small arguments plus ``version`` (the store's data version), so a
write from any process shows up on the next rerun without clearing caches by hand.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from engine import workflows
from engine.data.csv_file import DATE_FORMATS, CsvImportError, csv_columns
from engine.data.csv_layouts import FIELDS, guess_mapping
from engine.data.providers import MARKET_SOURCES
from engine.modeling.explain import Thresholds
from engine.studies.drift import DriftThresholds

PARAMS_KEY = "global.params"
ROUTED_KEY = "global.routed"
REQUESTED_KEY = "global.requested"
ADJUSTED_HELP = (
    "With a close and an adjusted close (Yahoo's Adj Close): checked stores adjusted prices "
    "(close = Adj Close, open/high/low scaled by Adj Close / Close, volume as is), "
    "unchecked the Close as it is. With one close: whether it is split- and "
    "dividend-adjusted."
)


@dataclass(frozen=True)
class GlobalParams:
    """What the sidebar selects for every page."""

    db_path: str
    watchlist: str
    tickers: tuple[str, ...]
    as_of: dt.date
    source: str
    version: int  # the store's data version when the sidebar was drawn


def db_path() -> str:
    """The store this app instance uses ($WORKBENCH_DB or the repo default)."""
    return workflows.store_path()


def data_version() -> int:
    """Uncached: changes whenever a batch is stored."""
    return workflows.data_version(db_path())


@st.cache_data(show_spinner=False, max_entries=64)
def cached_freshness(path: str, version: int, as_of: dt.date, tickers: tuple[str, ...] | None):
    """Coverage and staleness (see workflows.load_freshness)."""
    return workflows.load_freshness(path, pd.Timestamp(as_of), tickers)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_prices(path: str, version: int, tickers: tuple[str, ...]) -> pd.DataFrame:
    """Stored prices of ``tickers``."""
    return workflows.load_prices(path, list(tickers))


@st.cache_data(show_spinner="Reading the files...", max_entries=8)
def cached_import_preview(
    file_ids: tuple[str, ...],
    _files: list[tuple[str, bytes]],
    mapping: dict[str, str | None] | None,
    date_format: str | None,
) -> pd.DataFrame:
    """What importing the uploaded ``_files`` would do (see workflows.preview_imports);
    keyed by their upload ids, not their bytes."""
    return workflows.preview_imports(_files, mapping=mapping, date_format=date_format)


@st.cache_data(show_spinner="Loading features...", max_entries=32)
def cached_features(path: str, version: int, tickers: tuple[str, ...]) -> pd.DataFrame:
    """Every feature family of ``tickers`` by (ticker, date), cache built where missing."""
    return workflows.load_features(path, list(tickers))


@st.cache_data(show_spinner="Classifying market regimes...", max_entries=8)
def cached_regime_history(path: str, version: int) -> pd.DataFrame:
    """The 12-state regime by date (see workflows.load_regime_history)."""
    return workflows.load_regime_history(path)


@st.cache_data(show_spinner="Forecasting...", max_entries=32)
def cached_forecasts(
    path: str,
    *,
    version: int,
    run_id: str,
    as_of: dt.date,
    tickers: tuple[str, ...],
    buy: float,
    sell: float,
) -> pd.DataFrame:
    """Forecasts with reasons (see workflows.forecast); keyed by data version and run."""
    snapshot = workflows.load_snapshot(path, tickers, pd.Timestamp(as_of))
    return workflows.forecast(
        path, snapshot, run_id=run_id, thresholds=Thresholds(buy=buy, sell=sell)
    )


@st.cache_data(show_spinner="Scoring the calibration methods...", max_entries=8)
def cached_calibration_report(path: str, run_id: str) -> workflows.CalibrationReport:
    """A run's calibration report (a finished run never changes)."""
    return workflows.calibration_report(path, run_id)


@st.cache_data(show_spinner="Scoring the run's ranking and every feature...", max_entries=8)
def cached_factor_report(
    path: str, run_id: str, quantiles: int, top_k: int
) -> workflows.FactorReport:
    """A run's factor report (a finished run never changes; see workflows.factors)."""
    return workflows.factor_report(path, run_id, quantiles=quantiles, top_k=top_k)


@st.cache_data(show_spinner="Comparing recent data with the training baseline...", max_entries=16)
def cached_monitor_report(
    path: str,
    *,
    version: int,
    run_id: str,
    as_of: dt.date,
    window: int,
    thresholds: tuple[float, ...],
) -> workflows.MonitorReport:
    """The drift monitor's report (see workflows.monitor_model); keyed by data version and
    the DriftThresholds' values."""
    limits = DriftThresholds(*thresholds)
    return workflows.monitor_model(
        path, pd.Timestamp(as_of), run_id=run_id, window=window, thresholds=limits
    )


def select_run(key: str) -> workflows.ModelRun | None:
    """A selectbox of complete model runs, the active one first; its record, or None."""
    runs = workflows.load_runs(db_path())
    runs = runs[runs["status"] == "complete"].sort_values("active", ascending=False)
    if runs.empty:
        st.info("No trained model yet: train one on the Training page.")
        return None
    labels = {r.run_id: f"{r.run_id}{'  (active)' if r.active else ''}" for r in runs.itertuples()}
    run_id = st.selectbox("Model run", list(labels), format_func=labels.get, key=key)
    return workflows.load_run(db_path(), run_id)


def ensure_store() -> None:
    """Build the store from the offline sample on first start (a no-op afterwards)."""
    if st.session_state.get("global.seeded"):
        return
    with st.spinner("First start: building the store from the offline sample data..."):
        workflows.ensure_seeded(db_path())
    st.session_state["global.seeded"] = True


def render_sidebar() -> GlobalParams:
    """Watchlist, as-of date and data source; the choice is kept for every page."""
    path = db_path()
    version = data_version()
    watchlists = workflows.load_watchlists(path)
    names = watchlists["name"].tolist()
    default = (
        names.index(workflows.DEFAULT_WATCHLIST) if workflows.DEFAULT_WATCHLIST in names else 0
    )
    with st.sidebar:
        watchlist = st.selectbox("Watchlist", names, index=default, key="global.watchlist")
        coverage = cached_freshness(path, version, dt.date.today(), None)
        first = pd.to_datetime(coverage["first_date"]).min()
        latest = pd.to_datetime(coverage["last_date"]).max()
        default_as_of = latest.date() if pd.notna(latest) else dt.date.today()
        as_of = st.date_input(
            "As-of date",
            value=default_as_of,
            min_value=first.date() if pd.notna(first) else None,
            max_value=dt.date.today(),
            key="global.as_of",
            help="Every page uses data dated on or before this day only.",
        )
        source = st.selectbox(
            "Data source",
            list(MARKET_SOURCES),
            format_func=MARKET_SOURCES.get,
            key="global.source",
        )
        st.caption(f"Database: `{path}`")
    tickers = tuple(workflows.load_watchlist(path, watchlist)) if watchlist else ()
    params = GlobalParams(path, watchlist or "", tickers, as_of, source, version)
    st.session_state[PARAMS_KEY] = params
    return params


def render_frame() -> GlobalParams:
    """What every page shares: first-start seeding and the global sidebar (app.py)."""
    ensure_store()
    params = render_sidebar()
    st.session_state[ROUTED_KEY] = True
    return params


def global_params() -> GlobalParams:
    """The sidebar's choice for this run; pages call this first.

    app.py renders the frame, then runs the page. Because page files live in ``pages/``,
    Streamlit's legacy pages-directory mode can run a page file without app.py (a fresh
    server's first request to a page URL; AppTest on every rerun). Such a run is handed
    to app.py, whose st.navigation call ends legacy mode for the whole server and then
    opens the page that was asked for.
    """
    if not st.session_state.pop(ROUTED_KEY, False):
        # remember which page was asked for, so app.py can open it once routing is set up
        caller = sys._getframe(1).f_globals.get("__file__") or ""
        st.session_state[REQUESTED_KEY] = Path(caller).stem
        st.switch_page("app.py")
    return st.session_state[PARAMS_KEY]


class StreamlitProgress:
    """Turns engine ``progress(fraction, text)`` callbacks into st.status + st.progress."""

    def __init__(self, label: str) -> None:
        self.status = st.status(label, expanded=True)
        self.bar = self.status.progress(0.0)

    def __call__(self, fraction: float, text: str) -> None:
        self.bar.progress(min(max(fraction, 0.0), 1.0), text=text)
        self.status.write(text)

    def finish(self, label: str, ok: bool) -> None:
        """Close the status box as complete or failed."""
        self.status.update(label=label, state="complete" if ok else "error", expanded=not ok)


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


def render_job(job: workflows.TrainingJob) -> None:
    """Progress bar, message and log tail of the running training job."""
    st.progress(min(max(job.progress, 0.0), 1.0), text=job.message)
    st.caption(f"Run {job.run_id} · process {job.pid} · started {job.started_utc}")
    if job.log_tail:
        st.code("\n".join(job.log_tail), language="text")


def _interval(value) -> str:
    """One of ``workflows.RunScores``' intervals as text ("" when the run has none)."""
    return "" if value is None else f"{value.estimate:.3f} [{value.low:.3f}, {value.high:.3f}]"


def render_runs(path: str, just_trained: str | None = None) -> None:
    """The run registry with out-of-sample scores, and "make active" (the run
    ``just_trained`` preselected once it is complete)."""
    runs = workflows.load_runs(path)
    if runs.empty:
        st.info("No runs yet.")
        return
    rows = []
    for run in runs.itertuples():
        scores = workflows.RunScores.from_metrics(run.metrics)
        rows.append(
            {
                "run": run.run_id,
                "status": run.status,
                "active": run.active,
                "origin": run.origin,
                "created (UTC)": run.created_utc,
                "trained through": workflows.describe_trained_through(run),
                "AUC [95%]": _interval(scores.auc),
                "baseline AUC": _interval(scores.baseline_auc),
                "mean IC [95%]": _interval(scores.mean_ic),
                "ECE": _interval(scores.ece),
                "Brier": _interval(scores.brier),
                "Brier climatology": scores.brier_climatology,
                "message": run.message,
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="runs.table")
    complete = runs.loc[runs["status"] == "complete", "run_id"].tolist()
    if complete:
        if just_trained in complete and st.session_state.get("runs.preselected") != just_trained:
            st.session_state["runs.choice"] = st.session_state["runs.preselected"] = just_trained
        left, right = st.columns([3, 1])
        chosen = left.selectbox("Run", complete, key="runs.choice", label_visibility="collapsed")
        if right.button("Make active", key="runs.activate"):
            workflows.activate_run(path, chosen)
            st.rerun()


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

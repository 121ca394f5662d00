"""Use cases that combine the engine and the store. Pages and scripts call these.

Every write goes through ``ingest``: quality gate first, then one transaction that writes
the prices and their ingestion-log row together. A batch with nothing to store, or one
that fails while writing, leaves the database exactly as it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.artifacts import (
    ArtifactError,
    manifest_hashes,
    read_bundle,
    read_predictions,
    write_bundle,
)
from engine.data.calendar import compute_staleness
from engine.data.csv_file import CsvImportError, CsvProvider
from engine.data.providers import PriceProvider, get_provider
from engine.data.quality import FINDING_COLUMNS, check_prices, compare_with_stored
from engine.data.sample import DESCRIPTIONS, FACTOR_ETFS, INDICES, STOCKS
from engine.data.schema import FetchResult, Progress, normalize_tickers
from engine.explain import FORECAST_COLUMNS, Thresholds, compute_forecast_frame, compute_reasons
from engine.features import FeatureParams, build_context, compute_regime_history
from engine.features.cache import CacheSpec, PriceRows, compute_blocks, plan_updates
from engine.features.context import MarketContext
from engine.features.panel import to_long, to_wide
from engine.features.registry import (
    CONTEXT_FAMILIES,
    availability_column,
    compute_panel_features,
    feature_columns,
    resolve_families,
)
from engine.learner import REGIME_COLUMN, MetaLearner
from engine.training import TrainConfig, build_dataset, data_hash, summarize_scores, train
from store.db import StoreError, default_db_path, open_db, write_transaction
from store.features import FeatureRepository
from store.ingestion import IngestionRepository
from store.models import ModelRunRepository
from store.prices import PriceRepository
from store.watchlists import WatchlistError as WatchlistError  # raised to pages
from store.watchlists import WatchlistRepository

DbPath = str | Path | None
REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS_ENV_VAR = "WORKBENCH_ARTIFACTS"

DEFAULT_WATCHLISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Sample universe": ("The 20 US large caps of the offline sample", STOCKS),
    "Sample benchmarks": (
        "Indices, VIX and factor ETFs of the offline sample",
        INDICES + FACTOR_ETFS,
    ),
    "Seed portfolio": ("The seed portfolio (live data)", ("KDK", "HOOD", "BA", "WMT")),
    "Re-entry": ("Re-entry candidates (live data)", ("AAPL", "YYAI", "SERV")),
    "Index ETFs": ("Broad-market ETFs (live data)", ("SPY", "QQQ", "IWM", "DIA")),
}
DEFAULT_WATCHLIST = "Sample universe"
OUTCOME_COLUMNS = ("ticker", "outcome", "rows", "reason")


@dataclass(frozen=True)
class IngestResult:
    """What one refresh or import did.

    status: "ok" (all stored), "partial" (some tickers stored), "rejected" (nothing
    stored: every ticker failed the gate or fetch, or the batch was all-or-nothing),
    "failed" (an error while fetching or writing; nothing stored).
    outcomes: one row per requested ticker, columns ``OUTCOME_COLUMNS``.
    findings: quality-gate findings, columns ``FINDING_COLUMNS``.
    """

    status: str
    source: str
    rows: int
    message: str
    outcomes: pd.DataFrame
    findings: pd.DataFrame
    log_id: int | None = None


def _no_findings() -> pd.DataFrame:
    return pd.DataFrame(columns=list(FINDING_COLUMNS))


def _outcomes(
    requested: Sequence[str],
    fetched: FetchResult,
    rejected: Mapping[str, str],
    rows: pd.Series,
    batch_reason: str | None,
) -> pd.DataFrame:
    records = []
    for ticker in requested:
        if ticker in fetched.errors:
            records.append((ticker, "not fetched", 0, fetched.errors[ticker]))
        elif ticker in rejected:
            records.append((ticker, "rejected", 0, rejected[ticker]))
        elif batch_reason:
            records.append((ticker, "not stored", 0, batch_reason))
        else:
            records.append((ticker, "stored", int(rows.get(ticker, 0)), ""))
    return pd.DataFrame(records, columns=list(OUTCOME_COLUMNS))


def _splices(prices: PriceRepository, accepted: pd.DataFrame, adjusted: bool) -> pd.DataFrame:
    """Warnings where ``accepted`` would meet stored rows of another adjustment or level."""
    coverage = prices.load_coverage()
    flags = dict(zip(coverage["ticker"], coverage["adjusted"], strict=True))
    overlap = accepted[accepted["ticker"].isin(list(flags))]
    if overlap.empty:
        return _no_findings()
    tickers = sorted(overlap["ticker"].unique())
    stored = prices.load(tickers, overlap["date"].min(), overlap["date"].max())
    known = {t: bool(flags[t]) for t in tickers}
    return compare_with_stored(overlap, stored, known, adjusted)


def ingest(
    db_path: DbPath,
    fetched: FetchResult,
    *,
    requested: Sequence[str] | None = None,
    all_or_nothing: bool = False,
    today: pd.Timestamp | None = None,
) -> IngestResult:
    """Gate ``fetched`` and store what passes, with its log row, in one transaction.

    With ``all_or_nothing`` one rejected ticker rejects the whole batch (CSV imports).
    """
    requested = (
        list(requested)
        if requested is not None
        else sorted(set(fetched.prices["ticker"]) | set(fetched.errors))
    )
    gate = check_prices(fetched.prices, today=today)
    batch_reason = None
    if all_or_nothing and gate.rejected:
        batch_reason = f"batch rejected because {', '.join(sorted(gate.rejected))} failed checks"
    rows = gate.accepted["ticker"].value_counts()
    outcomes = _outcomes(requested, fetched, gate.rejected, rows, batch_reason)
    stored = outcomes[outcomes["outcome"] == "stored"]
    if stored.empty:
        reasons = "; ".join(outcomes["reason"].head(5)) or "no rows"
        return IngestResult(
            "rejected", fetched.source, 0, f"Nothing stored: {reasons}", outcomes, gate.findings
        )
    status = "ok" if len(stored) == len(outcomes) else "partial"
    message = f"Stored {int(stored['rows'].sum()):,} rows for {len(stored)} ticker(s)"
    if status == "partial":
        message += f"; {len(outcomes) - len(stored)} ticker(s) not stored"
    findings = gate.findings
    try:
        with closing(open_db(db_path)) as db, write_transaction(db):
            prices = PriceRepository(db)
            splices = _splices(prices, gate.accepted, fetched.adjusted)
            findings = (
                pd.concat([findings, splices], ignore_index=True) if len(splices) else findings
            )
            log_id = IngestionRepository(db).record(
                source=fetched.source,
                tickers=requested,
                rows=len(gate.accepted),
                status=status,
                message=message,
                findings=findings,
            )
            prices.upsert(
                gate.accepted, source=fetched.source, adjusted=fetched.adjusted, ingestion_id=log_id
            )
    except (sqlite3.Error, StoreError) as exc:
        return IngestResult(
            "failed",
            fetched.source,
            0,
            f"Nothing stored: the database write failed ({exc})",
            outcomes.assign(outcome="not stored", rows=0, reason=str(exc)),
            gate.findings,
        )
    return IngestResult(
        status, fetched.source, len(gate.accepted), message, outcomes, findings, log_id
    )


def refresh_data(
    db_path: DbPath,
    source: str,
    tickers: Sequence[str],
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    progress: Progress | None = None,
    provider: PriceProvider | None = None,
) -> IngestResult:
    """Fetch ``tickers`` from ``source`` (or ``provider``), gate them and store them.

    Tickers that fail are reported one by one; the others are stored ("partial").
    """
    tickers = normalize_tickers(tickers)
    provider = provider or get_provider(source)

    def fetch_progress(fraction: float, text: str) -> None:
        if progress:
            progress(0.85 * fraction, text)

    try:
        fetched = provider.fetch(tickers, start=start, end=end, progress=fetch_progress)
    except Exception as exc:  # noqa: BLE001 - any provider failure is reported, not raised
        outcomes = pd.DataFrame(
            [(t, "not fetched", 0, str(exc)) for t in tickers], columns=list(OUTCOME_COLUMNS)
        )
        return IngestResult(
            "failed", provider.name, 0, f"Fetching failed: {exc}", outcomes, _no_findings()
        )
    if progress:
        progress(0.9, "Checking quality and writing")
    result = ingest(db_path, fetched, requested=tickers)
    if progress:
        progress(1.0, result.message)
    return result


def import_csv(
    db_path: DbPath,
    data: bytes | str | Path,
    *,
    adjusted: bool,
    mapping: Mapping[str, str | None] | None = None,
    ticker: str | None = None,
    date_format: str | None = None,
) -> IngestResult:
    """Import a user's CSV all-or-nothing: one bad ticker stores none of the file."""
    try:
        provider = CsvProvider(
            data, adjusted=adjusted, mapping=mapping, ticker=ticker, date_format=date_format
        )
    except CsvImportError as exc:
        empty = pd.DataFrame(columns=list(OUTCOME_COLUMNS))
        return IngestResult("rejected", "csv", 0, f"Nothing stored: {exc}", empty, _no_findings())
    return ingest(db_path, provider.fetch(), all_or_nothing=True)


def store_path() -> str:
    """The store the app uses: $WORKBENCH_DB, or data/workbench.db under the repo."""
    return str(default_db_path())


def seed_watchlists(db_path: DbPath) -> None:
    """Create the default watchlists that do not exist yet."""
    with closing(open_db(db_path)) as db, write_transaction(db):
        repo = WatchlistRepository(db)
        existing = set(repo.names())
        for name, (description, tickers) in DEFAULT_WATCHLISTS.items():
            if name not in existing:
                repo.save(name, list(tickers), description)


def ensure_seeded(db_path: DbPath, progress: Progress | None = None) -> IngestResult | None:
    """On a new store: default watchlists and the offline sample data. Cheap otherwise."""
    with closing(open_db(db_path)) as db:
        has_watchlists = bool(WatchlistRepository(db).names())
        has_history = IngestionRepository(db).latest_id() > 0
    if not has_watchlists:
        seed_watchlists(db_path)
    if has_history:
        return None
    return refresh_data(db_path, "sample", list(DESCRIPTIONS), progress=progress)


def save_watchlist(
    db_path: DbPath, name: str, tickers: Sequence[str], description: str = ""
) -> list[str]:
    """Validate ``tickers`` (InvalidTickerError names a bad one) and store the list."""
    clean = normalize_tickers(tickers)
    with closing(open_db(db_path)) as db:
        WatchlistRepository(db).save(name, clean, description)
    return clean


def delete_watchlist(db_path: DbPath, name: str) -> None:
    """Remove a watchlist (its tickers' prices stay)."""
    with closing(open_db(db_path)) as db:
        WatchlistRepository(db).delete(name)


def load_watchlists(db_path: DbPath) -> pd.DataFrame:
    """Every watchlist: name, description, updated_utc, tickers."""
    with closing(open_db(db_path)) as db:
        return WatchlistRepository(db).load_all()


def load_watchlist(db_path: DbPath, name: str) -> list[str]:
    """Tickers of one watchlist."""
    with closing(open_db(db_path)) as db:
        return WatchlistRepository(db).load(name)


def load_prices(
    db_path: DbPath,
    tickers: Sequence[str] | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Stored normalized prices (all tickers when None)."""
    with closing(open_db(db_path)) as db:
        return PriceRepository(db).load(tickers, start, end)


def load_freshness(
    db_path: DbPath, as_of: pd.Timestamp, tickers: Sequence[str] | None = None
) -> pd.DataFrame:
    """Coverage and staleness per ticker against the NYSE calendar at ``as_of``.

    With ``tickers``, one row each, "no data" for those never stored.
    """
    with closing(open_db(db_path)) as db:
        coverage = PriceRepository(db).load_coverage()
    if tickers is not None:
        coverage = pd.DataFrame({"ticker": list(tickers)}).merge(coverage, on="ticker", how="left")
    return compute_staleness(coverage, as_of)


def load_ingestion_log(db_path: DbPath, limit: int = 50) -> pd.DataFrame:
    """Newest logged batches first."""
    with closing(open_db(db_path)) as db:
        return IngestionRepository(db).load_log(limit)


def load_findings(db_path: DbPath, ticker: str | None = None) -> pd.DataFrame:
    """Quality findings of stored batches, newest first."""
    with closing(open_db(db_path)) as db:
        return IngestionRepository(db).load_findings(ticker)


def data_version(db_path: DbPath) -> int:
    """Changes whenever a batch is stored: a cache key for loaders."""
    with closing(open_db(db_path)) as db:
        return IngestionRepository(db).latest_id()


@dataclass(frozen=True)
class FeatureBuildResult:
    """What ``build_features`` did: tickers built in full, extended, or reused as cached."""

    version: str
    built: tuple[str, ...]
    appended: tuple[str, ...]
    reused: tuple[str, ...]
    rows_computed: int


def _build_features(db, prices: pd.DataFrame, progress: Progress | None) -> FeatureBuildResult:
    """Bring the cache up to date for the tickers of ``prices`` (their stored rows)."""
    spec = CacheSpec()
    repo = FeatureRepository(db)
    repo.register(spec.version, spec.params_dict(), spec.columns)
    price_rows = PriceRows(prices)
    plans = plan_updates(price_rows, repo.coverage(spec.version))
    todo = sum(p.action != "reuse" for p in plans)

    def save(blocks: dict[str, pd.DataFrame], done: int) -> None:
        appended = [p.ticker for p in plans if p.action == "append" and p.ticker in blocks]
        previous = repo.load(spec.version, appended)
        with write_transaction(db):  # a batch of tickers is stored whole or not at all
            for ticker, new_rows in blocks.items():
                block = pd.concat([previous[ticker], new_rows]) if ticker in previous else new_rows
                if block.empty:
                    continue
                digest = price_rows.digest(ticker, block.index.max())
                repo.save_block(spec.version, ticker, block, digest)
        if progress:
            progress(done / todo, f"Computed features for {done} of {todo} tickers")

    computed = compute_blocks(price_rows, plans, spec, save)
    by_action = {
        a: tuple(p.ticker for p in plans if p.action == a) for a in ("build", "append", "reuse")
    }
    return FeatureBuildResult(
        spec.version, by_action["build"], by_action["append"], by_action["reuse"], computed
    )


def build_features(
    db_path: DbPath, tickers: Sequence[str] | None = None, progress: Progress | None = None
) -> FeatureBuildResult:
    """Compute and cache the per-ticker families for ``tickers`` (all stored when None).

    Only tickers or dates not yet cached are computed; a ticker whose stored history
    changed is rebuilt. Each batch of tickers is written in one transaction.
    """
    with closing(open_db(db_path)) as db:
        return _build_features(db, PriceRepository(db).load(tickers), progress)


def load_market_context(db_path: DbPath, params: FeatureParams | None = None) -> MarketContext:
    """Index, VIX, factor ETFs and breadth over every stored stock (not indices or factors)."""
    return build_context(load_prices(db_path), params)


def load_regime_history(db_path: DbPath) -> pd.DataFrame:
    """The 12-state regime by date from the stored market data (see compute_regime_history)."""
    return compute_regime_history(load_market_context(db_path))


def load_features(
    db_path: DbPath,
    tickers: Sequence[str],
    families: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Features of ``families`` by (ticker, date), as ``compute_features`` returns them.

    Per-ticker families come from the cache (built first where missing); cross-asset and
    regime columns are computed fresh from the stored market context.
    """
    names = resolve_families(families)
    with closing(open_db(db_path)) as db:
        everything = PriceRepository(db).load()  # the market context needs every ticker
        prices = everything[everything["ticker"].isin(list(tickers))]
        _build_features(db, prices, progress)
        frame = FeatureRepository(db).load_frame(CacheSpec().version, list(tickers))
    ordered = feature_columns(names) + [availability_column(n) for n in names]
    if frame.empty:
        return pd.DataFrame(columns=ordered)
    context_names = [n for n in names if n in CONTEXT_FAMILIES]
    if context_names:
        panel = to_wide(prices)
        context = build_context(everything)
        frame = frame.join(to_long(panel, compute_panel_features(panel, context_names, context)))
    return frame[ordered]


# --- model runs ---------------------------------------------------------------------------


def artifacts_root() -> Path:
    """Where bundles live: $WORKBENCH_ARTIFACTS, or models/artifacts under the repo."""
    return Path(os.environ.get(ARTIFACTS_ENV_VAR) or REPO_ROOT / "models" / "artifacts")


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def code_version() -> str:
    """The git commit of the repository, or 'unknown' outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def train_model(
    db_path: DbPath,
    config: TrainConfig,
    *,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> dict:
    """Train, score out of sample, write the bundle and register the run; return its record.

    Holds the store's training lock for the whole run (TrainingBusyError if another job
    has it). Any failure marks the run failed, leaves no bundle, and is raised.
    """
    run_id = run_id or new_run_id()
    root = artifacts_root()
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        runs.acquire_lock(run_id, os.getpid())
        try:
            runs.start(run_id, config.as_dict())
        except BaseException:
            runs.release_lock(run_id)
            raise
    try:
        if progress:
            progress(0.01, f"Loading features for {len(config.tickers)} tickers")
        features = load_features(db_path, config.tickers)
        prices = load_prices(db_path, list(config.tickers))
        regimes = load_regime_history(db_path)["regime_id"]
        data = build_dataset(features, prices, regimes, config)
        result = train(data, config, progress)
        used = prices[prices["date"] <= result.as_of]
        metrics = summarize_scores(result.scores)
        manifest = {
            "config": config.as_dict(),
            "metrics": metrics,
            "data_hash": data_hash(used),
            "code_version": code_version(),
            "feature_version": CacheSpec().version,
            "trained_through": result.as_of,
            "rows": result.rows,
        }
        hashes = write_bundle(result.model, result.walk_forward.predictions, root, run_id, manifest)
        with closing(open_db(db_path)) as db:
            ModelRunRepository(db).complete(
                run_id,
                metrics=metrics,
                files=hashes,
                artifact_dir=str(root / run_id),
                feature_version=manifest["feature_version"],
                data_hash=manifest["data_hash"],
                code_version=manifest["code_version"],
            )
        if progress:
            progress(1.0, f"Run {run_id} registered")
    except BaseException as exc:
        with closing(open_db(db_path)) as db:
            ModelRunRepository(db).fail(run_id, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        with closing(open_db(db_path)) as db:
            ModelRunRepository(db).release_lock(run_id)
    return load_run(db_path, run_id)


def load_run(db_path: DbPath, run_id: str) -> dict:
    with closing(open_db(db_path)) as db:
        record = ModelRunRepository(db).get(run_id)
    if record is None:
        raise StoreError(f"no model run {run_id!r} in the store")
    return record


def load_runs(db_path: DbPath) -> pd.DataFrame:
    """Every registered run, newest first."""
    with closing(open_db(db_path)) as db:
        return ModelRunRepository(db).load_all()


def activate_run(db_path: DbPath, run_id: str) -> None:
    with closing(open_db(db_path)) as db:
        ModelRunRepository(db).activate(run_id)


def load_model(db_path: DbPath, run_id: str | None = None) -> tuple[MetaLearner, dict]:
    """A registered model (the active one by default), after its files pass the hash check."""
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        record = runs.get(run_id) if run_id else runs.active()
    if record is None:
        raise StoreError(
            f"no model run {run_id!r}"
            if run_id
            else "no active model: train one or make one active"
        )
    if record["status"] != "complete":
        raise StoreError(f"model run {record['run_id']} is {record['status']}, not complete")
    model, _ = read_bundle(Path(record["artifact_dir"]), record["files"])
    return model, record


def load_oos_predictions(db_path: DbPath, run_id: str | None = None) -> tuple[pd.DataFrame, dict]:
    """A run's walk-forward out-of-sample predictions (the active run by default)."""
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        record = runs.get(run_id) if run_id else runs.active()
    if record is None or record["status"] != "complete":
        raise StoreError("no complete model run to show: train one or make one active")
    return read_predictions(Path(record["artifact_dir"]), record["files"]), record


def import_bundle(db_path: DbPath, folder: Path) -> dict:
    """Register a bundle trained elsewhere (e.g. Colab) after checking its files against its
    manifest; it is copied under the artifacts root and registered as 'imported'."""
    hashes = manifest_hashes(folder)
    manifest = read_bundle(Path(folder), hashes)[1]
    run_id = str(manifest.get("run_id") or new_run_id())
    target = artifacts_root() / run_id
    if target.exists():
        raise ArtifactError(f"run {run_id} is already in {target.parent}")
    temp = target.with_name(f".tmp-import-{run_id}")
    shutil.copytree(folder, temp)
    os.rename(temp, target)
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        runs.start(run_id, manifest.get("config", {}), origin="imported")
        runs.complete(
            run_id,
            metrics=manifest.get("metrics", {}),
            files=hashes,
            artifact_dir=str(target),
            feature_version=str(manifest.get("feature_version", "")),
            data_hash=str(manifest.get("data_hash", "")),
            code_version=str(manifest.get("code_version", "")),
        )
    return load_run(db_path, run_id)


def forecast(
    db_path: DbPath,
    tickers: Sequence[str],
    as_of: pd.Timestamp,
    *,
    run_id: str | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Calibrated forecasts with reasons for ``tickers`` from their last session <= as_of.

    Indexed by ticker; columns ``date`` (the session forecast from), FORECAST_COLUMNS and
    ``run_id``. Tickers with no stored session on or before ``as_of`` are left out.
    """
    model, record = load_model(db_path, run_id)
    features = load_features(db_path, list(tickers))
    dates = features.index.get_level_values("date")
    past = features[dates <= pd.Timestamp(as_of)]
    if past.empty:
        return pd.DataFrame(columns=["date", *FORECAST_COLUMNS, "run_id"])
    rows = past.groupby(level="ticker").tail(1)
    p_up = model.predict_proba(rows)
    reasons = compute_reasons(model.contributions(rows), rows)
    regimes = (
        rows[REGIME_COLUMN].to_numpy() if REGIME_COLUMN in rows else np.full(len(rows), np.nan)
    )
    frame = compute_forecast_frame(p_up, reasons, regimes, model.outcome_returns_, thresholds)
    frame.insert(0, "date", rows.index.get_level_values("date"))
    frame.index = rows.index.get_level_values("ticker")
    return frame.assign(run_id=record["run_id"])


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m engine.workflows seed``: build the store from the offline sample."""
    parser = argparse.ArgumentParser(prog="python -m engine.workflows")
    parser.add_argument("command", choices=["seed"])
    parser.add_argument("--db", default=None, help="database path (default: $WORKBENCH_DB)")
    args = parser.parse_args(argv)
    result = ensure_seeded(args.db, progress=lambda f, text: print(f"[{f:4.0%}] {text}"))
    print(result.message if result else "Store already built; nothing to do.")


if __name__ == "__main__":
    main()

"""Experiment tracking: training runs, their tuning trials and zoo members also logged to
MLflow when a tracking URI is set (``[tracking] tracking_uri`` or ``$MLFLOW_TRACKING_URI``).

The store and the bundles stay the record; MLflow holds a copy for the field's tools. A
training run becomes one MLflow run (its configuration flattened as parameters, every score
as ``name``, ``name_low``, ``name_high`` metrics, the run id, data hash and trained-through
date as tags, the bundle's files as artifacts under ``bundle/``), its tuning trials runs
nested under it; a zoo study becomes one MLflow run with a nested run per member.

Tracking never fails the work it follows: ``mlflow`` is imported only when a URI is set,
and any error (not installed, a server that does not answer, a store MLflow refuses) is
logged as a warning, never raised; a training run's outcome is kept in its folder
(``tracking.json``) for the Training page. Unless they are set, MLflow's HTTP retries and
timeout are bounded (``HTTP_LIMITS``) so a server that is down costs seconds, not minutes.
Only configurations and scores are logged; warnings are redacted (``engine.redaction``)
and the URI is shown without its credentials.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from engine.modeling.artifacts import (
    ArtifactError,
    read_manifest,
    read_run_record,
    write_run_record,
)
from engine.redaction import redact, truncate
from engine.settings import TrackingSection, load_settings
from engine.workflows.data.prices import DbPath
from store.db import open_db
from store.models import ModelRunRepository

if TYPE_CHECKING:
    from engine.modeling.tuning import TuningResult
    from engine.studies.zoo import ZooConfig, ZooResult

LOG = logging.getLogger(__name__)

TRACKING_RECORD = "tracking.json"  # a training run's tracking outcome, in its folder
TAG_PREFIX = "workbench."
PARENT_TAG = "mlflow.parentRunId"  # MLflow's own tag for a nested run
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a parameter's value
# MLflow's defaults retry an unreachable server for minutes; the user's settings win
HTTP_LIMITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
WARNING_LIMIT = 600  # characters of a warning: room for the cause after the request
NOT_INSTALLED = (
    "a tracking URI is set but mlflow is not installed (make tracking installs it, from "
    "requirements-tracking.txt); nothing was logged to MLflow"
)


@dataclasses.dataclass(frozen=True)
class TrackingRecord:
    """Where one training run or zoo study went in MLflow.

    ``subject`` is the workbench's name for it (a run id, ``zoo-<study id>``); ``uri`` the
    tracking URI without credentials or query; ``mlflow_run_id`` None when the MLflow run
    could not be created; ``warning`` the (redacted) error when logging failed, else None.
    """

    subject: str
    experiment: str
    uri: str
    mlflow_run_id: str | None
    warning: str | None

    @property
    def tracked(self) -> bool:
        """Everything was logged."""
        return self.mlflow_run_id is not None and self.warning is None

    def describe(self) -> str:
        """One line for a page."""
        where = f"experiment {self.experiment!r} at {self.uri}"
        if self.tracked:
            return f"Logged to MLflow as run {self.mlflow_run_id} in {where}."
        return f"MLflow tracking failed ({where}): {self.warning}"


def shown_uri(uri: str) -> str:
    """``uri`` without a user, password, query or fragment (what may be shown or stored)."""
    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def flatten_params(values: Mapping, prefix: str = "") -> dict[str, str]:
    """A nested configuration as MLflow parameters: dotted keys, JSON text values (lists
    and numbers as JSON writes them, text as it is), each cut to ``MAX_PARAM_LENGTH``."""
    params: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            params |= flatten_params(value, f"{name}.")
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            params[name] = truncate(text, MAX_PARAM_LENGTH)
    return params


def flatten_metrics(values: Mapping, prefix: str = "") -> dict[str, float]:
    """The numbers of nested scores as MLflow metrics: an interval ``{estimate, low,
    high}`` becomes ``name``, ``name_low`` and ``name_high``; other numbers keep their
    dotted name; NaN stays NaN; text, flags, tables (lists) and None are left out."""
    metrics: dict[str, float] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and {"estimate", "low", "high"} <= set(value):
            metrics |= {
                f"{name}{end}": float(value[part])
                for end, part in (("", "estimate"), ("_low", "low"), ("_high", "high"))
            }
        elif isinstance(value, Mapping):
            metrics |= flatten_metrics(value, f"{name}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            metrics[name] = float(value)
    return metrics


def _configured() -> TrackingSection | None:
    tracking = load_settings().tracking
    return tracking if tracking.tracking_uri is not None else None


def _client(uri: str):
    for name, value in HTTP_LIMITS.items():
        os.environ.setdefault(name, value)
    from mlflow import MlflowClient  # noqa: PLC0415 (optional: only when a URI is set)

    return MlflowClient(tracking_uri=uri)


def _experiment_id(client, uri: str, name: str) -> str:
    """The experiment's id, created when missing; a SQLite store's artifacts go beside its
    database (MLflow's default is ./mlruns under the working directory)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///")).resolve()
        location = (database.parent / "mlartifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)


class _Run:
    """An MLflow run being written: parameters, metrics and tags in batches."""

    def __init__(self, client, experiment_id: str, name: str, tags: dict, parent=None):
        tags = {k: str(v) for k, v in tags.items()}
        if parent is not None:
            tags[PARENT_TAG] = parent.run_id
        self.client = client
        self.run_id = client.create_run(experiment_id, run_name=name, tags=tags).info.run_id
        self.experiment_id = experiment_id

    def log(
        self, params: dict[str, str], metrics: dict[str, float], *, tags=None, steps=()
    ) -> None:
        """``params``, ``metrics`` (step 0), ``tags`` and ``steps``: (name, step, value)."""
        from mlflow.entities import Metric, Param, RunTag  # noqa: PLC0415

        stamp = int(time.time() * 1000)
        values = [Metric(k, v, stamp, 0) for k, v in metrics.items()]
        values += [Metric(k, v, stamp, step) for k, step, v in steps]
        settings = [Param(k, v) for k, v in params.items()]
        labels = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        self.client.log_batch(self.run_id, metrics=values, params=settings, tags=labels)

    def child(self, name: str, tags: dict) -> _Run:
        return _Run(self.client, self.experiment_id, name, tags, parent=self)

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status)


def _log_safely(subject: str, tags: dict, write) -> TrackingRecord | None:
    """When tracking is set, a run named ``subject`` with ``tags``, filled by
    ``write(run)``; the outcome, an error turned into a logged warning (the run, when it
    was created, marked failed). None when no URI is set."""
    tracking = _configured()
    if tracking is None:
        return None
    uri = tracking.tracking_uri.get_secret_value()
    shown, experiment = shown_uri(uri), tracking.experiment_name
    parent = None
    try:
        client = _client(uri)
        parent = _Run(client, _experiment_id(client, uri, experiment), subject, tags)
        write(parent)
        parent.finish()
        return TrackingRecord(subject, experiment, shown, parent.run_id, None)
    except Exception as exc:  # tracking never fails the work it follows
        if isinstance(exc, ImportError) and exc.name == "mlflow":
            warning = NOT_INSTALLED
        else:
            secrets = (uri, urlsplit(uri).password)
            warning = redact(f"{type(exc).__name__}: {exc}", secrets, WARNING_LIMIT)
        if parent is not None:
            try:
                parent.finish("FAILED")
            except Exception:  # the first error is the one reported
                LOG.debug("cannot mark MLflow run %s failed", parent.run_id)
    LOG.warning("MLflow tracking of %s failed: %s", subject, warning)
    mlflow_run_id = parent.run_id if parent is not None else None
    return TrackingRecord(subject, experiment, shown, mlflow_run_id, warning)


def track_training_run(
    run_id: str, folder: Path, study: TuningResult | None = None
) -> TrackingRecord | None:
    """Log a registered training run to MLflow, when tracking is set; never raises.

    Parameters
    ----------
    run_id : str
        The run, whose bundle (manifest included) is in ``folder``.
    folder : Path
        The run's bundle folder; its files are logged as artifacts under ``bundle/``, and
        the outcome is kept there as ``tracking.json``.
    study : TuningResult, optional
        The Optuna study that chose the run's settings: each trial a nested run (its
        settings as parameters, ``objective`` its value, NaN when pruned or undefined,
        ``objective_by_fold`` the running value after each fold, by step).

    Returns
    -------
    TrackingRecord or None
        None when no tracking URI is set (nothing imported, nothing written).
    """

    def write(run: _Run) -> None:
        manifest = read_manifest(folder)
        tags = {
            f"{TAG_PREFIX}{name}": manifest.get(name)
            for name in ("data_hash", "trained_through", "code_version", "feature_version")
        }
        config, scores = flatten_params(manifest["config"]), flatten_metrics(manifest["metrics"])
        run.log(config, scores, tags=tags)
        run.client.log_artifacts(run.run_id, str(folder), artifact_path="bundle")
        for outcome in study.outcomes if study is not None else ():
            trial = run.child(
                f"{study.study_name} #{outcome.number}",
                {f"{TAG_PREFIX}trial": outcome.number, f"{TAG_PREFIX}pruned": outcome.pruned},
            )
            steps = [("objective_by_fold", i, s) for i, s in enumerate(outcome.fold_scores)]
            params = flatten_params(outcome.params) | {"objective_name": study.objective}
            trial.log(params, {"objective": outcome.value}, steps=steps)
            trial.finish()

    record = _log_safely(run_id, {f"{TAG_PREFIX}run_id": run_id}, write)
    if record is not None:
        try:
            write_run_record(folder, TRACKING_RECORD, record)
        except OSError as exc:
            LOG.warning("cannot keep the MLflow outcome of %s: %s", run_id, exc)
    return record


def track_zoo_study(study_id: int, config: ZooConfig, result: ZooResult) -> TrackingRecord | None:
    """Log a zoo study to MLflow, when tracking is set; never raises (None when no URI is
    set). One run ``zoo-<study_id>`` with the zoo's settings; a nested run per row of its
    table (each learner and ensemble): every figure of the row as a metric (``ic``,
    ``ic_low``, ``ic_high`` ...; NaN stays NaN)."""
    subject = f"zoo-{study_id}"

    def write(run: _Run) -> None:
        run.log(flatten_params(dataclasses.asdict(config)), {})
        for row in result.table.to_dict(orient="records"):
            name = str(row.pop("model"))
            member = run.child(name, {f"{TAG_PREFIX}member": name})
            member.log({"member": name}, flatten_metrics(row))
            member.finish()

    return _log_safely(subject, {f"{TAG_PREFIX}study_id": study_id}, write)


def load_tracking(db_path: DbPath, run_id: str) -> TrackingRecord | None:
    """A training run's MLflow outcome; None when the run is not registered, was not
    tracked, or its record cannot be read."""
    with closing(open_db(db_path)) as db:
        run = ModelRunRepository(db).get(run_id)
    if run is None or not run.artifact_dir:
        return None
    try:
        return read_run_record(Path(run.artifact_dir), TRACKING_RECORD, TrackingRecord)
    except ArtifactError:
        return None

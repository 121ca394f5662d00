"""Training as of a date: labelled rows knowable then, walk-forward scores, the final model.

Training "as of" t uses only labels whose outcome was known by t (``end_date <= t``), so a
model trained as of t is the same whether or not later prices exist. The walk-forward
scores are out-of-sample; the final model is then fitted on the most recent training window
and is the one that forecasts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import pandas as pd

from engine.features.registry import feature_columns
from engine.metrics import Interval
from engine.modeling.evaluation import WalkForwardResult, evaluate, make_dataset, walk_forward
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.learner import LearnerParams, MetaLearner
from engine.modeling.model_selection import PurgedWalkForward

Progress = Callable[[float, str], None]
BASELINE_ROWS = 20_000


@dataclass(frozen=True)
class TrainConfig:
    """What a training run is asked to do (recorded in the registry)."""

    tickers: tuple[str, ...]
    start: pd.Timestamp | None = None
    as_of: pd.Timestamp | None = None
    label: LabelParams = field(default_factory=LabelParams)
    learner: LearnerParams = field(default_factory=LearnerParams)
    train_months: int = 18
    test_months: int = 3
    embargo: int = 5
    n_boot: int = 300

    def as_dict(self) -> dict:
        out = asdict(self)
        out["tickers"] = list(self.tickers)
        return out

    @classmethod
    def from_dict(cls, params: dict) -> TrainConfig:
        """The config ``as_dict`` gave, as the registry stores it (JSON, dates as text);
        keys this version does not know are ignored."""

        def known(kind: type, values: dict) -> dict:
            return {k: v for k, v in values.items() if k in {f.name for f in fields(kind)}}

        raw = known(cls, params)
        raw["tickers"] = tuple(raw["tickers"])
        for key in ("start", "as_of"):
            raw[key] = None if raw.get(key) is None else pd.Timestamp(raw[key])
        raw["label"] = LabelParams(**known(LabelParams, raw.get("label", {})))
        learner = known(LearnerParams, raw.get("learner", {}))
        if "families" in learner:
            learner["families"] = tuple(learner["families"])
        raw["learner"] = LearnerParams(**learner)
        return cls(**raw)


@dataclass(frozen=True)
class TrainResult:
    model: MetaLearner
    walk_forward: WalkForwardResult
    scores: dict
    rows: int
    as_of: pd.Timestamp
    baseline: pd.DataFrame  # features of the final training window (a sample), for drift


def build_dataset(
    features: pd.DataFrame,
    prices: pd.DataFrame,
    regime_ids: pd.Series | None,
    config: TrainConfig,
) -> pd.DataFrame:
    """Labelled rows of ``config.tickers`` in [start, as_of] whose outcome is known by as_of."""
    prices = prices[prices["ticker"].isin(config.tickers)]
    if config.as_of is not None:
        prices = prices[prices["date"] <= config.as_of]
    if prices.empty:
        raise ValueError("no stored prices for the chosen tickers and dates")
    labels = compute_labels(prices, config.label, regime_ids)
    data = make_dataset(features, labels)
    dates = data.index.get_level_values("date")
    keep = np.ones(len(data), dtype=bool)
    if config.start is not None:
        keep &= dates >= config.start
    if config.as_of is not None:
        keep &= (dates <= config.as_of) & (data["end_date"] <= config.as_of).to_numpy()
    return data[keep]


def data_hash(prices: pd.DataFrame) -> str:
    """SHA-256 of the price rows a run used (sorted, values as float64)."""
    rows = prices.sort_values(["ticker", "date"])
    digest = hashlib.sha256("\n".join(rows["ticker"]).encode())
    digest.update(rows["date"].to_numpy(dtype="datetime64[ns]").tobytes())
    digest.update(rows[["open", "high", "low", "close", "volume"]].to_numpy(dtype=float).tobytes())
    return digest.hexdigest()


def train(data: pd.DataFrame, config: TrainConfig, progress: Progress | None = None) -> TrainResult:
    """Walk forward for out-of-sample scores, then fit the final model on the last window."""
    splitter = PurgedWalkForward(config.train_months, config.test_months, embargo=config.embargo)
    inner = None if progress is None else (lambda f, text: progress(0.85 * f, text))
    result = walk_forward(data, splitter, config.learner, inner)
    if progress:
        progress(0.87, "Scoring the out-of-sample forecasts")
    scores = evaluate(result, n_boot=config.n_boot)
    if progress:
        progress(0.92, "Fitting the final model on the last training window")
    model, window = fit_final_model(data, config)
    columns = [c for c in feature_columns(config.learner.families) if c in window.columns]
    step = max(1, len(window) // BASELINE_ROWS)
    last = data.index.get_level_values("date").max()
    return TrainResult(model, result, scores, len(data), last, window[columns].iloc[::step])


def fit_final_model(data: pd.DataFrame, config: TrainConfig) -> tuple[MetaLearner, pd.DataFrame]:
    """The model fitted on the last ``train_months`` of ``data`` (and that window)."""
    dates = data.index.get_level_values("date")
    window = data[dates > dates.max() - pd.DateOffset(months=config.train_months)]
    return MetaLearner(config.learner).fit(window, window["label"], window["end_date"]), window


def summarize_scores(scores: dict) -> dict:
    """The evaluation as plain JSON: intervals become {estimate, low, high}."""

    def plain(value):
        if isinstance(value, Interval):
            return value.as_dict()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, pd.DataFrame):
            return value.to_dict(orient="records")
        if isinstance(value, np.generic):
            return value.item()
        return value

    return plain(scores)

"""Training as of a date: labelled rows knowable then, walk-forward scores, the final model.

Training "as of" t uses only labels whose outcome was known by t (``end_date <= t``), so a
model trained as of t is the same whether or not later prices exist. The walk-forward
scores are out-of-sample; the final model is then fitted on the most recent training window
and is the one that forecasts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import pandas as pd

from engine.data.calendar import parse_date
from engine.data.schema import Progress, normalize_tickers, scaled_progress
from engine.features.registry import feature_columns
from engine.metrics import N_BOOT, Interval
from engine.modeling.evaluation import (
    WalkForwardResult,
    calibration_evidence,
    evaluate,
    make_dataset,
    walk_forward,
)
from engine.modeling.labels import MIN_NAMES, LabelParams, compute_labels
from engine.modeling.learners import Learner, LearnerParams, make_learner
from engine.modeling.membership import MembershipRecord, membership_frame
from engine.modeling.model_selection import PurgedWalkForward
from engine.modeling.param_limits import Limit, check_limits

BASELINE_ROWS = 20_000
MAX_TICKERS = 5_000
TRAINING_LIMITS = {
    "train_months": Limit(1, 600, whole=True),
    "test_months": Limit(1, 120, whole=True),
    "embargo": Limit(0, 252, whole=True),
    "n_boot": Limit(0, 100_000, whole=True),
}


@dataclass(frozen=True)
class TrainConfig:
    """What a training run is asked to do (recorded in the registry).

    ``membership``: the universe's spells as (ticker, added, removed) with ISO dates (None:
    open), e.g. ``UniverseWindow.records``; a ticker's rows count only on dates it was a
    member. Empty: every ticker of ``tickers`` is a member on every date (a fixed list).
    ``tickers`` is then every ticker that was a member on some date of the window.
    """

    tickers: tuple[str, ...]
    start: pd.Timestamp | None = None
    as_of: pd.Timestamp | None = None
    label: LabelParams = field(default_factory=LabelParams)
    learner: LearnerParams = field(default_factory=LearnerParams)
    train_months: int = 18
    test_months: int = 3
    embargo: int = 5
    n_boot: int = N_BOOT
    membership: tuple[MembershipRecord, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.label, LabelParams) or not isinstance(self.learner, LearnerParams):
            raise ValueError("label and learner must be LabelParams and LearnerParams")
        if not 1 <= len(self.tickers) <= MAX_TICKERS:
            raise ValueError(f"a training run needs 1 to {MAX_TICKERS} tickers")
        if normalize_tickers(self.tickers) != list(self.tickers):
            raise ValueError("tickers must be distinct, upper-case exchange symbols")
        for name in ("start", "as_of"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, pd.Timestamp) or pd.isna(value)):
                raise ValueError(f"{name} must be a date or empty (got {value!r:.40})")
        if self.start is not None and self.as_of is not None and self.start >= self.as_of:
            raise ValueError(
                f"start ({self.start:%Y-%m-%d}) must be before as_of ({self.as_of:%Y-%m-%d})"
            )
        check_limits(self, TRAINING_LIMITS, "training settings")
        self.universe()  # a spell that cannot be read is refused before any work starts
        relative = self.label.kind == "relative"
        if relative != self.learner.cross_sectional:
            raise ValueError(
                f"the {self.learner.kind} model needs "
                + ("relative labels" if self.learner.cross_sectional else "absolute labels")
                + f", not {self.label.kind!r}"
            )

    def splitter(self) -> PurgedWalkForward:
        """The run's purged walk-forward (what scores it out of sample, and tunes it)."""
        return PurgedWalkForward(self.train_months, self.test_months, embargo=self.embargo)

    def universe(self) -> pd.DataFrame | None:
        """The spells as a membership frame, or None for a fixed list."""
        return membership_frame(self.membership) if self.membership else None

    def as_dict(self) -> dict:
        out = asdict(self)
        out["tickers"] = list(self.tickers)
        for key in ("start", "as_of"):  # the store's date text, read back by parse_date
            out[key] = None if out[key] is None else f"{out[key]:%Y-%m-%d}"
        out["membership"] = [list(r) for r in self.membership]
        return out

    def to_json(self) -> str:
        """The configuration as JSON (what a training job is handed)."""
        return json.dumps(self.as_dict(), sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, raw: dict) -> TrainConfig:
        """Rebuild a configuration from ``as_dict`` (or its JSON); unknown keys are refused."""
        if not isinstance(raw, dict):
            raise ValueError("a training configuration must be a JSON object")
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown training options: {', '.join(sorted(unknown))}")
        values = dict(raw)
        if not isinstance(values.get("tickers") or [], list | tuple):
            raise ValueError("tickers must be a list of symbols")
        values["tickers"] = tuple(values.get("tickers") or ())
        spells = values.get("membership") or ()
        if not isinstance(spells, list | tuple):
            raise ValueError("membership must be a list of (ticker, added, removed) spells")
        values["membership"] = tuple(tuple(r) if isinstance(r, list) else r for r in spells)
        for key in ("start", "as_of"):
            if values.get(key) is not None:
                values[key] = _date(values[key], key)
        for key in ("label", "learner"):
            if not isinstance(values.get(key, {}), dict | None):
                raise ValueError(f"{key} must be a JSON object of settings")
        label = values.get("label") or {}
        learner = dict(values.get("learner") or {})
        # configurations written before the cross-sectional kinds existed are market timing
        # models that predicted with their early-stopping round
        if "kind" not in learner:
            learner |= {"kind": "market_timing", "min_rounds": learner.get("min_rounds", 1)}
        try:
            if "families" in learner:
                learner["families"] = tuple(learner["families"])
            values["label"], values["learner"] = LabelParams(**label), LearnerParams(**learner)
        except TypeError as exc:  # an unknown setting, or families that are no list
            raise ValueError(f"label or learner settings: {exc}") from exc
        return cls(**values)


def _date(value: object, name: str) -> pd.Timestamp:
    """``value`` read by the one date rule (``parse_date``: YYYY-MM-DD, not after today)."""
    if isinstance(value, str) and value.endswith(" 00:00:00"):
        value = value[: -len(" 00:00:00")]  # as configurations written before ISO dates hold
    return pd.Timestamp(parse_date(value, name))


def label_kind_for(model_kind: str) -> str:
    """The label kind a model kind learns by default: relative labels for the
    cross-sectional kinds, absolute direction for market timing."""
    return "direction" if model_kind == "market_timing" else "relative"


@dataclass(frozen=True)
class TrainResult:
    model: Learner
    walk_forward: WalkForwardResult
    scores: dict
    rows: int
    as_of: pd.Timestamp  # the last labelled date
    trained_through: pd.Timestamp  # the newest label end date any fit learned from
    baseline: pd.DataFrame  # features of the final training window (a sample), for drift


def build_dataset(
    features: pd.DataFrame,
    prices: pd.DataFrame,
    regime_ids: pd.Series | None,
    config: TrainConfig,
    index_close: pd.Series | None = None,
) -> pd.DataFrame:
    """Labelled rows of ``config.tickers`` in [start, as_of] whose outcome is known by as_of,
    on the dates each ticker was a member (``config.membership``).

    Relative labels take the members of ``config.tickers`` on each date as the universe;
    ``index_close`` (the index's closes by date) gives their excess over the index."""
    prices = prices[prices["ticker"].isin(config.tickers)]
    if config.as_of is not None:
        prices = prices[prices["date"] <= config.as_of]
        if index_close is not None:
            index_close = index_close[index_close.index <= config.as_of]
    if prices.empty:
        raise ValueError("no stored prices for the chosen tickers and dates")
    if config.label.kind == "relative" and prices["ticker"].nunique() < MIN_NAMES:
        raise ValueError(
            f"relative labels rank a universe: choose at least {MIN_NAMES} tickers "
            f"(got {prices['ticker'].nunique()}), or train the market-timing model"
        )
    labels = compute_labels(prices, config.label, regime_ids, index_close, config.universe())
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
    result = walk_forward(
        data, config.splitter(), config.learner, scaled_progress(progress, 0.0, 0.85)
    )
    if progress:
        progress(0.87, "Scoring the out-of-sample forecasts")
    scores = evaluate(result, horizon=config.label.horizon, n_boot=config.n_boot)
    if progress:
        progress(0.92, "Fitting the final model on the last training window")
    model, window = fit_final_model(data, config)
    # the final model's calibrator also learns from every fold's out-of-sample forecasts
    # (all of them are rows of ``data``, so their outcomes end by the same date)
    model.add_calibration_evidence(*calibration_evidence(result.predictions))
    columns = [c for c in feature_columns(config.learner.families) if c in window.columns]
    step = max(1, len(window) // BASELINE_ROWS)
    last = data.index.get_level_values("date").max()
    # the walk-forward's folds and the final window are all rows of ``data``: none of their
    # labels ends after the newest end date here
    through = pd.Timestamp(data["end_date"].max())
    baseline = window[columns].iloc[::step]
    return TrainResult(model, result, scores, len(data), last, through, baseline)


def fit_final_model(data: pd.DataFrame, config: TrainConfig) -> tuple[Learner, pd.DataFrame]:
    """The model fitted on the last ``train_months`` of ``data`` (and that window)."""
    dates = data.index.get_level_values("date")
    window = data[dates > dates.max() - pd.DateOffset(months=config.train_months)]
    return make_learner(config.learner).fit(window, window["label"], window["end_date"]), window


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

"""The settings of every learner (``LearnerParams``, recorded in the run manifest), the
model kinds and the learner families, each range-checked on construction."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from engine.features.registry import DEFAULT_FAMILIES, FAMILY_NAMES
from engine.modeling.calibration import CALIBRATION_METHODS
from engine.modeling.param_limits import Limit, check_limits
from engine.modeling.processors import NORMALIZATIONS

MODEL_KINDS = ("classifier", "ranker", "regressor", "market_timing")
# the learner families; a manifest without a learner (written before the zoo) is XGBoost
LEARNERS = ("xgboost", "lightgbm", "linear", "mlp", "gru", "transformer")
# the sequence learners read the price path (and nothing else); they train with torch
SEQUENCE_LEARNERS = ("gru", "transformer")
TABULAR_LEARNERS = tuple(n for n in LEARNERS if n not in SEQUENCE_LEARNERS)
SEQUENCE_FAMILIES = ("path",)
LEARNER_NAMES = {
    "xgboost": "XGBoost (gradient-boosted trees)",
    "lightgbm": "LightGBM (gradient-boosted trees)",
    "linear": "Linear (logistic / ridge on per-date normalized features)",
    "mlp": "MLP (a small ReLU network on per-date normalized features)",
    "gru": "GRU (a recurrent network over the last 20 sessions' path; trains with torch)",
    "transformer": "Transformer (a small encoder over the last 20 sessions' path; torch)",
}
DEVICES = ("cpu", "cuda")  # cuda: XGBoost's first GPU (models/train.py --device)
# generous but finite: a crafted manifest's n_jobs=1e6 or n_estimators=1e9 is refused
LEARNER_LIMITS = {
    "clip": Limit(0, 100, open_low=True),
    "top_k": Limit(1, 1000, whole=True),
    "max_correlation": Limit(0, 1, open_low=True),
    "n_estimators": Limit(1, 20_000, whole=True),
    "learning_rate": Limit(0, 1, open_low=True),
    "max_depth": Limit(1, 20, whole=True),
    "min_child_weight": Limit(0, 1e6),
    "subsample": Limit(0, 1, open_low=True),
    "colsample_bytree": Limit(0, 1, open_low=True),
    "early_stopping_rounds": Limit(1, 20_000, whole=True),
    "min_rounds": Limit(0, 20_000, whole=True),
    "l2_penalty": Limit(0, 1e6, open_low=True),
    "hidden_units": Limit(1, 256, whole=True),
    "hidden_layers": Limit(1, 4, whole=True),
    "epochs": Limit(1, 2000, whole=True),
    "patience": Limit(1, 2000, whole=True),
    "step_size": Limit(0, 1, open_low=True),
    "validation_fraction": Limit(0, 0.5, open_low=True),
    "calibration_fraction": Limit(0, 0.5, open_low=True),
    "calibration_prior_dates": Limit(0, 1e6),
    "n_jobs": Limit(1, 256, whole=True),
    "seed": Limit(0, 2**32 - 1, whole=True),
}
KIND_NAMES = {
    "classifier": "Cross-sectional classifier (beats the median)",
    "ranker": "Cross-sectional ranker (per-date pairwise)",
    "regressor": "Cross-sectional regressor (rank-normalized return)",
    "market_timing": "Market timing (absolute direction)",
}
RELEVANCE_LEVELS = 5  # the ranker's relevance grades: per-date quintiles of the return


def probability_label(kind: str) -> str:
    """What a run's forecast probability is of: "P(up)" for market timing, "P(beats
    median)" for the cross-sectional kinds. The one wording pages and reports use."""
    return "P(up)" if kind == "market_timing" else "P(beats median)"


@dataclass(frozen=True)
class LearnerParams:
    """Everything that shapes a fitted model (recorded in the run manifest).

    ``learner`` is one of ``LEARNERS``; ``kind`` one of ``MODEL_KINDS``. The
    cross-sectional kinds need relative labels (``LabelParams(kind="relative")``), market
    timing absolute ones. ``normalization`` is the per-date processor of the
    cross-sectional kinds. ``calibration_prior_dates`` is the shrinkage of the calibrator
    toward the base rate: evidence from ``n`` dates gets weight
    ``n / (n + calibration_prior_dates)`` on its fitted curve. ``min_rounds``: a tree
    learner predicts with at least this many rounds (at most the rounds it trained) even
    when early stopping found its best earlier: a stop at round 1 leaves two or three
    distinct scores for a whole fold, which cannot rank a universe. Whether the rounds add
    skill is what the out-of-sample evaluation judges; they never see a test row.
    ``l2_penalty``: the linear learner's ridge penalty (its logistic regression's ``C`` is
    its inverse) and the MLP's weight decay (scikit-learn's ``alpha``). ``hidden_units``
    and ``hidden_layers`` shape the MLP, trained with Adam's ``step_size`` for at most
    ``epochs`` epochs, stopped ``patience`` epochs after its best on the validation slice.
    """

    families: tuple[str, ...] = DEFAULT_FAMILIES
    learner: str = "xgboost"
    kind: str = "classifier"
    normalization: str = "robust_zscore"
    clip: float = 3.0
    top_k: int = 20
    max_correlation: float = 0.85
    n_estimators: int = 600
    learning_rate: float = 0.03
    max_depth: int = 2  # one interaction per tree (a regime and a signal, say)
    min_child_weight: float = 100.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    early_stopping_rounds: int = 60
    min_rounds: int = 60
    l2_penalty: float = 1.0
    hidden_units: int = 32
    hidden_layers: int = 2
    epochs: int = 200
    patience: int = 10
    step_size: float = 0.001
    validation_fraction: float = 0.15
    calibration_fraction: float = 0.2
    calibration: str = "platt"
    per_regime_calibration: bool = True
    calibration_prior_dates: float = 60.0
    device: str = "cpu"
    # one thread: on the sample's folds (about 7,000 rows) two threads on two cores were
    # 3-5x slower whenever anything else ran (OpenMP threads spin against each other)
    n_jobs: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {LEARNERS}, got {self.learner!r:.40}")
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {self.kind!r}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}")
        if self.calibration not in CALIBRATION_METHODS:
            raise ValueError(f"calibration must be one of {CALIBRATION_METHODS}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES} (got {self.device!r:.40})")
        if not isinstance(self.per_regime_calibration, bool):
            raise ValueError("per_regime_calibration must be true or false")
        unknown = [f for f in self.families if f not in FAMILY_NAMES]
        if not self.families or unknown:
            raise ValueError(f"families must be some of {', '.join(FAMILY_NAMES)}")
        if self.learner in SEQUENCE_LEARNERS and tuple(self.families) != SEQUENCE_FAMILIES:
            raise ValueError(
                f"the {self.learner} learner reads the price path: families {SEQUENCE_FAMILIES}"
            )
        check_limits(self, LEARNER_LIMITS, "learner settings")

    @property
    def cross_sectional(self) -> bool:
        return self.kind != "market_timing"


def learner_families(learner: str, families: tuple[str, ...]) -> tuple[str, ...]:
    """The families ``learner`` reads when a study asks for ``families``: the price path
    for a sequence learner, ``families`` for the others."""
    return SEQUENCE_FAMILIES if learner in SEQUENCE_LEARNERS else families


def trainable_learners() -> tuple[str, ...]:
    """The learners this installation can train: the sequence learners need torch (``make
    deep``); every learner is served without it."""
    has_torch = importlib.util.find_spec("torch") is not None
    return tuple(n for n in LEARNERS if has_torch or n not in SEQUENCE_LEARNERS)


def available_device(requested: str) -> tuple[str, str | None]:
    """The device XGBoost can train on when ``requested`` is asked for, and why it differs
    when it does (XGBoost itself would fall back to the CPU with only a warning)."""
    if requested != "cuda":
        return requested, None
    if not xgb.build_info().get("USE_CUDA"):
        return "cpu", "this XGBoost build has no CUDA support"
    if shutil.which("nvidia-smi") is None:
        return "cpu", "no NVIDIA GPU is visible (nvidia-smi not found)"
    return "cuda", None


def relevance(target: np.ndarray) -> np.ndarray:
    """The ranker's grades 0 .. RELEVANCE_LEVELS - 1 from a rank target in (-0.5, 0.5)."""
    grades = np.floor((np.asarray(target, dtype=float) + 0.5) * RELEVANCE_LEVELS)
    return np.clip(grades, 0, RELEVANCE_LEVELS - 1)

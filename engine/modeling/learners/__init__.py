"""The model zoo's learners: one contract (``Learner``, scikit-learn's conventions, the
shared normalizer -> selector -> model -> calibrator pipeline) and one module per family.

- ``params``: ``LearnerParams`` (every setting, range-checked), kinds and families;
- ``pipeline``: the contract and the shared pipeline (``Learner``);
- ``xgboost_learner``: XGBoost trees (``booster.ubj``);
- ``lightgbm_learner``: LightGBM trees (``lightgbm.txt``);
- ``centred``: the in-fold imputation and standardization of the learners without NaN;
- ``linear_learner``: logistic regression / ridge (``linear.json``);
- ``mlp_learner``: a small ReLU network, served by numpy (``mlp.json``);
- ``sequence_learner``: GRU and Transformer over the price path, trained with torch
  (``sequence_networks``, ``make deep``), served by onnxruntime (``gru.onnx``,
  ``transformer.onnx``, checked by ``engine.modeling.onnx_check`` first).

``make_learner(params)`` builds the family that ``params.learner`` names.
"""

from __future__ import annotations

from engine.modeling.learners.lightgbm_learner import LightGBMLearner
from engine.modeling.learners.linear_learner import LinearLearner
from engine.modeling.learners.mlp_learner import MLPLearner
from engine.modeling.learners.params import (
    DEVICES,
    KIND_NAMES,
    LEARNER_NAMES,
    LEARNERS,
    MODEL_KINDS,
    SEQUENCE_LEARNERS,
    TABULAR_LEARNERS,
    LearnerParams,
    available_device,
    learner_families,
    probability_label,
    relevance,
    trainable_learners,
)
from engine.modeling.learners.pipeline import ExplainedPredictions, Learner
from engine.modeling.learners.sequence_learner import GRULearner, TransformerLearner
from engine.modeling.learners.xgboost_learner import XGBoostLearner

LEARNER_CLASSES: dict[str, type[Learner]] = {
    "xgboost": XGBoostLearner,
    "lightgbm": LightGBMLearner,
    "linear": LinearLearner,
    "mlp": MLPLearner,
    "gru": GRULearner,
    "transformer": TransformerLearner,
}


def make_learner(params: LearnerParams | None = None) -> Learner:
    """An unfitted learner of the family ``params.learner`` names (XGBoost by default)."""
    params = params or LearnerParams()
    return LEARNER_CLASSES[params.learner](params)


__all__ = [
    "DEVICES",
    "KIND_NAMES",
    "LEARNERS",
    "LEARNER_CLASSES",
    "LEARNER_NAMES",
    "MODEL_KINDS",
    "SEQUENCE_LEARNERS",
    "TABULAR_LEARNERS",
    "ExplainedPredictions",
    "GRULearner",
    "Learner",
    "LearnerParams",
    "LightGBMLearner",
    "LinearLearner",
    "MLPLearner",
    "TransformerLearner",
    "XGBoostLearner",
    "available_device",
    "learner_families",
    "make_learner",
    "probability_label",
    "relevance",
    "trainable_learners",
]

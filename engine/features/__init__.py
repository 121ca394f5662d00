"""Signal families: leak-free features by (ticker, date), their registry and context."""

from engine.features.base import ColumnSpec, FeatureParams
from engine.features.context import MarketContext, SentimentInputs, build_context
from engine.features.cross_asset import compute_cross_asset
from engine.features.flow import compute_flow, interpret_smi
from engine.features.microstructure import compute_microstructure
from engine.features.path import compute_path
from engine.features.patterns import compute_patterns
from engine.features.regime import REGIME_NAMES, compute_regime, compute_regime_history
from engine.features.registry import (
    CACHED_FAMILIES,
    CONTEXT_FAMILIES,
    DEFAULT_FAMILIES,
    FAMILIES,
    FAMILY_NAMES,
    availability_column,
    compute_features,
    feature_columns,
    feature_set_version,
)
from engine.features.sentiment import compute_sentiment
from engine.features.technical import compute_technical

__all__ = [
    "CACHED_FAMILIES",
    "CONTEXT_FAMILIES",
    "DEFAULT_FAMILIES",
    "FAMILIES",
    "FAMILY_NAMES",
    "REGIME_NAMES",
    "ColumnSpec",
    "FeatureParams",
    "MarketContext",
    "SentimentInputs",
    "availability_column",
    "build_context",
    "compute_cross_asset",
    "compute_features",
    "compute_flow",
    "compute_microstructure",
    "compute_path",
    "compute_patterns",
    "compute_regime",
    "compute_regime_history",
    "compute_sentiment",
    "compute_technical",
    "feature_columns",
    "feature_set_version",
    "interpret_smi",
]

"""Forecasts with their reasons: direction from calibrated P(up), and the top terms of the
score turned into plain words ("RSI 14 at 27, oversold: +3.1 pp").

Contributions are the learner's additive terms of its score: exact TreeSHAP for the trees
(a test checks XGBoost's equal shap's TreeExplainer), weight x centred value for the
linear learner; each row adds up to the score. A term's effect in percentage points is
how far P(up) would move if that term were removed:
100 x (sigmoid(margin) - sigmoid(margin - term)).

A cross-sectional forecast is explained relative to the average stock that day: each
term is the stock's contribution minus the mean contribution of that feature over the
day's stocks, so the terms (the listed ones plus "other features") add up exactly to the
stock's score minus the day's mean score, the number shown beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.features.flow import interpret_smi
from engine.features.regime import REGIME_NAMES
from engine.features.registry import column_specs

FORECAST_COLUMNS = (
    "score",
    "score_vs_average",
    "rank",
    "percentile",
    "p_up",
    "direction",
    "confidence",
    "expected_return",
    "regime",
    "reasons",
)
NO_REASON = "no feature moved the forecast by 0.05 pp or more"
NO_RELATIVE_REASON = "scored like the average stock today: no feature sets it apart"
PERCENT_PREFIXES = ("ret_", "dist_", "index_ret", "index_trend", "factor_", "gap_", "vwap_dev")


@dataclass(frozen=True)
class Thresholds:
    """P(up) at or above ``buy`` is BUY, at or below ``sell`` is SELL, else HOLD."""

    buy: float = 0.55
    sell: float = 0.45

    def __post_init__(self) -> None:
        if not 0 < self.sell < self.buy < 1:
            raise ValueError("thresholds need 0 < sell < buy < 1")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _reading(feature: str, value: float) -> str:
    """A short qualitative reading for features that have a conventional one."""
    if not math.isfinite(value):
        return "missing"
    rules = {
        "rsi_14": ((30, "oversold"), (70, "overbought")),
        "stoch_k_14": ((20, "oversold"), (80, "overbought")),
        "bb_pctb_20": ((0, "below the lower band"), (1, "above the upper band")),
        "adx_14": ((0, ""), (25, "trending")),
    }
    if feature in rules:
        (low, low_word), (high, high_word) = rules[feature]
        return low_word if value < low else high_word if value > high else ""
    if feature == "smi":
        return interpret_smi(value)
    if feature == "ema_stack":
        return "rising stack" if value >= 2 else "falling stack" if value <= -2 else "mixed stack"
    return ""


def format_value(feature: str, value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if feature == "regime_id":
        return REGIME_NAMES[int(value)]
    if feature.startswith(PERCENT_PREFIXES) or feature.endswith("_pct_14"):
        return f"{value:+.1%}"
    return f"{value:.3g}"


def _name(feature: str, specs: dict) -> str:
    """The feature's short name from its registry description."""
    if feature == "regime_id":
        return "Market regime"
    if feature not in specs:
        return feature
    return specs[feature][1].description.split(":")[0].split(",")[0]


def describe(
    feature: str,
    value: float,
    effect_pp: float,
    specs: dict | None = None,
) -> str:
    """'RSI 14 at 27, oversold: +3.1 pp'. ``specs``: ``column_specs()``, when the caller
    describes many terms."""
    shown = format_value(feature, value)
    if feature == "regime_id":
        return f"Market regime is {shown}: {effect_pp:+.1f} pp"
    name = _name(feature, column_specs() if specs is None else specs)
    reading = _reading(feature, value)
    text = f"{name} at {shown}"
    if reading:
        text += f", {reading}"
    return f"{text}: {effect_pp:+.1f} pp"


def compute_reasons(contributions: pd.DataFrame, values: pd.DataFrame, top: int = 5) -> pd.Series:
    """Per row, the ``top`` terms by absolute effect, as one string of sentences.

    ``contributions``: log-odds terms per feature plus ``bias`` (rows as ``values``).
    """
    terms = contributions.drop(columns="bias")
    margin = contributions.sum(axis=1).to_numpy()[:, None]
    effect = 100.0 * (_sigmoid(margin) - _sigmoid(margin - terms.to_numpy()))
    order, listed = _largest(effect, top, 0.05)
    names = terms.columns.to_numpy()
    shown = values[list(names)].to_numpy(dtype=float).tolist()
    specs = column_specs()
    reasons = []
    for i, (row, values_i, effect_i) in enumerate(zip(order, shown, effect.tolist(), strict=True)):
        sentences = [
            describe(names[j], values_i[j], effect_i[j], specs) for j in row[listed[i]].tolist()
        ]
        reasons.append("; ".join(sentences) if sentences else NO_REASON)
    return pd.Series(reasons, index=terms.index)


def _largest(effect: np.ndarray, top: int, smallest: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``effect`` (n, k): the columns of its ``top`` largest absolute terms,
    largest first (n, top), and which of them reach ``smallest`` (n, top)."""
    order = np.argsort(-np.abs(effect), axis=1)[:, :top]
    return order, np.abs(np.take_along_axis(effect, order, axis=1)) >= smallest


def compute_relative_reasons(
    contributions: pd.DataFrame, values: pd.DataFrame, top: int = 5
) -> pd.Series:
    """Per row, the ``top`` terms of the score relative to the average stock of its date,
    and the rest as "other features", as one string; the terms add up to the row's score
    minus its date's mean score (shown with three decimals).

    ``contributions``: score terms per feature plus ``bias``, indexed by (ticker, date);
    ``values``: the raw feature values of the same rows.
    """
    terms = contributions.drop(columns="bias")
    relative = terms - terms.groupby(level="date").transform("mean")
    effect = relative.to_numpy()
    order, listed = _largest(effect, top, 0.0005)
    chosen = np.where(listed, np.take_along_axis(effect, order, axis=1), 0.0)
    rests = (effect.sum(axis=1) - chosen.sum(axis=1)).tolist()
    names = terms.columns.to_numpy()
    shown = values.reindex(columns=list(names)).to_numpy(dtype=float).tolist()
    specs = column_specs()
    labels = [_name(name, specs) for name in names]
    reasons = []
    for i, (row, values_i, effect_i) in enumerate(zip(order, shown, effect.tolist(), strict=True)):
        sentences = [
            f"{labels[j]} at {format_value(names[j], values_i[j])}: {effect_i[j]:+.3f}"
            for j in row[listed[i]].tolist()
        ]
        if sentences:
            sentences.append(f"other features: {rests[i]:+.3f}")
        reasons.append("; ".join(sentences) if sentences else NO_RELATIVE_REASON)
    return pd.Series(reasons, index=terms.index)


def score_percentile(score: np.ndarray) -> np.ndarray:
    """Each name's cross-sectional percentile among one date's ``score`` (shape (n,)): the
    share of the other names scored below it, ties counting half (0 worst, 1 best)."""
    below = pd.Series(np.asarray(score, dtype=float)).rank(method="average").to_numpy() - 1.0
    return below / max(len(below) - 1, 1)


def compute_forecast_frame(
    p_up: np.ndarray,
    reasons: pd.Series,
    regimes: np.ndarray,
    outcome_returns: tuple[float, float],
    thresholds: Thresholds | None = None,
    *,
    scores: np.ndarray | None = None,
) -> pd.DataFrame:
    """Direction, confidence (0 at P = 0.5, 1 at certainty), and the expected return
    p x (mean return of up outcomes) + (1 - p) x (mean return of down outcomes), both
    measured on the model's training rows (for a cross-sectional model: P(beats the median)
    and excess returns over the universe mean, so the expected return is an expected excess
    return).

    ``scores`` (one date's rows) give the ranking: ``score_vs_average`` (score minus the
    mean score), ``rank`` (1 = best) and ``percentile`` (share of the other names scored
    below, ties half); without them the scores are the log-odds of ``p_up``."""
    thresholds = thresholds or Thresholds()
    p = np.asarray(p_up, dtype=float)
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    score = np.log(clipped / (1 - clipped)) if scores is None else np.asarray(scores, float)
    ranked = pd.Series(score).rank(ascending=False, method="min").to_numpy()
    percentile = score_percentile(score)
    direction = np.where(p >= thresholds.buy, "BUY", np.where(p <= thresholds.sell, "SELL", "HOLD"))
    up, down = outcome_returns
    names = [REGIME_NAMES[int(r)] if np.isfinite(r) else "unknown" for r in regimes]
    return pd.DataFrame(
        {
            "score": score,
            "score_vs_average": score - score.mean() if len(score) else score,
            "rank": ranked.astype(int),
            "percentile": percentile,
            "p_up": p,
            "direction": direction,
            "confidence": np.abs(p - 0.5) * 2.0,
            "expected_return": p * up + (1.0 - p) * down,
            "regime": names,
            "reasons": reasons.to_numpy(),
        },
        index=reasons.index,
    )

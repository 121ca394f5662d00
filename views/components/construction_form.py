"""The portfolio-construction widgets of a form (Backtest page): each bounded by the
engine's limit, starting at the run's stored construction."""

from __future__ import annotations

import streamlit as st

from engine import workflows
from engine.workflows import ConstructionParams
from views.components.inputs import bounded_input

METHODS_HELP = (
    "kelly: sized P(up) with ATR stops; top_k: TopkDropout; long_short: top vs bottom "
    "quantile, dollar-neutral; hrp / mean_risk: the top k weighted by skfolio; "
    "black_litterman: the top k, skfolio's mean-variance on a Black-Litterman prior whose "
    "views are the calibrated forecasts; factor_neutral: long_short moved the least to be "
    "neutral to beta, the sectors or every risk factor"
)


def construction_inputs(stored: ConstructionParams, key: str) -> dict:
    """Two rows of widgets; the keyword arguments of ``ConstructionParams``."""
    limit = workflows.CONSTRUCTION_LIMITS
    c1, c2, c3, c4, c5, c6 = st.columns(6)
    methods = workflows.CONSTRUCTION_METHODS
    values = {
        "method": c1.selectbox("Construction", methods, index=methods.index(stored.method),
            key=f"{key}.method", help=METHODS_HELP),
        "k": bounded_input(c2, "k names", limit["k"], stored.k, key=f"{key}.k"),
        "max_replacements": bounded_input(c3, "Max replacements", limit["max_replacements"],
            stored.max_replacements, key=f"{key}.drop"),
        "quantile": bounded_input(c4, "Quantile", limit["quantile"], stored.quantile, 0.05,
            key=f"{key}.q"),
        "lookback": bounded_input(c5, "Risk lookback", limit["lookback"], stored.lookback,
            key=f"{key}.lookback"),
        "rebalance": bounded_input(c6, "Rebalance every", limit["rebalance"], stored.rebalance,
            key=f"{key}.rebalance"),
    }  # fmt: skip
    c1, c2, c3 = st.columns(3)
    sources, neutral = workflows.COVARIANCE_SOURCES, workflows.NEUTRAL_TO
    values |= {
        "covariance_source": c1.selectbox("Covariance", sources,
            index=sources.index(stored.covariance_source), key=f"{key}.covariance",
            help="For hrp, mean_risk, black_litterman and the volatility target: the "
            "trailing sample, its Ledoit-Wolf shrinkage, or the factor risk model as of "
            "each decision date (B F B' + D)"),
        "neutral_to": c2.selectbox("Neutral to (factor_neutral)", neutral,
            index=neutral.index(stored.neutral_to), key=f"{key}.neutral"),
        "neutral_tolerance": bounded_input(c3, "Neutrality tolerance",
            limit["neutral_tolerance"], stored.neutral_tolerance, 0.01, key=f"{key}.tolerance",
            help="Largest net exposure per neutralized factor; 0 = exact"),
    }  # fmt: skip
    return values

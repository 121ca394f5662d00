"""Ablation: does each part of the stack earn its place, out of sample and after costs?"""

import pandas as pd
import streamlit as st

from engine import workflows
from engine.workflows.modeling import LEARNER_NAMES, TABULAR_LEARNERS
from engine.workflows.research import VARIANT_NAMES, AblationConfig
from views.components.state import global_params
from views.components.studies import run_on_watchlist, saved_study, study_window

params = global_params()
st.title("Ablation")
st.caption(
    "Each variant adds one part to the one before, on the same purged walk-forward and the same "
    "costs. A step's delta is its mean over folds with a Student-t interval over folds "
    "(Bonferroni-adjusted); an interval that straddles zero is no evidence, not a gain. Every "
    "variant is counted as a trial for the Deflated Sharpe. Each chosen learner runs the whole "
    "stack, so a family's gain can be read for each of them."
)
with st.form("ablation.form"):
    variants = st.multiselect("Variants", VARIANT_NAMES, VARIANT_NAMES, key="ablation.variants")
    learners = st.multiselect(
        "Learners",
        TABULAR_LEARNERS,
        ["xgboost"],
        format_func=LEARNER_NAMES.get,
        key="ablation.learners",
    )
    start, train_months, test_months = study_window(params, "ablation", years=8)
    c1, c2 = st.columns(2)
    use_dask = c1.checkbox(
        "Run variants in parallel with Dask (2 local workers)", True, key="ablation.dask"
    )
    address = c2.text_input(
        "Dask scheduler address (optional)",
        key="ablation.address",
        help="e.g. tcp://10.0.0.5:8786; empty starts a local cluster",
    )
    submitted = st.form_submit_button("Run ablation", type="primary")

if submitted:
    if len(variants) < 2:
        st.error("Choose at least two variants to compare.")
    elif not learners:
        st.error("Choose at least one learner.")
    else:
        config = AblationConfig(
            tuple(variants),
            train_months,
            test_months,
            tuple(learners),
            use_dask=use_dask,
            scheduler_address=address.strip() or None,
        )
        run_on_watchlist(
            params,
            "ablation",
            "the ablation",
            lambda tickers, membership, progress: workflows.run_ablation_study(
                params.db_path,
                tickers,
                config,
                start=start,
                membership=membership,
                progress=progress,
            )[0],
        )

settings, table, steps = saved_study(
    params, "ablation", "No ablation study yet: choose variants and press Run ablation."
)
st.caption(f"Tickers: {', '.join(settings['tickers'])} · from {str(settings['start'])[:10]}")
st.subheader("Variants")
st.dataframe(
    table,
    hide_index=True,
    key="ablation.table",
    column_config={
        c: st.column_config.NumberColumn(format="%.4f")
        for c in ("auc", "auc_low", "auc_high", "ic", "ece", "net_sharpe", "max_drawdown")
    },
)
st.subheader("Steps")
st.dataframe(steps, hide_index=True, key="ablation.steps")
gained = steps[(steps["auc_verdict"] == "gain") | (steps["sharpe_verdict"] == "gain")]
# studies saved before the learner axis have no learner column: their one learner is XGBoost
learners = gained.get("learner", pd.Series("xgboost", index=gained.index))
several = steps.get("learner", pd.Series(dtype=str)).nunique() > 1
gains = [f"{lr}: {s}" if several else s for lr, s in zip(learners, gained["step"], strict=True)]
if gains:
    st.success("Steps with evidence of a gain: " + "; ".join(gains))
else:
    st.warning("No step shows evidence of a gain: every interval includes zero or lies below it.")

"""Ablation: does each part of the stack earn its place, out of sample and after costs?"""

import datetime as dt

import pandas as pd
import streamlit as st

from engine import workflows
from engine.workflows.research import VARIANT_NAMES, AblationConfig
from views.components.progress import StreamlitProgress
from views.components.state import global_params

params = global_params()
st.title("Ablation")
st.caption(
    "Each variant adds one part to the one before, on the same purged walk-forward and the same "
    "costs. A step's delta is its mean over folds with a Student-t interval over folds "
    "(Bonferroni-adjusted); an interval that straddles zero is no evidence, not a gain. Every "
    "variant is counted as a trial for the Deflated Sharpe."
)
with st.form("ablation.form"):
    variants = st.multiselect("Variants", VARIANT_NAMES, VARIANT_NAMES, key="ablation.variants")
    c1, c2, c3 = st.columns(3)
    start = c1.date_input(
        "First date",
        params.as_of - dt.timedelta(days=8 * 365),
        min_value=dt.date(1990, 1, 1),
        key="ablation.start",
    )
    train_months = c2.number_input(
        "Train window (months)",
        *workflows.TRAINING_LIMITS["train_months"].bounds(),
        workflows.TrainConfig.train_months,
        key="ablation.train",
    )
    test_months = c3.number_input(
        "Test window (months)",
        *workflows.TRAINING_LIMITS["test_months"].bounds(),
        workflows.TrainConfig.test_months,
        key="ablation.test",
    )
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
    else:
        config = AblationConfig(
            tuple(variants),
            int(train_months),
            int(test_months),
            use_dask=use_dask,
            scheduler_address=address.strip() or None,
        )
        progress = StreamlitProgress("Running the ablation")
        try:  # every ticker the watchlist ever held, each on its member dates
            universe = workflows.load_universe(params.db_path, params.watchlist)
            study, _ = workflows.run_ablation_study(
                params.db_path,
                list(universe.tickers),
                config,
                start=pd.Timestamp(start),
                membership=universe.membership,
                progress=progress,
            )
        except (ValueError, OSError, workflows.StoreError) as exc:
            progress.finish("Ablation failed", ok=False)
            st.error(str(exc))
        else:
            progress.finish(f"Ablation study {study} saved", ok=True)
            st.session_state["ablation.study"] = study

studies = workflows.load_ablation_studies(params.db_path)
if studies.empty:
    st.info("No ablation study yet: choose variants and press Run ablation.")
    st.stop()
ids = studies["id"].tolist()
chosen = st.session_state.get("ablation.study", ids[0])
study = st.selectbox(
    "Saved study",
    ids,
    index=ids.index(chosen) if chosen in ids else 0,
    format_func=lambda i: f"#{i} ({studies.set_index('id').at[i, 'created_utc']})",
    key="ablation.saved",
)
settings, table, steps = workflows.load_ablation_study(params.db_path, study)
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
gains = steps[(steps["auc_verdict"] == "gain") | (steps["sharpe_verdict"] == "gain")][
    "step"
].tolist()
if gains:
    st.success("Steps with evidence of a gain: " + "; ".join(gains))
else:
    st.warning("No step shows evidence of a gain: every interval includes zero or lies below it.")

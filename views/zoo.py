"""Model zoo: would another learner, or an ensemble of them, find an edge on these data?"""

import streamlit as st

from engine import workflows
from engine.workflows.modeling import LEARNER_NAMES, trainable_learners
from engine.workflows.research import ENSEMBLES, ZooConfig
from views.components.state import global_params
from views.components.studies import run_on_watchlist, saved_study, study_window

params = global_params()
st.title("Model zoo")
st.caption(
    "Every learner walks the same purged folds on the same rows, and the rank-average and "
    "stacked ensembles are built from their out-of-sample scores (the stacked layer only ever "
    "learns from earlier folds). Each figure is a mean over the test dates with a Student-t "
    "interval over folds, Bonferroni-adjusted over the rows; top-k excess is after costs, "
    "against the equal-weight universe. Every row counts as a trial for the Deflated Sharpe. "
    "Qlib's published figures (CSI300, another market and period; Alpha158 factors, and "
    "Alpha360 raw prices for GRU and Transformer) stand beside as a yardstick, not a target."
)
with st.form("zoo.form"):
    trainable = trainable_learners()
    learners = st.multiselect(
        "Learners",
        trainable,
        trainable,
        format_func=LEARNER_NAMES.get,
        key="zoo.learners",
        help="GRU and Transformer (the price path) appear once torch is installed (make deep)",
    )
    start, train_months, test_months = study_window(params, "zoo", years=5)
    c1, c2 = st.columns(2)
    ensembles = c1.checkbox("Add the rank-average and stacked ensembles", True, key="zoo.ensembles")
    use_dask = c2.checkbox(
        "Run learners in parallel with Dask (2 local workers)", False, key="zoo.dask"
    )
    submitted = st.form_submit_button("Run the zoo", type="primary")

if submitted:
    run_on_watchlist(
        params,
        "zoo",
        "the zoo",
        lambda tickers, membership, progress: workflows.run_zoo_study(
            params.db_path,
            tickers,
            ZooConfig(
                tuple(learners),
                ensembles=ensembles,
                train_months=train_months,
                test_months=test_months,
                use_dask=use_dask,
            ),
            start=start,
            membership=membership,
            progress=progress,
        )[0],
    )

settings, table, diversity = saved_study(
    params, "zoo", "No zoo study yet: choose the learners and press Run the zoo."
)
st.caption(
    f"{len(settings['tickers'])} tickers · from {str(settings['start'])[:10]} · "
    f"{settings['train_months']}/{settings['test_months']}-month windows"
)
skilled = table.loc[table["rank_ic_low"] > 0, "model"].tolist()
if skilled:
    st.success("Rank IC above zero, interval and all: " + ", ".join(skilled))
else:
    st.warning(
        "No learner or ensemble shows skill: every rank IC interval includes zero or lies below "
        "it. The rows are listed in a fixed order, not ranked."
    )
st.subheader("Learners and ensembles")
figures = [c for c in table.columns if c not in ("model", "days", "folds")]
st.dataframe(
    table,
    hide_index=True,
    key="zoo.table",
    column_config={c: st.column_config.NumberColumn(format="%.4f") for c in figures},
)
if not diversity.empty:
    st.subheader("How the learners differ, and what the ensembles add")
    st.caption(
        "Per pair: the mean per-date rank correlation of their scores and the share of names "
        "they put on different sides of the median. Per ensemble: its rank IC minus that of "
        "the learner that was best on the earlier folds (chosen as an analyst could have)."
    )
    st.dataframe(diversity, hide_index=True, key="zoo.diversity")
missing = [e for e in ENSEMBLES if e not in set(table["model"])]
if missing:
    st.caption(f"Not run in this study: {', '.join(missing)}.")

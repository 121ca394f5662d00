"""Signal studies: when a stated condition held, what followed, after costs, how sure?"""

import streamlit as st

from engine import workflows
from engine.display.studies import plot_event_path
from engine.workflows.research import ROUND_TRIP_BPS, SignalStudyParams
from views.components.state import global_params
from views.components.studies import run_on_watchlist, saved_study

params = global_params()
st.title("Signal studies")
st.caption(
    "State a condition on any feature, pattern or regime column; the study finds every "
    "session and ticker of the watchlist where it held (features use data dated on or "
    "before that day) and measures the excess return over the watchlist's equal-weight "
    "mean 1, 5 and 20 sessions later, after a round-trip cost, with moving-block intervals "
    "over event dates. Consecutive days of one episode are not independent: episodes are "
    "counted beside events and the blocks are at least as long as the horizon. Every study "
    "is a trial: the verdict is Holm-adjusted over every study saved in this store."
)
with st.form("signal_study.form"):
    condition = st.text_input(
        "Condition",
        "ifi_score > 70",
        max_chars=500,
        key="signal_study.condition",
        help="Columns of the Signals page's tables, joined by and / or, with parentheses; "
        "ifi_score is seed 000's 0-100 IFI score, clip((ifi_20 / 0.3 + 1) x 50), and "
        "regime_name the regime's name, e.g. regime_name in {'Low vol · strong breadth · "
        "ATR contracting'}",
    )
    cost = st.number_input(
        "Round-trip cost (bps)", 0.5, 500.0, float(ROUND_TRIP_BPS), 0.5, key="signal_study.cost"
    )
    submitted = st.form_submit_button("Run study", type="primary")
st.caption(
    "Examples: `ifi_score > 70` · `smi > 70` · `rsi_14 < 30` · `engulfing > 0` (bullish "
    "engulfing) · `smi > 70 and regime_id in {0, 1}` · `(rsi_14 < 30 or stoch_k_14 < 20) "
    "and dist_52w_low < 0.05`"
)
if submitted:
    run_on_watchlist(
        params,
        "signal",
        "the study",
        lambda tickers, membership, progress: workflows.run_signal_study(
            params.db_path,
            tickers,
            condition,
            as_of=params.as_of,
            params=SignalStudyParams(cost_bps=cost),
        )[0],
    )

settings, table, path = saved_study(
    params, "signal", "No signal study yet: state a condition and press Run study."
)
st.markdown(f"**{settings['condition']}**")
st.caption(
    f"{len(settings['tickers'])} tickers · as of {settings['as_of'] or 'the newest data'} · "
    f"{settings['cost_bps']:g} bps a round trip · Holm over {settings['tests']} tests "
    "(every saved study's horizons, this one's included)"
)
found = table[table["verdict"] == "edge after costs"]
if len(found):
    horizons = ", ".join(f"{h} sessions" for h in found["horizon"])
    st.success(f"An edge after costs at {horizons}: the interval is above 0 after Holm.")
else:
    st.warning(
        "No evidence of an edge after costs at any horizon: no after-cost interval lies "
        "above 0 with a Holm-adjusted p under 0.05."
    )
for column, row in zip(st.columns(len(table)), table.itertuples(), strict=True):
    column.metric(
        f"{row.horizon}-session excess after costs",
        f"{row.after_costs:+.2%}",
        help=f"95%: [{row.after_costs_low:+.2%}, {row.after_costs_high:+.2%}]; "
        f"{row.events} events in {row.episodes} episodes; adjusted p {row.adjusted_p:.3g}",
    )
number = st.column_config.NumberColumn
shares = [c for c in table.columns if c.startswith(("mean", "after_costs", "baseline", "q", "hit"))]
config = {c: number(format="%.2f%%") for c in shares} | {"overlap": number(format="%.2f")}
shown = table.assign(**{c: table[c] * 100 for c in shares})  # percent, as the metrics above
st.dataframe(shown, hide_index=True, key="signal_study.table", column_config=config)
st.plotly_chart(plot_event_path(path), key="signal_study.path")

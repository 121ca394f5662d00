"""Router only: page config, the login lock, the global sidebar, navigation in sections."""

import streamlit as st

from views.components.auth import require_login
from views.components.state import render_frame

st.set_page_config(
    page_title="Forecasting workbench", page_icon=":material/insights:", layout="wide"
)
require_login()  # before anything else renders
render_frame()
SECTIONS = {
    "Today": [
        st.Page("views/review.py", title="Daily review", icon=":material/today:", default=True),
        st.Page("views/portfolio.py", title="Portfolio", icon=":material/work:"),
        st.Page("views/reentry.py", title="Re-entry watch", icon=":material/replay:"),
    ],
    "Research": [
        st.Page("views/signals.py", title="Signals", icon=":material/candlestick_chart:"),
        st.Page("views/forecasts.py", title="Forecasts", icon=":material/trending_up:"),
        st.Page("views/calibration.py", title="Calibration", icon=":material/tune:"),
        st.Page("views/factors.py", title="Factors", icon=":material/leaderboard:"),
        st.Page("views/training.py", title="Training", icon=":material/model_training:"),
        st.Page("views/backtest.py", title="Backtest", icon=":material/query_stats:"),
        st.Page("views/ablation.py", title="Ablation", icon=":material/science:"),
        st.Page("views/zoo.py", title="Model zoo", icon=":material/pets:"),
        st.Page("views/signal_studies.py", title="Signal studies", icon=":material/biotech:"),
        st.Page("views/scenarios.py", title="Scenarios", icon=":material/storm:"),
        st.Page("views/monitor.py", title="Monitor", icon=":material/monitor_heart:"),
    ],
    "Trading": [
        st.Page("views/paper.py", title="Paper trading", icon=":material/account_balance:"),
        st.Page("views/broker.py", title="Broker", icon=":material/sync_alt:"),
        st.Page("views/gate.py", title="Go / No-Go", icon=":material/traffic:"),
    ],
    "Data and settings": [
        st.Page("views/data.py", title="Data", icon=":material/database:"),
        st.Page("views/sources.py", title="Macro & sentiment", icon=":material/public:"),
        st.Page("views/api_keys.py", title="API keys", icon=":material/key:"),
    ],
}
st.navigation(SECTIONS, position="sidebar", expanded=True).run()

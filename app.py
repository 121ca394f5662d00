"""Router only: page config, the global sidebar, navigation."""

import streamlit as st

from pages.auth import require_login
from pages.common import REQUESTED_KEY, render_frame

st.set_page_config(
    page_title="Forecasting workbench", page_icon=":material/insights:", layout="wide"
)
require_login()  # before anything else renders
render_frame()
PAGES = [
    st.Page("pages/review.py", title="Daily review", icon=":material/today:", default=True),
    st.Page("pages/portfolio.py", title="Portfolio", icon=":material/work:"),
    st.Page("pages/reentry.py", title="Re-entry watch", icon=":material/replay:"),
    st.Page("pages/signals.py", title="Signals", icon=":material/candlestick_chart:"),
    st.Page("pages/forecasts.py", title="Forecasts", icon=":material/trending_up:"),
    st.Page("pages/calibration.py", title="Calibration", icon=":material/tune:"),
    st.Page("pages/factors.py", title="Factors", icon=":material/leaderboard:"),
    st.Page("pages/training.py", title="Training", icon=":material/model_training:"),
    st.Page("pages/backtest.py", title="Backtest", icon=":material/query_stats:"),
    st.Page("pages/ablation.py", title="Ablation", icon=":material/science:"),
    st.Page("pages/scenarios.py", title="Scenarios", icon=":material/storm:"),
    st.Page("pages/paper.py", title="Paper trading", icon=":material/account_balance:"),
    st.Page("pages/broker.py", title="Broker", icon=":material/sync_alt:"),
    st.Page("pages/gate.py", title="Go / No-Go", icon=":material/traffic:"),
    st.Page("pages/monitor.py", title="Monitor", icon=":material/monitor_heart:"),
    st.Page("pages/data.py", title="Data", icon=":material/database:"),
    st.Page("pages/sources.py", title="Macro & sentiment", icon=":material/public:"),
    st.Page("pages/api_keys.py", title="API keys", icon=":material/key:"),
]
# config.toml hides the sidebar menu (see its showSidebarNavigation)
navigation = st.navigation(PAGES, position="top")
requested = st.session_state.pop(REQUESTED_KEY, None)  # a page run before routing existed
target = next((p for p in PAGES if requested and p.url_path == requested), None)
if target is not None:  # the default page has an empty url_path, so never matches here
    st.switch_page(target)
navigation.run()

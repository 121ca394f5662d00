"""Router only: page config, the global sidebar, navigation."""

import streamlit as st

from pages.common import render_frame

st.set_page_config(
    page_title="Forecasting workbench", page_icon=":material/insights:", layout="wide"
)
render_frame()
navigation = st.navigation(
    [
        st.Page("pages/review.py", title="Daily review", icon=":material/today:", default=True),
        st.Page("pages/signals.py", title="Signals", icon=":material/candlestick_chart:"),
        st.Page("pages/forecasts.py", title="Forecasts", icon=":material/trending_up:"),
        st.Page("pages/calibration.py", title="Calibration", icon=":material/tune:"),
        st.Page("pages/training.py", title="Training", icon=":material/model_training:"),
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
    ],
    position="top",  # config.toml hides the sidebar menu (see its showSidebarNavigation)
)
navigation.run()

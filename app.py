"""Router only: page config, the global sidebar, navigation."""

import streamlit as st

from pages.common import ensure_store, render_sidebar

st.set_page_config(
    page_title="Forecasting workbench", page_icon=":material/insights:", layout="wide"
)
ensure_store()
navigation = st.navigation(
    [
        st.Page("pages/review.py", title="Daily review", icon=":material/today:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
    ]
)
render_sidebar()
navigation.run()

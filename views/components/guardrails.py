"""The paper account's guardrails on the Paper trading page: whether trading is paused and
why, each check's reading against its threshold at the last step, every trip and resume;
resuming trading, confirmed first and recorded with who resumed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import workflows


def _who() -> str:
    """The logged-in user's email, or "local user" where no login is configured."""
    return st.user.get("email") or "local user"


def render_guardrails(path: str, as_of: pd.Timestamp) -> None:
    """The guardrails' state as of ``as_of`` and, while trading is paused, the resume
    (a checkbox confirms it before the button acts)."""
    status = workflows.guardrail_status(path, as_of)
    st.subheader("Guardrails")
    if status.halted:
        st.error(
            f"Trading is paused: no position is opened until you resume (exits, stops and "
            f"marks keep running). {status.halt_reason}"
        )
        sure = st.checkbox(
            "Resume trading: the next step may open positions again", key="paper.resume_sure"
        )
        if st.button("Resume trading", disabled=not sure, key="paper.resume") and sure:
            workflows.resume_paper_trading(path, _who())
            st.rerun()
    if status.step_date is None:
        st.caption("The checks are read at each paper step: none has run yet.")
    else:
        st.caption(
            f"Each check at the step of {status.step_date:%Y-%m-%d}: a tripped check pauses "
            "trading; one without enough evidence never trips."
        )
        st.dataframe(status.readings, hide_index=True, key="paper.guardrails")
    if not status.history.empty:
        with st.expander(f"Trips and resumes ({len(status.history)})"):
            history = status.history.iloc[::-1]
            st.dataframe(history, hide_index=True, key="paper.guardrail_trips")

"""The progress adapter: engine ``progress(fraction, text)`` callbacks on the page."""

from __future__ import annotations

import streamlit as st


class StreamlitProgress:
    """Turns engine ``progress(fraction, text)`` callbacks into st.status + st.progress."""

    def __init__(self, label: str) -> None:
        self.status = st.status(label, expanded=True)
        self.bar = self.status.progress(0.0)

    def __call__(self, fraction: float, text: str) -> None:
        self.bar.progress(min(max(fraction, 0.0), 1.0), text=text)
        self.status.write(text)

    def finish(self, label: str, ok: bool) -> None:
        """Close the status box as complete or failed."""
        self.status.update(label=label, state="complete" if ok else "error", expanded=not ok)

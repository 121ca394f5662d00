"""What the study pages share (Ablation, Model zoo, Signal studies, the Monitor page's
policy replays): a study run on the watchlist's point-in-time universe with its progress,
and the saved studies to choose from."""

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from engine import workflows
from views.components.progress import StreamlitProgress


def study_window(params, kind: str, years: int) -> tuple[pd.Timestamp, int, int]:
    """A study form's first date (``years`` before the as-of date by default) and its
    train and test windows in months, bounded by the engine's limits."""
    c1, c2, c3 = st.columns(3)
    start = c1.date_input(
        "First date",
        params.as_of - dt.timedelta(days=years * 365),
        min_value=dt.date(1990, 1, 1),
        key=f"{kind}.start",
    )
    train_months = c2.number_input(
        "Train window (months)",
        *workflows.TRAINING_LIMITS["train_months"].bounds(),
        workflows.TrainConfig.train_months,
        key=f"{kind}.train",
    )
    test_months = c3.number_input(
        "Test window (months)",
        *workflows.TRAINING_LIMITS["test_months"].bounds(),
        workflows.TrainConfig.test_months,
        key=f"{kind}.test",
    )
    return pd.Timestamp(start), int(train_months), int(test_months)


def run_on_watchlist(params, kind: str, label: str, run: Callable[..., int]) -> None:
    """``run(tickers, membership, progress)`` on every ticker the watchlist ever held, each
    on its member dates; it returns the saved study's id, which becomes the one shown. A
    bad setting or store error is shown by name."""
    progress = StreamlitProgress(f"Running {label}")
    try:
        universe = workflows.load_universe(params.db_path, params.watchlist)
        study = run(list(universe.tickers), universe.membership, progress)
    except (ValueError, OSError, workflows.StoreError) as exc:
        progress.finish(f"{label[:1].upper()}{label[1:]} failed", ok=False)
        st.error(str(exc))
    else:
        progress.finish(f"Study {study} saved", ok=True)
        st.session_state[f"{kind}.study"] = study


def choose_study(path: str, kind: str, label: str = "Saved study") -> int | None:
    """The saved study of ``kind`` the analyst picks (the newest, or the one just run,
    ``st.session_state[f"{kind}.study"]``); None when none is saved."""
    studies = workflows.load_studies(path, kind)
    if studies.empty:
        return None
    ids = studies["id"].tolist()
    chosen = st.session_state.get(f"{kind}.study", ids[0])
    return st.selectbox(
        label,
        ids,
        index=ids.index(chosen) if chosen in ids else 0,
        format_func=lambda i: f"#{i} ({studies.set_index('id').at[i, 'created_utc']})",
        key=f"{kind}.saved",
    )


def saved_study(params, kind: str, empty: str) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """The saved study of ``kind`` the analyst picks (``choose_study``): its settings and
    two tables. With none saved, ``empty`` is shown and the page stops."""
    study = choose_study(params.db_path, kind)
    if study is None:
        st.info(empty)
        st.stop()
    return workflows.load_study(params.db_path, kind, study)

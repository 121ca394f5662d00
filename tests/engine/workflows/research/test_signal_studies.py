"""Signal studies through the store: outcomes known by the as-of date only, every study
counted in Holm's family and as a trial, a bad condition refused before anything is saved."""

from __future__ import annotations

from contextlib import closing

import pandas as pd
import pytest

from engine import workflows
from engine.data.sample import OHLCV_STOCKS
from engine.studies.conditions import ConditionError
from store.db import open_db

STOCKS = list(OHLCV_STOCKS)


def _trials(db) -> list[str]:
    with closing(open_db(db)) as conn:
        return [r[0] for r in conn.execute("SELECT label FROM backtest_trials").fetchall()]


def test_each_study_joins_the_family_and_counts_as_a_trial(seeded_db) -> None:
    first_id, first = workflows.run_signal_study(seeded_db, STOCKS, "ifi_score > 70")
    assert first.tests == 3 and _trials(seeded_db) == ["signal study: ifi_score > 70"]
    second_id, second = workflows.run_signal_study(seeded_db, STOCKS, "smi > 70")
    assert second.tests == 6 and second_id == first_id + 1 and len(_trials(seeded_db)) == 2
    # the same evidence is judged against a bigger family: never less demanding
    again_id, again = workflows.run_signal_study(seeded_db, STOCKS, "ifi_score > 70")
    for before, after in zip(first.horizons, again.horizons, strict=True):
        assert after.p_value == pytest.approx(before.p_value)
        assert after.adjusted_p >= before.adjusted_p
    settings, table, path = workflows.load_study(seeded_db, "signal", again_id)
    assert settings["condition"] == "ifi_score > 70" and settings["tests"] == 9
    assert table["horizon"].tolist() == [1, 5, 20]
    assert path["offset"].tolist() == list(range(-20, 21))


def test_outcomes_stop_at_the_as_of_date(seeded_db) -> None:
    as_of = pd.Timestamp("2010-06-30")
    _, result = workflows.run_signal_study(seeded_db, STOCKS, "rsi_14 >= 0", as_of=as_of)
    events = result.events
    assert events["date"].max() <= as_of
    sessions = workflows.load_prices(seeded_db, ["WIKI-IBM"], end=as_of)["date"].to_numpy()
    late = events["date"] > sessions[-6]  # fewer than 5 sessions left before the as-of date
    assert late.any() and events.loc[late, "excess_5"].isna().all()
    assert events.loc[~late & (events["date"] < sessions[-25]), "excess_20"].notna().all()


def test_a_bad_condition_is_named_and_nothing_is_saved(seeded_db) -> None:
    with pytest.raises(ConditionError, match="unknown column 'ifi'"):
        workflows.run_signal_study(seeded_db, STOCKS, "ifi > 0.12")
    assert workflows.load_studies(seeded_db, "signal").empty and _trials(seeded_db) == []

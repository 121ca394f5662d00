"""The Model zoo page runs the learners on the watchlist, saves the study, counts every row
as a trial, and says so plainly when no row shows skill."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from engine import workflows
from store.db import open_db


def test_the_zoo_page_runs_two_learners_and_their_ensembles_and_reloads_them(
    app: AppTest, seeded_db: Path
) -> None:
    at = app.switch_page("views/zoo.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No zoo study yet" in i.value for i in at.info)
    at.multiselect(key="zoo.learners").set_value(["lightgbm", "linear"])
    at.date_input(key="zoo.start").set_value(pd.Timestamp("2020-06-30").date())
    at.number_input(key="zoo.train").set_value(12)
    # two walk-forwards of the watchlist in one script run: past AppTest's default 60 s
    next(b for b in at.button if b.label == "Run the zoo").click().run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "rank_ic" in d.value.columns)
    assert list(table["model"]) == ["lightgbm", "linear", "rank average", "stacked"]
    assert (table["rank_ic_low"] <= table["rank_ic"]).all()
    assert table.set_index("model").at["linear", "reference_ic"] == 0.0397  # Qlib, Alpha158
    skilled = table.loc[table["rank_ic_low"] > 0, "model"].tolist()
    if skilled:
        assert any(", ".join(skilled) in s.value for s in at.success)
    else:
        assert any("No learner or ensemble shows skill" in w.value for w in at.warning)
    pairs = next(d.value for d in at.dataframe if "rank_correlation" in d.value.columns)
    assert {"lightgbm", "linear"} <= set(pairs["first"]) | set(pairs["second"])
    studies = workflows.load_studies(seeded_db, "zoo")
    assert len(studies) == 1
    with closing(open_db(seeded_db)) as db:  # each row is a trial for the Deflated Sharpe
        rows = db.execute("SELECT label FROM backtest_trials WHERE kind = 'zoo'").fetchall()
    assert sorted(r[0] for r in rows) == ["lightgbm", "linear", "rank average", "stacked"]
    # a new session finds the saved study
    again = app.switch_page("views/zoo.py").run()
    assert next(d.value for d in again.dataframe if "rank_ic" in d.value.columns).shape[0] == 4

"""docs/models.md's CLI training example (no --end) cannot forecast for an earlier as-of date.

Such a run is trained through the newest outcome in the store; a forecast, a paper step, a
monitor report or the daily review for any earlier date would use a model that has seen
outcomes after that date, so each is refused with a message naming both dates, and the
Forecasts page shows the refusal.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engine import workflows
from tests.models.test_train_script import run_script

TICKERS = ["AAPL", "KO", "XOM", "JPM"]
EARLIER = pd.Timestamp("2022-06-30")
REFUSAL = r"trained through 2022-12-28 .* after the as-of date 2022-06-30"


@pytest.fixture
def cli_run(seeded_db: Path, tmp_path: Path) -> str:
    """docs/models.md's first training example, without --end (smaller windows for speed)."""
    done = run_script(
        "--source", "sample", "--db", str(seeded_db), "--json-progress",
        "--tickers", ",".join(TICKERS), "--start", "2020-06-01",
        "--train-months", "12", "--test-months", "6", "--n-boot", "20",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    run_id = json.loads(done.stdout.splitlines()[-1])["run_id"]
    workflows.activate_run(seeded_db, run_id)
    return run_id


def test_a_run_trained_without_an_end_date_refuses_every_earlier_as_of(
    seeded_db: Path, cli_run: str, app: AppTest
) -> None:
    record = workflows.load_run(seeded_db, cli_run)
    assert record.params["as_of"] is None and record.trained_through == "2022-12-28"
    snapshot = workflows.build_snapshot(seeded_db, TICKERS, EARLIER)
    with pytest.raises(workflows.LookaheadError, match=REFUSAL):
        workflows.forecast(seeded_db, snapshot)
    with pytest.raises(workflows.LookaheadError, match=REFUSAL):
        workflows.paper_step(seeded_db, EARLIER, TICKERS)
    with pytest.raises(workflows.LookaheadError, match=REFUSAL):
        workflows.monitor_model(seeded_db, EARLIER)
    with pytest.raises(workflows.StoreError):  # nothing was written by the refused step
        workflows.load_paper_state(seeded_db)
    # the newest date is fine
    latest = workflows.build_snapshot(seeded_db, TICKERS, pd.Timestamp("2022-12-28"))
    assert len(workflows.forecast(seeded_db, latest)) == len(TICKERS)

    app.sidebar.date_input(key="global.as_of").set_value(EARLIER.date())
    app.switch_page("views/forecasts.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    captions = " ".join(c.value for c in app.caption)
    assert "trained through **2022-12-28**" in captions and "as of **2022-06-30**" in captions
    refused = [e.value for e in app.error if e.value.startswith("Refused")]
    assert refused and "2022-12-28" in refused[0] and "2022-06-30" in refused[0]
    assert not app.dataframe  # no forecasts listed

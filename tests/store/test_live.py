"""The live record is append-only: recorded forecasts and outcomes cannot be rewritten."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from store.db import open_db
from store.live import LiveRecordRepository

FORECASTS = pd.DataFrame(
    {
        "run_id": ["r1", "r1", "r1", "r2"],
        "as_of": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-04", "2024-03-01"]).astype(
            "datetime64[ns]"
        ),
        "ticker": ["AAA", "BBB", "AAA", "AAA"],
        "horizon": [5, 5, 5, 10],
        "score": [0.25, np.nan, -0.5, 1.0],
        "p": [0.6, 0.4, 0.45, 0.7],
        "rank": [1, 2, 1, 1],
        "percentile": [1.0, 0.0, 1.0, 1.0],
        "reasons_digest": ["a" * 64, "b" * 64, "c" * 64, "d" * 64],
    }
)
OUTCOMES = pd.DataFrame(
    {
        "run_id": ["r1", "r1"],
        "as_of": pd.to_datetime(["2024-03-01", "2024-03-01"]).astype("datetime64[ns]"),
        "ticker": ["AAA", "BBB"],
        "outcome_date": pd.to_datetime(["2024-03-08", "2024-03-08"]).astype("datetime64[ns]"),
        "excess": [0.01, -0.01],
        "beat": [1.0, np.nan],
    }
)
REWRITES = {
    "UPDATE": "UPDATE {table} SET ticker = 'ZZZ' WHERE run_id = 'r1'",
    "DELETE": "DELETE FROM {table} WHERE run_id = 'r1'",
    "INSERT OR REPLACE": (
        "INSERT OR REPLACE INTO {table} SELECT run_id, as_of, ticker, {changed} FROM {table}"
    ),
    "REPLACE": "REPLACE INTO {table} SELECT run_id, as_of, ticker, {changed} FROM {table}",
}
CHANGED = {  # every column but the key, each value changed
    "live_forecasts": "horizon + 1, -score, 1 - p, rank + 1, percentile / 2, 'x', 'now'",
    "live_outcomes": "outcome_date, excess * 2, 1 - beat, 'now'",
}


@pytest.fixture
def recorded(db_path: Path) -> Path:
    with closing(open_db(db_path)) as db:
        live = LiveRecordRepository(db)
        assert live.record_forecasts(FORECASTS) == 4
        assert live.record_outcomes(OUTCOMES) == 2
    return db_path


def snapshot(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with closing(open_db(path)) as db:
        live = LiveRecordRepository(db)
        return live.forecasts(), live.outcomes()


def test_the_record_reads_back_as_written(recorded: Path) -> None:
    forecasts, outcomes = snapshot(recorded)
    pd.testing.assert_frame_equal(forecasts.drop(columns="recorded_utc"), FORECASTS)
    pd.testing.assert_frame_equal(outcomes.drop(columns="scored_utc"), OUTCOMES)
    with closing(open_db(recorded)) as db:
        live = LiveRecordRepository(db)
        assert live.forecasts("r2")["ticker"].tolist() == ["AAA"]
        assert live.outcomes("r2").empty
        unscored = live.unscored()
        assert list(zip(unscored["run_id"], unscored["ticker"], strict=True)) == [
            ("r1", "AAA"),
            ("r2", "AAA"),
        ]
        assert unscored["as_of"].tolist() == [
            pd.Timestamp("2024-03-04"),
            pd.Timestamp("2024-03-01"),
        ]
        assert live.unscored("r1")["as_of"].tolist() == [pd.Timestamp("2024-03-04")]


def test_recording_the_same_forecast_again_is_a_no_op(recorded: Path) -> None:
    before = snapshot(recorded)
    altered = FORECASTS.assign(score=9.0, p=0.99, reasons_digest="e" * 64)
    with closing(open_db(recorded)) as db:
        live = LiveRecordRepository(db)
        assert live.record_forecasts(FORECASTS) == 0
        assert live.record_forecasts(altered) == 0  # same run, date, ticker: left as it was
        assert live.record_outcomes(OUTCOMES.assign(excess=0.5, beat=0.0)) == 0
        # a new forecast among known ones: only it is new
        extra = FORECASTS.head(1).assign(ticker="CCC")
        assert live.record_forecasts(pd.concat([FORECASTS, extra])) == 1
        assert live.record_forecasts(FORECASTS.head(0)) == 0
    after = snapshot(recorded)
    pd.testing.assert_frame_equal(
        after[0][after[0]["ticker"] != "CCC"].reset_index(drop=True), before[0]
    )
    pd.testing.assert_frame_equal(after[1], before[1])


@pytest.mark.parametrize("table", ["live_forecasts", "live_outcomes"])
@pytest.mark.parametrize("rewrite", sorted(REWRITES))
def test_no_statement_rewrites_the_record(recorded: Path, table: str, rewrite: str) -> None:
    before = snapshot(recorded)
    sql = REWRITES[rewrite].format(table=table, changed=CHANGED[table])
    with closing(open_db(recorded)) as db:
        if rewrite in ("UPDATE", "DELETE"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(sql)
        else:  # a second copy of a row is ignored: the first one stays
            db.execute(sql)
            db.conn.commit()
    after = snapshot(recorded)
    pd.testing.assert_frame_equal(after[0], before[0])
    pd.testing.assert_frame_equal(after[1], before[1])


def test_the_store_turns_recursive_triggers_on(db_path: Path) -> None:
    # without them a REPLACE's delete would not fire the record's delete trigger
    with closing(open_db(db_path)) as db:
        assert db.conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 1


@pytest.mark.parametrize("table", ["live_forecasts", "live_outcomes"])
def test_a_raw_connection_without_recursive_triggers_cannot_replace_a_row(
    recorded: Path, table: str
) -> None:
    before = snapshot(recorded)
    sql = REWRITES["INSERT OR REPLACE"].format(table=table, changed=CHANGED[table])
    with closing(sqlite3.connect(recorded)) as conn:
        assert conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 0
        conn.execute(sql)  # ignored: the first copy stays
        conn.commit()
    after = snapshot(recorded)
    pd.testing.assert_frame_equal(after[0], before[0])
    pd.testing.assert_frame_equal(after[1], before[1])

"""The live record on the trained sample store: forecasts stored as made, scored from
stored closes known by the scoring date only, and judged against the backtest."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.workflows.modeling.runs import run_horizon
from store.db import open_db
from store.live import LiveRecordRepository

FIRST = pd.Timestamp("2019-01-02")
DAYS = 6  # consecutive sessions forecast from FIRST: 2019-01-02 .. 2019-01-09
SCORED_BY = pd.Timestamp("2019-01-14")  # 5 sessions after 2019-01-07, before 2019-01-15


def sessions(path: Path, tickers: list[str]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(workflows.load_prices(path, tickers)["date"].unique()).sort_values()


def record_days(path: Path, run_id: str, tickers: list[str]) -> pd.DatetimeIndex:
    """Forecasts of the run for its tickers at the close of DAYS sessions, each recorded."""
    days = sessions(path, tickers)
    days = days[days >= FIRST][:DAYS]
    for day in days:
        snapshot = workflows.build_snapshot(path, tickers, day)
        forecasts = workflows.forecast(path, snapshot, run_id=run_id)
        assert workflows.record_live_forecasts(path, forecasts) == len(tickers)
        assert workflows.record_live_forecasts(path, forecasts) == 0  # recorded once
    return days


def by_hand(path: Path, tickers: list[str], day: pd.Timestamp, horizon: int) -> pd.DataFrame:
    """The outcomes of the forecasts made at ``day``, from the stored closes."""
    close = workflows.load_prices(path, tickers).pivot(
        index="date", columns="ticker", values="close"
    )
    end = close.index[close.index.get_loc(day) + horizon]
    ret = close.loc[end] / close.loc[day] - 1.0
    return pd.DataFrame(
        {
            "as_of": day,
            "ticker": ret.index,
            "outcome_date": end,
            "excess": (ret - ret.mean()).to_numpy(),
            "beat": (ret > ret.median()).astype(float).to_numpy(),
        }
    )


def stored(path: Path, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    with closing(open_db(path)) as db:
        live = LiveRecordRepository(db)
        return live.forecasts(run_id), live.outcomes(run_id)


def assert_outcomes(path: Path, outcomes: pd.DataFrame, tickers, days, horizon) -> None:
    expected = pd.concat([by_hand(path, tickers, day, horizon) for day in days], ignore_index=True)
    got = outcomes[["as_of", "ticker", "outcome_date", "excess", "beat"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12)


@pytest.fixture
def recorded(trained_db):
    path, record = trained_db
    tickers = list(record.params["tickers"])
    return path, record, tickers, record_days(path, record.run_id, tickers)


def test_forecasts_are_stored_as_made(recorded) -> None:
    path, record, tickers, days = recorded
    forecasts, outcomes = stored(path, record.run_id)
    assert len(forecasts) == DAYS * len(tickers) and outcomes.empty
    last = workflows.forecast(path, workflows.build_snapshot(path, tickers, days[-1]))
    row = forecasts[forecasts["as_of"] == days[-1]].set_index("ticker").loc[last.index]
    assert (row["horizon"] == run_horizon(record)).all()
    np.testing.assert_array_equal(row["p"], last["p_up"])
    np.testing.assert_array_equal(row["score"], last["score"])
    np.testing.assert_array_equal(row["rank"], last["rank"])
    digests = [hashlib.sha256(text.encode()).hexdigest() for text in last["reasons"]]
    assert row["reasons_digest"].tolist() == digests


def test_outcomes_are_the_forward_excess_known_by_the_scoring_date(recorded) -> None:
    path, record, tickers, days = recorded
    horizon = run_horizon(record)
    assert workflows.score_live_record(path, SCORED_BY) == 4 * len(tickers)
    assert workflows.score_live_record(path, SCORED_BY) == 0  # scored once
    _, outcomes = stored(path, record.run_id)
    assert_outcomes(path, outcomes, tickers, days[:4], horizon)
    with closing(open_db(path)) as db:  # the last two dates' outcome sessions are later
        unscored = LiveRecordRepository(db).unscored(record.run_id)
    assert sorted(unscored["as_of"].unique()) == list(days[4:])
    assert workflows.score_live_record(path, days[-1] + pd.Timedelta(days=7)) == 2 * len(tickers)
    _, outcomes = stored(path, record.run_id)
    assert_outcomes(path, outcomes, tickers, days, horizon)


def test_prices_after_the_scoring_date_change_no_outcome(recorded) -> None:
    path, record, tickers, days = recorded
    expected = pd.concat([by_hand(path, tickers, day, run_horizon(record)) for day in days[:4]])
    with closing(sqlite3.connect(path)) as conn, conn:  # poison every close after it
        conn.execute(
            "UPDATE prices SET close = close * (length(ticker) + 1) + julianday(date) % 7 "
            "WHERE date > ?",
            (f"{SCORED_BY:%Y-%m-%d}",),
        )
    # only the dates whose outcome session is on or before it: none read a poisoned close
    assert workflows.score_live_record(path, SCORED_BY) == 4 * len(tickers)
    _, outcomes = stored(path, record.run_id)
    got = outcomes[["as_of", "ticker", "outcome_date", "excess", "beat"]]
    pd.testing.assert_frame_equal(
        got, expected.reset_index(drop=True), check_dtype=False, rtol=1e-12
    )


def test_a_missing_close_is_waited_for_then_left_without_an_outcome(recorded) -> None:
    path, record, tickers, days = recorded
    end = sessions(path, tickers)[sessions(path, tickers).get_loc(days[0]) + 5]
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "DELETE FROM prices WHERE ticker = ? AND date = ?", (tickers[0], f"{end:%Y-%m-%d}")
        )
    assert workflows.score_live_record(path, SCORED_BY) == 3 * len(tickers)  # the first waits
    later = sessions(path, tickers)
    assert workflows.score_live_record(path, later[later.get_loc(end) + 5]) == 2 * len(tickers)
    _, outcomes = stored(path, record.run_id)
    first = outcomes[outcomes["as_of"] == days[0]].set_index("ticker")
    assert np.isnan(first.loc[tickers[0], "excess"]) and np.isnan(first.loc[tickers[0], "beat"])
    others = first.drop(index=tickers[0])
    assert np.isclose(others["excess"].mean(), 0.0)  # the mean of the five known
    assert others["beat"].isna().sum() == 1  # the median name of five, as in the labels


def test_the_report_counts_and_says_too_few_dates(recorded) -> None:
    path, record, tickers, _ = recorded
    workflows.score_live_record(path, SCORED_BY)
    report = workflows.live_report(path, as_of=SCORED_BY)
    assert report.run_id == record.run_id
    counts = (report.forecasts, report.scored, report.dates)
    assert counts == (DAYS * len(tickers), 4 * len(tickers), DAYS)
    assert report.standing == "unjudged" and not report.outside
    assert report.verdict.startswith("too few scored dates to judge")
    # the sample's model scores every ticker alike: no rank IC, and no top 5 to judge
    assert np.isnan(report.rank_ic.estimate) and np.isnan(report.hit_rate.estimate)
    assert report.ece.low <= report.ece.estimate <= report.ece.high
    assert report.reliability["count"].sum() == 4 * len(tickers)
    assert len(report.latest) == len(tickers) and report.latest["excess"].isna().all()
    table = report.comparison().set_index("figure")
    assert list(table.index) == ["rank IC", "top-5 hit rate", "ECE"]
    assert table.loc["ECE", "backtest"] == record.metrics["calibrated"]["ece"]["estimate"]


def synthetic(path: Path, run_id: str, tickers: list[str], sign: float) -> int:
    """Forecasts for 50 sessions whose score is ``sign`` times the excess to come."""
    days = sessions(path, tickers)
    days = days[days >= FIRST][:50]
    rows = []
    for day in days:
        outcome = by_hand(path, tickers, day, 5).set_index("ticker")
        score = sign * outcome["excess"]
        rows.append(
            pd.DataFrame(
                {
                    "date": day,
                    "score": score,
                    "rank": score.rank(ascending=False, method="min").astype(int),
                    "percentile": score.rank(pct=True),
                    "p_up": np.where(score > score.median(), 0.6, 0.4),
                    "reasons": "synthetic",
                    "run_id": run_id,
                }
            )
        )
    return workflows.record_live_forecasts(path, pd.concat(rows))


def set_backtest_rank_ic(path: Path, run_id: str, low: float, high: float) -> None:
    metrics = workflows.load_run(path, run_id).metrics
    metrics["rank_ic"]["mean"] = {"estimate": (low + high) / 2, "low": low, "high": high}
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "UPDATE model_runs SET metrics_json = ? WHERE run_id = ?", (json.dumps(metrics), run_id)
        )


@pytest.mark.parametrize(
    ("sign", "low", "high", "standing"),
    [(1.0, 0.01, 0.05, "above"), (-1.0, 0.01, 0.05, "below"), (1.0, -0.5, 1.5, "within")],
)
def test_the_report_judges_live_against_the_backtests_interval(
    trained_db, sign: float, low: float, high: float, standing: str
) -> None:
    path, record = trained_db
    tickers = list(record.params["tickers"])
    assert synthetic(path, record.run_id, tickers, sign) == 50 * len(tickers)
    assert workflows.score_live_record(path) == 50 * len(tickers)
    report = workflows.live_report(path, record.run_id)
    assert report.verdict.startswith("the backtest recorded no rank-IC interval")  # sample run
    set_backtest_rank_ic(path, record.run_id, low, high)
    report = workflows.live_report(path, record.run_id)
    assert report.scored_dates == 50 and report.block == 21
    assert report.rank_ic.estimate == pytest.approx(sign)  # the score is the outcome's rank
    assert report.rank_ic.low <= report.rank_ic.estimate <= report.rank_ic.high
    assert report.hit_rate.estimate == pytest.approx(0.6 if sign > 0 else 0.4)  # 3 of the top 5
    assert report.ece.low <= report.ece.estimate <= report.ece.high
    assert report.standing == standing and report.outside == (standing != "within")
    assert report.verdict.startswith(f"live rank IC {standing} the backtest's interval")

"""Studies through the store on a watchlist's point-in-time universe: a ticker counts only
on the dates it was a member (a delisted one up to its last price)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.data.schema import FetchResult, InvalidTickerError
from engine.data.synthetic import make_panel
from engine.modeling import training
from engine.modeling.learners import LearnerParams
from engine.studies.ablation import AblationResult
from engine.studies.scenarios import Scenario
from engine.workflows.research import ablations, scenarios
from tests.builders import unchanged

JOINS, LEAVES = pd.Timestamp("2021-06-01"), pd.Timestamp("2021-09-01")
WINDOW = Scenario("pit window", pd.Timestamp("2022-03-01"), pd.Timestamp("2022-04-29"), "test")
TINY = LearnerParams(n_estimators=20, min_rounds=5, early_stopping_rounds=5, n_jobs=1)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """6 synthetic tickers; SYN0005 is delisted (its prices end) the day it leaves the
    list, SYN0004 joins later. Today's members: SYN0000-SYN0004."""
    prices = make_panel(6, 600, seed=8).prices
    delisted = (prices["ticker"] == "SYN0005") & (prices["date"] >= LEAVES)
    path = tmp_path_factory.mktemp("pit") / "store.db"
    fetched = FetchResult("synthetic", prices[~delisted].reset_index(drop=True), True)
    assert workflows.ingest(path, fetched).status == "ok"
    workflows.save_watchlist(path, "Universe", [f"SYN000{i}" for i in (0, 1, 2, 3, 5)])
    workflows.add_to_watchlist(path, "Universe", "SYN0004", JOINS)
    workflows.remove_from_watchlist(path, "Universe", "syn0005", LEAVES)
    return path


def rows_of(data: pd.DataFrame, ticker: str) -> pd.DatetimeIndex:
    return data.xs(ticker, level="ticker").index


def test_the_universe_of_a_window_counts_past_members(store: Path) -> None:
    universe = workflows.load_universe(store, "Universe", "2021-01-04", "2022-02-28")
    assert set(universe.tickers) == {f"SYN000{i}" for i in range(6)}
    assert len(universe.current) == 5 and "SYN0005" not in universe.current
    assert (universe.added, universe.removed) == (1, 1)
    assert workflows.load_watchlist(store, "Universe") == list(universe.current)
    later = workflows.load_universe(store, "Universe", "2021-10-01", None)
    assert "SYN0005" not in later.tickers and (later.added, later.removed) == (0, 0)
    with unchanged(store), pytest.raises(InvalidTickerError):
        workflows.remove_from_watchlist(store, "Universe", "SYN;0", "2021-01-04")
    with unchanged(store), pytest.raises(workflows.WatchlistError, match="not a current"):
        workflows.remove_from_watchlist(store, "Universe", "SYN0005", "2021-12-01")


def test_the_ablation_learns_members_on_their_member_dates(store, monkeypatch) -> None:
    seen = {}

    def capture(data, panel, config, **kwargs):
        seen["data"] = data
        empty = pd.DataFrame()
        return AblationResult(empty, empty, {})

    monkeypatch.setattr(ablations, "run_ablation", capture)
    universe = workflows.load_universe(store, "Universe")  # every ticker it ever held
    workflows.run_ablation_study(
        store,
        list(universe.tickers),
        start=pd.Timestamp("2021-01-04"),
        membership=universe.membership,
    )
    data = seen["data"]
    assert rows_of(data, "SYN0004").min() >= JOINS
    assert rows_of(data, "SYN0005").max() < LEAVES
    assert rows_of(data, "SYN0000").max() > LEAVES
    study = workflows.load_studies(store, "ablation")["config"].iloc[0]
    assert '["SYN0005", null, "2021-09-01"]' in study


def test_a_scenario_trains_and_trades_the_members_of_each_date(store, monkeypatch) -> None:
    built = {}

    def build(*args, **kwargs):
        built["data"] = training.build_dataset(*args, **kwargs)
        return built["data"]

    monkeypatch.setattr(scenarios, "build_dataset", build)
    universe = workflows.load_universe(store, "Universe")
    membership = universe.membership.copy()  # SYN0003 leaves inside the window, still trading
    membership.loc[membership["ticker"] == "SYN0003", "removed"] = pd.Timestamp("2022-04-01")
    result = workflows.run_scenario(
        store,
        WINDOW,
        list(universe.tickers),
        history_years=1,
        learner=TINY,
        n_boot=10,
        membership=membership,
    )
    data = built["data"]
    assert rows_of(data, "SYN0004").min() >= JOINS
    assert rows_of(data, "SYN0005").max() < LEAVES
    forecasts = result.forecasts
    assert set(forecasts.index.get_level_values("ticker")) == {f"SYN000{i}" for i in range(5)}
    assert rows_of(forecasts, "SYN0003").max() < pd.Timestamp("2022-04-01")
    assert rows_of(forecasts, "SYN0000").max() > pd.Timestamp("2022-04-01")

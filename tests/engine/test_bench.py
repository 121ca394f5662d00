"""The benchmark entry point runs and reports what it measured (no timing asserted)."""

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.bench.__main__ import main
from engine.bench.first_launch import run_first_launch_bench
from engine.bench.pages import render_pages, run_pages_bench
from engine.bench.routine import run_routine_bench
from engine.modeling.learners import TABULAR_LEARNERS, LearnerParams
from engine.modeling.training import TrainConfig
from engine.studies.ablation import VARIANT_NAMES


def test_store_benchmark_prints_its_figures(capsys) -> None:
    result = main(["store", "--tickers", "6", "--days", "100"])
    printed = json.loads(capsys.readouterr().out)
    assert printed == result
    assert result["benchmark"] == "store"
    assert result["rows"] == result["read_all_rows"] == 600
    assert result["read_one_rows"] == 100
    for key in ("ingest_s", "read_one_ms", "read_all_s", "peer_ingest_s", "ingest_ratio_vs_peer"):
        assert result[key] > 0
    assert result["ingest_cpu_s"] > 0
    assert result["machine"]["cpus"] >= 1


def test_features_benchmark_reports_ratio_against_ta(capsys) -> None:
    result = main(["features", "--tickers", "3", "--days", "300"])
    assert json.loads(capsys.readouterr().out) == result
    assert result["rows"] == 900 and result["feature_columns"] >= 60
    assert result["values"] == 900 * result["feature_columns"]
    assert result["peer_values"] == 900 * 86  # ta adds 86 columns per ticker
    for key in ("features_s", "values_per_s", "peer_values_per_s", "ratio", "cache_build_s"):
        assert result[key] > 0
    assert result["features_cpu_s"] > 0
    assert result["ratio"] == round(result["values_per_s"] / result["peer_values_per_s"], 2)
    assert result["cache_tickers"] == 3


def test_train_and_forecast_benchmarks_report_their_keys(capsys) -> None:
    train = main(["train", "--tickers", "12", "--days", "520"])
    assert train["folds"] >= 1 and train["rows"] > 0
    for key in ("walk_forward_s", "single_fit_s", "ratio"):
        assert train[key] > 0
    assert train["ratio"] == pytest.approx(
        train["walk_forward_s"] / train["single_fit_s"], rel=0.05
    )
    for learner in ("lightgbm", "linear"):
        assert train[f"{learner}_ratio_vs_xgboost"] == pytest.approx(
            train[f"{learner}_walk_forward_s"] / train["walk_forward_s"], rel=0.05
        )
    forecast = main(["forecast", "--tickers", "12", "--days", "700"])
    assert forecast["tickers"] == 12 and forecast["forecast_s"] > 0 and forecast["with_reasons"]
    assert forecast["cold_equals_warm"] and forecast["cold_end_to_end_s"] > 0
    capsys.readouterr()


def test_weights_benchmark_agrees_with_the_afml_snippets(capsys) -> None:
    result = main(["weights", "--tickers", "6", "--days", "120"])
    assert json.loads(capsys.readouterr().out) == result
    assert result["labels"] > 6 * 100 and result["peer_labels"] == min(2000, result["labels"])
    assert result["max_abs_diff"] < 1e-12
    for key in ("sample_weights_s", "peer_s", "ratio"):
        assert result[key] > 0


def test_backtest_benchmark_agrees_with_vectorbt(capsys) -> None:
    result = main(["backtest", "--tickers", "10", "--days", "200"])
    capsys.readouterr()
    for key in ("backtest_s", "peer_s", "ratio", "full_costs_backtest_s"):
        assert result[key] > 0
    assert result["equity_rel_diff"] < 1e-6
    assert result["ratio"] == pytest.approx(result["backtest_s"] / result["peer_s"], rel=0.1)


def test_ablation_benchmark_reports_serial_and_dask(capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "__main__", type(sys)("__main__"))  # Dask spawns workers
    result = main(["ablation", "--tickers", "12", "--days", "500"])
    capsys.readouterr()
    for key in ("serial_s", "dask_s", "ratio"):
        assert result[key] > 0
    assert result["max_table_diff"] < 1e-3 and result["variants"] == len(VARIANT_NAMES)


def test_zoo_benchmark_reports_serial_and_dask_and_each_learner(capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "__main__", type(sys)("__main__"))  # Dask spawns workers
    result = main(["zoo", "--tickers", "12", "--days", "500"])
    assert json.loads(capsys.readouterr().out) == result
    assert result["learners"] == len(TABULAR_LEARNERS) and result["max_table_diff"] < 1e-9
    for key in ("serial_s", "dask_s", *(f"{name}_serial_s" for name in TABULAR_LEARNERS)):
        assert result[key] > 0
    assert result["ratio"] == pytest.approx(result["dask_s"] / result["serial_s"], rel=0.05)


# seconds to train: the pages bench needs an active run, not a good one
TINY_TRAIN = TrainConfig(
    tickers=("AAPL", "KO", "JPM"),  # a cross-section needs 3 names
    start=pd.Timestamp("2016-01-01"),
    as_of=pd.Timestamp("2018-06-29"),
    train_months=12,
    test_months=6,
    n_boot=10,
    learner=LearnerParams(n_estimators=20, early_stopping_rounds=10),
)
PAGE_KEYS = {
    "title",
    "cold_s",
    "warm_median_s",
    "cold_cpu_s",
    "warm_cpu_median_s",
    "warm_runs_s",
    "meets_goal",
    "problems",
}
SUMMARY_KEYS = {
    "ok",
    "pages",
    "repeats",
    "goal",
    "pages_meeting_goal",
    "all_meet_goal",
    "slowest_page",
    "slowest_warm_s",
    "slowest_cold_page",
    "slowest_cold_s",
    "failed_pages",
    "failures",
    "cold",
    "warm",
    "render_s",
    "per_page",
}


def test_pages_benchmark_renders_the_app_on_a_first_launch_store_of_a_given_model(
    tmp_path: Path,
) -> None:
    environment = {k: os.environ.get(k) for k in ("WORKBENCH_DB", "WORKBENCH_ARTIFACTS")}
    cwd, main_module = Path.cwd(), sys.modules["__main__"]
    folder = tmp_path / "first-launch"
    result = run_pages_bench(repeats=1, pages=["forecasts"], config=TINY_TRAIN, store=folder)
    assert (folder / "store.db").is_file()  # built where asked, to be reused from there
    assert SUMMARY_KEYS | {"setup_s", "seed_s", "train_s", "store", "active_run"} <= set(result)
    assert result["reused"] is False and result["active_run"].startswith("first-launch")
    assert result["ok"] and result["failures"] == {} and result["failed_pages"] == 0
    assert result["pages"] == 1 and result["slowest_page"] == "forecasts"
    page = result["per_page"]["forecasts"]
    assert set(page) == PAGE_KEYS and page["title"] == "Forecasts" and page["problems"] == []
    assert len(page["warm_runs_s"]) == 1 and page["cold_s"] > 0
    assert isinstance(page["meets_goal"], bool)
    assert result["setup_s"] > 0 and result["active_run"]
    # the temporaries are gone from the environment; cwd and __main__ are given back
    assert {k: os.environ.get(k) for k in environment} == environment
    assert Path.cwd() == cwd and sys.modules["__main__"] is main_module


def test_first_launch_benchmark_times_the_first_page_and_the_background_model() -> None:
    result = run_first_launch_bench(config=TINY_TRAIN)
    assert result["ok"] and result["problems"] == [] and result["run_id"]
    assert result["run_id"].startswith("first-launch-")
    assert 0 < result["seed_s"] <= result["launch_s"]
    assert result["first_page_s"] > 0 and result["filled_page_s"] > 0
    assert result["ready_s"] == pytest.approx(result["launch_s"] + result["first_page_s"], abs=0.02)
    assert result["model_ready_s"] > result["launch_s"]


@pytest.fixture
def stub_app(tmp_path: Path) -> Path:
    """A router over three pages: one fine, one raising, one showing st.error."""
    pages = {
        "fine": ("Fine", 'st.write("ok")'),
        "broken": ("Broken", 'raise ValueError("boom")'),
        "alarm": ("Alarm", 'st.error("no data for the watchlist")'),
    }
    (tmp_path / "views").mkdir()
    for name, (title, body) in pages.items():
        code = f"import streamlit as st\n\nst.title({title!r})\n{body}\n"
        (tmp_path / "views" / f"{name}.py").write_text(code)
    listed = "".join(f'    st.Page("views/{n}.py", title={t!r}),\n' for n, (t, _) in pages.items())
    app = tmp_path / "app.py"
    app.write_text(f"import streamlit as st\n\nst.navigation([\n{listed}]).run()\n")
    return app


def test_pages_benchmark_fails_on_a_page_that_raises_or_shows_an_error(
    stub_app: Path, monkeypatch, capsys
) -> None:
    import engine.bench.__main__ as bench  # noqa: PLC0415

    def on_stub(store: Path | None, **options) -> dict:
        assert store is None  # no --store given
        return render_pages(stub_app, **options)

    monkeypatch.setitem(bench.BENCHMARKS, "pages", (on_stub, *bench.BENCHMARKS["pages"][1:]))
    with pytest.raises(SystemExit) as exited:
        main(["pages", "--repeats", "1"])
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert "benchmark failed: pages" in captured.err
    result = json.loads(captured.out)
    assert set(result) >= SUMMARY_KEYS and result["benchmark"] == "pages"
    assert result["ok"] is False and result["pages"] == 3 and result["failed_pages"] == 2
    assert set(result["failures"]) == {"broken", "alarm"} and not result["all_meet_goal"]
    (broken,) = result["failures"]["broken"]
    assert broken.startswith("exception ValueError: boom") and "views/broken.py" in broken
    assert result["failures"]["alarm"] == ["error element: no data for the watchlist"]
    pages = result["per_page"]
    assert all(set(page) == PAGE_KEYS for page in pages.values())
    assert pages["fine"]["problems"] == [] and len(pages["fine"]["warm_runs_s"]) == 1
    assert pages["fine"]["cold_cpu_s"] > 0 and pages["fine"]["warm_cpu_median_s"] > 0
    assert pages["broken"]["warm_cpu_median_s"] is None
    assert pages["broken"]["warm_runs_s"] == [] and pages["broken"]["meets_goal"] is False
    assert result["slowest_page"] == "fine"  # the only page with warm figures
    with pytest.raises(ValueError, match="no such page"):
        render_pages(stub_app, repeats=1, pages=["missing"])


def test_all_writes_the_json_and_a_matching_markdown_table(tmp_path, monkeypatch, capsys) -> None:
    import engine.bench.__main__ as bench  # noqa: PLC0415

    small = {
        "store": lambda: bench.run_store_bench(6, 100, repeats=3),
        "backtest": lambda: bench.run_backtest_bench(10, 200),
    }
    patched = {name: (small[name], *bench.BENCHMARKS[name][1:]) for name in small}
    monkeypatch.setattr(bench, "BENCHMARKS", patched)
    report = main(["all", "--output", str(tmp_path)])
    capsys.readouterr()
    saved = json.loads((tmp_path / "benchmarks.json").read_text())
    assert set(saved["benchmarks"]) == {"store", "backtest"} == set(report["benchmarks"])
    table = (tmp_path / "benchmarks.md").read_text()
    ratio = saved["benchmarks"]["backtest"]["ratio"]
    assert f"| backtest | `ratio` | {ratio:.4g} | <= 1 |" in table
    assert "| store | `ingest_s` |" in table and "CPUs" in table
    assert not list(tmp_path.glob("*.tmp"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["benchmarks.json", "benchmarks.md"]


def test_the_latest_report_is_in_the_docs_site_only() -> None:
    """docs/benchmarks.md (written by bench all) is the one copy of the latest run: a page
    in the docs site's nav, with no stale copy in the README or the benchmarks page."""
    root = Path(__file__).resolve().parents[2]
    table = (root / "docs" / "benchmarks.md").read_text().split("\n", 2)[2]
    assert "| benchmark | figure | value | goal / peer |" in table
    assert "Latest run: benchmarks.md" in (root / "mkdocs.yml").read_text()
    for copy in (root / "README.md", root / "docs" / "benchmarking.md"):
        text = copy.read_text()
        assert "<!-- benchmarks:start -->" not in text and "| store | `ingest_s` |" not in text
    assert "python -m engine.bench all" in table


@pytest.mark.slow
def test_make_run_benchmark_times_the_daily_review_in_chromium(capsys) -> None:
    """The real `make run` on a temporary store and a free port, a real browser."""
    result = main(["make_run", "--repeats", "1"])
    assert json.loads(capsys.readouterr().out) == result
    assert result["ok"] and len(result["runs_s"]) == 1
    assert result["make_run_to_first_page_s"] == result["runs_s"][0] > 0


def test_routine_benchmark_routes_a_week_a_retrain_and_a_replay(tmp_path: Path) -> None:
    result = run_routine_bench(config=TINY_TRAIN, store=tmp_path / "routine")
    assert result["session"] == "2018-07-02"  # the first session after the model's outcomes
    assert result["catch_up_sessions"] == 3  # 07-03, 07-05 and 07-06: the 4th is a holiday
    assert result["retrain_sessions"] == 1 and result["retrain_decision"] in ("promoted", "kept")
    assert result["replay_retrains"] >= 2 and result["tickers"] == 3
    for key in ("session_s", "catch_up_s", "retrain_session_s", "replay_s"):
        assert result[key] > 0
    assert result["replay_s_per_retrain"] == pytest.approx(
        result["replay_s"] / result["replay_retrains"],
        abs=0.005,  # both rounded
    )

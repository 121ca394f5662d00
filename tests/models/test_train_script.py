"""models/train.py end to end, as a separate process, on the offline sample."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine import workflows
from engine.data.calendar import parse_date
from engine.modeling.training import TrainConfig
from engine.modeling.tuning import TuningConfig

pytestmark = pytest.mark.slow  # each test runs the training script (minutes)

ROOT = Path(__file__).resolve().parents[2]
SMALL = [
    "--tickers",
    "AAPL,KO,XOM,JPM",
    "--start",
    "2014-01-01",
    "--end",
    "2018-06-29",
    "--train-months",
    "12",
    "--test-months",
    "6",
    "--n-boot",
    "30",
]


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "models" / "train.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_trains_on_the_sample_source_from_a_fresh_store(tmp_path: Path) -> None:
    db, out = tmp_path / "fresh.db", tmp_path / "bundles"
    done = run_script(
        "--source",
        "sample",
        "--db",
        str(db),
        "--output",
        str(out),
        "--json-progress",
        *SMALL,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    fractions = [line["progress"] for line in lines if "progress" in line]
    assert fractions[-1] == 1.0 and len(fractions) > 10
    summary = lines[-1]
    assert summary["done"] and (out / summary["run_id"] / "manifest.json").is_file()
    record = workflows.load_run(db, summary["run_id"])
    assert record.status == "complete" and record.params["tickers"] == [
        "AAPL",
        "KO",
        "XOM",
        "JPM",
    ]


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    bad = run_script(
        "--source", "store", "--db", str(tmp_path / "x.db"), "--label", "sideways", cwd=tmp_path
    )
    assert bad.returncode == 2 and "invalid choice: 'sideways'" in bad.stderr
    empty = run_script(
        "--source", "store", "--db", str(tmp_path / "x.db"), "--watchlist", "Nope", cwd=tmp_path
    )
    assert empty.returncode == 1 and "error: No watchlist named 'Nope'" in empty.stderr
    assert "Traceback" not in empty.stderr
    hostile = run_script(
        "--source", "store", "--db", str(tmp_path / "x.db"), "--tickers", "AAPL;rm", cwd=tmp_path
    )
    assert hostile.returncode == 1 and "Invalid ticker 'AAPL;rm'" in hostile.stderr


def load_script():
    """models/train.py as a module (models/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("train_script", ROOT / "models" / "train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_the_script_s_defaults_are_the_dataclasses_defaults() -> None:
    # before: --horizon 5, --train-months 18, --n-boot 300, ... were copied into argparse
    script = load_script()
    args = script.parse_args(["--source", "store", "--tickers", "AAPL"])
    assert script.config_from_options(args, None) == TrainConfig(tickers=("AAPL",))
    assert (args.seed, args.max_rounds) == (TuningConfig().seed, TuningConfig().max_rounds)


def test_the_learner_is_chosen_on_the_command_line() -> None:
    script = load_script()
    args = script.parse_args(["--source", "store", "--tickers", "AAPL", "--learner", "linear"])
    config = script.config_from_options(args, None)
    assert config.learner == workflows.LearnerParams(learner="linear")
    with pytest.raises(SystemExit):
        script.parse_args(["--source", "store", "--learner", "catboost"])


def test_a_watchlist_trains_on_its_point_in_time_universe(seeded_db: Path) -> None:
    script = load_script()
    workflows.remove_from_watchlist(seeded_db, "Sample universe", "GE", "2016-03-01")
    workflows.remove_from_watchlist(seeded_db, "Sample universe", "KO", "2012-03-01")
    args = script.parse_args(["--source", "store", "--start", "2014-01-01", "--end", "2018-06-29"])
    config = script.config_from_options(args, str(seeded_db))
    assert len(config.tickers) == 19 and "GE" in config.tickers and "KO" not in config.tickers
    assert ("GE", None, "2016-03-01") in config.membership
    assert type(config).from_dict(json.loads(config.to_json())) == config


@pytest.mark.parametrize("text", ["2018-06-29", "2018-6-29", "06/29/2018", "2099-01-04", "soon"])
def test_the_script_and_a_stored_config_read_dates_by_the_one_rule(text: str) -> None:
    # before: both read dates with pd.Timestamp, which takes 06/29/2018 and 2099-01-04
    script = load_script()
    verdicts = []
    for read in (
        lambda: parse_date(text, "date"),
        lambda: TrainConfig.from_dict(TrainConfig(("AAPL",)).as_dict() | {"as_of": text}),
        lambda: script.config_from_options(
            script.parse_args(["--source", "store", "--tickers", "AAPL", "--end", text]), None
        ),
    ):
        try:
            read()
            verdicts.append("read")
        except ValueError:
            verdicts.append("refused")
    assert verdicts == [verdicts[0]] * 3
    assert verdicts[0] == ("read" if text == "2018-06-29" else "refused")


def test_the_zoo_compares_the_learners_on_the_same_folds_and_saves_the_study(
    seeded_db: Path, tmp_path: Path
) -> None:
    window = ["--start", "2016-06-30", "--end", "2018-06-29", "--train-months", "12"]
    store = ["--source", "store", "--db", str(seeded_db), "--output", str(tmp_path / "bundles")]
    done = run_script(*store, *window, "--zoo", "--zoo-learners", "linear,lightgbm", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert [line.split(":")[0].strip() for line in lines[:4]] == [
        "linear",
        "lightgbm",
        "rank average",
        "stacked",
    ]
    assert all("rank IC" in line and "Deflated Sharpe" in line for line in lines[:4])
    assert lines[-1] == "zoo study 1 saved (4 trials counted)"
    settings, table, diversity = workflows.load_study(seeded_db, "zoo", 1)
    assert settings["as_of"].startswith("2018-06-29") and settings["learners"] == [
        "linear",
        "lightgbm",
    ]
    assert len(table) == 4 and not diversity.empty
    assert not (tmp_path / "bundles").exists()  # the zoo trains no model to keep
    bad = run_script(*store, "--zoo", "--zoo-learners", "linear,forest", cwd=tmp_path)
    assert bad.returncode == 1 and "unknown learners ['forest']" in bad.stderr
    assert "Traceback" not in bad.stderr

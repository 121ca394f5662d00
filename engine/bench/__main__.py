"""``python -m engine.bench <name> [options]``: run one benchmark and print its JSON.

``python -m engine.bench all`` runs every benchmark at its defaults and writes the results
as JSON and as a Markdown table (figures, ratios against their peers, machine).

A benchmark whose result says ``"ok": false`` (the pages benchmark, when a page raised or
showed an error) is a failure: its JSON is printed (and written, for ``all``) all the
same, then the command exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.bench.api import run_api_bench
from engine.bench.backtest import run_backtest_bench
from engine.bench.factors import run_factors_bench
from engine.bench.features import run_features_bench
from engine.bench.first_launch import REPO, run_first_launch_bench, run_make_run_bench
from engine.bench.pages import run_pages_bench
from engine.bench.risk import run_risk_bench
from engine.bench.routine import run_routine_bench
from engine.bench.signals import run_signal_study_bench
from engine.bench.store import run_store_bench
from engine.bench.studies import run_ablation_bench, run_zoo_bench
from engine.bench.train import run_forecast_bench, run_train_bench
from engine.bench.weights import run_weights_bench

# name -> (function, help, the figures the report shows with their goals)
BENCHMARKS: dict[str, tuple[Callable[..., dict], str, dict[str, str]]] = {
    "store": (
        run_store_bench,
        "ingest a synthetic panel, read one, read all",
        {
            "ingest_s": "< 3 s",
            "read_one_ms": "< 10 ms",
            "read_all_s": "",
            "ingest_ratio_vs_peer": "vs sqlite-utils upsert_all",
        },
    ),
    "features": (
        run_features_bench,
        "all signal families vs ta.add_all_ta_features",
        {
            "features_s": "",
            "values_per_s": "",
            "peer_values_per_s": "ta",
            "ratio": ">= 20x the peer",
            "cache_load_one_ms": "",
            "cache_load_all_s": "",
        },
    ),
    "train": (
        run_train_bench,
        "default walk-forward vs one plain XGBoost fit",
        {
            "walk_forward_s": "< 60 s",
            "ranker_walk_forward_s": "< 60 s",
            "single_fit_s": "one xgboost.train",
            "ratio": "",
            "lightgbm_ratio_vs_xgboost": "<= 1 (the classifier's walk-forward)",
            "linear_ratio_vs_xgboost": "<= 0.2",
            "mlp_ratio_vs_xgboost": "reported (CPU)",
        },
    ),
    "forecast": (
        run_forecast_bench,
        "forecasts with reasons from a warm store, median of 5",
        {
            "forecast_s": "< 0.25 s (given the snapshot)",
            "snapshot_s": "memoized: the store unchanged since the last read",
            "end_to_end_s": "< 0.3 s warm (< 1.2 s with --tickers 620)",
            "cold_end_to_end_s": "first read of the snapshot",
            "tickers": "",
        },
    ),
    "backtest": (
        run_backtest_bench,
        "155 x 1260 daily weights vs vectorbt",
        {
            "backtest_s": "< 0.5 s",
            "peer_s": "vectorbt",
            "ratio": "<= 1",
            "equity_rel_diff": "< 1e-6",
        },
    ),
    "ablation": (
        run_ablation_bench,
        "the variant stack, serial vs Dask",
        {"serial_s": "", "dask_s": "2 workers", "ratio": "Dask over serial"},
    ),
    "zoo": (
        run_zoo_bench,
        "every learner of the zoo and its ensembles, serial vs Dask",
        {
            "serial_s": "",
            "dask_s": "2 workers",
            "ratio": "<= 0.6 (Dask over serial)",
            "mlp_serial_s": "the MLP's walk-forward, serially",
        },
    ),
    "factors": (
        run_factors_bench,
        "per-feature rank IC table and one tear sheet vs alphalens",
        {
            "feature_ic_table_s": "< 2 s (63 columns, no intervals)",
            "feature_ic_table_with_intervals_s": "",
            "tear_sheet_s": "",
            "peer_s": "alphalens, scaled to every column",
            "ratio": "alphalens over ours",
        },
    ),
    "weights": (
        run_weights_bench,
        "fit weights (uniqueness, time decay) of every label vs AFML's pandas snippets",
        {
            "sample_weights_s": "< 1 s (155 x 1260)",
            "peer_s": "AFML snippets 4.1-4.2, scaled to every label",
            "ratio": "peer over ours",
            "max_abs_diff": "same uniqueness",
        },
    ),
    "signals": (
        run_signal_study_bench,
        "a signal study (events, forward excess returns, intervals, path) on 155 x 1260",
        {
            "study_s": "< 1 s (features computed before)",
            "sparse_study_s": "< 1 s",
            "events": "dense condition",
        },
    ),
    "risk": (
        run_risk_bench,
        "a factor risk model as of one date and a 5-year attribution, 155 x 1260",
        {
            "as_of_model_s": "< 0.2 s (exposures and factor-return history given)",
            "from_prices_s": "exposures + factor-return history + as-of model",
            "attribution_s": "< 0.5 s (1260 sessions of daily weights)",
            "attribution_gap": "< 1e-10 (parts add up)",
        },
    ),
    "routine": (
        run_routine_bench,
        "the daily routine's evening on six large caps, with and without a retrain; a replay",
        {
            "session_s": "< 60 s (refresh to report, no retrain)",
            "catch_up_s": "the rest of the week in one run",
            "retrain_session_s": "a session with a challenger trained and judged",
            "replay_s": "static + quarterly over the model's history",
            "replay_s_per_retrain": "",
        },
    ),
    "api": (
        run_api_bench,
        "GET /forecast/{ticker} through uvicorn on loopback, warm cache",
        {
            "p50_ms": "",
            "p99_ms": "< 200 ms",
            "cold_ms": "first request: bundle and snapshot loaded",
            "requests": "sequential, one keep-alive client",
            "failures": "0",
        },
    ),
    # last: AppTest runs app.py as __main__ (the benchmark gives the real one back)
    "first_launch": (
        run_first_launch_bench,
        "make run on a fresh clone: seed, start the default model's training, first daily review",
        {
            "launch_s": "seed + job started",
            "first_page_s": "cold, the model training",
            "ready_s": "< 15 s, install excluded",
            "model_ready_s": "until the default model is active",
            "filled_page_s": "cold, with forecasts",
            "second_launch_s": "starts nothing",
        },
    ),
    "make_run": (
        run_make_run_bench,
        "make run on an installed clone, fresh store, until chromium shows the daily review",
        {
            "make_run_to_first_page_s": "< 15 s (median)",
            "runs_s": "each run",
        },
    ),
    "pages": (
        run_pages_bench,
        "every page of the app on the first-launch store in AppTest: cold, then warm",
        {
            "pages": "every page of app.py",
            "pages_meeting_goal": "all of them",
            "slowest_page": "",
            "slowest_warm_s": "< 0.5 s (warm median)",
            "slowest_cold_s": "< 2 s",
            "failed_pages": "0",
            "setup_s": "seed + default model (0 when reused), not in the page figures",
        },
    ),
}
REPORT_NAME = "benchmarks"


def add_options(name: str, parser: argparse.ArgumentParser) -> None:
    """The command-line options of benchmark ``name`` (keyword arguments of its function)."""
    if name == "first_launch":
        return
    if name == "make_run":
        parser.add_argument("--repeats", type=int, default=3, help="runs of make run (default 3)")
        parser.add_argument(
            "--repo", type=Path, default=REPO, help="the checkout to time (default: this one)"
        )
        return
    if name == "api":
        parser.add_argument("--requests", type=int, default=1000)
        return
    if name == "routine":
        parser.add_argument(
            "--store", type=Path, default=None, metavar="FOLDER",
            help="where the model's first-launch store is built (default: a temporary folder)",
        )  # fmt: skip
        return
    if name == "pages":
        parser.add_argument(
            "--repeats", type=int, default=5, help="warm reruns per page (default 5)"
        )
        parser.add_argument(
            "--pages",
            nargs="+",
            default=None,
            metavar="PAGE",
            help="page names, e.g. review data (default: every page of app.py)",
        )
        parser.add_argument(
            "--store",
            type=Path,
            default=None,
            metavar="FOLDER",
            help="where the first-launch store is built once and reused "
            "(default: per engine/store source version under the temporary folder)",
        )
        return
    parser.add_argument("--tickers", dest="n_tickers", type=int, default=155)
    parser.add_argument("--days", dest="n_days", type=int, default=1260)


def failed(results: dict[str, dict]) -> list[str]:
    """The benchmarks whose result reports a failure (``"ok": false``)."""
    return [name for name, result in results.items() if result.get("ok") is False]


def machine() -> dict:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def markdown(results: dict[str, dict], seconds: float) -> str:
    """The report's table: every benchmark's headline figures and goals."""
    info = machine()
    lines = [
        "# Benchmarks",
        "",
        f"`python -m engine.bench all` on {info['platform']}, Python {info['python']}, "
        f"{info['cpus']} CPUs; {seconds:.0f} s in all. Figures are from one run.",
        "",
        "| benchmark | figure | value | goal / peer |",
        "|---|---|---|---|",
    ]
    for name, result in results.items():
        for key, goal in BENCHMARKS[name][2].items():
            value = result.get(key)
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(f"| {name} | `{key}` | {shown} | {goal} |")
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary name in the same folder, then rename over ``path``."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(text)
    os.chmod(handle.name, 0o644)  # a temporary file is private; the report is not
    os.replace(handle.name, path)


def run_all(output: Path) -> dict:
    """Every benchmark at its defaults; writes benchmarks.json and benchmarks.md (the docs
    site's "Latest run" page) to ``output``."""
    started = time.perf_counter()
    results = {name: function() for name, (function, _, _) in BENCHMARKS.items()}
    seconds = time.perf_counter() - started
    report = {"benchmarks": results, "seconds": round(seconds, 1), "machine": machine()}
    table = markdown(results, seconds)
    output.mkdir(parents=True, exist_ok=True)
    write_atomically(output / f"{REPORT_NAME}.json", json.dumps(report, indent=2, default=str))
    write_atomically(output / f"{REPORT_NAME}.md", table)
    return report


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m engine.bench")
    commands = parser.add_subparsers(dest="name", required=True)
    for name, (_, help_text, _) in BENCHMARKS.items():
        add_options(name, commands.add_parser(name, help=help_text))
    everything = commands.add_parser(
        "all", help="every benchmark; writes a JSON and a Markdown report"
    )
    everything.add_argument("--output", default="docs", help="folder for benchmarks.json and .md")
    args = parser.parse_args(argv)
    if args.name == "all":
        result = run_all(Path(args.output))
        failures = failed(result["benchmarks"])
    else:
        options = {k: v for k, v in vars(args).items() if k != "name"}
        function = BENCHMARKS[args.name][0]
        result = {"benchmark": args.name, **function(**options), "machine": machine()}
        failures = failed({args.name: result})
    print(json.dumps(result, indent=2, default=str))
    if failures:
        print(f"benchmark failed: {', '.join(failures)} (see its failures)", file=sys.stderr)
        raise SystemExit(1)
    return result


if __name__ == "__main__":
    main()

"""``python -m engine.bench <name> [options]``: run one benchmark and print its JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Sequence

from engine.bench.ablation import run_ablation_bench
from engine.bench.backtest import run_backtest_bench
from engine.bench.features import run_features_bench
from engine.bench.store import run_store_bench
from engine.bench.train import run_forecast_bench, run_train_bench


def machine() -> dict:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m engine.bench")
    commands = parser.add_subparsers(dest="name", required=True)
    store = commands.add_parser("store", help="ingest a synthetic panel, read one, read all")
    store.add_argument("--tickers", type=int, default=155)
    store.add_argument("--days", type=int, default=1260)
    store.add_argument("--repeats", type=int, default=50, help="reads of one ticker")
    features = commands.add_parser("features", help="all signal families vs ta.add_all_ta_features")
    features.add_argument("--tickers", type=int, default=155)
    features.add_argument("--days", type=int, default=1260)
    features.add_argument("--repeats", type=int, default=3, help="best of this many runs of ours")
    train = commands.add_parser("train", help="default walk-forward vs one plain XGBoost fit")
    train.add_argument("--tickers", type=int, default=155)
    train.add_argument("--days", type=int, default=1260)
    fc = commands.add_parser("forecast", help="forecasts with reasons from a warm store")
    fc.add_argument("--tickers", type=int, default=155)
    fc.add_argument("--days", type=int, default=1260)
    backtest = commands.add_parser("backtest", help="155 x 1260 daily weights vs vectorbt")
    backtest.add_argument("--tickers", type=int, default=155)
    backtest.add_argument("--days", type=int, default=1260)
    ablation = commands.add_parser("ablation", help="the variant stack, serial vs Dask")
    ablation.add_argument("--tickers", type=int, default=155)
    ablation.add_argument("--days", type=int, default=1260)
    ablation.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.name == "store":
        result = run_store_bench(args.tickers, args.days, repeats=args.repeats)
    elif args.name == "features":
        result = run_features_bench(args.tickers, args.days, repeats=args.repeats)
    elif args.name == "train":
        result = run_train_bench(args.tickers, args.days)
    elif args.name == "forecast":
        result = run_forecast_bench(args.tickers, args.days)
    elif args.name == "backtest":
        result = run_backtest_bench(args.tickers, args.days)
    elif args.name == "ablation":
        result = run_ablation_bench(args.tickers, args.days, args.workers)
    result = {"benchmark": args.name, **result, "machine": machine()}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

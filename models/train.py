"""Train the meta-learner from the command line, here or in Colab.

    python models/train.py --source sample --watchlist "Sample universe" --end 2018-12-31
    python models/train.py --source yfinance --tickers AAPL,MSFT,KO --device cuda
    python models/train.py --trials 20 --scheduler tcp://10.0.0.5:8786
    python models/train.py --zoo --start 2015-01-01

``--zoo`` trains no model: it compares every learner of the zoo (``--zoo-learners``) and
their rank-average and stacked ensembles on the same purged folds, prints the table and
saves the study (the Model zoo page shows it); every row counts as a trial.

Needs only this repository and requirements.txt. Writes models/artifacts/<run_id>/ (or
--output) atomically and registers the run in the store (--db). ``--json-progress``
prints one JSON object per line (what the Training page follows); otherwise a progress bar.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import optuna  # noqa: E402
import pandas as pd  # noqa: E402

from engine import workflows  # noqa: E402
from engine.workflows.data import (  # noqa: E402
    FACTOR_ETFS,
    FAMILY_NAMES,
    INDICES,
    parse_date,
    parse_tickers,
)
from engine.workflows.modeling import (  # noqa: E402
    CALIBRATION_METHODS,
    DEVICES,
    LABEL_KINDS,
    LEARNER_NAMES,
    LEARNERS,
    MODEL_KINDS,
    LabelParams,
    LearnerParams,
    TrainConfig,
    TuningConfig,
    available_device,
    label_kind_for,
    learner_families,
    trainable_learners,
)

SOURCES = ("store", "sample", "yfinance")
# Option defaults are the dataclasses' own: a dataclass field's default is its class attribute.


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="models/train.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="sample",
        help="store: use stored prices; sample/yfinance: fetch first",
    )
    parser.add_argument("--db", help="store path (default: $WORKBENCH_DB or data/workbench.db)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--watchlist", default=workflows.DEFAULT_WATCHLIST)
    group.add_argument("--tickers", help="comma-separated tickers instead of a watchlist")
    parser.add_argument("--start", help="first date of training data (YYYY-MM-DD)")
    parser.add_argument("--end", help="train as of this date (default: newest stored day)")
    parser.add_argument(
        "--horizon", type=int, default=LabelParams.horizon, help="label horizon in sessions"
    )
    parser.add_argument(
        "--learner",
        choices=LEARNERS,
        default=LearnerParams.learner,
        help="; ".join(f"{name}: {text}" for name, text in LEARNER_NAMES.items()),
    )
    parser.add_argument(
        "--kind",
        choices=MODEL_KINDS,
        default=LearnerParams.kind,
        help="classifier (beats the universe median, the default), ranker, regressor "
        "(cross-sectional) or market_timing (absolute direction)",
    )
    parser.add_argument(
        "--label",
        choices=LABEL_KINDS,
        help="label kind (default: relative for the cross-sectional kinds, direction for "
        "market_timing; triple_barrier is a market-timing label)",
    )
    parser.add_argument(
        "--families",
        help=f"comma-separated, from {', '.join(FAMILY_NAMES)} (default: every family but "
        "path; path alone for gru and transformer)",
    )
    parser.add_argument(
        "--calibration", choices=CALIBRATION_METHODS, default=LearnerParams.calibration
    )
    parser.add_argument("--device", choices=DEVICES, default=LearnerParams.device)
    parser.add_argument("--train-months", type=int, default=TrainConfig.train_months)
    parser.add_argument("--test-months", type=int, default=TrainConfig.test_months)
    parser.add_argument(
        "--n-boot",
        type=int,
        default=TrainConfig.n_boot,
        help="bootstrap replicates",
    )
    parser.add_argument(
        "--package",
        help="a training package exported by the Training page: its prices go into --db "
        "(best a new one) and its configuration is trained as it is (--device, --trials "
        "from here; the other data and model options are ignored)",
    )
    parser.add_argument("--output", help="artifacts folder (default: models/artifacts)")
    parser.add_argument("--run-id", help="name the run (default: time + random suffix)")
    parser.add_argument("--json-progress", action="store_true")
    parser.add_argument(
        "--activate-if-none",
        action="store_true",
        help="make the run active when it registers, unless another run is active by then",
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=0,
        help="tune the learner with an Optuna study of this many trials first (0: none)",
    )
    parser.add_argument(
        "--seed", type=int, default=TuningConfig.seed, help="the tuning sampler's seed"
    )
    parser.add_argument(
        "--max-rounds",
        type=int,
        default=TuningConfig.max_rounds,
        help="most boosting rounds a trial may draw",
    )
    parser.add_argument(
        "--scheduler", help="run the tuning trials on this Dask scheduler (default: here)"
    )
    parser.add_argument("--zoo", action="store_true", help="compare the zoo's learners instead")
    parser.add_argument(
        "--zoo-learners",
        default=",".join(trainable_learners()),
        help=f"comma-separated, from {', '.join(LEARNERS)} (with --zoo; default: those this "
        "install can train: gru and transformer need make deep)",
    )
    parser.add_argument(
        "--config",
        help="a TrainConfig as JSON (what the Training page hands its job); replaces the "
        "ticker, date, label, learner and window options",
    )
    return parser.parse_args(argv)


def reporter(as_json: bool):
    """progress(fraction, text) printing JSON lines or a one-line bar on stderr."""

    def report(fraction: float, text: str) -> None:
        if as_json:
            print(json.dumps({"progress": round(fraction, 4), "message": text}), flush=True)
        else:
            bar = "#" * int(30 * fraction)
            sys.stderr.write(f"\r[{bar:<30}] {fraction:4.0%} {text[:70]:<70}")
            sys.stderr.flush()

    return report


def seed(args: argparse.Namespace, db: str | None, progress) -> None:
    """Default watchlists, and for the sample source its data too (no-ops once done)."""
    if args.source == "sample":
        workflows.ensure_seeded(db, progress)
    else:
        workflows.seed_watchlists(db)


def fetch(args: argparse.Namespace, db: str | None, tickers: list[str], progress) -> None:
    """Fetch the tickers and the market context (index, VIX, factor ETFs) live."""
    if args.source != "yfinance":
        return
    wanted = sorted(set(tickers) | set(INDICES) | set(FACTOR_ETFS))
    result = workflows.refresh_data(db, "yfinance", wanted, progress=progress)
    if result.status in ("rejected", "failed"):
        raise SystemExit(f"data refresh failed: {result.message}")


def read_config(path: str) -> TrainConfig:
    """The configuration a job was handed (JSON), with one clear error when it is not one."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the training configuration {path}: {exc}") from exc
    return TrainConfig.from_dict(raw)


def config_from_options(args: argparse.Namespace, db: str | None) -> TrainConfig:
    """A watchlist trains on its point-in-time universe over [--start, --end]: every ticker
    that was a member on some date of it, each on its member dates; --tickers on a fixed
    list."""
    start = pd.Timestamp(parse_date(args.start, "--start")) if args.start else None
    end = pd.Timestamp(parse_date(args.end, "--end")) if args.end else None
    if args.tickers:
        tickers, membership = parse_tickers(args.tickers), ()
    else:
        universe = workflows.load_universe(db, args.watchlist, start, end)
        tickers, membership = list(universe.tickers), universe.records
    if not tickers:
        raise SystemExit(f"no tickers: watchlist {args.watchlist!r} is empty or unknown")
    return TrainConfig(
        tickers=tuple(tickers),
        membership=membership,
        start=start,
        as_of=end,
        label=LabelParams(kind=args.label or label_kind_for(args.kind), horizon=args.horizon),
        learner=LearnerParams(
            learner=args.learner,
            kind=args.kind,
            families=(
                learner_families(args.learner, LearnerParams.families)
                if args.families is None
                else tuple(f.strip() for f in args.families.split(",") if f.strip())
            ),
            calibration=args.calibration,
            device=args.device,
        ),
        train_months=args.train_months,
        test_months=args.test_months,
        n_boot=args.n_boot,
    )


def on_device(config: TrainConfig, progress) -> TrainConfig:
    """``config`` on a device that exists: CUDA asked for where there is none trains on the
    CPU, and says so."""
    device, reason = available_device(config.learner.device)
    if reason is None:
        return config
    progress(0.0, f"--device {config.learner.device} is not available ({reason}): using {device}")
    return dataclasses.replace(config, learner=dataclasses.replace(config.learner, device=device))


def tuning_config(args: argparse.Namespace) -> TuningConfig | None:
    if args.trials < 0:
        raise ValueError("--trials must be 0 (no tuning) or more")
    if not args.trials:
        return None
    return TuningConfig(
        n_trials=args.trials,
        seed=args.seed,
        max_rounds=args.max_rounds,
        scheduler_address=args.scheduler,
    )


def alert_settings() -> workflows.AlertSettings | None:
    """Alerts from the settings (a job launched by the app gets them in its WORKBENCH_*
    variables); invalid ones turn alerts off with a warning, never the training."""
    try:
        return workflows.alert_settings()
    except ValueError as exc:  # AlertSettingsError, SettingsError: they name the setting
        sys.stderr.write(f"models/train.py: alerts off: {exc}\n")
        return None


def run_zoo(args: argparse.Namespace, db: str, config: TrainConfig, progress) -> int:
    """The zoo on the options' rows, learner settings and windows; the saved study's id."""
    zoo = workflows.ZooConfig(
        tuple(name.strip() for name in args.zoo_learners.split(",") if name.strip()),
        train_months=config.train_months,
        test_months=config.test_months,
        learner=config.learner,
        horizon=config.label.horizon,
        n_boot=config.n_boot,
        use_dask=bool(args.scheduler),
        scheduler_address=args.scheduler,
    )
    study, result = workflows.run_zoo_study(
        db,
        list(config.tickers),
        zoo,
        start=config.start,
        membership=config.universe(),
        as_of=config.as_of,
        progress=progress,
    )
    table = result.table
    if args.json_progress:
        print(json.dumps({"done": True, "zoo_study": study, "table": table.to_dict("records")}))
        return study
    sys.stderr.write("\n")
    for row in table.itertuples():
        print(
            f"{row.model:>13}: rank IC {row.rank_ic:+.4f} [{row.rank_ic_low:+.4f}, "
            f"{row.rank_ic_high:+.4f}], top-k excess after costs {row.excess:+.2%} "
            f"[{row.excess_low:+.2%}, {row.excess_high:+.2%}], Deflated Sharpe "
            f"{row.deflated_sharpe:.2f}, {row.seconds:.1f} s"
        )
    print(f"zoo study {study} saved ({len(table)} trials counted)")
    return study


def main(argv: Sequence[str] | None = None) -> workflows.ModelRun | int:
    args = parse_args(argv)
    overrides = {"db_path": args.db, "artifacts_root": args.output and Path(args.output).resolve()}
    settings = workflows.reload_settings(**{k: v for k, v in overrides.items() if v})
    db = str(settings.db_path)
    progress = reporter(args.json_progress)
    if args.package:  # the package's prices into this store, its configuration as it is
        config = workflows.load_training_package(db, Path(args.package).read_bytes())
    else:
        seed(args, db, progress)
        config = read_config(args.config) if args.config else config_from_options(args, db)
        fetch(args, db, list(config.tickers), progress)
    config = on_device(config, progress)
    tuning = tuning_config(args)
    if args.zoo:
        return run_zoo(args, db, config, progress)
    record = workflows.train_model(
        db,
        config,
        run_id=args.run_id,
        progress=progress,
        alerts=alert_settings(),
        tuning=tuning,
        activate_if_none=args.activate_if_none,
    )
    workflows.keep_analyses(db, record.run_id, progress)
    model = record.metrics["model"]["auc"]
    rank_ic = record.metrics["rank_ic"]["mean"]
    summary = {
        "done": True,
        "run_id": record.run_id,
        "artifact_dir": record.artifact_dir,
        "auc": model,
        "rank_ic": rank_ic,
        "tuning": record.metrics.get("tuning"),
    }
    if args.json_progress:
        print(json.dumps(summary), flush=True)
    else:
        sys.stderr.write("\n")
        print(
            f"run {record.run_id}: out-of-sample AUC {model['estimate']:.3f} "
            f"[{model['low']:.3f}, {model['high']:.3f}], rank IC {rank_ic['estimate']:.4f} "
            f"[{rank_ic['low']:.4f}, {rank_ic['high']:.4f}], bundle in {record.artifact_dir}"
        )
    return record


def _cancelled(signum, frame) -> None:
    """SIGTERM (the Training page's cancel): unwind through train_model, which marks the run
    and its running tuning trial failed. A second cancel must not cut that clean-up short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit("cancelled")


def cli() -> None:
    """Entry point: a bad request ends with one line naming it, not a traceback."""
    signal.signal(signal.SIGTERM, _cancelled)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours
    try:
        main()
    except (ValueError, workflows.StoreError) as exc:  # bad tickers, watchlist, dates, busy lock
        sys.exit(f"models/train.py: error: {exc}")


if __name__ == "__main__":
    cli()

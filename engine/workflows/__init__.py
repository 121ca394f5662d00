"""Use cases that combine the engine and the store, grouped by area. Pages, api/,
models/train.py and the benchmarks call these and nothing below them; every public name
of the subpackages is re-exported here (``from engine.workflows import X``), and imported
on first use: only the module that defines X is loaded (``engine.lazy_exports``).

The subpackages, lowest first (each imports only those before it):

``data``: prices, files, sources and the as-of snapshot.
    ``data.prices``: prices in (refresh, CSV import, quality gate), watchlists, stored
    prices out.
    ``data.imports``: several price files at once: a preview, then one import per file.
    ``data.sources``: FRED macro series (with BTC-USD), Finnhub news and insider
    transactions.
    ``data.features``: the per-ticker feature cache.
    ``data.snapshot``: the as-of snapshot: prices <= t, market context, regime, features.
``platform``: what every use case relies on.
    ``platform.alerts``: alerts raised once per event, delivered to Slack, Discord, email.
    ``platform.api_keys``: keys of the REST API (api/), stored hashed.
    ``platform.background``: processes and threads that run while the caller goes on.
    ``platform.settings``: the settings as pages and the API read them (alerts, broker,
    the login's allow-list, the keyed sources' keys).
``modeling``: training and the registered models.
    ``modeling.runs``: training in this process, the run registry, loading a model.
    ``modeling.jobs``: training as a job of its own.
    ``modeling.tuning``: an Optuna study of the learner's settings, every trial counted.
    ``modeling.trials``: the trial count and Sharpe variance behind every Deflated Sharpe.
    ``modeling.champions``: retraining: a challenger replaces the champion only on
    evidence; the champion's history and rollback.
    ``modeling.bundles``: importing bundles trained elsewhere.
    ``modeling.package``: training packages (configuration, prices, code) for Colab.
    ``modeling.convert``: the one-time conversion of bundle format 1 to format 2.
    ``modeling.forecast``: forecasts with reasons.
    ``modeling.tracking``: training runs, tuning trials and zoo members also logged to
    MLflow when a tracking URI is set.
``research``: a registered model judged out of sample.
    ``research.backtests``: a run's predictions traded with its construction and costs.
    ``research.breakdowns``: a book's returns by regime and by sector.
    ``research.book_risk``: a book's tail risk and stress tests.
    ``research.signal_studies``: signal studies, counted and saved.
    ``research.risk_models``: factor risk models, neutralized IC, attribution.
    ``research.calibration``: every calibration method side by side, reliability curves.
    ``research.factors``: the ranking judged as a factor; each feature's rank IC.
    ``research.ablations``: the ablation study.
    ``research.scenarios``: scenario replays.
    ``research.monitor``: the drift monitor.
    ``research.live_record``: the live record: forecasts stored as made, scored when
    their outcomes are known, judged against the backtest's interval.
    ``research.live_calibration``: live recalibration: the probabilities remapped from the
    live record's known outcomes, each map a version, judged on later outcomes.
    ``research.retraining``: the retraining policy: stored, applied each session,
    replayed over history.
    ``research.report``: HTML tear sheets of a backtest, the paper account, a series.
    ``research.analyses``: a run's calibration and signal analyses, kept with it.
    ``research.studies``: what saved studies share (rows, settings, trials, tables).
    ``research.zoos``: the model zoo (every learner on the same folds).
``trading``: the paper account, the broker and the analyst's book.
    ``trading.paper``: the paper-trading step, its guardrails and journal.
    ``trading.guardrails``: the checks that pause the paper account (live hit rate and
    calibration, VIX, drawdown), read as of a step; their trips and resumes.
    ``trading.paper_account``: the paper account as pages read it (marks, replay, P&L
    today), order notes.
    ``trading.paper_risk``: the paper book by regime, sector and factor, stressed.
    ``trading.broker``: the journal's orders mirrored to an Alpaca paper account.
    ``trading.tca``: each fill's cost against the cost model's estimate; slippage check.
    ``trading.gate``: the Go / No-Go gate on the paper journal and the capital ramp.
    ``trading.book``: the analyst's holdings, the re-entry watch, the double-down check.
``routines``: the other use cases run in order.
    ``routines.daily``: the daily pipeline behind the review page's one button.
    ``routines.first_launch``: a new store seeded at once, its default model trained as a
    background job.
    ``routines.routine``: the daily routine after each close, each step once a session.
    ``routines.schedule``: the routine run in-process after each close (the API's).
"""

from engine.lazy_exports import lazy_exports
from engine.workflows import data, modeling, platform, research, routines, trading

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    data.EXPORTS,
    platform.EXPORTS,
    modeling.EXPORTS,
    research.EXPORTS,
    trading.EXPORTS,
    routines.EXPORTS,
)

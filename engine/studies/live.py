"""The live record judged: each forecast's outcome from stored closes, and the live
figures beside the backtest's.

A forecast made at the close of t is scored as its run's label would score it
(``relative_labels`` over the tickers the run forecast that day), from closes dated on or
before the scoring date only. The live figures use the backtest's rules and interval
policy: the rank IC and the top-k hit rate of ``compute_tear_sheet`` (moving blocks of
``ic_block(horizon)`` dates), the ECE and reliability curve of ``calibration_scores``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.calendar import sessions_between
from engine.metrics import N_BOOT, Interval, bootstrap_interval, ic_block
from engine.modeling.calibration_scores import expected_calibration_error, reliability_curve
from engine.modeling.evaluation import RunScores
from engine.modeling.factors import compute_tear_sheet
from engine.modeling.labels import relative_labels

KEY = ["run_id", "as_of", "ticker"]
OUTCOMES = [*KEY, "outcome_date", "excess", "beat"]
NO_INTERVAL = Interval(np.nan, np.nan, np.nan)


def compute_live_outcomes(
    forecasts: pd.DataFrame, prices: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """The outcomes of the forecasts that are known by ``as_of``.

    Parameters
    ----------
    forecasts : DataFrame of shape (n, >= 4)
        ``run_id``, ``as_of`` (the session forecast from), ``ticker`` and ``horizon``:
        every forecast a run made on each date to score (the date's universe).
    prices : DataFrame
        Normalized stored prices of those tickers, dated <= ``as_of`` only: a row after
        it would let an outcome look ahead.
    as_of : Timestamp
        The scoring date.

    Returns
    -------
    DataFrame of shape (m, 6)
        ``run_id``, ``as_of``, ``ticker``, ``outcome_date`` (the session ``horizon``
        sessions after the forecast's), ``excess`` (the forward simple return from the
        forecast's close to that session's, less the equal-weight mean of the day's
        universe) and ``beat`` (1.0 above the universe's median, 0.0 below, NaN at it),
        as ``relative_labels`` defines them, for each (run, date) whose outcome is due: its
        outcome session is stored and on or before ``as_of``. A ticker's close still
        missing then is waited for another ``horizon`` sessions (a late refresh); after
        that the date is scored and the ticker has no outcome (NaN), as in the labels.
    """
    scored, dates = [], prices["date"]
    for (run_id, day), group in forecasts.groupby(["run_id", "as_of"], sort=True):
        horizon = int(group["horizon"].iloc[0])
        tickers = group["ticker"].to_numpy()
        window = prices[prices["ticker"].isin(tickers) & (dates >= day) & (dates <= as_of)]
        if not (window["date"] == day).any():
            continue
        labels = relative_labels(window, horizon).xs(day, level="date").reindex(tickers)
        ends = labels["end_date"].dropna()
        if ends.empty:
            continue  # the outcome session is not stored yet
        end = ends.iloc[0]
        if labels["ret"].isna().any() and len(sessions_between(end, as_of)) <= horizon:
            continue  # a close missing at the outcome session: wait for a late refresh
        outcome = {"run_id": run_id, "as_of": day, "ticker": tickers, "outcome_date": end}
        outcome |= {"excess": labels["excess"].to_numpy(), "beat": labels["label"].to_numpy()}
        scored.append(pd.DataFrame(outcome))
    if not scored:
        return pd.DataFrame(columns=OUTCOMES)
    return pd.concat(scored, ignore_index=True)[OUTCOMES]


@dataclass(frozen=True)
class LiveReport:
    """A run's live record beside its backtest (see ``compute_live_report``).

    Attributes
    ----------
    run_id : str
    as_of : Timestamp or None
        Forecasts made and outcomes known by this date (None: everything recorded).
    horizon, block, top_k : int
        Label horizon in sessions; the moving-block length of the intervals
        (``ic_block(horizon)``); names per date in the hit rate.
    forecasts, scored, dates, scored_dates : int
        Forecasts recorded; of them with an outcome recorded; dates forecast; dates
        with a live rank IC.
    rank_ic : Interval
        Mean per-date rank IC of the score against the excess return, with its
        moving-block interval (NaN bounds with fewer than ``2 * block`` dates).
    hit_rate : Interval
        Share of each date's top ``top_k`` names by score that beat the date's median,
        resampling blocks of whole dates: the backtest's top-k hit rate, live.
    ece : Interval
        Expected calibration error of P(beats median) against ``beat``, resampling
        blocks of whole dates (NaN for a market-timing run, whose P(up) is not that).
    reliability : DataFrame of shape (bins, 6)
        ``reliability_curve`` of the same (empty for a market-timing run).
    backtest : RunScores
        The run's recorded walk-forward figures: ``rank_ic``, ``top_k_hit_rate`` and
        ``ece`` (None where the run recorded none).
    standing : str
        Where the live mean rank IC lies against the backtest's interval: ``below``,
        ``within``, ``above``, or ``unjudged`` (too few dates, or no backtest interval).
    verdict : str
        The same in words, with the figures.
    latest : DataFrame
        The newest date's recorded forecasts with their outcomes where known (NaN where
        not), best rank first.
    """

    run_id: str
    as_of: pd.Timestamp | None
    horizon: int
    block: int
    top_k: int
    forecasts: int
    scored: int
    dates: int
    scored_dates: int
    rank_ic: Interval
    hit_rate: Interval
    ece: Interval
    reliability: pd.DataFrame
    backtest: RunScores
    standing: str
    verdict: str
    latest: pd.DataFrame

    @property
    def outside(self) -> bool:
        """True when the live rank IC lies outside the backtest's interval."""
        return self.standing in ("below", "above")

    def comparison(self) -> pd.DataFrame:
        """Live against backtest, one row per figure: ``figure``, ``live``, ``live_low``,
        ``live_high``, ``backtest``, ``backtest_low``, ``backtest_high``."""
        figures = {
            "rank IC": (self.rank_ic, self.backtest.rank_ic),
            f"top-{self.top_k} hit rate": (self.hit_rate, self.backtest.top_k_hit_rate),
            "ECE": (self.ece, self.backtest.ece),
        }
        rows = [
            (name, *_bounds(live), *_bounds(backtest or NO_INTERVAL))
            for name, (live, backtest) in figures.items()
        ]
        columns = ["live", "live_low", "live_high", "backtest", "backtest_low", "backtest_high"]
        return pd.DataFrame(rows, columns=["figure", *columns])


def _bounds(interval: Interval) -> tuple[float, float, float]:
    return interval.estimate, interval.low, interval.high


def compute_live_report(
    forecasts: pd.DataFrame,
    outcomes: pd.DataFrame,
    backtest: RunScores,
    *,
    run_id: str,
    horizon: int,
    as_of: pd.Timestamp | None = None,
    p_beats_median: bool = True,
    top_k: int = 5,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> LiveReport:
    """The live record of one run judged against its backtest.

    Parameters
    ----------
    forecasts : DataFrame of shape (n, >= 8)
        The run's recorded forecasts: ``run_id``, ``as_of``, ``ticker``, ``score``, ``p``,
        ``rank``, ``percentile``, ``horizon``.
    outcomes : DataFrame of shape (m, >= 6)
        Their recorded outcomes: ``run_id``, ``as_of``, ``ticker``, ``outcome_date``,
        ``excess``, ``beat``.
    backtest : RunScores
        The run's recorded out-of-sample figures.
    run_id : str
    horizon : int
        The run's label horizon in sessions.
    as_of : Timestamp, optional
        Only forecasts made and outcomes known (``outcome_date``) by this date count.
    p_beats_median : bool
        Whether ``p`` is P(beats median) (every kind but market timing): only then is it
        judged against ``beat``.
    top_k, n_boot, seed : int
        Names per date in the hit rate; replicates and seed of every interval.

    Returns
    -------
    LiveReport
        The verdict compares the live mean rank IC with the backtest's interval once
        there are ``2 * ic_block(horizon)`` dates with a live rank IC (the fewest that
        give the live mean an interval); before that it says there are too few.
    """
    if as_of is not None:
        forecasts = forecasts[forecasts["as_of"] <= as_of]
        outcomes = outcomes[outcomes["outcome_date"] <= as_of]
    record = forecasts.merge(outcomes[OUTCOMES], on=KEY, how="left")
    scored = record[record["outcome_date"].notna()]
    block = ic_block(horizon)
    known = scored[np.isfinite(scored["excess"]) & np.isfinite(scored["score"])]
    rank_ic, hit_rate, scored_dates = NO_INTERVAL, NO_INTERVAL, 0
    if len(known):
        index = pd.MultiIndex.from_arrays(
            [known["ticker"], known["as_of"]], names=["ticker", "date"]
        )
        sheet = compute_tear_sheet(
            pd.Series(known["score"].to_numpy(), index),
            pd.Series(known["excess"].to_numpy(), index),
            top_k=top_k,
            horizon=horizon,
            n_boot=n_boot,
            seed=seed,
        )
        rank_ic, hit_rate, scored_dates = sheet.rank_ic, sheet.hit_rate, sheet.ic_days
    judged = scored[np.isfinite(scored["beat"]) & np.isfinite(scored["p"]) & p_beats_median]
    y, p = judged["beat"].to_numpy(), judged["p"].to_numpy()
    resample = {"groups": judged["as_of"].to_numpy(), "block": block, "n_boot": n_boot}
    ece = (
        bootstrap_interval(expected_calibration_error, y, p, **resample, seed=seed)
        if len(judged)
        else NO_INTERVAL
    )
    standing, verdict = live_verdict(rank_ic, scored_dates, block, backtest.rank_ic)
    newest = record[record["as_of"] == record["as_of"].max()] if len(record) else record
    return LiveReport(
        run_id=run_id,
        as_of=as_of,
        horizon=horizon,
        block=block,
        top_k=top_k,
        forecasts=len(record),
        scored=len(scored),
        dates=int(record["as_of"].nunique()),
        scored_dates=scored_dates,
        rank_ic=rank_ic,
        hit_rate=hit_rate,
        ece=ece,
        reliability=reliability_curve(y, p),
        backtest=backtest,
        standing=standing,
        verdict=verdict,
        latest=newest.sort_values(["rank", "ticker"]).reset_index(drop=True),
    )


def live_verdict(
    live: Interval, scored_dates: int, block: int, backtest: Interval | None
) -> tuple[str, str]:
    """Where the live mean rank IC lies against the backtest's interval (``below``,
    ``within``, ``above``; ``unjudged`` with under ``2 * block`` dates with a live rank IC,
    or a backtest without an interval), and the verdict in words."""
    if scored_dates < 2 * block:
        return "unjudged", (
            f"too few scored dates to judge: {scored_dates} with a live rank IC, "
            f"{2 * block} needed (two {block}-session blocks)"
        )
    if backtest is None or not np.isfinite([backtest.low, backtest.high]).all():
        return "unjudged", "the backtest recorded no rank-IC interval to judge the live record by"
    standing = "below" if live.estimate < backtest.low else "within"
    standing = "above" if live.estimate > backtest.high else standing
    figure = f"{live.estimate:+.4f} against [{backtest.low:+.4f}, {backtest.high:+.4f}]"
    return standing, f"live rank IC {standing} the backtest's interval: {figure}"

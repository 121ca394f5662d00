"""Every reported statistic before and after moving the resampling to arch, the Brier and
log-loss to scikit-learn, and the Sharpe, hit rate and annualization to one place each,
on real data: skfolio's S&P 500 sample (adjusted closes of 20 large US stocks, shipped
inside the installed package, no network).

The fixture:
- an equal-weight, daily-rebalanced portfolio of the 20 stocks, 2015-2022, as a
  ``BacktestResult`` (no costs: a fixture for statistics, not a reported backtest), with
  one "closed trade" per stock and calendar month whose P&L is that month's return on
  10,000 (for the trade win rate);
- a cross-sectional panel every 5th session of 2015-2022: a 20-day momentum score
  (closes <= t), the next-5-session return (closes > t), the label "beats the day's
  median" and a P(up) rising linearly with the momentum rank (0.455 to 0.55).

``BEFORE`` holds what the code at commit 7156a17 (the hand-rolled group bootstrap; fixed
non-overlapping blocks standing in for a moving-block bootstrap; Brier and log-loss by
hand; Sharpe and hit rate re-implemented in drift, monitor and scenarios) printed for
this fixture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from arch.bootstrap import IIDBootstrap, MovingBlockBootstrap
from skfolio.datasets import load_sp500_dataset

from engine.metrics import (
    auc,
    calmar,
    classification_metrics,
    daily_ic,
    hit_rate,
    ic_summary,
    max_drawdown,
    sharpe,
)
from engine.modeling.calibration_scores import brier, calibration_metrics, logarithmic_loss
from engine.studies.drift import rolling_forecast_quality
from engine.trading.backtest import (
    TRADE_COLUMNS,
    BacktestConfig,
    BacktestResult,
    compute_statistics,
)
from engine.trading.sizing import ewma_volatility
from engine.workflows.research.monitor import _sign_sharpe

# (estimate, low, high) at commit 7156a17, default n_boot and seed 0 of each function
BEFORE = {
    "sharpe": (0.9314537319086419, 0.3084642621479084, 1.7889699018625536),
    "sortino": (1.3465439071487002, 0.43529656056159066, 2.7342981125611474),
    "cagr": (0.16985971996511107, 0.04266783791657817, 0.2975533036250718),
    "volatility": (0.18732037046987396, 0.14945980688479926, 0.2439132363883587),
    "max_drawdown": (-0.3167555883744918, -0.44395953717643855, -0.14559881048493273),
    "calmar": (0.5362485341988359, 0.12833555527477455, 1.8582008761851991),
    "win_rate": (0.5617509119332986, 0.5409067222511725, 0.5805367378843147),
    "auc": (0.5025124378109452, 0.48824564676616916, 0.5166909203980099),
    "accuracy": (0.5009950248756219, 0.4893034825870647, 0.5130659203980099),
    "ece": (0.026492537313432846, 0.018572761194029872, 0.03979154228855724),
    "brier": (0.2507118781094527, 0.24998585199004977, 0.2514252176616915),
    "log_loss": (0.6945748516880992, 0.693119664970706, 0.6960046753848622),
    "mean_ic": (0.008766124735263881, -0.019418923939916583, 0.043649165258893265),
    "mean_rank_ic": (0.012871731567725284, -0.009894551192796804, 0.037489844863175574),
}
TIME_SERIES = ("sharpe", "sortino", "cagr", "volatility", "max_drawdown", "calmar")
BY_DATE_OR_ROW = ("win_rate", "auc", "accuracy", "ece", "brier", "log_loss")
# rolling_forecast_quality(window=63): values on rows 25, 100 and the last, and column sums
BEFORE_QUALITY = {
    "rows": {
        25: (0.06284615384615388, 0.4884615384615385, 1.9499596110838584),
        100: (0.045507936507936594, 0.5055555555555555, -0.7542039265619026),
        -1: (0.04948412698412703, 0.49603174603174605, 1.2406578825037544),
    },
    "sums": (17.326928486104894, 191.69295242497836, 258.637175017219),
}
BEFORE_SIGN_SHARPE = 0.6284145777099793  # monitor's out-of-sample Sharpe of sign(p - 0.5)
BEFORE_SCENARIO_HIT_RATE = 0.5009950248756219
BEFORE_EWMA_VOL = {"AAPL": 0.3743698094286735, "XOM": 0.28353096042059606}


@dataclass(frozen=True)
class CrossSection:
    """Rows (date, ticker) of the momentum panel; shapes (n,)."""

    dates: np.ndarray
    tickers: np.ndarray
    label: np.ndarray  # 1 where the next-5-session return beats the day's median
    p: np.ndarray  # P(up) from the momentum rank
    momentum: np.ndarray  # close / close 20 sessions before - 1
    forward: np.ndarray  # next-5-session return


@pytest.fixture(scope="module")
def closes() -> pd.DataFrame:
    return load_sp500_dataset().loc["2014-10-01":"2022-12-31"]


@pytest.fixture(scope="module")
def backtest(closes: pd.DataFrame) -> BacktestResult:
    returns = closes.pct_change().loc["2015-01-01":"2022-12-31"].mean(axis=1)
    start = closes.index[closes.index.get_loc(returns.index[0]) - 1]
    equity = pd.concat([pd.Series([1e6], index=[start]), 1e6 * (1.0 + returns).cumprod()])
    monthly = closes.loc["2014-12-01":"2022-12-31"].resample("ME").last().pct_change().iloc[1:]
    trades = monthly.stack().rename("ret").reset_index()
    trades.columns = ["date", "ticker", "ret"]
    trades = pd.DataFrame(
        {
            "date": trades["date"],
            "ticker": trades["ticker"],
            "shares": 1.0,
            "price": 1e4,
            "reason": "rebalance",
            "commission": 0.0,
            "spread": 0.0,
            "impact": 0.0,
            "realized_pnl": 1e4 * trades["ret"],
        },
        columns=list(TRADE_COLUMNS),
    )
    index = equity.index
    return BacktestResult(
        equity=equity.rename("equity"),
        cash=pd.Series(0.0, index=index, name="cash"),
        positions=pd.DataFrame(index=index),
        trades=trades,
        costs=pd.DataFrame(0.0, index=index, columns=["commission", "spread", "impact"]),
        gross_exposure=pd.Series(1.0, index=index, name="gross_exposure"),
        config=BacktestConfig(use_exits=False),
    )


@pytest.fixture(scope="module")
def panel(closes: pd.DataFrame) -> CrossSection:
    momentum = closes / closes.shift(20) - 1.0
    forward = closes.shift(-5) / closes - 1.0
    sessions = closes.loc["2015-01-01":"2022-12-31"].index[::5]
    frame = pd.DataFrame(
        {"momentum": momentum.loc[sessions].stack(), "forward": forward.loc[sessions].stack()}
    ).dropna()
    by_date = frame.groupby(level=0)
    frame["label"] = (frame["forward"] > by_date["forward"].transform("median")).astype(int)
    frame["p"] = 0.45 + 0.1 * by_date["momentum"].rank(pct=True, method="average")
    return CrossSection(
        dates=frame.index.get_level_values(0).to_numpy(),
        tickers=frame.index.get_level_values(1).to_numpy(),
        label=frame["label"].to_numpy(),
        p=frame["p"].to_numpy(),
        momentum=frame["momentum"].to_numpy(),
        forward=frame["forward"].to_numpy(),
    )


@pytest.fixture(scope="module")
def after(backtest: BacktestResult, panel: CrossSection) -> dict:
    """The same figures from today's code, as (estimate, low, high)."""
    # the old figures used each function's old defaults (500 replicates for the
    # classification metrics and the IC, 20-session blocks for returns): like with like
    # (the defaults are now engine.metrics' policy, N_BOOT and IC_BLOCK)
    statistics = compute_statistics(backtest, block=20)
    model = classification_metrics(panel.label, panel.p, panel.dates, n_boot=500)
    calibration = calibration_metrics(panel.label, panel.p, panel.dates)
    ic = daily_ic(panel.dates, panel.momentum, panel.forward)
    intervals = {key: statistics[key] for key in (*TIME_SERIES, "win_rate")}
    intervals |= {"auc": model["auc"], "accuracy": model["accuracy"]}
    intervals |= {key: calibration[key] for key in ("ece", "brier", "log_loss")}
    # the old figures used 5-date blocks: compare like with like (the default is IC_BLOCK)
    intervals["mean_ic"] = ic_summary(ic["ic"], block=5, n_boot=500)["mean"]
    intervals["mean_rank_ic"] = ic_summary(ic["rank_ic"], block=5, n_boot=500)["mean"]
    return {key: (i.estimate, i.low, i.high) for key, i in intervals.items()}


def outcomes(panel: CrossSection) -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([panel.tickers, panel.dates], names=["ticker", "date"])
    return pd.DataFrame(
        {"p": panel.p, "label": panel.label.astype(float), "ret": panel.forward}, index=index
    )


def test_point_estimates_do_not_move(after: dict) -> None:
    """No estimate depends on resampling, so each is the old figure to 1e-12 (Brier and
    log-loss now come from scikit-learn: the same numbers)."""
    for key, (estimate, _, _) in BEFORE.items():
        assert after[key][0] == pytest.approx(estimate, rel=0, abs=1e-12), key


def test_intervals_over_dates_or_rows_are_unchanged(after: dict) -> None:
    """arch's IIDBootstrap over the date index draws its integers from the same generator
    (``default_rng(seed).integers(n, size=n)``) as the old hand-rolled group sampler, and
    the rows of each drawn date are taken in the same order, so these bounds are the old
    ones up to floating point: tolerance 1e-12."""
    for key in BY_DATE_OR_ROW:
        _, low, high = BEFORE[key]
        assert after[key][1:] == pytest.approx((low, high), rel=0, abs=1e-12), key


def test_time_series_intervals_move_within_monte_carlo_noise(after: dict) -> None:
    """These changed scheme: fixed non-overlapping blocks resampled iid (old) against arch's
    moving blocks of the same length (new), so each replicate differs. The bound of a
    2.5% / 97.5% percentile from B = 300 (IC: 500) replicates has a Monte Carlo standard
    deviation of about sqrt(0.025 * 0.975 / B) / phi(1.96) = 0.15 bootstrap standard
    deviations, about 4% of the interval's width (width = 3.92 s.d.); old and new are
    independent draws, so their difference has s.d. of about 5.5% of the width. The
    tolerance, a quarter of the old width, is about 4.5 of those s.d.: loose enough for
    any seed, tight enough to catch a wrong statistic, block length or coverage."""
    for key in (*TIME_SERIES, "mean_ic", "mean_rank_ic"):
        _, low, high = BEFORE[key]
        tolerance = 0.25 * (high - low)
        assert abs(after[key][1] - low) <= tolerance, key
        assert abs(after[key][2] - high) <= tolerance, key


def test_intervals_are_what_arch_itself_computes(
    after: dict, backtest: BacktestResult, panel: CrossSection
) -> None:
    """The same seed through arch directly gives the same bounds: the wiring is arch's."""
    returns = backtest.equity.pct_change().dropna().to_numpy()
    for key, statistic in (("sharpe", sharpe), ("max_drawdown", max_drawdown), ("calmar", calmar)):
        direct = MovingBlockBootstrap(20, returns, seed=0).conf_int(
            statistic, 300, method="percentile"
        )
        assert after[key][1:] == pytest.approx(tuple(direct[:, 0]), rel=0, abs=1e-12), key

    ic = daily_ic(panel.dates, panel.momentum, panel.forward)["ic"].to_numpy()
    direct = MovingBlockBootstrap(5, ic, seed=0).conf_int(np.mean, 500, method="percentile")
    assert after["mean_ic"][1:] == pytest.approx(tuple(direct[:, 0]), rel=0, abs=1e-12)

    rows_of = [np.flatnonzero(panel.dates == d) for d in np.unique(panel.dates)]

    def on_dates(statistic):
        def value(drawn: np.ndarray) -> float:
            rows = np.concatenate([rows_of[i] for i in drawn])
            return statistic(panel.label[rows], panel.p[rows])

        return value

    for key, statistic, reps in (("auc", auc, 500), ("brier", brier, 300)):
        direct = IIDBootstrap(np.arange(len(rows_of)), seed=0).conf_int(
            on_dates(statistic), reps, method="percentile"
        )
        assert after[key][1:] == pytest.approx(tuple(direct[:, 0]), rel=0, abs=1e-12), key

    closed = backtest.trades["realized_pnl"]
    wins = (closed[closed != 0] > 0).to_numpy(dtype=float)
    direct = IIDBootstrap(wins, seed=0).conf_int(np.mean, 300, method="percentile")
    assert after["win_rate"][1:] == pytest.approx(tuple(direct[:, 0]), rel=0, abs=1e-12)


def test_brier_and_log_loss_equal_the_old_formulas(panel: CrossSection) -> None:
    y, p = panel.label.astype(float), panel.p
    assert brier(y, p) == pytest.approx(np.mean((p - y) ** 2), rel=0, abs=1e-12)
    clipped = np.clip(np.r_[p, 0.0, 1.0], 1e-6, 1 - 1e-6)
    y2 = np.r_[y, 1.0, 0.0]  # two confident misses: the 1e-6 clip still bounds the loss
    old = -np.mean(y2 * np.log(clipped) + (1 - y2) * np.log(1 - clipped))
    assert logarithmic_loss(y2, np.r_[p, 0.0, 1.0]) == pytest.approx(old, rel=0, abs=1e-12)
    ones = np.ones(5)  # one outcome only: defined, as the old formulas were
    assert brier(ones, p[:5]) == pytest.approx(np.mean((p[:5] - 1) ** 2), rel=0, abs=1e-12)
    assert logarithmic_loss(ones, p[:5]) == pytest.approx(-np.mean(np.log(p[:5])), abs=1e-12)


def test_monitor_drift_and_scenario_figures_do_not_move(
    panel: CrossSection, closes: pd.DataFrame
) -> None:
    frame = outcomes(panel)
    quality = rolling_forecast_quality(frame, 63)
    for row, values in BEFORE_QUALITY["rows"].items():
        assert tuple(quality.iloc[row]) == pytest.approx(values, rel=0, abs=1e-12), row
    assert tuple(quality.sum()) == pytest.approx(BEFORE_QUALITY["sums"], rel=1e-12)
    assert _sign_sharpe(frame) == pytest.approx(BEFORE_SIGN_SHARPE, rel=0, abs=1e-12)
    assert hit_rate(panel.label, panel.p) == pytest.approx(BEFORE_SCENARIO_HIT_RATE, abs=1e-12)
    volatility = ewma_volatility(closes.pct_change().loc["2015":"2022"]).iloc[-1]
    for ticker, value in BEFORE_EWMA_VOL.items():
        assert volatility[ticker] == pytest.approx(value, rel=0, abs=1e-12), ticker

"""Out-of-sample metrics and trading statistics, each rule in one place.

- ``_intervals``: the interval policy (``ic_block``, ``N_BOOT``) and the bootstrap
  (arch's resamplers; whole dates for cross-sectional metrics), Wilson intervals;
- ``_forecasts``: AUC, hit rate, per-date (rank) information coefficients and their
  summaries;
- ``_performance``: one Sharpe, one annualization (``TRADING_DAYS``), drawdown, and the
  probabilistic and deflated Sharpe ratios.
"""

from engine.metrics._forecasts import (
    auc,
    base_rate_accuracy,
    classification_metrics,
    cross_sectional_ic,
    daily_ic,
    date_layout,
    fold_aucs,
    hit_rate,
    ic_summary,
    rank_rows,
)
from engine.metrics._intervals import (
    IC_BLOCK,
    N_BOOT,
    Interval,
    bootstrap_interval,
    fold_interval,
    ic_block,
    over_folds,
    wilson_interval,
)
from engine.metrics._performance import (
    EULER_GAMMA,
    TRADING_DAYS,
    annual_volatility,
    cagr,
    calmar,
    daily_returns,
    deflated_sharpe,
    deflated_sharpes,
    expected_max_sharpe,
    max_drawdown,
    probabilistic_sharpe,
    psr_from_moments,
    rolling_sharpe,
    sharpe,
    sortino,
)

__all__ = [
    "EULER_GAMMA",
    "IC_BLOCK",
    "N_BOOT",
    "TRADING_DAYS",
    "Interval",
    "annual_volatility",
    "auc",
    "fold_aucs",
    "base_rate_accuracy",
    "bootstrap_interval",
    "cagr",
    "calmar",
    "classification_metrics",
    "cross_sectional_ic",
    "daily_ic",
    "date_layout",
    "daily_returns",
    "deflated_sharpe",
    "deflated_sharpes",
    "expected_max_sharpe",
    "fold_interval",
    "hit_rate",
    "ic_block",
    "over_folds",
    "ic_summary",
    "max_drawdown",
    "probabilistic_sharpe",
    "psr_from_moments",
    "rank_rows",
    "rolling_sharpe",
    "sharpe",
    "sortino",
    "wilson_interval",
]

"""Risk benchmark: a factor risk model as of one date and a five-year return attribution on
a synthetic panel (155 x 1,260 by default, with a common market factor).

Timed, each the median of ``repeats`` runs after a warm-up:

- ``exposures_s``: sector dummies and standardized styles of every (date, ticker), once per
  panel (the sectors are synthetic labels, 11 of them);
- ``factor_returns_s``: the per-date WLS history of factor and specific returns, once per
  panel;
- ``as_of_model_s``: the characteristics model as of the last date given those two (B, F,
  D from the 252-session window): what each further as-of date costs;
- ``from_prices_s``: the three together, one as-of model from prices;
- ``time_series_model_s`` (six ETF-like factor series: the universe's equal-weight return
  and five random long-short portfolios of its names) and ``statistical_model_s`` (5
  principal components), each as of the last date from returns;
- ``attribution_s``: daily and Carino-linked attribution of 1,260 sessions of daily weights
  (the backtest benchmark's kind), given exposures and factor returns.

``attribution_gap`` and ``euler_gap`` are the largest distances between the parts and
their totals (0 up to rounding).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from engine.data.synthetic import make_panel
from engine.features.panel import to_wide
from engine.risk import (
    compute_attribution,
    compute_characteristic_model,
    compute_exposures,
    compute_factor_returns,
    compute_risk_decomposition,
    compute_statistical_model,
    compute_time_series_model,
)


def _median_time(run, repeats: int) -> tuple[float, object]:
    result = run()  # warm-up
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - started)
    return float(np.median(timings)), result


def run_risk_bench(n_tickers: int = 155, n_days: int = 1260, *, repeats: int = 5) -> dict:
    """Seconds for one as-of risk model (and its parts) and a five-year attribution."""
    panel = to_wide(make_panel(n_tickers, n_days, seed=11, market_vol=0.01).prices)
    grid = {"index": panel.dates, "columns": list(panel.tickers)}
    close, volume = pd.DataFrame(panel.close, **grid), pd.DataFrame(panel.volume, **grid)
    returns = close / close.shift() - 1
    sectors = {t: f"sector{i % 11}" for i, t in enumerate(close.columns)}
    as_of = close.index[-1]

    exposures_s, exposures = _median_time(
        lambda: compute_exposures(close, volume, sectors=sectors), repeats
    )
    history_s, history = _median_time(lambda: compute_factor_returns(exposures, returns), repeats)
    model_s, model = _median_time(
        lambda: compute_characteristic_model(exposures, history, as_of), repeats
    )

    rng = np.random.default_rng(3)
    tilts = rng.normal(0.0, 1.0, (n_tickers, 5)) / n_tickers
    factors = pd.DataFrame(
        np.column_stack([returns.mean(axis=1), returns.fillna(0.0).to_numpy() @ tilts]),
        index=close.index,
        columns=["market", "etf1", "etf2", "etf3", "etf4", "etf5"],
    )
    series_s, _ = _median_time(lambda: compute_time_series_model(returns, factors, as_of), repeats)
    pca_s, _ = _median_time(lambda: compute_statistical_model(returns, as_of, 5), repeats)

    weights = rng.uniform(0, 1, close.shape) * (rng.uniform(size=close.shape) < 0.3)
    weights = pd.DataFrame(weights / weights.sum(axis=1, keepdims=True) * 0.9, **grid)
    attribution_s, attribution = _median_time(
        lambda: compute_attribution(weights, returns, exposures, history.returns), repeats
    )
    daily, cumulative = attribution.daily, attribution.cumulative
    gaps = [
        (frame.drop(columns="total").sum(axis=1) - frame["total"]).abs().max()
        for frame in (daily, cumulative)
    ]
    decomposition = compute_risk_decomposition(weights.iloc[-1], model)
    euler = decomposition.factor_contributions.sum() + decomposition.specific_contribution
    return {
        "tickers": n_tickers,
        "days": n_days,
        "factors": len(model.factors),
        "window": model.sessions,
        "exposures_s": round(exposures_s, 4),
        "factor_returns_s": round(history_s, 4),
        "as_of_model_s": round(model_s, 4),
        "from_prices_s": round(exposures_s + history_s + model_s, 4),
        "time_series_model_s": round(series_s, 4),
        "statistical_model_s": round(pca_s, 4),
        "attribution_s": round(attribution_s, 4),
        "attribution_sessions": len(daily),
        "attribution_gap": float(max(gaps)),
        "euler_gap": float(
            max(
                abs(euler - decomposition.volatility),
                abs(decomposition.name_contributions.sum() - decomposition.volatility),
            )
        ),
        "annual_volatility": round(decomposition.annual_volatility, 4),
    }

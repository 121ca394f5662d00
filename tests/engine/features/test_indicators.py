"""Indicators against the ``ta`` library and against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import ta

from engine.data.sample import load_sample_prices
from engine.features import compute_technical, interpret_smi
from engine.features.flow import flow_arrays
from engine.features.microstructure import corwin_schultz, roll_spread
from engine.features.panel import rolling_slope_of_sum, to_wide
from engine.features.patterns import patterns_arrays
from tests.builders import bars


@pytest.fixture(scope="module", params=["random walk", "WIKI-IBM"])
def series(request) -> pd.DataFrame:
    """400 sessions of OHLCV as ticker "T": a fixed random walk, or the offline sample's
    real IBM bars with volume (2011-09 .. 2013-03)."""
    if request.param != "random walk":
        real = load_sample_prices().query("ticker == @request.param").tail(400)
        return real.assign(ticker="T").reset_index(drop=True)
    rng = np.random.default_rng(42)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, 400)))
    open_ = close * np.exp(rng.normal(0, 0.004, 400))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, 400))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, 400))
    volume = rng.integers(1e5, 1e6, 400).astype(float)
    return bars(list(zip(open_, high, low, close, volume, strict=True)))


@pytest.fixture(scope="module")
def ours(series) -> pd.DataFrame:
    return compute_technical(series).loc["T"]


def _tail(values, n: int = 150) -> np.ndarray:
    return np.asarray(values, dtype=float)[-n:]


def test_rsi_macd_bollinger_stochastic_match_ta(series, ours) -> None:
    close, high, low = series["close"], series["high"], series["low"]
    # ta seeds RSI with a zero first change, we with the first real one: gone after 250 days.
    np.testing.assert_allclose(_tail(ours["rsi_14"]), _tail(ta.momentum.rsi(close, 14)), rtol=1e-7)
    macd = ta.trend.MACD(close, 26, 12, 9).macd_diff() / close
    np.testing.assert_allclose(_tail(ours["macd_hist_pct"]), _tail(macd), rtol=1e-9)
    bands = ta.volatility.BollingerBands(close, 20, 2)
    np.testing.assert_allclose(
        _tail(ours["bb_width_20"]), _tail(bands.bollinger_wband() / 100), rtol=1e-9
    )
    np.testing.assert_allclose(_tail(ours["bb_pctb_20"]), _tail(bands.bollinger_pband()), rtol=1e-9)
    stoch = ta.momentum.StochasticOscillator(high, low, close, 14, 3)
    np.testing.assert_allclose(_tail(ours["stoch_k_14"]), _tail(stoch.stoch()), rtol=1e-9)
    np.testing.assert_allclose(_tail(ours["stoch_d_3"]), _tail(stoch.stoch_signal()), rtol=1e-9)


def test_atr_and_adx_converge_to_ta(series, ours) -> None:
    """ta seeds Wilder's smoothing with a plain mean; after 250 sessions the seed is gone."""
    close, high, low = series["close"], series["high"], series["low"]
    atr = ta.volatility.AverageTrueRange(high, low, close, 14).average_true_range() / close
    np.testing.assert_allclose(_tail(ours["atr_pct_14"]), _tail(atr), rtol=1e-6)
    adx = ta.trend.ADXIndicator(high, low, close, 14).adx()
    np.testing.assert_allclose(_tail(ours["adx_14"]), _tail(adx), rtol=1e-4)


def test_chaikin_money_flow_matches_ta(series) -> None:
    panel = to_wide(series)
    cmf = flow_arrays(panel)["cmf_20"][:, 0]
    peer = ta.volume.ChaikinMoneyFlowIndicator(
        series["high"], series["low"], series["close"], series["volume"], 20
    ).chaikin_money_flow()
    np.testing.assert_allclose(_tail(cmf), _tail(peer), rtol=1e-9)


def test_returns_distance_and_volatility_by_hand(series, ours) -> None:
    close = series["close"].to_numpy()
    assert ours["ret_5d"].iloc[-1] == pytest.approx(close[-1] / close[-6] - 1)
    assert ours["dist_52w_high"].iloc[-1] == pytest.approx(close[-1] / close[-252:].max() - 1)
    log_ret = np.diff(np.log(close))[-20:]
    assert ours["realized_vol_20"].iloc[-1] == pytest.approx(np.std(log_ret, ddof=1) * np.sqrt(252))
    volume = series["volume"].to_numpy()[-20:]
    expected_z = (volume[-1] - volume.mean()) / volume.std(ddof=1)
    assert ours["volume_z_20"].iloc[-1] == pytest.approx(expected_z)
    assert ours["ema_stack"].dropna().isin([-4, -2, 0, 2, 4]).all()


def test_corwin_schultz_by_hand() -> None:
    high = np.array([[10.2], [10.3]])
    low = np.array([[10.0], [10.05]])
    beta = np.log(10.2 / 10.0) ** 2 + np.log(10.3 / 10.05) ** 2
    gamma = np.log(10.3 / 10.0) ** 2
    k = 3 - 2 * np.sqrt(2)
    alpha = (np.sqrt(2 * beta) - np.sqrt(beta)) / k - np.sqrt(gamma / k)
    expected = max(0.0, 2 * (np.exp(alpha) - 1) / (1 + np.exp(alpha)))
    result = corwin_schultz(high, low)
    assert np.isnan(result[0, 0])
    assert result[1, 0] == pytest.approx(expected)


def test_roll_spread_by_hand() -> None:
    returns = np.array([0.01, -0.01, 0.01, -0.01, 0.01])[:, None]  # bid-ask bounce
    lagged, current = returns[:-1, 0], returns[1:, 0]
    cov = np.mean(current[-3:] * lagged[-3:]) - current[-3:].mean() * lagged[-3:].mean()
    assert roll_spread(returns, 3)[-1, 0] == pytest.approx(2 * np.sqrt(-cov))
    trending = np.array([0.01, 0.011, 0.012, 0.013, 0.014])[:, None]
    assert roll_spread(trending, 3)[-1, 0] == 0.0  # positive autocovariance: no estimate above 0


def test_slope_of_running_sum_matches_least_squares() -> None:
    rng = np.random.default_rng(0)
    increments = rng.normal(size=(30, 2))
    slope = rolling_slope_of_sum(increments, 10)
    running = np.cumsum(increments, axis=0)
    for col in range(2):
        fit = np.polyfit(np.arange(10), running[-10:, col], 1)[0]
        assert slope[-1, col] == pytest.approx(fit)
    assert np.isnan(slope[:8]).all() and np.isfinite(slope[8]).all()  # needs 9 increments


def test_institutional_flow_index_by_hand() -> None:
    """Quiet days, then two large-volume days: one up, one down."""
    rows = [(10, 10.1, 9.9, 10.0 + 0.01 * (i % 2), 1000.0) for i in range(150)]
    rows += [(10, 10.6, 9.9, 10.5, 9000.0), (10.5, 10.6, 9.8, 9.9, 5000.0)]
    panel = to_wide(bars(rows))
    ifi = flow_arrays(panel)["ifi_20"][:, 0]
    volume = np.array([r[4] for r in rows])
    assert ifi[-1] == pytest.approx((9000 - 5000) / volume[-20:].sum())
    assert ifi[-3] == pytest.approx(0.0)


def test_candlestick_patterns_on_constructed_bars() -> None:
    falling = [(20 - i, 20.2 - i, 19.8 - i, 19.9 - i, 1e5) for i in range(8)]
    hammer = (11.7, 12.05, 11.0, 12.0, 1e5)
    doji = (12.0, 12.5, 11.5, 12.02, 1e5)
    bear_day = (12.1, 12.15, 11.9, 12.05, 1e5)
    bull_engulf = (11.9, 12.6, 11.85, 12.5, 1e5)
    panel = to_wide(bars(falling + [hammer, doji, bear_day, bull_engulf]))
    out = {k: v[:, 0] for k, v in patterns_arrays(panel).items()}
    assert out["hammer"][8] == 1.0 and out["doji"][8] == 0.0
    assert out["doji"][9] == 1.0
    assert out["engulfing"][11] == 1.0 and out["engulfing"][10] == 0.0
    assert np.isnan(out["engulfing"][0])  # no previous bar yet


def test_morning_and_evening_star() -> None:
    lead_in = [(10, 10.2, 9.8, 10, 1e5)] * 6
    morning = [
        (12.0, 12.1, 10.9, 11.0, 1e5),
        (10.9, 11.0, 10.7, 10.85, 1e5),
        (10.9, 11.9, 10.85, 11.8, 1e5),
    ]
    evening = [
        (10.0, 11.1, 9.9, 11.0, 1e5),
        (11.1, 11.3, 11.0, 11.15, 1e5),
        (11.1, 11.15, 10.1, 10.2, 1e5),
    ]
    star = patterns_arrays(to_wide(bars(lead_in + morning + evening)))["star"][:, 0]
    assert star[8] == 1.0
    assert star[11] == -1.0
    assert np.nansum(np.abs(star)) == 2.0


def test_breakout_needs_volume_for_confirmation() -> None:
    rows = [(10, 10.1, 9.9, 10.0, 1000.0)] * 25 + [
        (10, 10.9, 10, 10.8, 3000.0),
        (10.8, 11.5, 10.7, 11.4, 1000.0),
    ]
    out = patterns_arrays(to_wide(bars(rows)))
    assert out["breakout_20"][-2, 0] == 1.0 and out["breakout_volume_20"][-2, 0] == 1.0
    assert out["breakout_20"][-1, 0] == 1.0 and out["breakout_volume_20"][-1, 0] == 0.0


def test_smi_interpretation() -> None:
    assert interpret_smi(72.0) == "accumulation"
    assert interpret_smi(50.0) == "neutral"
    assert interpret_smi(40.0) == "distribution"
    assert interpret_smi(float("nan")) == "unavailable"

"""Style descriptors against direct computations, the per-date standardization, and how
missing descriptors become flagged zero exposures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.risk import STYLES, compute_descriptors, compute_exposures, standardize


def test_each_descriptor_is_its_formula_on_rows_up_to_t(market) -> None:
    close, volume = market.close, market.volume
    raw = compute_descriptors(close, volume)
    assert list(raw) == list(STYLES)
    t, name = 400, close.columns[7]
    c, v = close[name].to_numpy(), volume[name].to_numpy()
    log_r = np.diff(np.log(close.to_numpy()), axis=0)  # row d - 1 is the return of date d
    expected = {
        "momentum": np.log(c[t - 21] / c[t - 252]),
        "reversal": np.log(c[t] / c[t - 21]),
        "volatility": np.std(log_r[t - 63 : t, 7], ddof=1),
        "size": np.log(np.mean(c[t - 59 : t + 1] * v[t - 59 : t + 1])),
        "liquidity": np.log(np.mean(v[t - 20 : t + 1])),
        "beta": np.polyfit(log_r[t - 252 : t].mean(axis=1), log_r[t - 252 : t, 7], 1)[0],
    }
    for style, value in expected.items():
        assert raw[style][t, 7] == pytest.approx(value, rel=1e-9), style
    assert np.isnan(raw["momentum"][251]).all() and np.isfinite(raw["momentum"][252]).all()


def test_beta_is_against_a_given_index(market) -> None:
    index = pd.Series(
        np.random.default_rng(0).normal(0, 0.01, len(market.close)), market.close.index
    )
    beta = compute_descriptors(market.close, market=index)["beta"]
    log_r = np.diff(np.log(market.close.to_numpy()), axis=0)
    t = 300
    slope = np.polyfit(index.to_numpy()[t - 251 : t + 1], log_r[t - 252 : t, 0], 1)[0]
    assert beta[t, 0] == pytest.approx(slope, rel=1e-9)


def test_standardize_winsorizes_a_robust_z_then_z_scores() -> None:
    rng = np.random.default_rng(1)
    values = rng.standard_normal((4, 50))
    values[0, 0] = 1e6  # an outlier: clipped at +3 robust sigmas before the z-score
    values[1, :10] = np.nan
    values[2, 3:] = np.nan  # 3 values: still standardized
    values[3, 2:] = np.nan  # 2 values: none
    z = standardize(values)
    finite = np.isfinite(z)
    assert (finite == np.isfinite(values))[:3].all() and not finite[3].any()
    for row in z[:3]:
        kept = row[np.isfinite(row)]
        assert kept.mean() == pytest.approx(0, abs=1e-12) and kept.std() == pytest.approx(1)
    assert z[0, 0] == z[0].max() < 5  # the outlier no longer dominates
    assert np.isnan(standardize(np.ones((1, 9)))).all()  # no dispersion: no exposure


def test_missing_descriptors_are_zero_exposures_with_a_flag(market) -> None:
    close = market.close.copy()
    close.iloc[300:320, 2] = np.nan  # a trading halt
    exposures = compute_exposures(close, market.volume, sectors=market.sectors)
    k = exposures.factors.index("volatility")
    assert exposures.missing[319, 2, k] and exposures.values[319, 2, k] == 0.0
    assert not exposures.missing[310, 2, k]  # 52 of the window's 63 returns: enough
    assert not exposures.missing[319, 3, k]
    assert exposures.missing[:, :, :5].sum() == 0  # sector dummies are never missing
    frame = exposures.at(close.index[310])
    assert frame.shape == (40, 5 + len(STYLES)) and frame.index.equals(close.columns)
    assert np.allclose(frame.iloc[:, :5].sum(axis=1), 1.0)  # the dummies span the intercept


def test_without_volume_size_and_liquidity_are_dropped_and_named(market) -> None:
    exposures = compute_exposures(market.close)
    assert exposures.dropped == ("size", "liquidity")
    assert exposures.factors == ("market", "momentum", "reversal", "volatility", "beta")
    assert (exposures.values[:, :, 0] == 1.0).all()


def test_unmapped_tickers_share_the_unknown_sector(market) -> None:
    sectors = dict(list(market.sectors.items())[:-2])
    exposures = compute_exposures(market.close, market.volume, sectors=sectors)
    assert exposures.unmapped == tuple(market.close.columns[-2:])
    assert (
        exposures.at(market.close.index[-1])
        .loc[list(exposures.unmapped), "sector:unknown"]
        .eq(1)
        .all()
    )


def test_liquidity_is_orthogonal_to_size_per_date(market) -> None:
    exposures = compute_exposures(market.close, market.volume)
    size = exposures.values[-1, :, exposures.factors.index("size")]
    liquidity = exposures.values[-1, :, exposures.factors.index("liquidity")]
    assert abs(np.corrcoef(size, liquidity)[0, 1]) < 1e-10

"""Risk-aware construction: the covariance a decision uses (sample, Ledoit-Wolf, the factor
risk model) from rows <= t only, skfolio's optimizers on it, Black-Litterman views from the
forecasts, the factor-neutral book, and the volatility target priced with a covariance."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.covariance import LedoitWolf

from engine.data.synthetic import make_panel
from engine.data.universe import SECTORS, sector_of
from engine.features.panel import to_wide
from engine.metrics import TRADING_DAYS
from engine.risk import compute_characteristic_model, compute_exposures, compute_factor_returns
from engine.trading.backtest import BacktestConfig, backtest_forecasts
from engine.trading.construction import (
    ConstructionParams,
    construct_row,
    constructed_weight_arrays,
)
from engine.trading.risk_construction import (
    RiskInputs,
    decision_covariance,
    forecast_views,
    trailing_returns,
    view_scale,
)
from engine.trading.sizing import BookCovariance, SizingParams, apply_caps, sizing_inputs

LOOSE = SizingParams(max_weight=1.0, target_vol=10.0, sector_limit_bull=1.0, sector_limit_bear=1.0)
NAMES = [t for t in SECTORS if not t.startswith("WIKI")][:16]  # six sectors
ROW = 380  # the decision row: every style (beta, momentum: a year of prices) is known
SCORES = np.random.default_rng(0).standard_normal(len(NAMES))
P = np.random.default_rng(1).uniform(0.4, 0.6, len(NAMES))


def named_panel(seed: int = 3):
    """A synthetic panel whose tickers are real names, so the sizing sectors apply."""
    prices = make_panel(len(NAMES), 420, seed=seed, market_vol=0.01).prices
    mapping = dict(zip(sorted(prices["ticker"].unique()), NAMES, strict=True))
    return to_wide(prices.assign(ticker=prices["ticker"].map(mapping)))


def risk_of(panel) -> RiskInputs:
    close = pd.DataFrame(panel.close, index=panel.dates, columns=list(panel.tickers))
    volume = pd.DataFrame(panel.volume, index=panel.dates, columns=list(panel.tickers))
    exposures = compute_exposures(close, volume, sectors={t: sector_of(t) for t in close})
    return RiskInputs(exposures, compute_factor_returns(exposures, close.pct_change()))


def poisoned(panel, after: int, seed: int = 5):
    rng = np.random.default_rng(seed)
    close, volume = panel.close.copy(), panel.volume.copy()
    close[after + 1 :] *= rng.uniform(0.2, 5.0, close[after + 1 :].shape)
    volume[after + 1 :] *= rng.uniform(0.1, 10.0, volume[after + 1 :].shape)
    return dataclasses.replace(panel, close=close, volume=volume)


@pytest.fixture(scope="module")
def panel():
    return named_panel()


@pytest.fixture(scope="module")
def risk(panel):
    return risk_of(panel)


def decide(panel, params, *, sizing=LOOSE, risk=None, scale=np.nan, p=P) -> pd.DataFrame:
    """``construct_row`` at ``ROW`` for a book holding nothing."""
    return construct_row(
        panel, ROW, SCORES, p, np.zeros(len(NAMES)), params=params, sizing=sizing,
        regime_id=0.0, inputs=sizing_inputs(panel), ratio=1.0, risk=risk, view_scale=scale,
    )  # fmt: skip


def skfolio_weights(model, returns: np.ndarray) -> np.ndarray:
    frame = pd.DataFrame(returns, columns=[f"c{j}" for j in range(returns.shape[1])])
    return np.asarray(model.fit(frame).weights_)


def test_params_round_trip_and_old_dicts_get_the_defaults() -> None:
    params = ConstructionParams(
        method="factor_neutral", covariance_source="factor", neutral_to="beta",
        neutral_tolerance=0.05,
    )  # fmt: skip
    assert ConstructionParams.from_dict(params.as_dict()) == params
    assert params.needs_risk_model and not ConstructionParams(method="hrp").needs_risk_model
    sector = ConstructionParams(method="factor_neutral", neutral_to="sector")
    assert not sector.needs_risk_model  # the sizing sectors
    old = {"method": "hrp", "k": 4, "max_replacements": 1, "quantile": 0.2, "lookback": 60}
    restored = ConstructionParams.from_dict(old)
    assert (restored.covariance_source, restored.neutral_to, restored.neutral_tolerance) == (
        "sample",
        "dollar",
        0.0,
    )
    for bad, message in [
        ({"covariance_source": "magic"}, "covariance_source must be one of"),
        ({"neutral_to": "gamma"}, "neutral_to must be one of"),
        ({"neutral_tolerance": -0.1}, "neutral_tolerance"),
    ]:
        with pytest.raises(ValueError, match=message):
            ConstructionParams(**bad)


def test_risk_inputs_give_the_characteristic_model_as_of_the_date(panel, risk) -> None:
    date = panel.dates[ROW]
    expected = compute_characteristic_model(risk.exposures, risk.factor_returns, date)
    cov = risk.covariance(date, ["JNJ", "AAPL", "NOPE"])
    pd.testing.assert_frame_equal(
        cov.loc[["JNJ", "AAPL"], ["JNJ", "AAPL"]],
        expected.covariance().loc[["JNJ", "AAPL"], ["JNJ", "AAPL"]],
    )
    assert cov.loc["NOPE"].isna().all() and cov["NOPE"].isna().all()
    assert risk.model(date) is risk.model(date + pd.Timedelta(hours=1))  # cached per date
    assert risk.exposures_at(date, ["AAPL"]).loc["AAPL", "sector:Information Technology"] == 1.0
    with pytest.raises(ValueError, match="no exposures on or before"):
        risk.model(panel.dates[0] - pd.Timedelta(days=1))


def test_the_covariance_at_t_ignores_prices_after_t(panel, risk) -> None:
    later = risk_of(poisoned(panel, ROW))
    date, tickers = panel.dates[ROW], list(panel.tickers)
    pd.testing.assert_frame_equal(risk.covariance(date, tickers), later.covariance(date, tickers))
    bad = poisoned(panel, ROW)
    for params in (
        ConstructionParams(method="mean_risk", covariance_source="factor"),
        ConstructionParams(method="factor_neutral", neutral_to="factors"),
    ):
        pd.testing.assert_frame_equal(
            decide(panel, params, risk=risk),
            decide(bad, params, risk=later),
        )


def test_ledoit_wolf_is_sklearns_on_the_trailing_window(panel) -> None:
    params = ConstructionParams(method="mean_risk", covariance_source="ledoit_wolf", lookback=60)
    names = np.zeros(len(NAMES), dtype=bool)
    names[[1, 4, 7, 9]] = True
    covariance, reason = decision_covariance(panel, ROW, names, params, None)
    close = panel.close[ROW - 60 : ROW + 1][:, names]
    returns = close[1:] / close[:-1] - 1.0
    np.testing.assert_allclose(
        covariance.subset(names).matrix, LedoitWolf().fit(returns).covariance_, rtol=1e-12
    )
    assert reason == "" and covariance.source == "Ledoit-Wolf"
    assert np.isnan(covariance.matrix[0]).all()  # outside the names: unknown


@pytest.mark.parametrize("method", ["mean_risk", "hrp"])
def test_ledoit_wolf_weights_equal_skfolios_own_estimator(panel, method) -> None:
    from skfolio.distance import CovarianceDistance  # noqa: PLC0415
    from skfolio.moments import LedoitWolf as SkfolioLedoitWolf  # noqa: PLC0415
    from skfolio.optimization import HierarchicalRiskParity, MeanRisk  # noqa: PLC0415
    from skfolio.prior import EmpiricalPrior  # noqa: PLC0415

    params = ConstructionParams(method=method, covariance_source="ledoit_wolf", k=5)
    row = decide(panel, params)
    held = np.flatnonzero(row["weight"].to_numpy() > 0)
    prior = EmpiricalPrior(covariance_estimator=SkfolioLedoitWolf())
    peer = (
        MeanRisk(prior_estimator=prior)
        if method == "mean_risk"
        else HierarchicalRiskParity(
            prior_estimator=prior,
            distance_estimator=CovarianceDistance(covariance_estimator=SkfolioLedoitWolf()),
        )
    )
    expected = skfolio_weights(peer, trailing_returns(panel, ROW, held, params.lookback))
    np.testing.assert_allclose(row["weight"].to_numpy()[held], expected, atol=1e-6)
    assert row["binding"].eq("").all()
    sample = decide(panel, dataclasses.replace(params, covariance_source="sample"))
    assert not np.allclose(row["weight"], sample["weight"], atol=1e-4)


def test_minimum_variance_on_the_risk_model_is_closed_form(panel, risk) -> None:
    params = ConstructionParams(method="mean_risk", covariance_source="factor", k=5)
    row = decide(panel, params, risk=risk)
    held = row.index[row["weight"] > 0]
    inverse = np.linalg.solve(risk.covariance(panel.dates[ROW], held).to_numpy(), np.ones(5))
    assert (inverse > 0).all()  # long-only does not bind: the unconstrained answer holds
    np.testing.assert_allclose(row.loc[held, "weight"], inverse / inverse.sum(), atol=1e-5)
    sample = decide(panel, dataclasses.replace(params, covariance_source="sample"))
    assert not np.allclose(row["weight"], sample["weight"], atol=1e-3)


@pytest.mark.parametrize("method", ["hrp", "mean_risk", "black_litterman"])
def test_factor_without_a_risk_model_is_the_sample_and_says_so(panel, method):
    factor = decide(panel, ConstructionParams(method=method, covariance_source="factor"))
    sample = decide(panel, ConstructionParams(method=method))
    pd.testing.assert_series_equal(factor["weight"], sample["weight"])
    held = factor["weight"] > 0
    assert factor.loc[held, "binding"].str.contains(r"sample covariance \(no risk model\)").all()


def test_black_litterman_tilts_toward_the_higher_forecasts(panel) -> None:
    params = ConstructionParams(method="black_litterman", k=5)
    flat = np.full(len(NAMES), 0.5)
    prior_only = decide(panel, params, scale=0.004, p=flat)
    chosen = np.flatnonzero(prior_only["weight"].to_numpy() > 0)
    assert len(chosen) == 5
    np.testing.assert_allclose(prior_only["weight"].to_numpy()[chosen], 0.2, atol=1e-3)
    favoured = flat.copy()
    favoured[chosen[2]] = 0.65
    tilted = decide(panel, params, scale=0.004, p=favoured)["weight"].to_numpy()
    assert tilted[chosen[2]] == tilted.max() > 0.3
    graded = flat.copy()
    graded[chosen] = [0.56, 0.52, 0.6, 0.5, 0.54]
    weights = decide(panel, params, scale=0.004, p=graded)["weight"].to_numpy()
    assert np.corrcoef(graded[chosen], weights[chosen])[0, 1] > 0.8
    no_scale = decide(panel, params, p=graded)  # NaN view scale: no views
    pd.testing.assert_series_equal(no_scale["weight"], prior_only["weight"])


def test_black_litterman_without_views_is_the_prior_only_optimization(panel):
    from skfolio.moments import EmpiricalCovariance, EquilibriumMu  # noqa: PLC0415
    from skfolio.optimization import MeanRisk, ObjectiveFunction  # noqa: PLC0415
    from skfolio.prior import EmpiricalPrior  # noqa: PLC0415

    params = ConstructionParams(method="black_litterman", k=5)
    row = decide(panel, params, scale=0.004, p=np.full(len(NAMES), 0.5))
    held = np.flatnonzero(row["weight"].to_numpy() > 0)
    prior = EmpiricalPrior(
        mu_estimator=EquilibriumMu(covariance_estimator=EmpiricalCovariance()),
        covariance_estimator=EmpiricalCovariance(),
    )
    peer = MeanRisk(objective_function=ObjectiveFunction.MAXIMIZE_RATIO, prior_estimator=prior)
    expected = skfolio_weights(peer, trailing_returns(panel, ROW, held, params.lookback))
    np.testing.assert_allclose(row["weight"].to_numpy()[held], expected, atol=1e-6)


def test_views_come_from_the_calibrated_forecasts() -> None:
    excess, confidence = forecast_views(np.array([0.6, 0.5, 0.45, np.nan]), 0.01)
    np.testing.assert_allclose(excess, [0.002, np.nan, -0.001, np.nan])
    np.testing.assert_allclose(confidence, [0.2, np.nan, 0.1, np.nan])
    assert np.isnan(forecast_views(np.array([0.6]), np.nan)[0]).all()
    assert view_scale((0.03, -0.02), 5) == pytest.approx(0.005)


@pytest.mark.parametrize(
    ("neutral_to", "tolerance", "sizing"),
    [
        ("beta", 0.0, LOOSE),
        ("sector", 0.0, LOOSE),
        ("factors", 0.0, LOOSE),
        ("factors", 0.05, LOOSE),
        ("beta", 0.02, SizingParams(max_weight=0.1, gross_limit=0.8)),
        ("factors", 0.0, SizingParams(max_weight=0.1)),
    ],
)
def test_factor_neutral_books_are_neutral_within_the_tolerance(
    panel, risk, neutral_to, tolerance, sizing
) -> None:
    params = ConstructionParams(
        method="factor_neutral", neutral_to=neutral_to, neutral_tolerance=tolerance, quantile=0.25
    )
    row = decide(panel, params, sizing=sizing, risk=risk)
    w = row["weight"].to_numpy()
    exposures = risk.exposures_at(panel.dates[ROW], panel.tickers)
    if neutral_to == "beta":
        exposures = exposures[["beta"]]
    elif neutral_to == "sector":
        exposures = pd.get_dummies(pd.Series([sector_of(t) for t in panel.tickers])).astype(float)
    assert np.abs(exposures.to_numpy().T @ w).max() <= tolerance + 1e-9
    assert abs(w.sum()) <= 1e-9  # dollar-neutral
    assert np.abs(w).max() <= sizing.max_weight + 1e-12
    assert np.abs(w).sum() <= sizing.gross_limit + 1e-9
    if sizing is LOOSE:
        assert np.abs(w).sum() == pytest.approx(sizing.gross_limit)
    held = w != 0
    assert row.loc[held, "binding"].str.contains(f"neutral to {neutral_to}").all()


def test_exact_neutrality_is_the_least_squares_projection(panel, risk) -> None:
    params = ConstructionParams(method="factor_neutral", neutral_to="beta", quantile=0.25)
    raw = decide(panel, dataclasses.replace(params, method="long_short"))
    w0 = raw["weight"].to_numpy()
    A = np.column_stack(
        [np.ones(len(w0)), risk.exposures_at(panel.dates[ROW], panel.tickers)["beta"]]
    )
    projected = w0 - A @ np.linalg.pinv(A) @ w0
    expected = projected / np.abs(projected).sum()  # back to the gross limit
    ours = decide(panel, params, risk=risk)["weight"].to_numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-12)


def test_factor_neutral_falls_back_to_dollar_neutral_and_says_so(panel) -> None:
    long_short = decide(panel, ConstructionParams(method="long_short"))
    for neutral_to in ("dollar", "beta", "factors"):
        params = ConstructionParams(method="factor_neutral", neutral_to=neutral_to)
        row = decide(panel, params)  # no risk model
        pd.testing.assert_series_equal(row["weight"], long_short["weight"])
        held = row["weight"] != 0
        if neutral_to != "dollar":
            assert row.loc[held, "binding"].str.contains(r"dollar neutral only \(no risk").all()
    sector = decide(panel, ConstructionParams(method="factor_neutral", neutral_to="sector"))
    assert sector["binding"][sector["weight"] != 0].str.contains("neutral to sector").all()


def test_the_volatility_target_prices_the_book_with_the_covariance() -> None:
    rng = np.random.default_rng(2)
    loadings = rng.standard_normal((4, 2)) * 0.01
    sigma = loadings @ loadings.T + np.diag(rng.uniform(1e-4, 4e-4, 4))
    book = pd.DataFrame(
        {"regime_id": 0.0, "sector": ["A", "B", "C", "D"], "volatility": 0.3},
        index=list("WXYZ"),
    )
    sizing = SizingParams(max_weight=1.0, sector_limit_bull=1.0, target_vol=0.1)
    side = np.array([1.0, 1.0, -1.0, 1.0])
    weight, binding = apply_caps(
        np.full(4, 0.25), book, sizing, side=side, covariance=BookCovariance(sigma, "risk model")
    )
    signed = weight * side
    assert signed @ sigma @ signed * TRADING_DAYS == pytest.approx(0.1**2, rel=1e-12)
    assert binding[0] == ["volatility target 10% (risk model)"]
    assumed, binding = apply_caps(np.full(4, 0.25), book, sizing)
    assert binding[0] == ["volatility target 10% (assumed correlation 0.3)"]
    partial = sigma.copy()
    partial[3, :] = partial[:, 3] = np.nan  # a held name the covariance does not cover
    again, binding = apply_caps(
        np.full(4, 0.25), book, sizing, side=side, covariance=BookCovariance(partial, "risk model")
    )
    np.testing.assert_allclose(again, assumed)
    assert "assumed correlation" in binding[0][0]
    hedge = np.array([[1.0, 0.999], [0.999, 1.0]]) * 4e-4  # long one, short its twin
    pair = book.iloc[:2]
    hedged, binding = apply_caps(
        np.full(2, 0.5), pair, sizing, side=np.array([1.0, -1.0]),
        covariance=BookCovariance(hedge, "risk model"),
    )  # fmt: skip
    np.testing.assert_allclose(hedged, 0.5)  # 0.6% volatility: nothing binds
    assert binding == [[], []]


def test_kelly_and_the_backtest_take_the_risk_model(panel, risk) -> None:
    kelly = ConstructionParams(method="kelly", rebalance=1, covariance_source="factor")
    p = np.full(len(NAMES), 0.7)
    row = decide(panel, kelly, sizing=SizingParams(target_vol=0.02), risk=risk, p=p)
    assert row["binding"].str.contains(r"volatility target 2% \(risk model\)").all()
    index = pd.MultiIndex.from_product(
        [list(panel.tickers), panel.dates[300:]], names=["ticker", "date"]
    )
    rng = np.random.default_rng(4)
    predictions = pd.DataFrame(
        {"p": rng.uniform(0.4, 0.6, len(index)), "score": rng.standard_normal(len(index)),
         "regime_id": 0.0},
        index=index,
    )  # fmt: skip
    params = ConstructionParams(
        method="factor_neutral", neutral_to="factors", covariance_source="factor", quantile=0.25
    )
    weights, *_ = constructed_weight_arrays(panel, predictions, 1.0, LOOSE, params, risk=risk)
    decided = np.flatnonzero(np.isfinite(weights).any(axis=1))
    dates = panel.dates[decided]
    exposures = np.stack([risk.exposures_at(d, panel.tickers).to_numpy() for d in dates])
    assert len(decided) > 10
    assert np.abs(np.einsum("dnk,dn->dk", exposures, weights[decided])).max() <= 1e-9
    result = backtest_forecasts(
        panel, predictions, 1.0, sizing=SizingParams(max_weight=0.25), config=BacktestConfig(),
        construction=ConstructionParams(method="black_litterman", covariance_source="factor"),
        risk=risk, view_scale=0.004,
    )  # fmt: skip
    assert len(result.trades) > 5 and np.isfinite(result.equity).all()

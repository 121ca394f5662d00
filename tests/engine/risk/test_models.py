"""The three risk models: covariance structure, point in time, and peers (numpy,
scikit-learn, pandas, skfolio) computing the same estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from skfolio.prior import EmpiricalPrior, LoadingMatrixRegression, TimeSeriesFactorModel
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LinearRegression

from engine.risk import (
    RiskModel,
    RiskModelParams,
    compute_characteristic_model,
    compute_exposures,
    compute_factor_returns,
    compute_statistical_model,
    compute_time_series_model,
    cross_sectional_wls,
)

AS_OF = 470  # row of the as-of date in the market fixture (520 sessions)
ETFS = ("MTUM", "QUAL", "SIZE", "USMV", "VLUE", "^GSPC")


def characteristic_model(prices, as_of, params=None) -> RiskModel:
    exposures = compute_exposures(prices.close, prices.volume, sectors=prices.sectors)
    history = compute_factor_returns(exposures, prices.close / prices.close.shift() - 1)
    return compute_characteristic_model(exposures, history, as_of, params)


def factor_series(index: pd.DatetimeIndex, seed: int = 5) -> pd.DataFrame:
    """Six factor return series (ETF-like) with an index among them."""
    values = np.random.default_rng(seed).normal(0.0, 0.01, (len(index), len(ETFS)))
    return pd.DataFrame(values, index=index, columns=list(ETFS))


def all_models(prices, as_of, params=None) -> dict[str, RiskModel]:
    factors = factor_series(prices.close.index)
    returns = prices.close / prices.close.shift() - 1
    return {
        "characteristics": characteristic_model(prices, as_of, params),
        "time_series": compute_time_series_model(returns, factors, as_of, params),
        "statistical": compute_statistical_model(returns, as_of, 4, params),
    }


@pytest.mark.parametrize("covariance", ["sample", "ewma", "ledoit_wolf"])
def test_covariance_is_b_f_bt_plus_d_symmetric_and_psd(market, covariance) -> None:
    params = RiskModelParams(window=200, covariance=covariance)
    for kind, model in all_models(market, market.close.index[AS_OF], params).items():
        assert model.kind == kind and model.as_of == market.close.index[AS_OF]
        B, F = model.exposures.to_numpy(), model.factor_cov.to_numpy()
        cov = model.covariance()
        assert cov.index.equals(model.tickers) and cov.columns.equals(model.tickers)
        expected = B @ F @ B.T + np.diag(model.specific_var.to_numpy())
        np.testing.assert_allclose(cov.to_numpy(), expected, rtol=1e-12, atol=1e-18)
        assert (cov.to_numpy() == cov.to_numpy().T).all() and (F == F.T).all()
        assert np.linalg.eigvalsh(F).min() >= -1e-15
        assert np.linalg.eigvalsh(cov.to_numpy()).min() > 0  # D > 0 makes it definite
        assert model.sessions == 200 and (model.specific_var >= 1e-6).all()


def poisoned(prices, row: int, how: str):
    """``prices`` with every close and volume after ``row`` multiplied by 10 or blanked."""
    close, volume = prices.close.copy(), prices.volume.copy()
    if how == "times_ten":
        close.iloc[row + 1 :] *= 10.0
        volume.iloc[row + 1 :] *= 10.0
    else:
        close.iloc[row + 1 :] = np.nan
        volume.iloc[row + 1 :] = np.nan
    return type(prices)(close, volume, close / close.shift() - 1, prices.sectors)


@pytest.mark.parametrize("how", ["times_ten", "nan"])
def test_a_model_as_of_t_ignores_every_price_after_t(market, how) -> None:
    t = market.close.index[AS_OF]
    params = RiskModelParams(window=150, covariance="ewma")
    clean, dirty = (
        all_models(market, t, params),
        all_models(poisoned(market, AS_OF, how), t, params),
    )
    for kind, model in clean.items():
        other = dirty[kind]
        for field in ("exposures", "factor_cov", "missing"):
            pd.testing.assert_frame_equal(
                getattr(model, field), getattr(other, field), check_exact=True
            )
        for field in ("specific_var", "observed"):
            pd.testing.assert_series_equal(
                getattr(model, field), getattr(other, field), check_exact=True
            )
        assert (model.sessions, model.excluded) == (other.sessions, other.excluded)
    truncated = market.close.iloc[: AS_OF + 1]
    short = type(market)(truncated, market.volume.iloc[: AS_OF + 1], None, market.sectors)
    pd.testing.assert_frame_equal(
        characteristic_model(short, t, params).covariance(),
        clean["characteristics"].covariance(),
        check_exact=True,
    )


def test_the_factor_covariance_estimators_match_their_peers(market) -> None:
    t = market.close.index[AS_OF]
    exposures = compute_exposures(market.close, market.volume, sectors=market.sectors)
    history = compute_factor_returns(exposures, market.returns)
    window = history.returns.iloc[AS_OF - 179 : AS_OF + 1]
    estimate = {
        c: compute_characteristic_model(
            exposures, history, t, RiskModelParams(window=180, covariance=c, half_life=30)
        ).factor_cov.to_numpy()
        for c in ("sample", "ewma", "ledoit_wolf")
    }
    np.testing.assert_allclose(estimate["sample"], np.cov(window.to_numpy().T), rtol=1e-10)
    np.testing.assert_allclose(
        estimate["ledoit_wolf"], LedoitWolf().fit(window.to_numpy()).covariance_, rtol=1e-10
    )
    ewm = window.ewm(halflife=30).cov(bias=False).loc[t].to_numpy()  # pandas' bias correction
    np.testing.assert_allclose(estimate["ewma"], ewm, rtol=1e-9)


def test_specific_variance_is_shrunk_toward_the_mean_and_floored(market) -> None:
    t = market.close.index[AS_OF]
    exposures = compute_exposures(market.close, market.volume, sectors=market.sectors)
    history = compute_factor_returns(exposures, market.returns)
    raw = history.residuals.iloc[AS_OF - 99 : AS_OF + 1].var(ddof=1).to_numpy()
    plain = RiskModelParams(window=100, specific_prior=0, specific_floor=0)
    model = compute_characteristic_model(exposures, history, t, plain)
    np.testing.assert_allclose(model.specific_var.to_numpy(), raw, rtol=1e-10)
    shrunk = compute_characteristic_model(exposures, history, t, RiskModelParams(window=100))
    expected = (100 * raw + 21 * raw.mean()) / 121
    np.testing.assert_allclose(shrunk.specific_var.to_numpy(), expected, rtol=1e-10)
    floored = RiskModelParams(window=100, specific_floor=1.0)
    assert (compute_characteristic_model(exposures, history, t, floored).specific_var == 1).all()


def test_factor_returns_are_each_dates_wls_on_the_previous_exposures(market) -> None:
    exposures = compute_exposures(market.close, market.volume, sectors=market.sectors)
    weights = np.sqrt(market.volume * market.close)
    history = compute_factor_returns(exposures, market.returns, weights=weights)
    d = 400
    X = exposures.values[d - 1]
    y = market.returns.iloc[d].to_numpy()
    root = np.sqrt(weights.iloc[d - 1].to_numpy())
    coef = np.linalg.lstsq(X * root[:, None], y * root, rcond=None)[0]
    np.testing.assert_allclose(history.returns.iloc[d].to_numpy(), coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(history.residuals.iloc[d].to_numpy(), y - X @ coef, atol=1e-12)
    assert history.returns.iloc[0].isna().all() and history.names.iloc[d] == 40


def test_the_wls_solver_takes_the_minimum_norm_solution_on_collinear_dates() -> None:
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3, 30, 3))
    X[:, :, 2] = X[:, :, 0] + X[:, :, 1]  # collinear
    X[2, 5:, :] = np.nan  # 5 names only on the last date
    y = rng.standard_normal((3, 30))
    coef, residuals = cross_sectional_wls(X, y, min_names=6)
    for d in range(2):
        expected = np.linalg.lstsq(X[d], y[d], rcond=None)[0]  # numpy's minimum norm
        np.testing.assert_allclose(coef[d], expected, rtol=1e-8)
        np.testing.assert_allclose(residuals[d], y[d] - X[d] @ expected, atol=1e-12)
    assert np.isnan(coef[2]).all() and np.isnan(residuals[2]).all()


def test_the_time_series_model_equals_skfolios(market) -> None:
    t = market.close.index[AS_OF]
    factors = factor_series(market.close.index)
    returns = market.returns
    params = RiskModelParams(window=200, specific_prior=0, specific_floor=0)
    ours = compute_time_series_model(returns, factors, t, params)
    window = slice(AS_OF - 199, AS_OF + 1)
    peer = TimeSeriesFactorModel(
        loading_matrix_estimator=LoadingMatrixRegression(LinearRegression()),
        factor_prior_estimator=EmpiricalPrior(),
    ).fit(returns.iloc[window], factors=factors.iloc[window])
    model = peer.return_distribution_.factor_model
    np.testing.assert_allclose(ours.exposures.to_numpy(), model.loading_matrix, rtol=1e-10)
    np.testing.assert_allclose(ours.factor_cov.to_numpy(), model.factor_covariance, rtol=1e-10)
    np.testing.assert_allclose(
        ours.covariance().to_numpy(), peer.return_distribution_.covariance, rtol=1e-9
    )
    assert list(ours.factors) == list(ETFS) and ours.excluded == ()


def test_names_without_enough_history_are_excluded_and_gaps_counted(market) -> None:
    returns = market.returns.copy()
    returns.iloc[: AS_OF - 50, 0] = np.nan  # listed 50 sessions before t
    returns.iloc[AS_OF - 30 : AS_OF - 20, 1] = np.nan  # a 10-session gap
    t = market.close.index[AS_OF]
    params = RiskModelParams(window=200)
    for model in (
        compute_time_series_model(returns, factor_series(returns.index), t, params),
        compute_statistical_model(returns, t, 3, params),
    ):
        assert model.excluded == (returns.columns[0],) and len(model.tickers) == 39
        assert model.observed[returns.columns[1]] == 190 and model.observed.iloc[1:].eq(200).all()


def test_the_statistical_model_is_the_leading_eigenvectors_of_the_correlation(market) -> None:
    t = market.close.index[AS_OF]
    model = compute_statistical_model(market.returns, t, 4, RiskModelParams(window=250))
    window = market.returns.iloc[AS_OF - 249 : AS_OF + 1].to_numpy()
    values, vectors = np.linalg.eigh(np.corrcoef(window.T))
    leading = np.argsort(values)[::-1][:4]
    np.testing.assert_allclose(np.diag(model.factor_cov), values[leading], rtol=1e-9)
    off_diagonal = model.factor_cov.to_numpy() - np.diag(np.diag(model.factor_cov))
    assert np.abs(off_diagonal).max() < 1e-12  # component scores are uncorrelated
    scaled = model.exposures.to_numpy() / window.std(axis=0, ddof=1)[:, None]
    np.testing.assert_allclose(np.abs(scaled), np.abs(vectors[:, leading]), atol=1e-9)
    assert model.factors == ["pc1", "pc2", "pc3", "pc4"]


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="covariance must be one of"):
        RiskModelParams(covariance="shrunk")
    with pytest.raises(ValueError, match="window"):
        RiskModelParams(window=1)


def test_a_style_nobody_has_gets_no_variance_and_a_warm_up_shortens_the_window(market):
    blank = market.volume * np.nan  # close-only names: a volume panel without values
    exposures = compute_exposures(market.close, blank, sectors=market.sectors)
    history = compute_factor_returns(exposures, market.returns)
    assert history.returns["size"].isna().all() and history.returns["momentum"].notna().any()
    model = compute_characteristic_model(exposures, history, market.close.index[AS_OF])
    assert model.missing[["size", "liquidity"]].all().all()
    assert (model.factor_cov.loc["size"] == 0).all() and (model.factor_cov["liquidity"] == 0).all()
    assert model.factor_cov.loc["momentum", "momentum"] > 0
    # momentum and beta have returns from row 253 on: the window starts there
    assert model.sessions == AS_OF - 252

"""Risk figures checked by hand on tiny fixtures (conventions in engine.book.risk)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.book import risk

# 40 daily returns: three losses and 37 gains of 1%
RETURNS = np.array([0.01] * 18 + [-0.06] + [0.01] * 10 + [-0.08, -0.04] + [0.01] * 9)
Z95, Z99 = -1.6448536269514722, -2.3263478740408408  # norm.ppf(0.05), norm.ppf(0.01)


def test_historical_var_is_the_kth_worst_return() -> None:
    # n = 40: k = ceil(40 x 0.05) = 2 at 95%, ceil(40 x 0.01) = 1 at 99%
    assert risk.historical_var(RETURNS, 0.95) == pytest.approx(0.06)
    assert risk.historical_cvar(RETURNS, 0.95) == pytest.approx((0.08 + 0.06) / 2)
    assert risk.historical_var(RETURNS, 0.99) == pytest.approx(0.08)
    assert risk.historical_cvar(RETURNS, 0.99) == pytest.approx(0.08)
    ten = np.array([0.02, -0.05, 0.01, -0.01, 0.0, 0.03, -0.02, 0.04, 0.06, -0.03])
    assert risk.historical_var(ten, 0.95) == pytest.approx(0.05)  # k = ceil(0.5) = 1


def test_parametric_var_and_cvar_by_hand() -> None:
    mu = (37 * 0.01 - 0.06 - 0.08 - 0.04) / 40  # 0.00475
    squares = 37 * 0.01**2 + 0.06**2 + 0.08**2 + 0.04**2
    sigma = math.sqrt((squares - 40 * mu**2) / 39)
    assert risk.parametric_var(RETURNS, 0.95) == pytest.approx(-(mu + Z95 * sigma))
    assert risk.parametric_var(RETURNS, 0.99) == pytest.approx(-(mu + Z99 * sigma))
    phi = math.exp(-(Z99**2) / 2) / math.sqrt(2 * math.pi)
    assert risk.parametric_cvar(RETURNS, 0.99) == pytest.approx(-(mu - sigma * phi / 0.01))


def test_beta_drawdown_and_the_report() -> None:
    dates = pd.bdate_range("2022-01-03", periods=41)
    value = pd.Series(100 * np.cumprod(np.r_[1.0, 1 + RETURNS]), index=dates)
    # the index moves half as much: beta 2
    market = pd.Series(50 * np.cumprod(np.r_[1.0, 1 + RETURNS / 2]), index=dates)
    report = risk.compute_risk(value, market)
    assert report.returns == 40 and report.beta == pytest.approx(2.0)
    assert report.volatility == pytest.approx(np.std(RETURNS, ddof=1) * math.sqrt(252))
    # the worst fall: from the peak before -8% through -4% (0.92 x 0.96 - 1)
    assert report.max_drawdown == pytest.approx(0.92 * 0.96 - 1)
    row = report.table.set_index(["method", "level"]).loc[("historical", 0.95)]
    assert row["var"] == pytest.approx(0.06) and row["var_amount"] == pytest.approx(
        0.06 * value.iloc[-1]
    )
    assert risk.compute_risk(value.iloc[:20], market) is None  # 19 returns: too few

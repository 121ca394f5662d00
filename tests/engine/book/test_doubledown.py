"""The double-down check: a "yes" only when every check agrees; each "no" names itself
with its numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.book import BookError
from engine.book.doubledown import DoubleDownParams, check_double_down
from engine.modeling.evaluation import SkillVerdict
from engine.trading.sizing import SizingParams

SKILL = SkillVerdict(True, "Out of sample the ranking has shown skill: rank IC +0.03.")
NO_SKILL = SkillVerdict(False, "No skill shown: rank IC +0.00 [-0.01, +0.01].")
FORECAST = pd.Series({"percentile": 0.9, "p_up": 0.6})


def book(**changes) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "ticker": ["AAPL", "KO", "KDK"],
            "market_value": [1000.0, 2000.0, np.nan],
            "pnl": [-200.0, 100.0, np.nan],
            "pnl_pct": [-0.1667, 0.0526, np.nan],
            "volatility": [0.30, 0.20, np.nan],
            "status": ["valued", "valued", "no stored prices for KDK on or before 2022-12-28"],
        }
    )
    for column, values in changes.items():
        frame[column] = values
    return frame


def verdict(ticker="AAPL", amount=2000.0, cash=97_000.0, frame=None, **overrides):
    inputs = {
        "forecast": FORECAST,
        "forecast_note": "",
        "skill": SKILL,
        "event": "P(beats median)",
        "regime_id": 0.0,
    } | overrides
    return check_double_down(frame if frame is not None else book(), ticker, amount, cash, **inputs)


def no(result) -> dict[str, str]:
    return {c.name: c.text for c in result.checks if not c.ok}


def test_yes_when_every_check_agrees() -> None:
    result = verdict()
    assert result.allowed and no(result) == {}
    caps = result.checks[-1].text
    assert "AAPL weight 3.0% <= cap 5.0%" in caps and "left out, having no value: KDK" in caps
    assert result.text == "Adding 2,000 to AAPL: every check agrees."


def test_a_winning_or_unvalued_holding_is_not_doubled_down() -> None:
    assert "P&L +100.00 (+5.3%): not a losing holding" in no(verdict("KO"))["position"]
    assert "no stored prices for KDK" in no(verdict("KDK"))["position"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"forecast": pd.Series({"percentile": 0.5, "p_up": 0.6})}, "rank percentile 0.50 < 0.70"),
        (
            {"forecast": pd.Series({"percentile": 0.9, "p_up": 0.52})},
            "P(beats median) 0.520 < 0.550",
        ),
        ({"skill": NO_SKILL}, "No skill shown"),
        ({"forecast": None, "forecast_note": "no active model"}, "no forecast: no active model"),
    ],
)
def test_the_forecast_says_no(overrides, expected) -> None:
    result = verdict(**overrides)
    assert not result.allowed and set(no(result)) == {"forecast"}
    assert expected in no(result)["forecast"]
    assert result.text == "Not now: the forecast check says no."


@pytest.mark.parametrize(
    ("regime_id", "expected"),
    [(8.0, "high volatility"), (2.0, "weak breadth (a bear state)"), (np.nan, "unknown")],
)
def test_the_regime_says_no(regime_id, expected) -> None:
    result = verdict(regime_id=regime_id)
    assert set(no(result)) == {"regime"} and expected in no(result)["regime"]


def test_the_risk_caps_say_no_with_their_numbers() -> None:
    assert "AAPL weight 11.0% > cap 5.0%" in no(verdict(amount=10_000))["risk caps"]
    tight_sector = SizingParams(max_weight=1.0, sector_limit_bull=0.02)
    text = no(verdict(sizing=tight_sector))["risk caps"]
    assert "Information Technology sector weight 3.0% > cap 2.0%" in text
    volatile = book(volatility=[3.0, 2.0, np.nan])
    assert (
        "book volatility"
        in no(verdict(frame=volatile, sizing=SizingParams(max_weight=1.0, target_vol=0.05)))[
            "risk caps"
        ]
    )
    unknown = book(volatility=[0.3, np.nan, np.nan])
    assert "no volatility estimate for KO" in no(verdict(frame=unknown))["risk caps"]


def test_bad_input_is_refused() -> None:
    with pytest.raises(BookError, match="amount"):
        verdict(amount=-5)
    with pytest.raises(BookError, match="not a holding"):
        verdict("MSFT")
    assert DoubleDownParams().min_percentile == 0.7

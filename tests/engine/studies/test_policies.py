"""Retraining policies replayed over history: every policy forecasts the same sessions,
the static one is the baseline, and on noise no policy is shown better or worse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.features.panel import to_wide
from engine.modeling.evaluation import make_dataset
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.learners import LearnerParams
from engine.modeling.policies import RetrainPolicy
from engine.studies.policies import simulate_policies

LEARNER = LearnerParams(learner="linear")
MONTHLY = RetrainPolicy("monthly", window_months=12)
QUARTERLY = RetrainPolicy("quarterly", window_months=12)


def simulate(kind: str, policies=(MONTHLY, QUARTERLY), **options):
    panel = make_panel(20, 650, kind=kind, seed=7, **options)
    data = make_dataset(compute_features(panel.prices), compute_labels(panel.prices, LabelParams()))
    start = data.index.get_level_values("date").min() + pd.DateOffset(months=14)
    return simulate_policies(
        data, to_wide(panel.prices), list(policies), LEARNER, start=start, horizon=5,
        n_boot=100,
    )  # fmt: skip


@pytest.fixture(scope="module")
def null():
    return simulate("null", market_vol=0.01)


def test_every_policy_forecasts_the_same_sessions_and_static_is_the_baseline(null) -> None:
    table = null.table.set_index("policy")
    assert list(table.index) == [
        "never on a schedule; 18-month window",
        MONTHLY.describe(),
        QUARTERLY.describe(),
    ]
    assert table["retrains"].iloc[0] == 1
    assert table.loc[MONTHLY.describe(), "retrains"] > table.loc[QUARTERLY.describe(), "retrains"]
    assert table["sessions"].nunique() == 1
    assert null.daily.notna().all().all()
    assert table.loc[table.index[0], ["vs_static", "vs_static_low", "vs_static_high"]].eq(0).all()
    for name in ("rank_ic", "vs_static", "excess"):
        assert (table[f"{name}_low"] <= table[name] + 1e-12).all()
        assert (table[name] <= table[f"{name}_high"] + 1e-12).all()


def test_on_noise_no_policy_is_shown_better_or_worse(null) -> None:
    table = null.table.set_index("policy")
    later = table.iloc[1:]
    assert (later["verdict"] == "no difference from static shown").all()
    assert ((later["vs_static_low"] < 0) & (later["vs_static_high"] > 0)).all()
    assert ((table["rank_ic_low"] < 0) & (table["rank_ic_high"] > 0)).all()
    assert set(null.returns) == set(table.index)


def test_the_mean_rank_ic_is_the_daily_series_mean(null) -> None:
    table = null.table.set_index("policy")
    for name in table.index:
        assert table.loc[name, "rank_ic"] == pytest.approx(float(np.mean(null.daily[name])))
        difference = (null.daily[name] - null.daily[table.index[0]]).mean()
        assert table.loc[name, "vs_static"] == pytest.approx(float(difference))


def test_a_policy_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="each policy may be simulated once"):
        simulate_policies(
            pd.DataFrame(), None, [RetrainPolicy("static")], LEARNER,
            start=pd.Timestamp("2020-01-01"), horizon=5,
        )  # fmt: skip


def test_on_a_planted_signal_every_policy_finds_it() -> None:
    planted = simulate("planted", (QUARTERLY,), beta=0.2)
    table = planted.table.set_index("policy")
    assert (table["rank_ic_low"] > 0).all()

"""Transaction-cost analysis rules: exact figures on a hand-built fill, the cost model
re-estimated from fills the model itself generates (with noise), the slippage rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.calendar import sessions_between
from engine.data.synthetic import make_panel
from engine.display.tca import plot_tca
from engine.features.panel import WidePanel, to_wide
from engine.trading.execution import CostModel, cost_inputs, fill_costs
from engine.trading.tca import (
    FILL_INPUT_COLUMNS,
    MIN_CHECK_FILLS,
    MIN_REESTIMATE_FILLS,
    UNKNOWN_VOLUME,
    compute_fill_tca,
    reestimate_costs,
    size_buckets,
    slippage_reason,
    summarize_tca,
)

R, VOLUME, T = 0.02, 1_000_000.0, 30
COSTS = CostModel(commission_per_share=0.01, commission_min=1.0, half_spread_bps=5.0)


def zigzag_panel() -> WidePanel:
    """One ticker whose daily returns alternate +2% and -2% (20-day volatility
    0.02 x sqrt(20/19) exactly), a constant volume of 1M, each open 0.1% above the close
    before it."""
    close = 100.0 * np.cumprod([1.0] + [1 + R if t % 2 else 1 - R for t in range(1, T)])
    opens = np.r_[np.nan, close[:-1] * 1.001]
    column = lambda a: np.asarray(a, dtype=float).reshape(-1, 1)  # noqa: E731
    dates = sessions_between(pd.Timestamp("2022-01-03"), pd.Timestamp("2022-03-31"))[:T]
    return WidePanel(dates, ("ZIG",), column(opens), column(close * 1.01), column(close * 0.99),
                     column(close), column(np.full(T, VOLUME)), np.ones((T, 1), bool))  # fmt: skip


def fills_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(FILL_INPUT_COLUMNS))


def test_a_hand_built_fill_has_exact_realized_and_estimated_costs() -> None:
    panel = zigzag_panel()
    day, decided = panel.dates[25], panel.dates[24]
    close, arrival = panel.close[24, 0], panel.open[25, 0]  # arrival = close x 1.001
    fills = fills_frame(
        [
            ("b", day, decided, "ZIG", "rebalance", 10_000.0, arrival * 1.0008, 100.0),
            ("s", day, pd.NaT, "ZIG", "stop", -10_000.0, arrival * (1 - 0.0008), 100.0),
        ]
    )
    tca = compute_fill_tca(fills, panel, COSTS, cost_inputs(panel, COSTS)).set_index("fill_id")
    impact = 0.1 * R * np.sqrt(20 / 19) * np.sqrt(10_000 / VOLUME)  # coef x vol x sqrt(q/ADV)
    buy, sell = tca.loc["b"], tca.loc["s"]
    assert buy["decided"] == decided and sell["decided"] == decided  # an exit: the session before
    assert buy["decision_price"] == close and buy["arrival_price"] == arrival
    assert buy["delay_bps"] == pytest.approx(10.0, abs=1e-9)  # decision -> arrival
    assert sell["delay_bps"] == pytest.approx(-10.0, abs=1e-9)  # the price rose before a sell
    for row in (buy, sell):
        assert row["execution_bps"] == pytest.approx(8.0 * 1.001, abs=1e-9)
        assert row["commission_bps"] == pytest.approx(100.0 / (10_000 * close) * 1e4)
        assert row["shortfall_bps"] == pytest.approx(row["delay_bps"] + row["execution_bps"])
        assert row["estimated_execution_bps"] == pytest.approx((5e-4 + impact) * 1.001 * 1e4)
        assert row["estimated_commission_bps"] == pytest.approx(row["commission_bps"])
        assert row["participation"] == pytest.approx(0.01)
        assert row["impact_regressor"] == pytest.approx(R * np.sqrt(20 / 19) * 0.1)
        assert row["size_bucket"] == ">= 1% of ADV"
    assert (buy["side"], sell["side"]) == ("buy", "sell")
    summary = summarize_tca(tca.reset_index())
    assert list(summary["group"]) == ["all fills", "buy", ">= 1% of ADV"]  # the stop is left out
    assert summary["fills"].tolist() == [1, 1, 1] and summary["excess_low"].isna().all()


def test_a_fill_without_a_bar_stays_missing_and_buckets_by_volume() -> None:
    panel = zigzag_panel()
    fills = fills_frame([("x", pd.Timestamp("2023-01-03"), pd.NaT, "ZIG", "rebalance", 5.0,
                          10.0, 1.0)])  # fmt: skip
    tca = compute_fill_tca(fills, panel, COSTS, cost_inputs(panel, COSTS))
    assert (
        tca[["decision_price", "arrival_price", "estimated_execution_bps"]].isna().to_numpy().all()
    )
    buckets = size_buckets(np.array([0.0005, 0.005, 0.5, np.nan]))
    assert list(buckets) == ["< 0.1% of ADV", "0.1-1% of ADV", ">= 1% of ADV", UNKNOWN_VOLUME]


PANEL = to_wide(make_panel(4, 160, seed=3).prices)


def synthetic_fills(
    costs: CostModel, *, n: int, noise_bps: float, extra_bps: float = 0.0, seed: int = 7
) -> tuple[pd.DataFrame, WidePanel]:
    """``n`` rebalance fills on a synthetic panel priced by ``costs``' own fill (plus
    Gaussian noise and ``extra_bps`` of the arrival price): the fills and the panel."""
    panel = PANEL
    rng = np.random.default_rng(seed)
    rows = rng.integers(40, len(panel.dates), n)
    columns = rng.integers(0, 4, n)
    shares = rng.choice([-1.0, 1.0], n) * np.round(10 ** rng.uniform(2, 5.5, n))
    opens = np.where(np.isfinite(panel.open), panel.open, panel.close)
    arrival = opens[rows, columns]
    booked = fill_costs(cost_inputs(panel, costs), costs, np.column_stack([rows, columns,
                        shares, arrival]))  # fmt: skip
    side = np.sign(shares)
    slip = (booked[:, 1] + booked[:, 2]) / np.abs(shares)  # money per share
    noise = rng.normal(0.0, noise_bps, n) + extra_bps
    price = arrival + side * (slip + arrival * noise / 1e4)
    fills = fills_frame(
        list(
            zip(
                [f"f{k}" for k in range(n)],
                panel.dates[rows],
                panel.dates[rows - 1],
                np.asarray(panel.tickers)[columns],
                ["rebalance"] * n,
                shares,
                price,
                booked[:, 0],
                strict=True,
            )
        )  # fmt: skip
    )
    return fills, panel


def test_reestimation_recovers_known_parameters_within_its_interval() -> None:
    truth, in_force = CostModel(half_spread_bps=7.0, impact_coefficient=0.3), CostModel()
    inputs = cost_inputs(PANEL, in_force)
    fits = []
    for seed in range(20):  # 20 independent sets of fills, 2 bps of noise each
        fills, _ = synthetic_fills(truth, n=150, noise_bps=2.0, seed=seed)
        fits.append(reestimate_costs(compute_fill_tca(fills, PANEL, in_force, inputs), in_force))
    spreads = [f.half_spread_bps for f in fits]
    impacts = [f.impact_coefficient for f in fits]
    assert all(f.needed == 0 and f.fills == 150 for f in fits)
    # a 95% interval: it holds the truth in (nearly) every set, and it is narrow
    assert sum(i.contains(7.0) for i in spreads) >= 17
    assert sum(i.contains(0.3) for i in impacts) >= 17
    assert np.median([i.estimate for i in spreads]) == pytest.approx(7.0, abs=0.2)
    assert np.median([i.estimate for i in impacts]) == pytest.approx(0.3, abs=0.02)
    assert max(i.high - i.low for i in spreads) < 2.0 and max(i.high - i.low for i in impacts) < 0.2
    assert not any(i.contains(in_force.impact_coefficient) for i in impacts)  # not 0.1
    table = fits[0].table().set_index("parameter")
    assert table.loc["half_spread_bps", "in_force"] == 5.0  # shown beside, never applied
    assert table.loc["impact_coefficient", "estimate"] == impacts[0].estimate
    assert in_force == CostModel()
    fills, _ = synthetic_fills(truth, n=12, noise_bps=2.0)
    few = reestimate_costs(compute_fill_tca(fills, PANEL, in_force, inputs), in_force)
    assert few.half_spread_bps is None and few.needed == MIN_REESTIMATE_FILLS - 12
    assert f"{MIN_REESTIMATE_FILLS - 12} more needed" in few.message
    exact, _ = synthetic_fills(truth, n=40, noise_bps=0.0)  # no noise: the parameters exactly
    fit = reestimate_costs(compute_fill_tca(exact, PANEL, in_force, inputs), in_force)
    assert fit.half_spread_bps.estimate == pytest.approx(7.0, abs=1e-9)
    assert fit.impact_coefficient.estimate == pytest.approx(0.3, abs=1e-9)


def test_the_slippage_rule_trips_on_planted_cost_and_not_at_the_estimate() -> None:
    costs = CostModel()
    at_estimate, panel = synthetic_fills(costs, n=60, noise_bps=1.0)
    planted, _ = synthetic_fills(costs, n=60, noise_bps=1.0, extra_bps=12.0)
    inputs = cost_inputs(panel, costs)
    fair = compute_fill_tca(at_estimate, panel, costs, inputs)
    costly = compute_fill_tca(planted, panel, costs, inputs)
    assert slippage_reason(fair, 5.0) is None
    reason = slippage_reason(costly, 5.0)
    assert reason is not None and "wholly above the 5 bps tolerance" in reason
    realized, estimated = costly["execution_bps"].mean(), costly["estimated_execution_bps"].mean()
    assert f"execution cost {realized:.1f} bps against the cost model's {estimated:.1f}" in reason
    assert slippage_reason(costly, 20.0) is None  # the excess is within a wider tolerance
    assert slippage_reason(costly.head(MIN_CHECK_FILLS - 1), 5.0) is None  # too few fills
    with pytest.raises(ValueError, match="tolerance_bps"):
        slippage_reason(costly, -1.0)
    summary = summarize_tca(costly).set_index("group")
    assert summary.loc["all fills", "fills"] == 60
    assert summary.loc["all fills", "excess_low"] > 5.0
    assert summary.loc["buy", "fills"] + summary.loc["sell", "fills"] == 60


def test_the_figure_draws_each_fill_the_diagonal_and_the_group_means() -> None:
    costs = CostModel()
    fills, panel = synthetic_fills(costs, n=40, noise_bps=1.0, extra_bps=3.0)
    tca = compute_fill_tca(fills, panel, costs, cost_inputs(panel, costs))
    summary = summarize_tca(tca)
    figure = plot_tca(tca, summary)
    names = [trace.name for trace in figure.data]
    assert names == ["buy", "sell", "realized = estimate", "realized (95% interval)",
                     "model's estimate"]  # fmt: skip
    assert sum(len(trace.x) for trace in figure.data[:2]) == 40
    bars = figure.data[3]
    assert list(bars.x) == list(summary["group"])
    assert np.allclose(bars.error_y.arrayminus, summary["execution_bps"] - summary["execution_low"])

"""The factor tear sheet and the per-feature rank-IC table: by hand, on planted and noise
signals, with missing values, and against alphalens-reloaded on the same factor_data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from engine.display.factors import (
    plot_cumulative_long_short,
    plot_ic_histogram,
    plot_ic_series,
    plot_monthly_ic_heatmap,
    plot_quantile_returns,
    plot_turnover,
)
from engine.metrics import daily_ic
from engine.modeling.factors import compute_tear_sheet, quantize
from engine.modeling.feature_ic import MARKET_WIDE_NOTE, feature_ic_table

TICKERS = list("ABCDE")
DATES = pd.bdate_range("2021-03-01", periods=3)


def panel(n_tickers: int, n_dates: int, *, beta: float, seed: int) -> tuple[pd.Series, pd.Series]:
    """A factor and forward returns r = beta * factor + noise on a (ticker, date) index."""
    rng = np.random.default_rng(seed)
    tickers = [f"T{i:03d}" for i in range(n_tickers)]
    dates = pd.bdate_range("2020-01-02", periods=n_dates)
    index = pd.MultiIndex.from_product([tickers, dates], names=["ticker", "date"])
    factor = pd.Series(rng.normal(size=len(index)), index)
    returns = pd.Series(beta * factor.to_numpy() + rng.normal(0, 0.02, len(index)), index)
    return factor, returns


def tiny() -> tuple[pd.Series, pd.Series]:
    index = pd.MultiIndex.from_product([TICKERS, DATES], names=["ticker", "date"])
    factor = pd.DataFrame(
        {"A": [1, 5, 5], "B": [2, 4, 4], "C": [3, 3, 3], "D": [4, 2, 2], "E": [5, 1, 1]},
        index=DATES,
        dtype=float,
    )
    returns = pd.DataFrame(
        {
            "A": [0.01, 0.01, 0.05],
            "B": [0.02, 0.02, 0.04],
            "C": [0.03, 0.03, np.nan],  # not yet known on the last date
            "D": [0.04, 0.04, 0.02],
            "E": [0.05, 0.05, 0.01],
        },
        index=DATES,
    )
    return factor.unstack().reindex(index), returns.unstack().reindex(index)


def test_tear_sheet_by_hand() -> None:
    factor, returns = tiny()
    sheet = compute_tear_sheet(factor, returns, quantiles=5, top_k=1, horizon=1, n_boot=50)
    daily = sheet.daily
    assert list(daily["rank_ic"]) == pytest.approx([1.0, -1.0, 1.0])
    assert list(daily["ic"]) == pytest.approx([1.0, -1.0, 1.0])  # returns = factor / 100 on d3
    assert list(daily["names"]) == [5, 5, 4] and list(daily["missing"]) == [0, 0, 1]
    assert sheet.rank_ic.estimate == pytest.approx(1 / 3) and sheet.ic_days == 3
    # top quintile: E, then A, then A again; bottom: A, then E, then E
    assert list(daily["spread"]) == pytest.approx([0.04, -0.04, 0.04])
    assert daily["top_turnover"].iloc[1:].tolist() == [1.0, 0.0]
    assert np.isnan(daily["top_turnover"].iloc[0]) and sheet.turnover == 0.5
    assert sheet.quantile_returns.loc[1, "mean"] == pytest.approx((0.01 + 0.05 + 0.01) / 3)
    assert sheet.quantile_returns.loc[5, "mean"] == pytest.approx((0.05 + 0.01 + 0.05) / 3)
    assert sheet.quantile_returns.loc[3, "dates"] == 2  # C has no return on the last date
    # top 1 by factor: E (0.05 > median 0.03), A (0.01 < 0.03), A (0.05 > median 0.03)
    assert list(daily["top_k_hit"]) == [1.0, 0.0, 1.0]
    assert sheet.hit_rate.estimate == pytest.approx(2 / 3)
    assert sheet.cumulative.iloc[-1] == pytest.approx(1.04 * 0.96 * 1.04)
    assert sheet.differing_share == 1.0 and sheet.distinct_share == 1.0
    assert sheet.monthly_rank_ic.loc[2021, 3] == pytest.approx(1 / 3)
    assert sheet.factor_quantile.loc[("E", DATES[0])] == 5


def test_quantize_is_pandas_qcut_per_date_and_gives_up_on_repeated_edges() -> None:
    rng = np.random.default_rng(2)
    wide = np.round(rng.normal(size=(40, 23)), 1)
    wide[rng.uniform(size=wide.shape) < 0.1] = np.nan
    wide[3] = 1.0  # no dispersion: qcut raises on the repeated edges
    labels = quantize(wide, 5)
    for row, values in zip(wide, labels, strict=True):
        finite = np.isfinite(row)
        try:
            expected = pd.qcut(row[finite], 5, labels=False) + 1
        except ValueError:
            assert np.isnan(values).all()
            continue
        assert np.array_equal(values[finite], expected)
        assert np.isnan(values[~finite]).all()
    assert np.isnan(labels[3]).all()


def test_a_planted_factor_shows_skill_and_noise_does_not() -> None:
    planted = compute_tear_sheet(*panel(40, 150, beta=0.004, seed=3), n_boot=200)
    assert planted.rank_ic.low > 0 and planted.shows_skill and planted.rank_ic_t > 3
    assert planted.spread.low > 0 and planted.hit_rate.low > 0.5
    means = planted.quantile_returns["mean"]
    assert means.is_monotonic_increasing
    noise = compute_tear_sheet(*panel(40, 150, beta=0.0, seed=4), n_boot=200)
    assert noise.rank_ic.contains(0.0) and not noise.shows_skill
    assert noise.spread.contains(0.0)
    assert 0.6 < noise.turnover < 0.95  # a fresh random top quintile: ~80% new names


def test_missing_values_are_left_out_of_their_date_and_counted() -> None:
    factor, returns = panel(30, 60, beta=0.003, seed=5)
    factor.iloc[::7] = np.nan
    returns.iloc[::11] = np.nan
    last = returns.index.get_level_values("date") == returns.index.get_level_values("date").max()
    returns[last] = np.nan  # the newest labels have not ended yet
    sheet = compute_tear_sheet(factor, returns, n_boot=50)
    both = factor.notna() & returns.notna()
    per_date = both.groupby(level="date").sum()
    assert sheet.daily["names"].equals(per_date.rename("names"))
    assert (sheet.daily["rows"] == 30).all()
    assert (sheet.daily["missing"] == 30 - per_date).all()
    assert sheet.daily["rank_ic"].isna().sum() == 1 and sheet.scored_dates == 59
    reference = daily_ic(
        factor.index.get_level_values("date"), factor.to_numpy(), returns.to_numpy()
    )
    assert sheet.daily["rank_ic"].dropna().to_numpy() == pytest.approx(
        reference["rank_ic"].to_numpy()
    )
    assert len(sheet.factor_quantile) == int(both.sum())


def test_a_factor_equal_across_tickers_has_no_ic_and_no_distinct_values() -> None:
    factor, returns = panel(20, 40, beta=0.0, seed=6)
    dates = factor.index.get_level_values("date")
    same = pd.Series(dates.day_of_year.to_numpy(dtype=float), factor.index)  # one value a date
    sheet = compute_tear_sheet(same, returns, n_boot=20)
    assert sheet.differing_share == 0.0 and sheet.distinct_share == 0.0
    assert sheet.ic_days == 0 and np.isnan(sheet.rank_ic.estimate)
    assert sheet.daily["rank_ic"].isna().all() and sheet.dates_without_quantiles == 40
    assert not sheet.shows_skill


def test_feature_ic_table_ranks_columns_and_flags_market_wide_ones() -> None:
    factor, returns = panel(30, 120, beta=0.004, seed=7)
    rng = np.random.default_rng(8)
    dates = factor.index.get_level_values("date")
    features = pd.DataFrame(
        {
            "noise": rng.normal(size=len(factor)),
            "planted": factor.to_numpy(),
            "index_ret": pd.Series(rng.normal(size=120), pd.bdate_range("2020-01-02", periods=120))
            .reindex(dates)
            .to_numpy(),
            "flag": rng.integers(0, 2, len(factor)).astype(float),  # many ties
        },
        index=factor.index,
    )
    features.iloc[:300, 0] = np.nan  # a warm-up: the return is ranked without these names
    families = {"noise": "technical", "planted": "flow", "index_ret": "cross_asset"}
    table = feature_ic_table(features, returns, families=families, n_boot=100)
    assert table["feature"].tolist()[0] == "planted" and table["family"].iloc[0] == "flow"
    planted = table.iloc[0]
    assert planted["low"] > 0 and planted["t_stat"] > 3 and planted["dates"] == 120
    market = table.set_index("feature").loc["index_ret"]
    assert np.isnan(market["mean_rank_ic"]) and market["note"] == MARKET_WIDE_NOTE
    assert table["feature"].iloc[-1] == "index_ret"
    assert table.set_index("feature").loc["flag", "family"] == "other"
    for column in ("noise", "flag"):
        expected = daily_ic(dates, features[column].to_numpy(), returns.to_numpy())
        row = table.set_index("feature").loc[column]
        assert row["mean_rank_ic"] == pytest.approx(expected["rank_ic"].mean())
        assert row["dates"] == len(expected)


def test_tear_sheet_agrees_with_alphalens() -> None:
    """IC, rank IC, quantile mean returns and top-quantile turnover against
    alphalens-reloaded 0.5.1. Its factor_data frame is built directly (MultiIndex (date,
    asset), a '5D' column, 'factor' and 'factor_quantile' from its own quantize_factor):
    get_clean_factor_and_forward_returns wants prices, and the labels are given here."""
    perf = pytest.importorskip("alphalens.performance")
    quantize_factor = pytest.importorskip("alphalens.utils").quantize_factor

    factor, returns = panel(25, 80, beta=0.003, seed=9)
    factor.iloc[::17] = np.nan
    returns.iloc[::23] = np.nan
    sheet = compute_tear_sheet(factor, returns, quantiles=5, n_boot=20)

    data = pd.DataFrame({"5D": returns, "factor": factor}).dropna().swaplevel().sort_index()
    data.index = data.index.set_names(["date", "asset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data["factor_quantile"] = quantize_factor(data, quantiles=5)
        rank_ic = perf.factor_information_coefficient(data)["5D"]
        means, _ = perf.mean_return_by_quantile(data, demeaned=False)
        turnover = perf.quantile_turnover(data["factor_quantile"], 5)
    ours = sheet.factor_quantile.swaplevel().sort_index()
    assert (ours.to_numpy() == data["factor_quantile"].to_numpy()).all()
    assert sheet.daily["rank_ic"].to_numpy() == pytest.approx(rank_ic.to_numpy(), abs=1e-12)
    pearson = data.groupby(level="date").apply(lambda d: d["factor"].corr(d["5D"]))
    assert sheet.daily["ic"].to_numpy() == pytest.approx(pearson.to_numpy(), abs=1e-12)
    assert sheet.quantile_returns["mean"].to_numpy() == pytest.approx(
        means["5D"].to_numpy(), abs=1e-15
    )
    both = turnover.dropna().index
    assert len(both) == 79
    assert sheet.daily["top_turnover"].loc[both].to_numpy() == pytest.approx(
        turnover.loc[both].to_numpy()
    )


def test_every_plot_builds_a_figure_without_showing_it() -> None:
    sheet = compute_tear_sheet(*panel(20, 90, beta=0.003, seed=10), n_boot=20)
    figures = [
        plot_ic_series(sheet.daily["rank_ic"]),
        plot_monthly_ic_heatmap(sheet.monthly_rank_ic),
        plot_ic_histogram(sheet.daily["rank_ic"]),
        plot_quantile_returns(sheet.quantile_returns),
        plot_cumulative_long_short(sheet.cumulative),
        plot_turnover(sheet.daily["top_turnover"]),
    ]
    assert all(isinstance(f, go.Figure) and len(f.data) for f in figures)
    assert len(figures[3].data[0].x) == 5
    assert figures[1].data[0].z.shape == sheet.monthly_rank_ic.shape

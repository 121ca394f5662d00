"""Factor analysis of a cross-sectional ranking signal: an alphalens-style tear sheet.

The signal (a model's score, or one feature) is judged as alphalens judges a factor: per
date, how well it ranks the names by their forward return (IC and rank IC), what each
quantile of it earned, the spread between the top and bottom quantile, how often the top
quantile changes, and whether its top k beat the median name. Every score comes with an
interval that resamples whole dates (``engine.metrics.bootstrap_interval``): moving blocks
of ``horizon`` dates for per-date series (overlapping label windows make neighbouring
dates' values correlated), whole dates iid for row-level statistics.

What each date may look at: the factor at date t (known at t) and the forward return of
the label that starts at t (known only at its end date). Rows where either is missing are
left out of their date and counted in ``daily["missing"]``: never dropped silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.metrics import (
    N_BOOT,
    Interval,
    bootstrap_interval,
    cross_sectional_ic,
    ic_block,
    ic_summary,
)


@dataclass(frozen=True)
class FactorTearSheet:
    """The tear sheet of one factor (see ``compute_tear_sheet``).

    Attributes
    ----------
    daily : DataFrame of shape (D, 8), indexed by date
        Per date with a factor: ``rows`` (index rows), ``names`` (rows with both factor
        and forward return), ``missing`` (rows - names), ``ic``, ``rank_ic`` (NaN with
        fewer than 3 names or no dispersion), ``spread`` (top minus bottom quantile mean
        forward return), ``top_turnover`` and ``top_k_hit``.
    ic, rank_ic : Interval
        Mean daily Pearson IC and Spearman rank IC, moving-block intervals.
    icir, rank_icir : float
        Mean / standard deviation of the daily values.
    ic_t, rank_ic_t : float
        t-statistics, mean / (std / sqrt(days)).
    ic_days : int
        Dates with a rank IC.
    monthly_rank_ic : DataFrame of shape (years, 12)
        Mean rank IC per calendar month (rows year, columns month 1..12; NaN if none).
    quantile_returns : DataFrame of shape (quantiles, 4)
        Index quantile 1..q; ``mean`` (mean over dates of the quantile's per-date mean
        forward return, as alphalens' ``mean_return_by_quantile``), ``low``, ``high``,
        ``dates``.
    factor_quantile : Series of int, indexed (ticker, date)
        The quantile of every row that has one.
    spread : Interval
        Mean per-date top-minus-bottom spread (the raw difference, a 100% long / 100%
        short book; alphalens 0.5.1's ``compute_mean_returns_spread`` halves it).
    cumulative : Series of shape (dates with a spread,)
        Growth of 1 in the long-short book: ``cumprod(1 + spread_t / horizon)``. Each
        date's spread is earned over ``horizon`` dates, so a book that opens a 1/horizon
        slice every date and holds it ``horizon`` dates earns about spread / horizon per
        date (alphalens' rate-of-return conversion, linearized).
    turnover : float
        Mean share of the top quantile's names that were not in it on the previous date
        with quantiles (alphalens' ``quantile_turnover``, period 1).
    hit_rate : Interval
        Share of the top-k names whose forward return beat their date's median,
        resampling whole dates; only dates with 3 or more names whose factor varies.
    differing_share : float
        Share of dates (with at least 2 names) on which the factor takes >= 2 values.
    distinct_share : float
        Mean over those dates of the share of names whose value no other name shares.
    dates, scored_dates, dates_without_quantiles : int
        Dates with a factor; with an IC; with names but no quantiles (qcut found
        duplicate bin edges: many tied values, as alphalens' ``no_raise``).
    quantiles, top_k, horizon : int
        The options used.
    """

    daily: pd.DataFrame
    ic: Interval
    rank_ic: Interval
    icir: float
    rank_icir: float
    ic_t: float
    rank_ic_t: float
    ic_days: int
    monthly_rank_ic: pd.DataFrame
    quantile_returns: pd.DataFrame
    factor_quantile: pd.Series
    spread: Interval
    cumulative: pd.Series
    turnover: float
    hit_rate: Interval
    differing_share: float
    distinct_share: float
    dates: int
    scored_dates: int
    dates_without_quantiles: int
    quantiles: int
    top_k: int
    horizon: int

    @property
    def shows_skill(self) -> bool:
        """True only when the rank-IC interval lies above 0."""
        return self.rank_ic.above(0.0)


@dataclass(frozen=True)
class PanelLayout:
    """Where each row of a (ticker, date) index goes in a (D, N) date x ticker array."""

    dates: pd.Index
    tickers: pd.Index
    date_code: np.ndarray
    ticker_code: np.ndarray

    @classmethod
    def of(cls, index: pd.MultiIndex) -> PanelLayout:
        names = list(index.names)
        level = names.index("date") if "date" in names else 1
        other = names.index("ticker") if "ticker" in names else 1 - level
        date_code, dates = pd.factorize(index.get_level_values(level), sort=True)
        ticker_code, tickers = pd.factorize(index.get_level_values(other), sort=True)
        return cls(pd.Index(dates, name="date"), pd.Index(tickers), date_code, ticker_code)

    def wide(self, values: np.ndarray) -> np.ndarray:
        """(n,) row values -> (D, N), NaN where a (date, ticker) has no row."""
        out = np.full((len(self.dates), len(self.tickers)), np.nan)
        out[self.date_code, self.ticker_code] = np.asarray(values, dtype=float)
        return out


def quantize(wide: np.ndarray, quantiles: int) -> np.ndarray:
    """Per row (date), ``pd.qcut(x, quantiles, labels=False) + 1`` of the finite values,
    vectorized: alphalens' ``quantize_factor``.

    Parameters
    ----------
    wide : ndarray of shape (D, N)
    quantiles : int

    Returns
    -------
    ndarray of shape (D, N)
        Labels 1..quantiles as floats; NaN where the value is missing and on whole rows
        whose quantile edges (linear-interpolated, as pandas' quantile) repeat, where
        qcut raises (alphalens' ``no_raise`` gives NaN).
    """
    ordered = np.sort(wide, axis=1)  # NaN last
    n = np.isfinite(wide).sum(axis=1)
    position = np.linspace(0.0, 1.0, quantiles + 1)[None, :] * np.maximum(n - 1, 0)[:, None]
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, np.maximum(n - 1, 0)[:, None])
    frac = position - low
    rows = np.arange(len(wide))[:, None]
    below, above = ordered[rows, low], ordered[rows, high]
    edges = np.where(frac == 0, below, below + (above - below) * frac)
    usable = (n > 0) & (np.diff(edges, axis=1) > 0).all(axis=1)
    labels = 1.0 + (wide[:, :, None] > edges[:, None, 1:-1]).sum(axis=2)
    return np.where(np.isfinite(wide) & usable[:, None], labels, np.nan)


def _per_date_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(D,) mean of ``values`` over ``mask`` per row; NaN where the mask is empty."""
    count = mask.sum(axis=1)
    total = np.where(mask, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _series_interval(values: pd.Series, *, block: int, n_boot: int, seed: int) -> Interval:
    """Mean of a per-date series with a moving-block interval (NaN dates left out)."""
    clean = values.dropna().to_numpy()
    if len(clean) < 2:
        return Interval(float(np.mean(clean)) if len(clean) else np.nan, np.nan, np.nan)
    return bootstrap_interval(np.mean, clean, block=block, n_boot=n_boot, seed=seed)


def _t_stat(values: pd.Series) -> float:
    clean = values.dropna()
    spread = clean.std(ddof=1) if len(clean) > 1 else np.nan
    return float(clean.mean() / (spread / np.sqrt(len(clean)))) if spread > 0 else np.nan


def monthly_mean(daily: pd.Series) -> pd.DataFrame:
    """(years, 12) mean of a per-date series per calendar month, for a heatmap."""
    dates = pd.DatetimeIndex(pd.to_datetime(daily.index))
    table = daily.groupby([dates.year, dates.month]).mean().unstack()
    table = table.reindex(columns=range(1, 13))
    table.index.name, table.columns.name = "year", "month"
    return table


def distinct_shares(wide: np.ndarray) -> tuple[float, float]:
    """Share of rows (dates with >= 2 names) whose values differ, and the mean share of
    names per such row whose value no other name shares. ``wide`` is (D, N)."""
    n = np.isfinite(wide).sum(axis=1)
    ordered = np.sort(wide[n >= 2], axis=1)
    if not len(ordered):
        return np.nan, np.nan
    finite = np.isfinite(ordered)
    pad = np.full((len(ordered), 1), np.nan)
    before = np.hstack([pad, ordered[:, :-1]])
    after = np.hstack([ordered[:, 1:], pad])
    alone = finite & (ordered != before) & (ordered != after)
    differ = np.nanmax(ordered, axis=1) > np.nanmin(ordered, axis=1)
    return float(differ.mean()), float((alone.sum(axis=1) / n[n >= 2]).mean())


def compute_tear_sheet(
    factor: pd.Series,
    forward_returns: pd.Series,
    *,
    quantiles: int = 5,
    top_k: int = 5,
    horizon: int = 5,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> FactorTearSheet:
    """The tear sheet of ``factor`` against ``forward_returns``.

    Parameters
    ----------
    factor : Series of shape (n,), indexed by (ticker, date)
        The signal at each date (data <= date only); NaN where it has none.
    forward_returns : Series of shape (n,), same index
        The forward return over the label horizon starting at each date (known at the
        label's end date); NaN where not yet known. Aligned to ``factor``'s index.
    quantiles : int
        Equal-count bins per date (pd.qcut labels 1..quantiles).
    top_k : int
        Names per date in the hit rate.
    horizon : int
        Dates per label: sets the moving-block length of the intervals
        (``engine.metrics.ic_block``: at least a month) and is the divisor of
        the cumulative long-short book.
    n_boot, seed : int
        Bootstrap replicates and seed of every interval.

    Returns
    -------
    FactorTearSheet
    """
    returns = forward_returns.reindex(factor.index)
    layout = PanelLayout.of(factor.index)
    x = layout.wide(factor.to_numpy(dtype=float))
    r = layout.wide(returns.to_numpy(dtype=float))
    present = layout.wide(np.ones(len(factor)))  # 1 where a row exists
    valid = np.isfinite(x) & np.isfinite(r)
    x_valid = np.where(valid, x, np.nan)
    ic = cross_sectional_ic(x_valid[:, None, :], r)

    labels = quantize(x_valid, quantiles)
    quantile_means = np.column_stack(
        [_per_date_mean(r, labels == q) for q in range(1, quantiles + 1)]
    )
    spread = quantile_means[:, -1] - quantile_means[:, 0]
    has_quantiles = np.isfinite(labels).any(axis=1)
    top = labels == quantiles
    turnover = np.full(len(x), np.nan)
    rows = np.flatnonzero(has_quantiles)
    if len(rows) > 1:
        now, before = top[rows[1:]], top[rows[:-1]]
        turnover[rows[1:]] = (now & ~before).sum(axis=1) / now.sum(axis=1)

    names = valid.sum(axis=1)
    rank = np.argsort(np.where(valid, -x, np.inf), axis=1, kind="stable")
    chosen = np.zeros_like(valid)
    np.put_along_axis(chosen, rank[:, :top_k], True, axis=1)
    varies = np.where(valid, x, -np.inf).max(axis=1) > np.where(valid, x, np.inf).min(axis=1)
    chosen &= valid & ((names >= 3) & varies)[:, None]  # tied forecasts have no top k
    with warnings.catch_warnings():  # dates without names have no median
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(np.where(valid, r, np.nan), axis=1)
    beat = r > median[:, None]
    date_of, ticker_of = np.nonzero(chosen)

    daily = pd.DataFrame(
        {
            "rows": np.nansum(present, axis=1).astype(int),
            "names": names,
            "ic": ic["ic"][:, 0],
            "rank_ic": ic["rank_ic"][:, 0],
            "spread": spread,
            "top_turnover": turnover,
            "top_k_hit": _per_date_mean(beat.astype(float), chosen),
        },
        index=layout.dates,
    )
    daily.insert(2, "missing", daily["rows"] - daily["names"])
    daily = daily[np.isfinite(x).any(axis=1)]
    ic_stats = ic_summary(daily["ic"], block=ic_block(horizon), n_boot=n_boot, seed=seed)
    rank_stats = ic_summary(daily["rank_ic"], block=ic_block(horizon), n_boot=n_boot, seed=seed)

    per_quantile = pd.DataFrame(quantile_means, index=layout.dates)
    table = []
    for q in range(quantiles):
        interval = _series_interval(
            per_quantile[q], block=ic_block(horizon), n_boot=n_boot, seed=seed
        )
        table.append((q + 1, interval.estimate, interval.low, interval.high))
    quantile_returns = pd.DataFrame(table, columns=["quantile", "mean", "low", "high"])
    quantile_returns["dates"] = np.isfinite(quantile_means).sum(axis=0)
    date_index, ticker_index = np.nonzero(np.isfinite(labels))
    factor_quantile = pd.Series(
        labels[date_index, ticker_index].astype(int),
        index=pd.MultiIndex.from_arrays(
            [layout.tickers[ticker_index], layout.dates[date_index]], names=["ticker", "date"]
        ),
        name="factor_quantile",
    )
    book = daily["spread"].dropna()
    hits = beat[date_of, ticker_of].astype(float)
    differing, distinct = distinct_shares(x)
    return FactorTearSheet(
        daily=daily,
        ic=ic_stats["mean"],
        rank_ic=rank_stats["mean"],
        icir=ic_stats["icir"],
        rank_icir=rank_stats["icir"],
        ic_t=_t_stat(daily["ic"]),
        rank_ic_t=_t_stat(daily["rank_ic"]),
        ic_days=rank_stats["days"],
        monthly_rank_ic=monthly_mean(daily["rank_ic"].dropna()),
        quantile_returns=quantile_returns.set_index("quantile"),
        factor_quantile=factor_quantile,
        spread=_series_interval(daily["spread"], block=ic_block(horizon), n_boot=n_boot, seed=seed),
        cumulative=(1.0 + book / horizon).cumprod().rename("long_short"),
        turnover=float(np.nanmean(turnover)) if np.isfinite(turnover).any() else np.nan,
        hit_rate=bootstrap_interval(
            np.mean, hits, groups=date_of, block=ic_block(horizon), n_boot=n_boot, seed=seed
        )
        if len(hits)
        else Interval(np.nan, np.nan, np.nan),
        differing_share=differing,
        distinct_share=distinct,
        dates=len(daily),
        scored_dates=int(daily["rank_ic"].notna().sum()),
        dates_without_quantiles=int(((names > 0) & ~has_quantiles).sum()),
        quantiles=quantiles,
        top_k=top_k,
        horizon=horizon,
    )


def excess_returns(predictions: pd.DataFrame) -> tuple[pd.Series, str]:
    """The forward return over the date's equal-weight mean: the predictions' ``excess``
    column when it holds values (relative labels), else ``ret`` demeaned per date among
    the rows whose return is known (absolute labels and older runs)."""
    if "excess" in predictions and predictions["excess"].notna().any():
        return predictions["excess"].astype(float), "excess"
    ret = predictions["ret"].astype(float)
    mean = ret.groupby(level="date").transform("mean")
    return ret - mean, "ret demeaned per date"

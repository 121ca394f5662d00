"""Factor risk models on the store's prices (``engine.risk``): a universe's exposures and
factor returns through a date, a run's rank IC after neutralizing its scores, and the
attribution of a book's returns to the factors.

The exposures are sector dummies (``engine.data.universe.SECTORS``) and style descriptors
computed from prices dated on or before each date; ``size`` and ``liquidity`` need volume,
so a universe without any (the close-only sample stocks) is modelled without them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import closing
from functools import lru_cache

import numpy as np
import pandas as pd

from engine.data.universe import INDEX_TICKER, MARKET_TICKERS, SECTORS
from engine.metrics import N_BOOT, Interval, bootstrap_interval, daily_ic, ic_block
from engine.modeling.factors import excess_returns
from engine.risk import (
    STYLES,
    Attribution,
    Exposures,
    FactorReturns,
    attribution_intervals,
    compute_attribution,
    compute_exposures,
    compute_factor_returns,
    neutralize_panel,
)
from engine.trading.construction import ConstructionParams
from engine.trading.risk_construction import RiskInputs, view_scale
from engine.workflows.data.prices import DbPath, data_version, load_prices, store_path
from engine.workflows.modeling.runs import load_oos_predictions, run_horizon
from store.db import open_db
from store.prices import PriceRepository


@dataclasses.dataclass(frozen=True)
class RiskHistory:
    """A universe's exposures (sectors and styles, each date's from rows <= that date),
    its factor returns (the factor return of d from the exposures of d - 1) and its simple
    daily returns (dates x tickers)."""

    exposures: Exposures
    factor_returns: FactorReturns
    returns: pd.DataFrame


def risk_universe(db_path: DbPath, tickers: Sequence[str]) -> list[str]:
    """``tickers`` and every other stored stock (indices, VIX and factor ETFs left out):
    a cross-section of a few names cannot price a dozen factors, so the factor returns
    are estimated on all of them."""
    with closing(open_db(db_path)) as db:
        stored = [t for t in PriceRepository(db).versions() if t not in MARKET_TICKERS]
    return sorted(set(tickers) | set(stored))


def build_risk_history(
    db_path: DbPath, tickers: Sequence[str], as_of: pd.Timestamp | None = None
) -> RiskHistory:
    """The risk history of ``tickers`` from the store's prices dated on or before
    ``as_of`` (None: all of them); beta against the index where it is stored.

    Memoized per store, tickers, date and data version: one backtest's attribution,
    stress and construction, or one page's, read the same history (treat it as read-only).
    """
    path = str(db_path or store_path())
    as_of = None if as_of is None else pd.Timestamp(as_of)
    return _risk_history(path, tuple(tickers), as_of, data_version(path))


@lru_cache(maxsize=4)
def _risk_history(
    path: str, tickers: tuple[str, ...], as_of: pd.Timestamp | None, version: int
) -> RiskHistory:
    prices = load_prices(path, [*tickers, INDEX_TICKER], end=as_of)
    wide = prices.pivot_table(index="date", columns="ticker", values=["close", "volume"])
    close = wide["close"].reindex(columns=list(tickers))
    volume = wide["volume"].reindex(columns=list(tickers))
    market = None
    if INDEX_TICKER in wide["close"]:
        market = np.log(wide["close"][INDEX_TICKER]).diff()
    exposures = compute_exposures(
        close,
        volume if volume.notna().any().any() else None,
        sectors={t: SECTORS.get(t, t) for t in tickers},
        market=market,
    )
    returns = close.pct_change(fill_method=None)
    return RiskHistory(exposures, compute_factor_returns(exposures, returns), returns)


def construction_risk(
    db_path: DbPath,
    construction: ConstructionParams,
    tickers: Sequence[str],
    as_of: pd.Timestamp,
    *,
    outcome_returns: tuple[float, float],
    horizon: int,
) -> tuple[RiskInputs | None, float]:
    """What a construction reads beyond the prices: the risk model (exposures and factor
    returns from prices dated on or before ``as_of``; each decision then reads its own
    date's model) when it needs one, and Black-Litterman's view size from the run's
    training outcomes (NaN for the other methods)."""
    risk = None
    if construction.needs_risk_model:
        history = build_risk_history(db_path, risk_universe(db_path, tickers), as_of)
        risk = RiskInputs(history.exposures, history.factor_returns)
    black_litterman = construction.method == "black_litterman"
    return risk, view_scale(outcome_returns, horizon) if black_litterman else np.nan


def _only(exposures: Exposures, keep: Sequence[str]) -> Exposures:
    """The same exposures restricted to the factors ``keep``."""
    columns = [exposures.factors.index(f) for f in keep]
    return dataclasses.replace(
        exposures,
        factors=tuple(keep),
        values=exposures.values[..., columns],
        missing=exposures.missing[..., columns],
    )


def neutralized_ic(
    db_path: DbPath, run_id: str | None = None, *, n_boot: int = N_BOOT, seed: int = 0
) -> pd.DataFrame:
    """A run's out-of-sample rank IC, raw and after neutralizing its scores per date to
    each style alone (those the run's names have), to all styles, to the sectors and to
    both (each date's exposures from prices dated on or before it). Intervals are moving blocks of
    ``ic_block(horizon)`` dates, Bonferroni-adjusted over the rows.

    Returns
    -------
    DataFrame
        One row per exposure set: ``neutral_to``, ``rank_ic``, ``low``, ``high``,
        ``dates``.
    """
    predictions, record = load_oos_predictions(db_path, run_id)
    horizon = run_horizon(record)
    forward, _ = excess_returns(predictions)
    scores = predictions["score" if "score" in predictions else "p"].astype(float)
    tickers = sorted(predictions.index.get_level_values("ticker").unique())
    dates = predictions.index.get_level_values("date")
    exposures = build_risk_history(db_path, risk_universe(db_path, tickers), dates.max()).exposures
    # a style none of the run's names has (size and liquidity without volume) is 0 for
    # all of them: neutralizing to it would change nothing, so it gets no row
    own = exposures.missing[:, exposures.tickers.get_indexer(tickers)]
    styles = [f for k, f in enumerate(exposures.factors) if f in STYLES and not own[..., k].all()]
    sectors = [f for f in exposures.factors if f not in STYLES]
    sets = {
        "nothing (raw)": None,
        **{style: [style] for style in styles},
        "all styles": styles,
        "sectors": sectors,
        "styles and sectors": [*styles, *sectors],
    }
    level, block = 1 - 0.05 / len(sets), ic_block(horizon)
    rows = []
    # a date whose scores do not differ has no IC, raw or neutralized (residuals of a
    # constant are rounding noise)
    flat = scores.groupby(level="date").transform("nunique") <= 1
    for name, keep in sets.items():
        values = scores if keep is None else neutralize_panel(scores, _only(exposures, keep))
        values = values.where(~flat)
        daily = daily_ic(dates.to_numpy(), values.to_numpy(), forward.to_numpy())["rank_ic"]
        known = daily.dropna().to_numpy()
        mean = (  # as the tear sheet's rank IC (ic_summary), at the Bonferroni level
            bootstrap_interval(np.mean, known, block=block, n_boot=n_boot, level=level, seed=seed)
            if len(known) >= 2 * block
            else Interval(float(np.mean(known)) if len(known) else np.nan, np.nan, np.nan)
        )
        rows.append((name, mean.estimate, mean.low, mean.high, len(known)))
    return pd.DataFrame(rows, columns=["neutral_to", "rank_ic", "low", "high", "dates"])


def attribute_book(
    db_path: DbPath,
    equity: pd.Series,
    positions: pd.DataFrame,
    close: pd.DataFrame,
    *,
    n_boot: int = N_BOOT,
) -> Attribution:
    """A book's daily returns split into each factor's part, the specific part of its
    holdings and what trading and costs took (fills away from the close, commissions):
    the parts add up to the book's return on every day, and, Carino-linked, to its
    compounded return. Weights held over day d are the positions at the close of d - 1
    at that close, over the book's value then. Each part's annualized mean comes with a
    moving-block interval (``attribution_intervals``)."""
    tickers = list(positions.columns)
    history = build_risk_history(db_path, risk_universe(db_path, tickers), equity.index.max())
    grid = history.exposures.dates
    close = close.reindex(index=equity.index, columns=tickers).ffill()
    weights = (positions.fillna(0.0) * close).div(equity, axis=0).shift(1)
    weights = weights.reindex(grid).fillna(0.0)
    window = grid[(grid >= equity.index.min()) & (grid <= equity.index.max())]
    found = compute_attribution(
        weights.loc[window],
        history.returns.reindex(window),
        _window(history.exposures, window),
        history.factor_returns.returns.reindex(window),
        book=equity.pct_change(),
    )
    return dataclasses.replace(found, intervals=attribution_intervals(found.daily, n_boot=n_boot))


def _window(exposures: Exposures, dates: pd.DatetimeIndex) -> Exposures:
    rows = exposures.dates.get_indexer(dates)
    return dataclasses.replace(
        exposures,
        dates=dates,
        values=exposures.values[rows],
        missing=exposures.missing[rows],
    )

"""Risk of a trading book as it stands on a date (a backtest's last day, the paper
account, the analyst's holdings): its tail risk from its value series; stress tests (past
crises replayed with today's weights, shocks to the index, each factor's worst month;
``engine.book.stress``); and its volatility decomposed by factor and by name under the
risk model as of that date (``engine.risk``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from engine.book.risk import RiskReport, compute_risk
from engine.book.stress import (
    STRESS_COLUMNS,
    compute_betas,
    factor_shocks,
    index_shock,
    replay_windows,
)
from engine.data.universe import FACTOR_ETFS, INDEX_TICKER
from engine.risk import (
    STYLES,
    RiskDecomposition,
    RiskModel,
    compute_characteristic_model,
    compute_risk_decomposition,
    compute_statistical_model,
    compute_time_series_model,
)
from engine.studies.scenarios import SCENARIOS
from engine.workflows.data.prices import DbPath, load_prices
from engine.workflows.research.risk_models import build_risk_history, risk_universe

INDEX_SHOCKS = (-0.10, -0.20)
SHOCK_COLUMNS = ("shock", "book_return")
MODEL_COLUMNS = ("model", "factors", "annual_volatility", "left_out")
MIN_FACTOR_SESSIONS = 60  # fewer common sessions of factor ETF returns: no time-series model


@dataclass(frozen=True)
class BookStress:
    """A book at ``as_of``: its weights by ticker (value over the book's value), each
    past window replayed (``engine.book.stress.STRESS_COLUMNS``), the shocks
    (``SHOCK_COLUMNS``), the names given beta 1 for want of data, its tail risk (None
    without a value series of at least 20 returns), each factor's worst month applied to
    the book, its risk decomposition, and its volatility under each risk model."""

    as_of: pd.Timestamp
    weights: pd.Series
    replays: pd.DataFrame
    shocks: pd.DataFrame
    unit_beta: tuple[str, ...]
    tail: RiskReport | None
    factor_shocks: pd.DataFrame | None = None  # FACTOR_SHOCK_COLUMNS
    decomposition: RiskDecomposition | None = None  # None when nothing is held
    models: pd.DataFrame | None = None  # MODEL_COLUMNS: the book's volatility by model


def stress_book(
    db_path: DbPath,
    shares: Mapping[str, float],
    cash: float,
    as_of: pd.Timestamp,
    value: pd.Series | None = None,
) -> BookStress:
    """Stress the book holding ``shares`` (ticker -> quantity, negative for a short) and
    ``cash`` on ``as_of``, marked at each name's last close on or before it; prices dated
    after ``as_of`` are never read. ``value``: the book's value by date (dates <= as_of),
    for its historical and parametric VaR / CVaR."""
    as_of = pd.Timestamp(as_of)
    held = {t: float(q) for t, q in shares.items() if q}
    prices = load_prices(db_path, [*held, INDEX_TICKER], end=as_of)
    close = prices.pivot_table(index="date", columns="ticker", values="close", aggfunc="last")
    index_close = close.pop(INDEX_TICKER) if INDEX_TICKER in close else pd.Series(dtype=float)
    close = close.reindex(columns=list(held))
    marks = close.ffill().iloc[-1] if len(close) else pd.Series(float("nan"), index=list(held))
    values = pd.Series(held) * marks
    weights = (values / (cash + values.sum())).fillna(0.0)
    tail = compute_risk(value.loc[:as_of], index_close) if value is not None else None
    if index_close.empty:  # no index stored: nothing to replay or shock against
        replays, shocks = (pd.DataFrame(columns=list(c)) for c in (STRESS_COLUMNS, SHOCK_COLUMNS))
        return BookStress(as_of, weights, replays, shocks, tuple(held), tail)
    exposure_shocks, decomposition, models = _factor_view(db_path, weights, as_of)
    fitted = compute_betas(close, index_close, as_of)
    replays = replay_windows(
        weights, close, index_close, fitted.betas, SCENARIOS.values(), as_of=as_of
    )
    shocks = pd.DataFrame(
        [
            (f"index {shock:+.0%}", index_shock(weights, fitted.betas, shock))
            for shock in INDEX_SHOCKS
        ],
        columns=list(SHOCK_COLUMNS),
    )
    return BookStress(
        as_of,
        weights,
        replays,
        shocks,
        fitted.unit_beta,
        tail,
        exposure_shocks,
        decomposition,
        models,
    )


def _factor_view(
    db_path: DbPath, weights: pd.Series, as_of: pd.Timestamp
) -> tuple[pd.DataFrame | None, RiskDecomposition | None, pd.DataFrame | None]:
    """The factor shocks and the risk decomposition of ``weights`` under the
    characteristic model as of ``as_of``, and the book's volatility under each model
    (None throughout without a position)."""
    held = weights[weights != 0]
    if held.empty:
        return None, None, None
    history = build_risk_history(db_path, risk_universe(db_path, list(held.index)), as_of)
    model = compute_characteristic_model(history.exposures, history.factor_returns, as_of)
    decomposition = compute_risk_decomposition(held, model)
    styles = decomposition.exposures[[f for f in model.factors if f in STYLES]]
    shocks = factor_shocks(styles, history.factor_returns.returns, as_of)
    return shocks, decomposition, _model_volatilities(db_path, held, history.returns, model)


def _described(factors: Sequence[str]) -> str:
    """A model's factors in a few words: sectors counted, styles and series named."""
    sectors = [f for f in factors if f.startswith("sector:")]
    rest = [f for f in factors if f not in sectors]
    if all(f.startswith("pc") for f in rest) and not sectors:
        return f"{len(rest)} principal components"
    named = ", ".join(rest)
    return f"{len(sectors)} sectors, {named}" if sectors else named


def _model_volatilities(
    db_path: DbPath, held: pd.Series, returns: pd.DataFrame, characteristic: RiskModel
) -> pd.DataFrame:
    """The book's annualized volatility under the characteristic model, a time-series
    model on the factor ETFs and the index (where they have ``MIN_FACTOR_SESSIONS``
    sessions of returns together by the date) and a 5-component PCA model; a name a model
    cannot price (too short a history) is left out of its figure and named."""
    as_of = characteristic.as_of
    closes = load_prices(db_path, [*FACTOR_ETFS, INDEX_TICKER], end=as_of).pivot_table(
        index="date", columns="ticker", values="close"
    )
    factors = closes.pct_change(fill_method=None).dropna()
    models = [characteristic, compute_statistical_model(returns, as_of)]
    if len(factors) >= MIN_FACTOR_SESSIONS and len(factors.columns) > 1:
        models.insert(1, compute_time_series_model(returns, factors, as_of))
    rows = []
    for fitted in models:
        priced = held[held.index.isin(fitted.tickers)]
        risk = compute_risk_decomposition(priced, fitted)
        left_out = ", ".join(held.index.difference(priced.index))
        rows.append((fitted.kind, _described(fitted.factors), risk.annual_volatility, left_out))
    return pd.DataFrame(rows, columns=list(MODEL_COLUMNS))

"""The analyst's own book through the store: holdings, their value, risk and forecasts at
the as-of date, the re-entry watch over sold names, and the double-down check.

Everything at the as-of date t reads prices and regimes dated <= t only. Forecasts come
from the active run through ``forecast`` (refused by the look-ahead guard when the run
is trained through a date after t); the re-entry watch also reads the run's stored
out-of-sample forecasts, on the dates they exist for. Without them, what needs a
forecast is unknown, never "not met".
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.book.doubledown import DoubleDownParams, DoubleDownVerdict, check_double_down
from engine.book.holdings import (
    Holding,
    check_holding,
    example_holdings,
    holdings_csv,
    read_holdings_csv,
    sector_exposure,
    value_holdings,
    value_series,
)
from engine.book.reentry import (
    ReentryCondition,
    ReentryStatus,
    check_condition,
    evaluate_reentry,
    no_forecasts,
)
from engine.book.risk import MIN_RETURNS, RiskReport, compute_risk
from engine.data.universe import INDEX_TICKER
from engine.modeling.evaluation import SkillVerdict, ranking_skill
from engine.modeling.explain import score_percentile
from engine.modeling.learners import probability_label
from engine.risk import Attribution
from engine.workflows.data.prices import DbPath, load_prices
from engine.workflows.data.snapshot import build_snapshot, load_regime_history
from engine.workflows.modeling.forecast import forecast
from engine.workflows.modeling.runs import (
    LookaheadError,
    active_run,
    load_oos_predictions,
    run_for_as_of,
    run_kind,
)
from engine.workflows.research.book_risk import BookStress, stress_book
from engine.workflows.research.report import value_report_html
from engine.workflows.research.risk_models import attribute_book
from store.db import StoreError, open_db
from store.holdings import BookRepository
from store.models import ModelRun

FORECAST_SHOWN = ("date", "rank", "percentile", "p_up", "direction", "reasons")


# --- holdings and conditions in the store ---------------------------------------------------


def load_holdings(db_path: DbPath) -> pd.DataFrame:
    """The book: ticker, shares, cost_basis, opened, note, example."""
    with closing(open_db(db_path)) as db:
        return BookRepository(db).holdings()


def add_holding(
    db_path: DbPath, ticker: str, shares, cost_basis, opened, *, note: str = ""
) -> Holding:
    """Validate and store one holding (replacing the ticker's, an example included: it is
    the user's from then on); BookError names the bad column and value."""
    holding = check_holding(ticker, shares, cost_basis, opened, note)
    with closing(open_db(db_path)) as db:
        BookRepository(db).upsert_holdings([holding.row()])
    return holding


def remove_holding(db_path: DbPath, ticker: str) -> None:
    with closing(open_db(db_path)) as db:
        BookRepository(db).remove_holding(ticker)


def load_example_holdings(db_path: DbPath) -> list[str]:
    """Add the example (KDK HOOD BA WMT, made-up shares and costs, marked example) for the
    tickers not held yet; the tickers added."""
    with closing(open_db(db_path)) as db:
        repo = BookRepository(db)
        held = set(repo.holdings()["ticker"])
        new = [h for h in example_holdings() if h.ticker not in held]
        repo.upsert_holdings([h.row() for h in new])
    return [h.ticker for h in new]


def import_holdings_csv(db_path: DbPath, data: bytes) -> int:
    """Replace the book with the holdings of a CSV file, all or nothing (BookError names
    the column, line and value of the first problem); the number stored."""
    holdings = read_holdings_csv(data)
    with closing(open_db(db_path)) as db:
        BookRepository(db).replace_holdings([h.row() for h in holdings])
    return len(holdings)


def export_holdings_csv(db_path: DbPath) -> str:
    return holdings_csv(load_holdings(db_path))


def load_reentry_conditions(db_path: DbPath) -> list[ReentryCondition]:
    with closing(open_db(db_path)) as db:
        frame = BookRepository(db).conditions()
    return [
        ReentryCondition(
            r.ticker,
            None if pd.isna(r.min_percentile) else r.min_percentile,
            None if pd.isna(r.min_p) else r.min_p,
            None if pd.isna(r.pullback_days) else int(r.pullback_days),
            None if pd.isna(r.min_pullback) else r.min_pullback,
            r.regimes,
        )
        for r in frame.itertuples()
    ]


def save_reentry_condition(db_path: DbPath, ticker: str, **conditions) -> ReentryCondition:
    """Validate (BookError says what is wrong) and store one ticker's conditions."""
    condition = check_condition(ticker, **conditions)
    with closing(open_db(db_path)) as db:
        BookRepository(db).upsert_condition(condition.__dict__)
    return condition


def remove_reentry_condition(db_path: DbPath, ticker: str) -> None:
    with closing(open_db(db_path)) as db:
        BookRepository(db).remove_condition(ticker)


# --- the market at the as-of date -------------------------------------------------------------


def _closes(db_path: DbPath, tickers: list[str], as_of: pd.Timestamp) -> pd.DataFrame:
    """Closes by date x ticker, dates <= as_of (read so in SQL)."""
    prices = load_prices(db_path, tickers, end=as_of)
    return prices.pivot(index="date", columns="ticker", values="close")


def _event(record: ModelRun | None) -> str:
    return probability_label("market_timing" if record is None else run_kind(record))


def _run_forecasts(
    db_path: DbPath, as_of: pd.Timestamp, tickers: list[str]
) -> tuple[pd.DataFrame, str, ModelRun | None]:
    """The active run's forecasts at ``as_of`` ranked among its own tickers and
    ``tickers``; an empty frame and the reason when there are none."""
    record = active_run(db_path)
    if record is None:
        return pd.DataFrame(), "no active model: train one on the Training page", None
    try:
        run_for_as_of(db_path, as_of)
        universe = [*((record.params or {}).get("tickers") or ()), *tickers]
        frame = forecast(db_path, build_snapshot(db_path, universe, as_of), run_id=record.run_id)
    except LookaheadError as exc:
        return pd.DataFrame(), f"the active run is refused by the look-ahead guard: {exc}", record
    except (StoreError, ValueError, KeyError) as exc:
        return pd.DataFrame(), f"forecasts unavailable: {exc}", record
    note = f"run {record.run_id}, ranked among {len(frame)} tickers (the run's and these)"
    return frame.assign(universe=len(frame)), note, record


def _regimes(db_path: DbPath, as_of: pd.Timestamp) -> pd.DataFrame:
    return load_regime_history(db_path, as_of).loc[:as_of]


# --- the book ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookReport:
    """The book at ``as_of``. ``holdings``: ``engine.book.holdings.VALUE_COLUMNS``;
    ``forecasts``: ``FORECAST_SHOWN`` + ``universe`` by ticker (the holdings the run could
    forecast; empty with ``forecast_note`` saying why); ``value``: the holdings' value by
    date (today's shares), ``index``: the index's closes on those dates; ``stress``: the
    holdings' stress tests and risk decomposition; ``attribution``: ``value``'s returns by
    risk factor (None under 20 returns)."""

    as_of: pd.Timestamp
    holdings: pd.DataFrame
    sectors: pd.DataFrame
    value: pd.Series
    index: pd.Series | None
    risk: RiskReport | None
    stress: BookStress
    attribution: Attribution | None
    forecasts: pd.DataFrame
    forecast_note: str
    skill: SkillVerdict | None
    event: str
    regime_id: float
    regime_name: str

    @property
    def totals(self) -> dict[str, float]:
        """Market value, cost, P&L and P&L as a share of cost of the valued holdings."""
        valued = self.holdings[self.holdings["market_value"].notna()]
        value, cost = valued["market_value"].sum(), valued["cost"].sum()
        pnl = value - cost
        return {"value": value, "cost": cost, "pnl": pnl, "pnl_pct": pnl / cost if cost else np.nan}

    @property
    def notes(self) -> list[str]:
        """Why a holding has no value (e.g. "no stored prices for KDK ...")."""
        return self.holdings.loc[self.holdings["status"] != "valued", "status"].tolist()


def load_book(db_path: DbPath, as_of: pd.Timestamp) -> BookReport:
    """Value, sector exposure, risk, regime and forecasts of the holdings at ``as_of``."""
    as_of = pd.Timestamp(as_of)
    holdings = load_holdings(db_path)
    tickers = holdings["ticker"].tolist()
    closes = _closes(db_path, [*tickers, INDEX_TICKER], as_of)
    valued = value_holdings(holdings, closes, as_of)
    value = value_series(valued, closes)
    index = closes[INDEX_TICKER].reindex(value.index) if INDEX_TICKER in closes else None
    regimes = _regimes(db_path, as_of)
    last = regimes.iloc[-1] if len(regimes) else None
    regime_id = float(last["regime_id"]) if last is not None else np.nan
    regime_name = (last["regime_name"] if last is not None else None) or "unknown"
    frame, note, record = (
        _run_forecasts(db_path, as_of, tickers)
        if tickers
        else (pd.DataFrame(), "no holdings", None)
    )
    if not frame.empty:
        frame = frame.loc[frame.index.isin(tickers), [*FORECAST_SHOWN, "universe"]]
    skill = ranking_skill(record.metrics) if record is not None and len(frame) else None
    shares = valued.loc[valued["market_value"].notna()].set_index("ticker")["shares"]
    stress = stress_book(db_path, shares.to_dict(), 0.0, as_of)
    attribution = None
    if len(value) > MIN_RETURNS and len(shares):
        held = pd.DataFrame({t: float(q) for t, q in shares.items()}, index=value.index)
        attribution = attribute_book(db_path, value, held, closes.reindex(columns=held.columns))
    return BookReport(
        as_of, valued, sector_exposure(valued), value, index, compute_risk(value, index),
        stress, attribution, frame, note, skill, _event(record), regime_id, regime_name,
    )  # fmt: skip


def holdings_report_html(book: BookReport) -> str:
    """The tear sheet (self-contained HTML) of the holdings' value at today's shares, with
    the index as the benchmark; ValueError when fewer than three values exist."""
    benchmarks = {INDEX_TICKER: book.index.dropna()} if book.index is not None else None
    return value_report_html(
        book.value.dropna(),
        title=f"Holdings as of {book.as_of:%Y-%m-%d} (today's shares)",
        benchmarks=benchmarks,
    )


def double_down(
    book: BookReport,
    ticker: str,
    amount: float,
    cash: float,
    params: DoubleDownParams | None = None,
) -> DoubleDownVerdict:
    """The double-down check of ``engine.book.doubledown`` on the book at its date."""
    row = book.forecasts.loc[ticker] if ticker in book.forecasts.index else None
    note = book.forecast_note if row is None or book.forecasts.empty else ""
    if row is None and not book.forecasts.empty:
        note = f"the run has no forecast for {ticker} at {book.as_of:%Y-%m-%d}"
    return check_double_down(
        book.holdings, ticker, float(amount), float(cash),
        forecast=row, forecast_note=note, skill=book.skill, event=book.event,
        regime_id=book.regime_id, params=params,
    )  # fmt: skip


# --- the re-entry watch -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReentryReport:
    """The watch at ``as_of``: one status per ticker with conditions; ``note`` says where
    the forecast values come from (or why there are none); ``event``: what P is of."""

    as_of: pd.Timestamp
    statuses: tuple[ReentryStatus, ...]
    note: str
    event: str


def _stored_forecasts(
    db_path: DbPath, record: ModelRun, tickers: list[str], as_of: pd.Timestamp
) -> pd.DataFrame:
    """The run's out-of-sample percentile and p by (ticker, date), dates <= as_of; the
    percentile among the run's tickers on each date (``score_percentile``)."""
    oos, _ = load_oos_predictions(db_path, record.run_id)
    oos = oos[oos.index.get_level_values("date") <= as_of]
    score = oos["score"] if "score" in oos else oos["p"]
    percentile = score.groupby(level="date").transform(lambda s: score_percentile(s.to_numpy()))
    frame = pd.DataFrame({"percentile": percentile, "p": oos["p"]})
    return frame[frame.index.get_level_values("ticker").isin(tickers)]


def reentry_watch(db_path: DbPath, as_of: pd.Timestamp) -> ReentryReport:
    """Which re-entry conditions are met at ``as_of`` and since when, from prices and
    regimes dated <= as_of and the active run's forecasts for dates <= as_of."""
    as_of = pd.Timestamp(as_of)
    conditions = load_reentry_conditions(db_path)
    tickers = [c.ticker for c in conditions]
    stored = pd.DataFrame(columns=["percentile", "p"], index=pd.MultiIndex.from_arrays(
        [[], pd.DatetimeIndex([])], names=["ticker", "date"]))  # fmt: skip
    live, note, record = (
        _run_forecasts(db_path, as_of, tickers)
        if tickers
        else (pd.DataFrame(), "no conditions", None)
    )
    if not live.empty:
        stored = _stored_forecasts(db_path, record, tickers, as_of)
        latest = live.loc[live.index.isin(tickers)]
        today = pd.DataFrame({"percentile": latest["percentile"], "p": latest["p_up"]}).set_index(
            pd.MultiIndex.from_arrays([latest.index, latest["date"]])
        )
        stored = pd.concat([stored[~stored.index.isin(today.index)], today]).sort_index()
        note += "; earlier dates: the run's stored out-of-sample forecasts"
    closes = _closes(db_path, tickers, as_of) if tickers else pd.DataFrame()
    regimes = _regimes(db_path, as_of)["regime_id"]
    statuses = []
    for condition in conditions:
        t = condition.ticker
        series = closes[t] if t in closes else pd.Series(index=pd.DatetimeIndex([]))
        has = t in stored.index.get_level_values("ticker")
        mine = stored.xs(t, level="ticker") if has else no_forecasts()
        statuses.append(evaluate_reentry(condition, series, regimes, mine, as_of))
    return ReentryReport(as_of, tuple(statuses), note, _event(record))

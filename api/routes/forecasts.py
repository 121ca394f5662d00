"""GET /forecast/{ticker} and GET /forecasts: the active run's forecasts at an as-of date.

The same rules as the Forecasts page: data dated on or before the as-of date only (by
default the newest stored session), BUY / SELL / HOLD by the default thresholds
(``engine.modeling.explain.Thresholds``), and a run trained through a later date refused
(409, the guard's message). ``size`` is ``workflows.sized_forecasts``' weight: the signed
fraction of equity the run's construction would hold at that close for a book that holds
nothing, before the paper account's capital ramp (null: no position).

One ticker is forecast among the run's own universe (its training tickers, plus the
ticker when it is not one of them), so its rank and percentile compare it with the
names the model ranks; a list is ranked among the tickers asked for.

``as_of`` may be any date from the calendar's first session to today (422 otherwise,
``engine.data.calendar.check_as_of``); it resolves to the NYSE session on or before it,
which the answer reports as its ``as_of`` and the forecast cache is keyed by: a weekend, a
holiday and the session before them are one computation.

With no active run: 503 with a Retry-After header while the store's first model trains
(a new store's first launch trains the default model in the background; the detail names
the job, its progress and GET /jobs/{job_id}), 409 otherwise.
"""

from __future__ import annotations

import math

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request

from api import cache
from api.security import require_key
from engine import workflows
from engine.workflows.data import (
    InvalidTickerError,
    check_as_of,
    last_session_on_or_before,
    normalize_ticker,
    parse_tickers,
)

MAX_TICKERS = 200
RETRY_AFTER_S = 30  # while the first model trains (minutes on the sample)
router = APIRouter(dependencies=[Depends(require_key)], tags=["forecasts"])


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _item(ticker: str, row: pd.Series, *, relative: bool) -> dict:
    return {
        "ticker": ticker,
        "session": f"{row['date']:%Y-%m-%d}",
        "signal": row["direction"],
        "p": float(row["p_up"]),
        "confidence": float(row["confidence"]),
        "size": _number(float(row["weight"])),
        "rank": int(row["rank"]) if relative else None,
        "percentile": float(row["percentile"]) if relative else None,
        "expected_return": _number(float(row["expected_return"])),
        "regime": row["regime"] if isinstance(row["regime"], str) else None,
        "reasons": row["reasons"].split("; ")[:5],
    }


def _session(as_of: str) -> pd.Timestamp:
    """The NYSE session on or before ``as_of`` (read by ``check_as_of``, the project's one
    date rule, not by pydantic): what the forecast uses and is cached by."""
    try:
        return last_session_on_or_before(pd.Timestamp(check_as_of(as_of)))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def _refuse_without_model(path: str) -> None:
    """503 while the first model trains (try again later), else 409 (nothing will come)."""
    job = workflows.first_model_training(path)
    if job is not None:
        raise HTTPException(
            503,
            f"no model yet: run {job.run_id} is training ({job.progress:.0%}, {job.message}); "
            f"retry later, or follow GET /jobs/{job.run_id}",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    raise HTTPException(409, "no active model: train one or make one active")


def _context(
    request: Request, as_of: str | None
) -> tuple[str, int, workflows.ModelRun, pd.Timestamp]:
    """The store, its data version, the active run and the session ``as_of`` resolves to
    (422 outside ``check_as_of``'s range; default: the newest stored session)."""
    session = None if as_of is None else _session(as_of)
    path = request.app.state.db_path
    version = workflows.data_version(path)
    run = workflows.active_run(path)
    if run is None:
        _refuse_without_model(path)
    day = session if session is not None else cache.newest_session(path, version)
    if day is None:
        raise HTTPException(404, "the store holds no prices yet")
    return path, version, run, day


def _forecast(path: str, version: int, run: workflows.ModelRun, day: pd.Timestamp, tickers):
    try:
        return cache.forecasts(path, run.run_id, version, day, tuple(tickers))
    except workflows.LookaheadError as exc:
        raise HTTPException(409, str(exc)) from None


def _check_ticker(raw: str) -> str:
    try:
        return normalize_ticker(raw)
    except InvalidTickerError as exc:
        raise HTTPException(422, str(exc)) from None


AS_OF = Query(None, description="YYYY-MM-DD; default: the newest stored session")


@router.get("/forecast/{ticker}")
def forecast_one(request: Request, ticker: str, as_of: str | None = AS_OF) -> dict:
    """The active run's forecast for ``ticker`` at ``as_of``."""
    ticker = _check_ticker(ticker)
    path, version, run, day = _context(request, as_of)
    if ticker not in cache.coverage(path, version).index:
        raise HTTPException(404, f"unknown ticker {ticker!r}: no prices stored for it")
    universe = list(run.params.get("tickers") or [])
    frame = _forecast(path, version, run, day, [*universe, *([ticker] * (ticker not in universe))])
    if ticker not in frame.index:
        raise HTTPException(404, f"no forecast for {ticker} on or before {day:%Y-%m-%d}")
    relative = workflows.run_kind(run) != "market_timing"
    return {
        "as_of": f"{day:%Y-%m-%d}",
        "run_id": run.run_id,
        **_item(ticker, frame.loc[ticker], relative=relative),
    }


@router.get("/forecasts")
def forecast_list(
    request: Request,
    watchlist: str | None = Query(None, max_length=60, description="a watchlist's name"),
    tickers: str | None = Query(None, max_length=4000, description="A,B,C instead"),
    as_of: str | None = AS_OF,
) -> dict:
    """The active run's forecasts for a watchlist (default: the default one) or a list of
    tickers, ranked best first."""
    if watchlist is not None and tickers is not None:
        raise HTTPException(422, "send either watchlist or tickers, not both")
    path, version, run, day = _context(request, as_of)
    if tickers is not None:
        try:
            names = parse_tickers(tickers)
        except InvalidTickerError as exc:
            raise HTTPException(422, str(exc)) from None
    else:
        try:
            names = workflows.load_watchlist(path, watchlist or workflows.DEFAULT_WATCHLIST)
        except workflows.WatchlistError as exc:
            raise HTTPException(404, str(exc)) from None
    if not names or len(names) > MAX_TICKERS:
        raise HTTPException(422, f"ask for 1-{MAX_TICKERS} tickers, not {len(names)}")
    unknown = sorted(set(names) - set(cache.coverage(path, version).index))
    if unknown:
        raise HTTPException(404, f"unknown ticker(s) {', '.join(unknown)}: no prices stored")
    frame = _forecast(path, version, run, day, names)
    relative = workflows.run_kind(run) != "market_timing"
    ranked = frame.sort_values(["rank", "confidence"], ascending=[True, False])
    return {
        "as_of": f"{day:%Y-%m-%d}",
        "run_id": run.run_id,
        "missing": sorted(set(names) - set(frame.index)),
        "forecasts": [_item(t, row, relative=relative) for t, row in ranked.iterrows()],
    }

"""The re-entry watch: for a sold name, which of the analyst's conditions are met at the
as-of date t, and since when all of them have been.

Conditions (each optional; at least one): cross-sectional rank percentile >= x, P(beats
the median) >= y, pullback from the N-session high >= z, regime in a chosen set. Each is
met, not met or unknown on every session <= t: unknown when its input is missing there
(no forecast stored for that date, too short a history for the N-session high, no
regime), never "not met". All conditions together are met when each is, not met when
any is not, unknown otherwise. "Since" is the first session of the current unbroken run
of sessions on which all were met; an unknown or unmet session breaks the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.book.holdings import BookError
from engine.data.schema import InvalidTickerError, normalize_ticker
from engine.features.regime import N_REGIMES

STATES = {1.0: "met", 0.0: "not met"}  # NaN: "unknown"
CHECK_COLUMNS = ("condition", "threshold", "value", "state")


@dataclass(frozen=True)
class ReentryCondition:
    """One ticker's conditions; None: not used. ``min_pullback`` is a fraction (0.1 =
    10% below the ``pullback_days``-session high); ``regimes`` are regime ids (0-11)."""

    ticker: str
    min_percentile: float | None = None
    min_p: float | None = None
    pullback_days: int | None = None
    min_pullback: float | None = None
    regimes: tuple[int, ...] | None = None


def _fraction(value, name: str) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = np.nan
    if not 0.0 <= number <= 1.0:
        raise BookError(f"{name}: {str(value)[:40]!r} must be a number from 0 to 1")
    return number


def check_condition(
    ticker, *, min_percentile=None, min_p=None, pullback_days=None, min_pullback=None, regimes=None
) -> ReentryCondition:
    """A validated ReentryCondition, or BookError saying which input is wrong and why."""
    try:
        clean = normalize_ticker(ticker)
    except InvalidTickerError as exc:
        raise BookError(f"ticker: {exc}") from exc
    percentile = _fraction(min_percentile, "rank percentile")
    p = _fraction(min_p, "P(beats median)")
    pullback = _fraction(min_pullback, "pullback")
    days = None if pullback_days is None or pullback is None else pullback_days
    if pullback is not None:
        if not isinstance(days, int | np.integer) or not 2 <= days <= 1000:
            raise BookError(f"pullback window: {pullback_days!r} must be 2 to 1000 sessions")
        days = int(days)
    if regimes is not None:
        regimes = tuple(sorted({int(r) for r in regimes}))
        if not regimes or not all(0 <= r < N_REGIMES for r in regimes):
            raise BookError(f"regimes: {regimes!r} must be one or more regime ids 0-11")
    if percentile is None and p is None and pullback is None and regimes is None:
        raise BookError(f"{clean}: set at least one condition")
    return ReentryCondition(clean, percentile, p, days, pullback, regimes)


@dataclass(frozen=True)
class ReentryStatus:
    """The watch on one ticker at the as-of date. ``checks``: ``CHECK_COLUMNS`` on the
    last session; ``state``: met / not met / unknown / no prices; ``since``: the first
    session of the current run of all-met sessions (None unless met); ``since_start``:
    that run starts at the first session with data, so it may be older."""

    ticker: str
    session: pd.Timestamp | None
    checks: pd.DataFrame
    state: str
    since: pd.Timestamp | None
    since_start: bool


def no_forecasts() -> pd.DataFrame:
    """The ``forecasts`` of a ticker the run stored none for: no dates."""
    return pd.DataFrame(columns=["percentile", "p"], index=pd.DatetimeIndex([], name="date"))


def _met(value: pd.Series, passes: pd.Series) -> pd.Series:
    """1 where ``passes``, 0 where not, NaN where ``value`` is unknown."""
    return passes.astype(float).where(value.notna())


def condition_states(
    condition: ReentryCondition,
    closes: pd.Series,
    regime_ids: pd.Series,
    forecasts: pd.DataFrame,
) -> dict[str, tuple[str, pd.Series, pd.Series]]:
    """Per condition: (threshold text, value by session, met 1 / 0 / NaN by session) on the
    sessions of ``closes``. ``forecasts``: ``percentile`` and ``p`` by date for this
    ticker (only the dates a run stored them for); ``regime_ids`` by date."""
    dates = closes.index
    out = {}
    if condition.min_percentile is not None:
        value = forecasts["percentile"].reindex(dates)
        passes = value >= condition.min_percentile
        out["rank percentile"] = (f">= {condition.min_percentile:.2f}", value, _met(value, passes))
    if condition.min_p is not None:
        value = forecasts["p"].reindex(dates)
        out["P(beats median)"] = (
            f">= {condition.min_p:.2f}",
            value,
            _met(value, value >= condition.min_p),
        )
    if condition.min_pullback is not None:
        n = condition.pullback_days
        value = 1.0 - closes / closes.rolling(n, min_periods=n).max()
        text = f">= {condition.min_pullback:.1%} below the {n}-session high"
        out["pullback"] = (text, value, _met(value, value >= condition.min_pullback - 1e-12))
    if condition.regimes is not None:
        value = regime_ids.reindex(dates)
        text = "in " + ", ".join(str(r) for r in condition.regimes)
        out["regime"] = (text, value, _met(value, value.isin(condition.regimes)))
    return out


def evaluate_reentry(
    condition: ReentryCondition,
    closes: pd.Series,
    regime_ids: pd.Series,
    forecasts: pd.DataFrame,
    as_of: pd.Timestamp,
) -> ReentryStatus:
    """The watch on ``condition.ticker`` at ``as_of`` from its ``closes`` by date (only
    rows <= as_of are read), ``regime_ids`` by date and the run's ``forecasts`` for it."""
    as_of = pd.Timestamp(as_of)
    closes = closes.loc[:as_of].dropna()
    if closes.empty:
        empty = pd.DataFrame(columns=list(CHECK_COLUMNS))
        return ReentryStatus(condition.ticker, None, empty, "no prices", None, False)
    states = condition_states(
        condition, closes, regime_ids.loc[:as_of], forecasts.loc[forecasts.index <= as_of]
    )
    met = pd.concat([s for _, _, s in states.values()], axis=1)
    together = pd.Series(np.nan, index=closes.index)
    together[met.eq(1.0).all(axis=1)] = 1.0
    together[met.eq(0.0).any(axis=1)] = 0.0
    checks = pd.DataFrame(
        [
            (name, text, value.iloc[-1], STATES.get(state.iloc[-1], "unknown"))
            for name, (text, value, state) in states.items()
        ],
        columns=list(CHECK_COLUMNS),
    )
    state = STATES.get(together.iloc[-1], "unknown")
    since, since_start = None, False
    if state == "met":
        broken = together.ne(1.0).to_numpy()
        last_break = np.flatnonzero(broken)
        start = last_break[-1] + 1 if len(last_break) else 0
        since, since_start = closes.index[start], start == 0
    return ReentryStatus(condition.ticker, closes.index[-1], checks, state, since, since_start)

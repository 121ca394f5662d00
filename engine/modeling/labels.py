"""Labels: what happened after each date, and the date it became known.

Labels are the one place that looks forward: the label at t is decided by prices dated
after t (the entry is t's close). Each label records ``end_date``, the session its outcome
became known, so that splitters can purge training rows whose outcome overlaps a test
window. A label whose outcome is not yet known is NaN, never a guess.

Absolute labels (``direction``, ``triple_barrier``) say whether a stock rose. They are
dominated by the market's move (every stock rises on a strong day), so a model of them
learns market timing. ``relative`` labels take the market out per date, as Qlib's
CSRankNorm / CSZScoreNorm do (see ``relative_labels``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from engine.features.panel import Array, WidePanel, atr_or_proxy, by_date, to_long, to_wide
from engine.features.regime import is_bull
from engine.modeling.membership import membership_grid, membership_mask
from engine.modeling.param_limits import Limit, check_limits

LabelKind = Literal["relative", "direction", "triple_barrier"]
LABEL_KINDS: tuple[str, ...] = ("relative", "direction", "triple_barrier")
ABSOLUTE_KINDS: tuple[str, ...] = ("direction", "triple_barrier")
MIN_NAMES = 3  # fewest outcomes on a date that make a cross-section
BARRIER_NAMES = {1.0: "take_profit", -1.0: "stop", 0.0: "vertical"}
MIN_VERTICAL, MAX_VERTICAL = 5, 15
LABEL_LIMITS = {
    "horizon": Limit(1, 252, whole=True),
    **{
        name: Limit(0, 100, open_low=True)  # ATR multiples
        for name in ("take_profit", "stop", "bull_take_profit", "bear_stop")
    },
}


@dataclass(frozen=True)
class LabelParams:
    """How labels are made.

    ``kind``: "relative" (beats the universe median, see ``relative_labels``), "direction"
    (absolute 5-day direction) or "triple_barrier". ``horizon`` is the forward window in
    sessions (the vertical barrier for triple-barrier labels, which must lie in 5-15).
    Barrier multiples are in ATR 14 units: bull regimes (strong breadth) get a wider
    take-profit, bear regimes a tighter stop; dates without a regime use the base multiples.
    """

    kind: LabelKind = "relative"
    horizon: int = 5
    take_profit: float = 2.0
    stop: float = 1.5
    bull_take_profit: float = 2.5
    bear_stop: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in LABEL_KINDS:
            raise ValueError(f"label kind must be one of {LABEL_KINDS}, got {self.kind!r}")
        check_limits(self, LABEL_LIMITS, "label settings")
        if self.kind == "triple_barrier" and not MIN_VERTICAL <= self.horizon <= MAX_VERTICAL:
            raise ValueError(
                f"the vertical barrier must be {MIN_VERTICAL}-{MAX_VERTICAL} sessions, "
                f"got {self.horizon}"
            )


def lead(x: Array, k: int) -> Array:
    """Row t holds row t+k (NaN for the last k rows). Only labels may look ahead."""
    out = np.full_like(x, np.nan, dtype=float)
    if k < len(x):
        out[: len(x) - k] = x[k:]
    return out


def _finish(panel: WidePanel, arrays: dict[str, Array]) -> pd.DataFrame:
    """Long frame with ``end_date`` as dates and ``barrier`` as names where present."""
    frame = to_long(panel, arrays)
    end = frame.pop("end_index").to_numpy()
    known = np.isfinite(end)
    end_dates = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    end_dates[known] = panel.dates.to_numpy()[end[known].astype(int)]
    frame["end_date"] = end_dates
    if "barrier" in frame:
        frame["barrier"] = frame["barrier"].map(BARRIER_NAMES).astype(object)
    return frame


def forward_direction(prices: pd.DataFrame, horizon: int = 5) -> pd.DataFrame:
    """1.0 if the close ``horizon`` sessions later is higher, else 0.0; NaN if unknown.

    Columns ``label``, ``ret`` (forward return) and ``end_date`` (t + horizon sessions).
    """
    LabelParams(horizon=horizon)  # validates
    panel = to_wide(prices)
    close = panel.close
    ahead = lead(close, horizon)
    ret = ahead / close - 1.0
    label = np.where(np.isfinite(ret), (ret > 0).astype(float), np.nan)
    rows = np.arange(len(panel.dates), dtype=float)[:, None] + horizon
    end_index = np.where(np.isfinite(ret), rows, np.nan)
    return _finish(panel, {"label": label, "ret": ret, "end_index": end_index})


def barrier_multiples(
    panel: WidePanel, regime_ids: pd.Series | None, params: LabelParams
) -> tuple[Array, Array]:
    """Take-profit and stop multiples per date, ``(T, 1)``, from the regime at t."""
    regime = (
        np.full((len(panel.dates), 1), np.nan)
        if regime_ids is None
        else by_date(panel, regime_ids.astype(float))
    )
    known = np.isfinite(regime)
    bull = known & is_bull(np.where(known, regime, 0))
    bear = known & ~bull
    take_profit = np.where(bull, params.bull_take_profit, params.take_profit)
    stop = np.where(bear, params.bear_stop, params.stop)
    return take_profit, stop


def triple_barrier(
    prices: pd.DataFrame,
    params: LabelParams | None = None,
    regime_ids: pd.Series | None = None,
) -> pd.DataFrame:
    """Triple-barrier labels with ATR-scaled, regime-dependent barriers.

    From t's close, the upper barrier is ``take_profit x ATR`` above and the lower
    ``stop x ATR`` below; the first touched in sessions t+1 .. t+horizon decides (a bar
    touching both counts as the stop). With no touch, the vertical barrier labels by the
    sign of the return at t+horizon. ATR 14 uses high and low; a close-only ticker uses
    close-to-close moves instead and says so in ``atr_proxy``. A path with a missing bar
    before its outcome is NaN.

    Columns ``label`` (1.0 take-profit or positive vertical, else 0.0), ``ret`` (return at
    the exit level), ``barrier``, ``atr_pct``, ``atr_proxy`` and ``end_date``.
    """
    params = params or LabelParams(kind="triple_barrier", horizon=10)
    if params.kind != "triple_barrier":
        params = dataclasses.replace(params, kind="triple_barrier")
    panel = to_wide(prices)
    close = panel.close
    atr, use_proxy = atr_or_proxy(panel)
    atr_pct = atr / close
    take_profit, stop = barrier_multiples(panel, regime_ids, params)
    upper = close * (1.0 + take_profit * atr_pct)
    lower = close * (1.0 - stop * atr_pct)

    shape = close.shape
    label, ret, barrier, end_index = (np.full(shape, np.nan) for _ in range(4))
    open_ = np.isfinite(upper) & np.isfinite(lower)  # paths still waiting for an outcome
    for k in range(1, params.horizon + 1):
        future_close = lead(close, k)
        future_high, future_low = lead(panel.high, k), lead(panel.low, k)
        future_high = np.where(np.isfinite(future_high), future_high, future_close)
        future_low = np.where(np.isfinite(future_low), future_low, future_close)
        missing = open_ & ~np.isfinite(future_close)
        open_ &= ~missing  # an unseen bar leaves the outcome unknown
        hit_stop = open_ & (future_low <= lower)
        hit_target = open_ & ~hit_stop & (future_high >= upper)
        row = np.arange(shape[0], dtype=float)[:, None] + k
        for hit, code, level in ((hit_stop, -1.0, lower), (hit_target, 1.0, upper)):
            label[hit] = 1.0 if code > 0 else 0.0
            ret[hit] = (level / close - 1.0)[hit]
            barrier[hit] = code
            end_index[hit] = np.broadcast_to(row, shape)[hit]
        open_ &= ~(hit_stop | hit_target)
        if k == params.horizon:
            final = future_close / close - 1.0
            label[open_] = (final[open_] > 0).astype(float)
            ret[open_] = final[open_]
            barrier[open_] = 0.0
            end_index[open_] = np.broadcast_to(row, shape)[open_]
    return _finish(
        panel,
        {
            "label": label,
            "ret": ret,
            "barrier": barrier,
            "atr_pct": atr_pct,
            "atr_proxy": np.where(np.isfinite(atr_pct), use_proxy.astype(float), np.nan),
            "end_index": end_index,
        },
    )


def _cross_section(ret: Array) -> dict[str, Array]:
    """Per-date (row) relative transforms of forward returns ``ret``, (T, N) each."""
    known = np.isfinite(ret)
    counts = known.sum(axis=1, keepdims=True)
    usable = known & (counts >= MIN_NAMES)
    kept = np.where(usable, ret, np.nan)
    rows = usable.any(axis=1)
    mean = np.full((len(ret), 1), np.nan)
    median = np.full((len(ret), 1), np.nan)
    mean[rows, 0] = np.nanmean(kept[rows], axis=1)
    median[rows, 0] = np.nanmedian(kept[rows], axis=1)
    ranks = pd.DataFrame(kept).rank(axis=1, method="average").to_numpy()
    return {
        "label": np.where(usable & (kept != median), (kept > median).astype(float), np.nan),
        "target": np.where(usable, (ranks - 0.5) / np.maximum(counts, 1) - 0.5, np.nan),
        "excess": kept - mean,
    }


def relative_labels(
    prices: pd.DataFrame,
    horizon: int = 5,
    index_close: pd.Series | None = None,
    membership: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Cross-sectional labels by (ticker, date) over ``horizon`` sessions.

    The universe on date t is the tickers in ``prices`` that were members at t
    (``engine.modeling.membership``; every ticker when ``membership`` is None). Per date,
    among the members whose outcome is known (at least ``MIN_NAMES`` of them, else the
    date has no relative label):

    - ``ret``: forward return from t's close to the close ``horizon`` sessions later;
    - ``excess``: ``ret`` minus the universe's equal-weight mean ``ret`` that date;
    - ``excess_index``: ``ret`` minus the index's return over the same sessions (NaN
      where ``index_close`` is None or lacks a close at either end);
    - ``label`` (beats the universe median): 1.0 above that date's median ``ret``, 0.0
      below, NaN exactly at it, so the base rate is 0.5 by construction;
    - ``target``: the per-date rank normalized to (-0.5, 0.5), ``(rank - 0.5) / n - 0.5``
      (average ranks for ties): the ranker's and the regressor's target;
    - ``end_date``: t + horizon sessions, when the row's whole cross-section is known.

    A ticker without an outcome (its prices end within the horizon: delisted, or not yet
    known) or not a member that date is NaN in every column and stays in the frame. A
    member's outcome counts even when it leaves the universe within the horizon.
    """
    LabelParams(horizon=horizon)  # validates
    panel = to_wide(prices)
    close = panel.close
    ret = lead(close, horizon) / close - 1.0
    ret[~membership_grid(membership, panel.dates, panel.tickers)] = np.nan
    if index_close is not None and len(index_close):
        index = by_date(panel, index_close.astype(float))
        excess_index = ret - (lead(index, horizon) / index - 1.0)
    else:
        excess_index = np.full_like(ret, np.nan)
    rows = np.arange(len(panel.dates), dtype=float)[:, None] + horizon
    return _finish(
        panel,
        {
            **_cross_section(ret),
            "ret": ret,
            "excess_index": excess_index,
            "end_index": np.where(np.isfinite(ret), rows, np.nan),
        },
    )


def compute_labels(
    prices: pd.DataFrame,
    params: LabelParams,
    regime_ids: pd.Series | None = None,
    index_close: pd.Series | None = None,
    membership: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Labels of ``params.kind`` by (ticker, date); always has ``label``, ``ret``, ``end_date``.

    ``index_close`` (the index's closes by date) feeds ``excess_index`` of relative labels.
    With ``membership`` (see ``engine.modeling.membership``) a row of a ticker on a date it
    was not a member is NaN in every column; relative labels rank each date's members only.
    """
    if params.kind == "relative":
        return relative_labels(prices, params.horizon, index_close, membership)
    if params.kind == "direction":
        labels = forward_direction(prices, params.horizon)
    else:
        labels = triple_barrier(prices, params, regime_ids)
    if membership is not None:
        labels.loc[~membership_mask(membership, labels.index)] = np.nan
    return labels

"""Labels: what happened after each date, and the date it became known.

Labels are the one place that looks forward: the label at t is decided by prices dated
after t (the entry is t's close). Each label records ``end_date``, the session its outcome
became known, so that splitters can purge training rows whose outcome overlaps a test
window. A label whose outcome is not yet known is NaN, never a guess.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from engine.features.panel import Array, WidePanel, atr_or_proxy, by_date, to_long, to_wide
from engine.features.regime import is_bull

LabelKind = Literal["direction", "triple_barrier"]
LABEL_KINDS: tuple[str, ...] = ("direction", "triple_barrier")
BARRIER_NAMES = {1.0: "take_profit", -1.0: "stop", 0.0: "vertical"}
MIN_VERTICAL, MAX_VERTICAL = 5, 15


@dataclass(frozen=True)
class LabelParams:
    """How labels are made.

    ``horizon`` is the forward window in sessions (the vertical barrier for triple-barrier
    labels, which must lie in 5-15). Barrier multiples are in ATR 14 units: bull regimes
    (strong breadth) get a wider take-profit, bear regimes a tighter stop; dates without a
    regime use the base multiples.
    """

    kind: LabelKind = "direction"
    horizon: int = 5
    take_profit: float = 2.0
    stop: float = 1.5
    bull_take_profit: float = 2.5
    bear_stop: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in LABEL_KINDS:
            raise ValueError(f"label kind must be one of {LABEL_KINDS}, got {self.kind!r}")
        if self.horizon < 1:
            raise ValueError(f"label horizon must be at least 1 session, got {self.horizon}")
        if self.kind == "triple_barrier" and not MIN_VERTICAL <= self.horizon <= MAX_VERTICAL:
            raise ValueError(
                f"the vertical barrier must be {MIN_VERTICAL}-{MAX_VERTICAL} sessions, "
                f"got {self.horizon}"
            )
        for name in ("take_profit", "stop", "bull_take_profit", "bear_stop"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive ATR multiple")


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


def compute_labels(
    prices: pd.DataFrame, params: LabelParams, regime_ids: pd.Series | None = None
) -> pd.DataFrame:
    """Labels of ``params.kind`` by (ticker, date); always has ``label``, ``ret``, ``end_date``."""
    if params.kind == "direction":
        return forward_direction(prices, params.horizon)
    return triple_barrier(prices, params, regime_ids)

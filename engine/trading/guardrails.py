"""Guardrails that act: the checks that stop the paper account opening positions.

Each check is a pure function from what the store knew at the step's date to one
``CheckReading``: its reading, the threshold it is held to, whether it tripped and why
(or why it could not read: too few outcomes, no VIX close). A check without evidence
never trips. The store work (which forecasts, which close, the equity) happens in
``engine.workflows.trading.guardrails``; this module decides.

While a check is tripped the account is paused: exits, stops and marks keep running,
positions are not force-closed, and only targets that reduce or close a position are
kept (``reducing_targets``), until the user resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.metrics import wilson_interval
from engine.modeling.calibration_scores import expected_calibration_error
from engine.modeling.param_limits import Limit, check_limits

GUARDRAIL_LIMITS = {
    "min_outcomes": Limit(1, 100_000, whole=True),
    "hit_rate_level": Limit(0.5, 0.999),
    "max_ece": Limit(0, 1, open_low=True),
    "vix_level": Limit(0, 1000, open_low=True),
}


@dataclass(frozen=True)
class GuardrailParams:
    """Thresholds of the live-quality and market checks (the drawdown limit is
    ``PaperParams.circuit_breaker``).

    Parameters
    ----------
    min_outcomes : int
        Scored live forecasts a quality check needs before it may trip ("not enough
        evidence" below it).
    hit_rate_level : float
        Level of the Wilson interval of the live hit rate.
    max_ece : float
        Live expected calibration error above this trips (0.15: the gate's NO-GO).
    vix_level : float
        A VIX close above this on the step's date trips.
    """

    min_outcomes: int = 30
    hit_rate_level: float = 0.95
    max_ece: float = 0.15
    vix_level: float = 35.0

    def __post_init__(self) -> None:
        check_limits(self, GUARDRAIL_LIMITS, "guardrail thresholds")


@dataclass(frozen=True)
class CheckReading:
    """One check at one date: ``reading`` against ``threshold`` (NaN: no reading),
    ``tripped``, and ``reason``: why it tripped, or what it read (or could not)."""

    name: str
    reading: float
    threshold: float
    tripped: bool
    reason: str


def hit_rate_check(p: np.ndarray, beat: np.ndarray, params: GuardrailParams) -> CheckReading:
    """The live hit rate of the forecasts the model acted on against its calibrated
    expectation.

    The model acts on a forecast that predicts a beat (``p > 0.5``); a hit is an outcome
    that beat the universe's median. The check trips when the Wilson interval of the
    hit rate lies wholly below the mean ``p`` of those same forecasts (what the
    calibrated model expected).

    Parameters
    ----------
    p, beat : arrays of shape (n,)
        Probabilities and outcomes (1 beat, 0 not) of scored forecasts, outcomes known by
        the step's date; a NaN in either drops the pair.
    """
    p, beat = np.asarray(p, dtype=float), np.asarray(beat, dtype=float)
    acted = (p > 0.5) & ~np.isnan(beat)
    n = int(acted.sum())
    if n < params.min_outcomes:
        return _no_evidence("live hit rate", n, params.min_outcomes)
    expected = float(p[acted].mean())
    rate = wilson_interval(float(beat[acted].sum()), n, params.hit_rate_level)
    text = (
        f"live hit rate {rate.estimate:.1%} ({rate.level:.0%} interval {rate.low:.1%} to "
        f"{rate.high:.1%}, {n} outcomes) against the {expected:.1%} the model expected"
    )
    tripped = rate.high < expected
    return CheckReading(
        "live hit rate",
        rate.estimate,
        expected,
        tripped,
        f"{text}: below it beyond the interval" if tripped else text,
    )


def ece_check(p: np.ndarray, beat: np.ndarray, params: GuardrailParams) -> CheckReading:
    """Expected calibration error of scored live forecasts (``p``, ``beat`` of shape
    (n,), NaN pairs dropped) above ``params.max_ece`` trips."""
    p, beat = np.asarray(p, dtype=float), np.asarray(beat, dtype=float)
    known = ~np.isnan(p) & ~np.isnan(beat)
    n = int(known.sum())
    if n < params.min_outcomes:
        return _no_evidence("live ECE", n, params.min_outcomes)
    ece = expected_calibration_error(beat[known], p[known])
    tripped = ece > params.max_ece
    text = f"live ECE {ece:.3f} over {n} outcomes ({'above' if tripped else 'within'} the limit)"
    return CheckReading("live ECE", ece, params.max_ece, tripped, text)


def vix_check(close: float, day: pd.Timestamp, params: GuardrailParams) -> CheckReading:
    """The VIX close on ``day`` above ``params.vix_level`` trips; NaN (no bar that day):
    no reading, no trip."""
    if np.isnan(close):
        return CheckReading(
            "VIX", np.nan, params.vix_level, False, f"no VIX close on {day:%Y-%m-%d}: no reading"
        )
    tripped = close > params.vix_level
    text = f"VIX closed at {close:.1f} on {day:%Y-%m-%d}"
    return CheckReading(
        "VIX",
        close,
        params.vix_level,
        tripped,
        f"{text}, above {params.vix_level:g}" if tripped else text,
    )


def drawdown_check(equity: float, peak: float, limit: float) -> CheckReading:
    """The circuit breaker: equity ``limit`` or more below its ``peak`` trips (a limit of
    0 trips at the peak itself)."""
    if not peak > 0:
        return CheckReading("drawdown", np.nan, -limit, False, "no equity peak yet: no reading")
    drawdown = equity / peak - 1.0
    tripped = drawdown <= -limit
    text = f"equity {drawdown:.1%} from its peak"
    return CheckReading(
        "drawdown", drawdown, -limit, tripped, f"circuit breaker: {text}" if tripped else text
    )


def external_reading(name: str, reason: str | None) -> CheckReading:
    """A check computed elsewhere that gives only a reason when it trips (None: fine)."""
    if reason is None:
        return CheckReading(name, np.nan, np.nan, False, "within its limit")
    return CheckReading(name, np.nan, np.nan, True, reason)


def trip_reason(readings: tuple[CheckReading, ...]) -> str:
    """The tripped checks' reasons in one line ("" when none tripped)."""
    return "; ".join(r.reason for r in readings if r.tripped)


def reducing_targets(targets: pd.DataFrame, held: pd.Series) -> pd.DataFrame:
    """The targets a paused account may still trade: those that close a position or
    reduce it toward zero without crossing it (same sign, smaller size).

    Parameters
    ----------
    targets : DataFrame indexed by ticker with ``target_weight``
    held : Series of the weight held per ticker (missing: 0)
    """
    now = held.reindex(targets.index).fillna(0.0).to_numpy(float)
    target = targets["target_weight"].to_numpy(float)
    keep = (now != 0) & (
        (target == 0) | ((np.sign(target) == np.sign(now)) & (abs(target) < abs(now)))
    )
    return targets[keep]


def _no_evidence(name: str, n: int, needed: int) -> CheckReading:
    return CheckReading(
        name, np.nan, np.nan, False, f"not enough evidence: {n} of the {needed} outcomes it needs"
    )

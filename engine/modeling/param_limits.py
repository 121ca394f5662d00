"""The ranges a training setting must fall in, checked wherever a configuration is built.

A configuration comes from a page, the command line, the registry or an imported bundle's
manifest (which anyone can write): ``n_jobs=1e6``, ``n_estimators=1e9`` or a NaN would
otherwise reach XGBoost, and ``POST /retrain`` would reuse them. Each parameter dataclass
lists its numeric fields in a public table (``LABEL_LIMITS``, ``TRAINING_LIMITS``...) of
``Limit``s and calls ``check_limits`` in ``__post_init__``; the bounds are generous (about
ten times what the project uses or tunes) but finite. Input widgets take their ranges from
the same tables (``Limit.bounds``), so a form never offers what the engine refuses.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """``low <= value <= high`` (``low < value`` when ``open_low``); ``whole``: an integer."""

    low: float
    high: float
    whole: bool = False
    open_low: bool = False

    def problem(self, name: str, value: object) -> str | None:
        """What is wrong with ``value`` as ``name``, or None when it is within the limit."""
        kind = numbers.Integral if self.whole else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind):
            want = "a whole number" if self.whole else "a number"
            return f"{name} must be {want} (got {_shown(value)})"
        number = float(value)
        low_ok = number > self.low if self.open_low else number >= self.low
        if not (math.isfinite(number) and low_ok and number <= self.high):
            bracket = "(" if self.open_low else "["
            return f"{name} must be in {bracket}{self.low:g}, {self.high:g}] (got {_shown(value)})"
        return None

    def bounds(self, step: float | None = None) -> tuple[float, float]:
        """``(low, high)`` for an input widget's range (integers when ``whole``, else
        floats: a widget takes one type); an open low end starts one ``step`` above it."""
        if self.whole:
            return int(self.low), int(self.high)
        if self.open_low and step is None:
            raise ValueError("an open low end needs the widget's step")
        return float(self.low + step if self.open_low else self.low), float(self.high)


def check_limits(params: object, limits: Mapping[str, Limit], what: str) -> None:
    """Raise ValueError naming every field of ``params`` outside its limit."""
    problems = [
        problem
        for name, limit in limits.items()
        if (problem := limit.problem(name, getattr(params, name))) is not None
    ]
    if problems:
        raise ValueError(f"{what}: " + "; ".join(problems))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."

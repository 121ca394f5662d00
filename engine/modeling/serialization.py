"""Fitted parameters as plain JSON values, and back, checked on the way in.

A bundle stores every fitted estimator but the booster as parameters (lists of floats,
strings, integers), never as code. Floats are written by ``json`` with ``float.__repr__``,
the shortest string that reads back to the same double, so a round trip is exact. Reading
checks every value's type and shape and raises ``ValueError`` naming the value, so a
crafted file gives a message, not a half-built estimator.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression


def floats(values: np.ndarray | list) -> list[float]:
    """``values`` (any shape) as nested lists of Python floats, for ``json``."""
    return np.asarray(values, dtype=np.float64).tolist()


def field(params: Any, key: str, kind: type | tuple[type, ...], name: str) -> Any:
    """``params[key]``, which must be of ``kind`` (``bool`` never passes for a number)."""
    if not isinstance(params, Mapping):
        raise ValueError(f"{name} must be a JSON object, got {type(params).__name__}")
    if key not in params:
        raise ValueError(f"{name} has no {key!r}")
    value = params[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise ValueError(f"{name}.{key} must be {' or '.join(k.__name__ for k in kinds)}")
    return value


def number(params: Any, key: str, name: str) -> float:
    """A finite number field as a float."""
    value = float(field(params, key, (int, float), name))
    if not np.isfinite(value):
        raise ValueError(f"{name}.{key} must be finite")
    return value


def array(params: Any, key: str, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    """A field holding finite floats of ``shape`` (``None``: any length, at least one)."""
    values = field(params, key, list, name)
    try:
        out = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}.{key} must hold numbers only") from exc
    if out.ndim != len(shape) or any(
        size < 1 if want is None else size != want
        for size, want in zip(out.shape, shape, strict=True)
    ):
        raise ValueError(f"{name}.{key} has shape {out.shape}, expected {shape}")
    if not np.isfinite(out).all():
        raise ValueError(f"{name}.{key} holds a value that is not finite")
    return out


def logistic_params(model: LogisticRegression) -> dict:
    """A fitted binary ``LogisticRegression``'s coefficients and intercept."""
    return {"coef": floats(model.coef_[0]), "intercept": float(model.intercept_[0])}


def logistic_from_params(params: Any, n_features: int, name: str, **options) -> LogisticRegression:
    """A ``LogisticRegression`` (``options``: its constructor arguments) whose documented
    fitted attributes are set from ``params``: it predicts exactly as the one saved."""
    model = LogisticRegression(**options)
    model.coef_ = array(params, "coef", name, (n_features,))[None, :]
    model.intercept_ = np.array([number(params, "intercept", name)])
    model.classes_ = np.array([0, 1])
    model.n_features_in_ = n_features
    return model


def json_document(data: bytes | str, **options) -> object:
    """``json.loads(data, **options)``, with nesting too deep for Python's parser (a
    RecursionError) reported as the ValueError every other malformed document raises."""
    try:
        return json.loads(data, **options)
    except RecursionError:
        raise ValueError("its JSON nests deeper than this version reads") from None


def finite_json_document(data: bytes | str) -> object:
    """``json_document`` that refuses NaN and Infinity (not numbers a bundle writes)."""
    return json_document(data, parse_constant=_no_constant)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number this format allows")

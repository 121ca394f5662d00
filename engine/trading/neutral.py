"""The factor-neutral book: a long-short book moved the least (least squares) to have no
net exposure to chosen factors, dollar-neutral, within the caps, at the gross limit.

The exposures are known at the decision date (rows <= t): the sizing sectors, or the
characteristic risk model's exposures as of that date (``RiskInputs``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from engine.trading.risk_construction import RiskInputs
from engine.trading.sizing import SizingParams, sector_limits

__all__ = ["NEUTRAL_TO", "neutral_book", "neutral_exposures"]

NEUTRAL_TO = ("dollar", "beta", "sector", "factors")


def neutral_exposures(
    neutral_to: str, book: pd.DataFrame, risk: RiskInputs | None, date: pd.Timestamp
) -> tuple[np.ndarray | None, str]:
    """The (N, m) exposures to neutralize for ``neutral_to`` (not ``dollar``), or None
    and why: ``sector``, the one-hot sizing sectors of ``book`` (no risk model needed);
    ``beta``, the risk model's ``beta`` style; ``factors``, every factor of the risk model
    (sector dummies and styles), both as of ``date``."""
    if neutral_to == "sector":
        sectors = book["sector"].to_numpy()
        return (sectors[:, None] == pd.unique(sectors)[None, :]).astype(float), ""
    if risk is None:
        return None, "no risk model"
    try:
        exposures = risk.exposures_at(date, book.index)
    except ValueError as exc:
        return None, str(exc)
    if neutral_to == "beta":
        if "beta" not in exposures.columns:
            return None, "no beta in the risk model"
        exposures = exposures[["beta"]]
    return exposures.to_numpy(dtype=float), ""


def neutral_book(
    raw: np.ndarray,
    exposures: np.ndarray,
    book: pd.DataFrame,
    sizing: SizingParams,
    *,
    tolerance: float,
    label: str,
) -> tuple[np.ndarray, list[list[str]]]:
    """The closest book to ``raw`` that is neutral to the ``exposures``.

    Parameters
    ----------
    raw : ndarray of shape (N,)
        The signed long-short book (gross ``sizing.gross_limit``).
    exposures : ndarray of shape (N, m)
        The factors to neutralize (rows <= t); a row with a NaN, or a ticker without a
        volatility estimate in ``book``, holds nothing.
    book : DataFrame of N rows
        ``decision_book`` (sector, regime, volatility).
    tolerance : float
        Largest net exposure ``|X' w|`` per factor, in exposure units (0: exact).
    label : str
        What the book is neutral to, named on every held name (``"neutral to beta"``).

    Returns
    -------
    Signed weights, shape (N,), all 0 when no neutral book exists, and per name what
    bound: ``label``, a per-ticker or sector cap, a gross short of the limit.

    Notes
    -----
    The least-squares projection ``w - A (A'A)^+ A' w`` onto ``A' w = 0`` with
    ``A = [1, X]`` (dollar and factor neutral), rescaled to the gross limit, is the
    answer when it satisfies the per-ticker and sector caps and ``tolerance`` is 0.
    Otherwise the book is the solution of ``min ||w - raw||^2`` (SLSQP) with the
    projection's sides, dollar neutral, ``|X' w| <= tolerance``, ``|w_i| <= max_weight``,
    each sector's gross within its limit and gross equal to the limit (at most the
    limit where the caps cannot hold that much). Names outside the raw book may get
    weight: that is the least change that neutralizes it.
    """
    gross, cap = sizing.gross_limit, sizing.max_weight
    usable = np.isfinite(exposures).all(axis=1) & np.isfinite(book["volatility"].to_numpy(float))
    A = np.column_stack([np.ones(usable.sum()), exposures[usable]])
    target = raw[usable]
    exact = target - A @ (np.linalg.pinv(A) @ target)
    exact[np.abs(exact) < 1e-12 * gross] = 0.0
    weights = np.zeros(len(raw))
    binding: list[list[str]] = [[] for _ in range(len(raw))]
    if not exact.any():  # e.g. one name per sector, neutral to sectors
        return weights, binding
    side, start = np.sign(exact), np.abs(exact) * gross / np.abs(exact).sum()
    sectors = [(name, rows[usable], limit) for name, rows, limit in sector_limits(book, sizing)]
    room = min(
        [cap / start.max()]
        + [limit / start[rows].sum() for _, rows, limit in sectors if start[rows].sum() > 0]
    )
    notes = [label]
    if room >= 1.0 and tolerance == 0:
        x = start
    else:
        caps = [(rows, limit) for _, rows, limit in sectors]
        x = _closest(
            side * target, start * min(room, 1.0), side[:, None] * A, caps,
            sizing=sizing, tolerance=tolerance,
        )  # fmt: skip
        if x is None:
            x = start * min(room, 1.0)
            notes.append("by projection (optimizer failed)")
        over = [x.sum() / gross] + [x[rows].sum() / limit for _, rows, limit in sectors]
        x = x / max(1.0, *over)  # SLSQP's last 1e-9 over a cap: the caps then never bind
    if x.sum() < gross * (1 - 1e-6):
        notes.append(f"gross {x.sum():.0%} within the caps")
    weights[usable] = side * x
    for j in np.flatnonzero(weights):
        binding[j] += notes
    for j in np.flatnonzero((raw != 0) & ~usable):
        binding[j].append("left out of the neutral book (no exposures or volatility)")
    held = np.abs(weights) > 0
    for j in np.flatnonzero(np.abs(weights) >= cap * (1 - 1e-9)):
        binding[j].append("max weight per ticker")
    for name, rows, limit in sector_limits(book, sizing):
        if np.abs(weights[rows]).sum() >= limit * (1 - 1e-9):
            for j in np.flatnonzero(rows & held):
                binding[j].append(f"sector limit {limit:.0%} ({name})")
    return weights, binding


def _closest(target, start, signed_A, caps, *, sizing: SizingParams, tolerance: float):
    """Sizes x >= 0 (n,), 0 where ``start`` is, closest to ``target`` (the raw book in
    the sides' terms) with ``signed_A' x`` = 0 in its first column (dollar) and within
    ``tolerance`` in the others (all exactly 0 when ``tolerance`` is 0: an orthonormal
    basis of their span, so redundant columns such as sector dummies and the dollar do
    not make SLSQP singular), within the caps, at the gross limit (at most the limit
    where the caps cannot hold it); None when SLSQP fails."""
    n, factors = len(start), signed_A[:, 1:]
    if tolerance == 0:
        u, singular, _ = np.linalg.svd(signed_A, full_matrices=False)
        equal = u[:, singular > singular.max() * 1e-10].T
    else:
        equal = signed_A[:, :1].T
    upper = [(factors.T, tolerance), (-factors.T, tolerance)] if tolerance > 0 else []
    upper += [(rows[None, :].astype(float), limit) for rows, limit in caps]
    gross = (np.ones((1, n)), sizing.gross_limit)
    for gross_equal in (True, False):
        E = np.vstack([equal, gross[0]]) if gross_equal else equal
        e = np.r_[np.zeros(len(equal)), gross[1]] if gross_equal else np.zeros(len(equal))
        below = upper if gross_equal else [*upper, gross]
        constraints = [
            {"type": "eq", "fun": lambda x, E=E, e=e: E @ x - e, "jac": lambda x, E=E: E}
        ]
        if below:
            G = np.vstack([matrix for matrix, _ in below])
            h = np.concatenate([np.full(len(matrix), bound) for matrix, bound in below])
            constraints.append(
                {"type": "ineq", "fun": lambda x, G=G, h=h: h - G @ x, "jac": lambda x, G=G: -G}
            )
        result = minimize(
            lambda x: float(np.sum((x - target) ** 2)),
            start,
            jac=lambda x: 2.0 * (x - target),
            bounds=[(0.0, sizing.max_weight if free else 0.0) for free in start > 0],
            constraints=constraints,
            method="SLSQP",
            options={"ftol": 1e-15, "maxiter": 500},
        )
        x = np.clip(result.x, 0.0, sizing.max_weight)
        x[x < 1e-12 * sizing.gross_limit] = 0.0
        if (
            result.success
            and abs(signed_A[:, 0] @ x) <= 1e-9
            and (np.abs(x @ factors) <= tolerance + 1e-9).all()
            and all(rows @ x <= limit + 1e-9 for rows, limit in caps)
        ):
            return x
    return None


def dollar_neutral(weight: np.ndarray, side: np.ndarray, binding: list[list[str]]):
    """Scale the larger side down to the smaller (a cap may bind on one side only)."""
    longs, shorts = weight[side > 0].sum(), weight[side < 0].sum()
    if np.isclose(longs, shorts, rtol=1e-12, atol=1e-15):
        return weight
    larger = side > 0 if longs > shorts else side < 0
    weight = weight.copy()
    weight[larger] *= min(longs, shorts) / max(longs, shorts)
    for j in np.flatnonzero(larger & (weight > 0)):
        binding[j].append("dollar neutral")
    return weight

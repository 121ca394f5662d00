"""Live recalibration: a map p -> p' refitted on the live record's known outcomes.

A run's calibrator was fitted in-fold at training and shrunk there toward the training
base rate (``calibration``). Live, its probabilities may drift off the outcomes. The map
here is Platt scaling of the recorded probability, ``p' = sigmoid(a + b logit p)``, fitted
by scikit-learn's ``LogisticRegression`` on the newest ``window`` scored forecasts whose
outcome is known by the as-of date (``outcome_date <= as_of``), then shrunk toward the
identity map ``(a, b) = (0, 1)``, which leaves the training calibration (and with it the
training base rate) as it was:

    (a, b) = w (a_fit, b_fit) + (1 - w) (0, 1),
    w = n / (n + prior_outcomes) x max(0, 1 - EVIDENCE_BAR x 2 / G).

``n`` is the number of outcomes the fit used; ``G`` is the likelihood-ratio statistic of
the fitted map against the identity (2 degrees of freedom) over the design effect of
blocks of ``block`` consecutive forecast dates (outcomes over overlapping horizons are
not independent), as the training calibrator's evidence factor computes it. With no
outcome, one outcome class only or no evidence the map is the identity. Versions are
judged prequentially (``judge_live_calibration``): each forecast by the version in force
when it was made, whose fit could not see its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.metrics import N_BOOT, Interval, bootstrap_interval
from engine.modeling.calibration import (
    EVIDENCE_BAR,
    ProbabilityCalibrator,
    clip_probability,
    fit_curve,
    logit,
)
from engine.modeling.calibration_scores import (
    brier,
    expected_calibration_error,
    logarithmic_loss,
    reliability_curve,
)

# k in n / (n + k): about 25 sessions of a ten-name universe, five non-overlapping 5-session
# outcome windows. The first refit (25 outcomes, two or three sessions: one market week)
# earns at most 9% weight; a full window of 500 at most 67%: the map never swings on a week.
PRIOR_OUTCOMES = 250.0
MAX_INTERCEPT = 5.0  # |a| beyond this turns p = 0.5 into p' < 0.007 or > 0.993
MAX_SLOPE = 10.0  # 0 <= b: a live map never reverses the model's ordering
SCORED = ["as_of", "ticker", "p", "beat", "outcome_date"]
NO_INTERVAL = Interval(np.nan, np.nan, np.nan)
JUDGED = ["judged", "ece_raw", "ece_live", "brier_raw", "brier_live"]  # per version


@dataclass(frozen=True)
class LiveCalibrationConfig:
    """When and on what a live map is refitted.

    Attributes
    ----------
    window : int
        The newest scored forecasts a fit uses (rolling).
    refit_after : int
        New outcomes (dated after the last version's as-of date) needed before a refit:
        the seeds ask for one every 20 to 50 trades.
    prior_outcomes : float
        ``k`` of the shrinkage ``n / (n + k)`` toward the identity map.
    """

    window: int = 500
    refit_after: int = 25
    prior_outcomes: float = PRIOR_OUTCOMES

    def __post_init__(self) -> None:
        if self.window < 2 or self.refit_after < 1:
            raise ValueError("window must be at least 2 outcomes and refit_after at least 1")
        if not 0 <= self.prior_outcomes < np.inf:
            raise ValueError("prior_outcomes must be a finite number >= 0")


DEFAULT_CONFIG = LiveCalibrationConfig()


@dataclass(frozen=True)
class LiveCalibrationMap:
    """``p' = sigmoid(intercept + slope x logit p)``; the defaults are the identity."""

    intercept: float = 0.0
    slope: float = 1.0

    def __post_init__(self) -> None:
        if not abs(self.intercept) <= MAX_INTERCEPT:
            raise ValueError(
                f"live calibration intercept must lie within +-{MAX_INTERCEPT}, "
                f"got {self.intercept}"
            )
        if not 0.0 <= self.slope <= MAX_SLOPE:
            raise ValueError(
                f"live calibration slope must lie in [0, {MAX_SLOPE}], got {self.slope}"
            )

    @classmethod
    def from_params(cls, params: dict) -> LiveCalibrationMap:
        """The map of a stored version's parameters (ValueError naming a bad value)."""
        try:
            return cls(float(params["intercept"]), float(params["slope"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"live calibration parameters need intercept and slope: {exc}"
            ) from exc

    def apply(self, p: np.ndarray) -> np.ndarray:
        """``p'`` of probabilities ``p`` (shape (n,)); NaN stays NaN."""
        p = np.asarray(p, dtype=float)
        mapped = 1.0 / (1.0 + np.exp(-(self.intercept + self.slope * logit(p))))
        return np.where(np.isfinite(p), clip_probability(mapped), np.nan)


@dataclass(frozen=True)
class LiveCalibrationFit:
    """A map fitted at ``as_of`` (see ``fit_live_calibration``).

    Attributes
    ----------
    map : LiveCalibrationMap
        The shrunk map, the one applied.
    fitted : LiveCalibrationMap
        The Platt fit before shrinkage (the identity when nothing could be fitted).
    weight : float
        ``w``, the weight on ``fitted`` (the version's shrinkage).
    evidence, statistic : float
        The evidence factor ``max(0, 1 - EVIDENCE_BAR x 2 / G)`` and ``G``.
    outcomes : int
        Scored forecasts the fit used.
    first_outcome, last_outcome : Timestamp or None
        Their oldest and newest outcome dates.
    """

    map: LiveCalibrationMap
    fitted: LiveCalibrationMap
    weight: float
    evidence: float
    statistic: float
    outcomes: int
    first_outcome: pd.Timestamp | None
    last_outcome: pd.Timestamp | None

    def params(self, config: LiveCalibrationConfig, block: int) -> dict:
        """The version's parameters as plain JSON values."""
        return {
            "intercept": self.map.intercept,
            "slope": self.map.slope,
            "fitted_intercept": self.fitted.intercept,
            "fitted_slope": self.fitted.slope,
            "evidence": self.evidence,
            "statistic": self.statistic,
            "window": config.window,
            "prior_outcomes": config.prior_outcomes,
            "block": block,
        }


def known_outcomes(scored: pd.DataFrame, as_of: pd.Timestamp, window: int) -> pd.DataFrame:
    """The newest ``window`` scored forecasts whose outcome is known by ``as_of``.

    Parameters
    ----------
    scored : DataFrame of shape (n, >= 5)
        ``SCORED``: forecasts (``as_of`` the date made, ``p``) with their outcomes
        (``outcome_date``, ``beat``). Rows with ``outcome_date`` after ``as_of``, or
        without a finite ``p`` or ``beat``, are never used.
    as_of : Timestamp
    window : int

    Returns
    -------
    DataFrame of shape (<= window, 5), oldest outcome first.
    """
    rows = scored[
        (scored["outcome_date"] <= as_of) & np.isfinite(scored["p"]) & np.isfinite(scored["beat"])
    ]
    return rows.sort_values(["outcome_date", "as_of", "ticker"])[SCORED].tail(window)


def new_outcomes(scored: pd.DataFrame, since: pd.Timestamp | None, as_of: pd.Timestamp) -> int:
    """Usable outcomes dated after ``since`` (None: ever) and on or before ``as_of``."""
    rows = known_outcomes(scored, as_of, len(scored))
    return int(len(rows) if since is None else (rows["outcome_date"] > since).sum())


def fit_live_calibration(
    scored: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    block: int,
    config: LiveCalibrationConfig = DEFAULT_CONFIG,
) -> LiveCalibrationFit:
    """The live map at ``as_of``, from outcomes known by then only.

    Parameters
    ----------
    scored : DataFrame
        ``SCORED`` rows of one run (see ``known_outcomes``); outcomes after ``as_of`` are
        dropped before anything is fitted.
    as_of : Timestamp
    block : int
        Consecutive forecast dates whose outcomes overlap (the label horizon).
    config : LiveCalibrationConfig

    Returns
    -------
    LiveCalibrationFit
        A fitted slope below 0 is refitted at 0 (intercept only); fitted values beyond
        the bounds are clipped to them before shrinkage.
    """
    rows = known_outcomes(scored, pd.Timestamp(as_of), config.window)
    n = len(rows)
    dates = (rows["outcome_date"].min(), rows["outcome_date"].max()) if n else (None, None)
    identity = LiveCalibrationMap()
    y, p = rows["beat"].to_numpy(dtype=int), rows["p"].to_numpy(dtype=float)
    if n < 2 or len(np.unique(y)) < 2:
        return LiveCalibrationFit(identity, identity, 0.0, 0.0, 0.0, n, *dates)
    x = logit(p)[:, None]
    curve = fit_curve(x, y)
    intercept, slope = float(curve.intercept_[0]), float(curve.coef_[0, 0])
    if slope < 0:
        intercept, slope = float(logit(np.array([y.mean()]))[0]), 0.0
    fitted = LiveCalibrationMap(
        float(np.clip(intercept, -MAX_INTERCEPT, MAX_INTERCEPT)), min(slope, MAX_SLOPE)
    )
    fitted_p = fitted.apply(p)
    statistic = 2.0 * n * (logarithmic_loss(y, p) - logarithmic_loss(y, fitted_p))
    design = ProbabilityCalibrator(block_dates=block).design_effect(
        p, y - fitted_p, rows["as_of"].to_numpy()
    )
    statistic = max(statistic, 0.0) / design
    evidence = max(0.0, 1.0 - EVIDENCE_BAR * 2 / statistic) if statistic > 0 else 0.0
    weight = n / (n + config.prior_outcomes) * evidence
    shrunk = LiveCalibrationMap(weight * fitted.intercept, 1.0 + weight * (fitted.slope - 1.0))
    return LiveCalibrationFit(shrunk, fitted, weight, evidence, statistic, n, *dates)


@dataclass(frozen=True)
class LiveCalibrationJudgement:
    """The versions judged prequentially (see ``judge_live_calibration``).

    Attributes
    ----------
    versions : DataFrame of shape (v, 11)
        One row per version: ``version``, ``fitted_as_of``, ``outcomes`` (fitted on),
        ``shrinkage``, ``intercept``, ``slope``, ``judged`` (later outcomes judged),
        ``ece_raw``, ``ece_live``, ``brier_raw``, ``brier_live`` (NaN with none judged).
    judged, dates : int
        Outcomes judged, over this many forecast dates.
    brier_raw, brier_live, ece_raw, ece_live : Interval
        Brier and ECE of the recorded ``p`` and of ``p'``, resampling blocks of dates.
    brier_change, ece_change : Interval
        ``p'`` less ``p``, resampled together (below 0: recalibration helped).
    reliability_raw, reliability_live : DataFrame
        ``reliability_curve`` of ``p`` and of ``p'``.
    standing : str
        ``helps`` or ``hurts`` (the Brier change's interval excludes 0), ``unclear`` (it
        holds 0) or ``unjudged`` (no interval yet).
    verdict : str
        The same in words, with the figures.
    """

    versions: pd.DataFrame
    judged: int
    dates: int
    brier_raw: Interval
    brier_live: Interval
    ece_raw: Interval
    ece_live: Interval
    brier_change: Interval
    ece_change: Interval
    reliability_raw: pd.DataFrame
    reliability_live: pd.DataFrame
    standing: str
    verdict: str


def judge_live_calibration(
    versions: pd.DataFrame,
    scored: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    block: int,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> LiveCalibrationJudgement:
    """Each version judged only on outcomes that arrived after it was fitted.

    Parameters
    ----------
    versions : DataFrame of shape (v, >= 6)
        A run's versions fitted by ``as_of``: ``version``, ``fitted_as_of``, ``outcomes``,
        ``shrinkage``, ``intercept``, ``slope``.
    scored : DataFrame
        ``SCORED`` rows of the run; outcomes dated after ``as_of`` are dropped.
    as_of : Timestamp
    block : int
        Moving-block length, in dates, of every interval (the label horizon's).
    n_boot, seed : int
        Replicates and seed of every interval.

    Returns
    -------
    LiveCalibrationJudgement
        A forecast made at t is judged with the version in force at t (the newest fitted
        on or before t), whose fit saw outcomes dated <= t only while the forecast's
        outcome is dated after t; forecasts made before the first version are not judged.
    """
    as_of = pd.Timestamp(as_of)
    versions = versions.sort_values("fitted_as_of").reset_index(drop=True)
    rows = known_outcomes(scored, as_of, len(scored)).sort_values("as_of")
    maps = versions[["version", "fitted_as_of", "intercept", "slope"]]
    judged = pd.merge_asof(
        rows, maps, left_on="as_of", right_on="fitted_as_of", direction="backward"
    ).dropna(subset=["version"])
    judged["version"] = judged["version"].astype(int)
    judged["p_live"] = np.nan
    for _, version in maps.iterrows():
        own = judged["version"] == version["version"]
        mapping = LiveCalibrationMap(version["intercept"], version["slope"])
        judged.loc[own, "p_live"] = mapping.apply(judged.loc[own, "p"].to_numpy())
    y, p, q = (judged[c].to_numpy(dtype=float) for c in ("beat", "p", "p_live"))
    per_version = pd.DataFrame(
        {version: _scores(rows) for version, rows in judged.groupby("version")}, index=JUDGED
    ).T
    table = versions[["version", "fitted_as_of", "outcomes", "shrinkage", "intercept", "slope"]]
    table = table.merge(per_version, left_on="version", right_index=True, how="left")
    table["judged"] = table["judged"].fillna(0).astype(int)
    resample = {
        "groups": judged["as_of"].to_numpy(),
        "block": block,
        "n_boot": n_boot,
        "seed": seed,
    }
    figures = [NO_INTERVAL] * 6
    if len(judged):
        figures = [
            bootstrap_interval(statistic, *arrays, **resample)
            for statistic, arrays in (
                (brier, (y, p)),
                (brier, (y, q)),
                (expected_calibration_error, (y, p)),
                (expected_calibration_error, (y, q)),
                (_brier_change, (y, p, q)),
                (_ece_change, (y, p, q)),
            )
        ]
    standing, verdict = live_calibration_verdict(figures[4], len(judged))
    return LiveCalibrationJudgement(
        table[[*table.columns[:6], *JUDGED]],
        len(judged),
        int(judged["as_of"].nunique()),
        *figures,
        reliability_curve(y, p),
        reliability_curve(y, q),
        standing,
        verdict,
    )


def _scores(rows: pd.DataFrame) -> pd.Series:
    y, p, q = (rows[c].to_numpy(dtype=float) for c in ("beat", "p", "p_live"))
    ece = (expected_calibration_error(y, p), expected_calibration_error(y, q))
    return pd.Series([len(rows), *ece, brier(y, p), brier(y, q)], index=JUDGED)


def _brier_change(y: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    return brier(y, q) - brier(y, p)


def _ece_change(y: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    return expected_calibration_error(y, q) - expected_calibration_error(y, p)


def live_calibration_verdict(change: Interval, judged: int) -> tuple[str, str]:
    """Whether recalibration helped, from the interval of the Brier change (``p'`` less
    ``p``) over the ``judged`` outcomes: ``helps`` only when the whole interval lies
    below 0, ``hurts`` above, ``unclear`` when it holds 0, ``unjudged`` without one."""
    if not judged:
        return "unjudged", "no outcome has arrived since the first version was fitted"
    if not np.isfinite([change.low, change.high]).all():
        return "unjudged", f"too few dates to judge {judged} outcomes"
    figure = f"{change.estimate:+.5f} [{change.low:+.5f}, {change.high:+.5f}]"
    if change.high < 0:
        return "helps", f"recalibration lowered the Brier score by {figure} on later outcomes"
    if change.low > 0:
        return "hurts", f"recalibration raised the Brier score by {figure} on later outcomes"
    return "unclear", (
        f"recalibration does not measurably help: the Brier change on later outcomes, "
        f"{figure}, holds 0"
    )

"""Signal studies: what followed the sessions on which a stated condition held.

An analyst states a condition on the feature frame (``engine.studies.conditions``), e.g.
``ifi_score > 70 and rsi_14 < 30``. The study finds the events, the (date, ticker) rows
where it holds at t (from the features at t only, which use data <= t), and measures the
outcomes, which use closes after t:

- the forward excess return over h sessions, close t to close t+h, less the equal-weight
  mean of the same return over the universe (every ticker of ``prices`` with both closes)
  on that date; the unconditional baseline is its mean over every row with a value, 0 up
  to rounding by construction; after costs: less a round trip in bps per event;
- episodes: consecutive sessions of one ticker on which the condition holds; overlap: the
  share of an event's forward window that other events' windows of the ticker cover;
- intervals resample event dates: the events of a date are summed first, then arch's
  moving blocks of ``ic_block(h)`` event dates are drawn (``bootstrap_interval``). The
  consecutive days of an episode share most of their forward window, so neighbouring
  dates are dependent; a block at least as long as the horizon (``ic_block`` guarantees
  it) keeps each window's overlapping days together;
- the p-value is two-sided for "the event mean equals the baseline": a t statistic of the
  per-date series, whose variance is the larger of the flat-kernel (Hansen-Hodrick: the
  overlap of h-session returns) and the Bartlett (Newey-West) long-run variance over lags
  < ``ic_block(h)``, with Student t tails of one degree of freedom per block less one (the
  blocks are the independent units). A bootstrap p-value of ``N_BOOT`` replicates could
  not go below 1/300, too coarse for a multiple-testing correction;
- every (study, horizon) is a test: Holm's correction over ``trials`` x horizons tests.
  The verdict is "edge after costs" only when the adjusted p < alpha and the after-cost
  mean's interval lies above 0; "no evidence" otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from arch.bootstrap import MovingBlockBootstrap
from scipy import stats

from engine.features.panel import Array, WidePanel, to_wide
from engine.features.regime import REGIME_NAMES
from engine.metrics import N_BOOT, Interval, bootstrap_interval, ic_block, wilson_interval
from engine.studies.conditions import Condition, parse_condition, require_columns
from engine.trading.execution import CostModel

# The execution model's default round trip: half the bid-ask spread paid in and out.
ROUND_TRIP_BPS = 2 * CostModel.half_spread_bps
IFI_SCORE_SPAN = 0.3  # seed 000: a raw IFI of +0.3 scores 100, -0.3 scores 0
QUANTILES = (5, 25, 50, 75, 95)
VERDICTS = ("edge after costs", "no evidence")
ROUNDING = 1e-12  # a standard error below it is rounding: whole cross-sections, no evidence


def ifi_score(ifi: Array) -> Array:
    """Seed 000's IFI score, 0-100, of the raw ``ifi_20``: ``clip((ifi / 0.3 + 1) * 50,
    0, 100)``; 50 is no net large-volume flow, "> 70" is a raw IFI above 0.12. NaN stays
    NaN."""
    return np.clip((np.asarray(ifi, dtype=float) / IFI_SCORE_SPAN + 1.0) * 50.0, 0.0, 100.0)


def regime_names(regime_id: Array) -> Array:
    """The ``REGIME_NAMES`` label of each ``regime_id`` (object array; None where NaN)."""
    ids = np.asarray(regime_id, dtype=float)
    return np.array([REGIME_NAMES[int(i)] if np.isfinite(i) else None for i in ids], object)


# Columns a condition may use besides the frame's: name -> (source column, function).
DERIVED_COLUMNS = {"ifi_score": ("ifi_20", ifi_score), "regime_name": ("regime_id", regime_names)}


@dataclass(frozen=True)
class SignalStudyParams:
    """Parameters of a signal study.

    horizons : forward sessions h of the outcomes (close t to close t+h).
    cost_bps : round-trip cost per event in basis points, above 0 (default: twice the
        execution model's half-spread).
    trials : studies run so far, this one included; with the horizons, Holm's family.
    earlier_p_values : the p-values of earlier studies' horizons, where known; the
        others count as 1 (then the adjusted p is an upper bound of Holm's).
    alpha : the adjusted p below which a study can say "edge after costs".
    path_sessions : the average path runs from this many sessions before to after t.
    n_boot, seed : bootstrap replicates and arch's seed.
    """

    horizons: tuple[int, ...] = (1, 5, 20)
    cost_bps: float = ROUND_TRIP_BPS
    trials: int = 1
    earlier_p_values: tuple[float, ...] = ()
    alpha: float = 0.05
    path_sessions: int = 20
    n_boot: int = N_BOOT
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.horizons or any(int(h) != h or h < 1 for h in self.horizons):
            raise ValueError(f"horizons must be whole sessions >= 1, got {self.horizons}")
        if not self.cost_bps > 0:
            raise ValueError(f"a study needs a cost above 0 bps, got {self.cost_bps}")
        if self.trials < 1 or not 0 < self.alpha < 1 or self.path_sessions < 1:
            raise ValueError("trials and path_sessions must be >= 1 and alpha in (0, 1)")
        if len(self.earlier_p_values) > (self.trials - 1) * len(self.horizons):
            raise ValueError("more earlier p-values than earlier tests: raise trials")


@dataclass(frozen=True)
class SignalHorizon:
    """The figures of one horizon; returns are excess returns, fractions (0.01 = 1%).

    n_events, n_episodes, n_dates : events with a defined outcome, their episodes and
        dates.
    overlap : mean share of an event's forward window covered by other events' windows.
    mean : the event mean before costs, interval over event dates.
    after_costs : ``mean`` less the round trip.
    baseline, difference : the mean over every row with a value; ``mean`` less it.
    hit_rate : share of events above 0 after costs; Wilson interval with the episodes as
        the trials (an episode's events share their outcome's days).
    quantiles : percent -> quantile of the events' after-cost returns.
    p_value, adjusted_p : two-sided p of ``difference``; Holm-adjusted. NaN under two
        blocks of event dates.
    verdict : one of ``VERDICTS``.
    """

    horizon: int
    n_events: int
    n_episodes: int
    n_dates: int
    overlap: float
    mean: Interval
    after_costs: Interval
    baseline: float
    difference: float
    hit_rate: Interval
    quantiles: dict[int, float]
    p_value: float
    adjusted_p: float
    verdict: str


@dataclass(frozen=True)
class SignalStudyResult:
    """A signal study.

    condition : the condition, as text that parses back to it.
    horizons : one ``SignalHorizon`` per horizon, in order.
    path : index ``offset`` (-path_sessions..+path_sessions); columns ``mean`` (mean
        cumulative excess return from close t, before costs), ``low``, ``high`` (its
        interval) and ``n_events`` (events with a value at that offset).
    events : one row per event on the price grid: ``ticker``, ``date``, ``episode`` (an
        id) and ``excess_<h>`` (before costs; NaN where the outcome is unknown).
    tests : Holm's family, ``trials`` x the number of horizons.
    cost_bps : the round trip subtracted.
    """

    condition: str
    horizons: tuple[SignalHorizon, ...]
    path: pd.DataFrame
    events: pd.DataFrame
    tests: int
    cost_bps: float


def holm_adjust(p_values: Sequence[float], n_tests: int | None = None) -> Array:
    """Holm's step-down adjusted p-values.

    Parameters
    ----------
    p_values : sequence of float, length k
        NaN (an undefined test) ranks as 1 and stays NaN.
    n_tests : int, optional
        The family's size m >= k; the m - k tests not given count as p = 1, so each
        value is an upper bound of Holm's (``min(1, m * p)`` for k = 1). Default k.

    Returns
    -------
    ndarray of shape (k,)
        ``max_{j <= i} min(1, (m - j + 1) p_(j))`` for the i-th smallest p.
    """
    p = np.asarray(p_values, dtype=float)
    m = len(p) if n_tests is None else int(n_tests)
    if m < len(p):
        raise ValueError(f"{len(p)} p-values in a family of {m} tests")
    order = np.argsort(np.where(np.isnan(p), 1.0, p), kind="stable")
    steps = np.where(np.isnan(p[order]), 1.0, p[order]) * (m - np.arange(len(p)))
    adjusted = np.empty(len(p))
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    return np.where(np.isnan(p), np.nan, adjusted)


def signal_verdict(adjusted_p: float, after_costs: Interval, alpha: float = 0.05) -> str:
    """The verdict: "edge after costs" when ``adjusted_p < alpha`` and the whole after-cost
    interval lies above 0, "no evidence" otherwise (a NaN p included)."""
    return VERDICTS[0] if adjusted_p < alpha and after_costs.above(0.0) else VERDICTS[1]


def _keys(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Ticker and date of each row, from columns or from a (ticker, date) index."""
    if {"ticker", "date"} <= set(features.columns):
        return features["ticker"].to_numpy(), features["date"].to_numpy()
    index = features.index
    return index.get_level_values("ticker").to_numpy(), index.get_level_values("date").to_numpy()


def _condition_mask(features: pd.DataFrame, condition: str | Condition) -> tuple[Condition, Array]:
    """The parsed condition and where it holds, shape (rows,)."""
    known = set(features.columns) | {
        name for name, (source, _) in DERIVED_COLUMNS.items() if source in features.columns
    }
    if isinstance(condition, str):
        condition = parse_condition(condition, known)
    require_columns(condition, known)
    values = {}
    for name in condition.columns():
        if name in features.columns:
            values[name] = features[name].to_numpy()
        else:
            source, derive = DERIVED_COLUMNS[name]
            values[name] = derive(features[source].to_numpy(dtype=float, na_value=np.nan))
    return condition, np.asarray(condition.mask(values), dtype=bool)


def _excess_move(close: Array, offset: int) -> Array:
    """(T, N): ``close[t + offset] / close[t] - 1`` less its equal-weight mean over the
    tickers where it is defined on row t; NaN where a close is missing or off the panel."""
    moved = np.full_like(close, np.nan)
    rows = len(close)
    if offset >= 0:
        moved[: max(rows - offset, 0)] = close[offset:]
    else:
        moved[-offset:] = close[: rows + offset]
    with np.errstate(invalid="ignore", divide="ignore"):
        move = moved / close - 1.0
        known = np.isfinite(move)
        mean = np.where(known, move, 0.0).sum(axis=1) / known.sum(axis=1)
    return move - mean[:, None]


def _overlap(events: Array, horizon: int) -> Array:
    """(T, N): for an event at t, the share of sessions t+1..t+h that another event's
    window of the ticker also covers (NaN where the window runs off the panel)."""
    rows = len(events)
    before = np.vstack([np.zeros((1, events.shape[1])), np.cumsum(events, axis=0)])
    session = np.arange(rows)
    covering = before[session] - before[np.maximum(session - horizon, 0)]  # windows over s
    shared = np.vstack([np.zeros((1, events.shape[1])), np.cumsum(covering >= 2, axis=0)])
    out = np.full(events.shape, np.nan)
    if rows > horizon:
        out[: rows - horizon] = (shared[horizon + 1 :] - shared[1 : rows - horizon + 1]) / horizon
    return out


def _p_value(sums: Array, counts: Array, centre: float, block: int) -> float:
    """Two-sided p of "the event mean is ``centre``" from per-date sums and counts (date
    order), long-run variance over lags < ``block``; NaN under two blocks."""
    n, blocks = len(sums), len(sums) // block
    if blocks < 2:
        return np.nan
    estimate = sums.sum() / counts.sum()
    u = sums - estimate * counts
    gamma = np.array([u[k:] @ u[: n - k] for k in range(block)])
    weights = 1.0 - np.arange(1, block) / block
    variance = max(gamma[0] + 2 * gamma[1:].sum(), gamma[0] + 2 * weights @ gamma[1:])
    error = np.sqrt(variance) / counts.sum()
    if not error > ROUNDING:
        return 1.0
    return float(2.0 * stats.t.sf(abs(estimate - centre) / error, blocks - 1))


def _horizon(
    events: Array, episodes: Array, excess: Array, horizon: int, params: SignalStudyParams
) -> dict:
    """The figures of one horizon, but the adjusted p and the verdict."""
    cost = params.cost_bps / 1e4
    valid = events & np.isfinite(excess)
    values = excess[valid]
    on_date = valid.sum(axis=1)
    dated = on_date > 0
    baseline = float(np.nanmean(excess)) if np.isfinite(excess).any() else np.nan
    n_episodes = len(np.unique(episodes[valid]))
    figures = {"horizon": horizon, "n_events": len(values), "n_episodes": n_episodes}
    figures |= {"n_dates": int(dated.sum()), "baseline": baseline}
    if not len(values):
        nan = Interval(np.nan, np.nan, np.nan)
        return (
            figures
            | dict.fromkeys(("overlap", "difference", "p_value"), np.nan)
            | dict.fromkeys(("mean", "after_costs", "hit_rate"), nan)
            | {"quantiles": dict.fromkeys(QUANTILES, np.nan)}
        )
    sums, counts = np.where(valid, excess, 0.0).sum(axis=1)[dated], on_date[dated]
    resample = {"block": ic_block(horizon), "n_boot": params.n_boot, "seed": params.seed}
    mean = bootstrap_interval(lambda s, c: s.sum() / c.sum(), sums, counts, **resample)
    after = values - cost
    return figures | {
        "overlap": float(np.mean(_overlap(events, horizon)[valid])),
        "mean": mean,
        "after_costs": Interval(mean.estimate - cost, mean.low - cost, mean.high - cost),
        "difference": mean.estimate - baseline,
        "hit_rate": wilson_interval(np.mean(after > 0) * n_episodes, n_episodes),
        "quantiles": dict(zip(QUANTILES, np.percentile(after, QUANTILES).tolist(), strict=True)),
        "p_value": _p_value(sums, counts, baseline, resample["block"]),
    }


def _path(close: Array, events: Array, params: SignalStudyParams) -> pd.DataFrame:
    """Mean cumulative excess return from close t at each offset, with a 95% band from
    arch's moving blocks of ``ic_block(path_sessions)`` event dates (every offset from the
    same draws: one ``bootstrap_interval`` per offset would cost 41 resamplings)."""
    offsets = np.arange(-params.path_sessions, params.path_sessions + 1)
    dated = events.any(axis=1)
    sums, counts = np.zeros((dated.sum(), len(offsets))), np.zeros((dated.sum(), len(offsets)))
    for j, offset in enumerate(offsets):
        move = _excess_move(close, int(offset))
        valid = events & np.isfinite(move)
        sums[:, j] = np.where(valid, move, 0.0).sum(axis=1)[dated]
        counts[:, j] = valid.sum(axis=1)[dated]
    total = counts.sum(axis=0)
    low, high = np.full((2, len(offsets)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums.sum(axis=0) / total
        if len(sums):
            block = max(1, min(ic_block(params.path_sessions), len(sums)))
            resampler = MovingBlockBootstrap(block, sums, counts, seed=params.seed)
            draws = resampler.apply(lambda s, c: s.sum(axis=0) / c.sum(axis=0), params.n_boot)
            drawn = np.isfinite(draws).any(axis=0)  # an offset no event reaches stays NaN
            low[drawn], high[drawn] = np.nanpercentile(draws[:, drawn], [2.5, 97.5], axis=0)
    return pd.DataFrame(
        {"mean": mean, "low": low, "high": high, "n_events": total.astype(int)},
        index=pd.Index(offsets, name="offset"),
    )


def compute_signal_study(
    features: pd.DataFrame,
    prices: pd.DataFrame | WidePanel,
    condition: str | Condition,
    params: SignalStudyParams | None = None,
) -> SignalStudyResult:
    """Events of ``condition``, their forward excess returns after costs, and a verdict.

    Parameters
    ----------
    features : pd.DataFrame, shape (rows, columns)
        The feature frame by (ticker, date), as ``compute_features`` returns it (or with
        ticker and date columns). The condition reads row (ticker, t) only: rows <= t.
        ``ifi_score`` and ``regime_name`` are derived from ``ifi_20`` and ``regime_id``.
    prices : pd.DataFrame or WidePanel
        Normalized long prices (``PRICE_COLUMNS``) or their wide panel, shape (T, N):
        the outcomes (closes after t) and the universe, every ticker in it; leave index
        and ETF rows out. An event off its session grid has no outcome.
    condition : str or Condition
        Text for ``parse_condition`` (columns checked against the frame) or a parsed one.
    params : SignalStudyParams, optional

    Returns
    -------
    SignalStudyResult
    """
    params = params or SignalStudyParams()
    condition, holds = _condition_mask(features, condition)
    panel = prices if isinstance(prices, WidePanel) else to_wide(prices)
    tickers, dates = (keys[holds] for keys in _keys(features))
    rows = panel.dates.get_indexer(pd.DatetimeIndex(dates))
    cols = pd.Index(panel.tickers).get_indexer(tickers)
    on_grid = (rows >= 0) & (cols >= 0)
    events = np.zeros(panel.close.shape, dtype=bool)
    events[rows[on_grid], cols[on_grid]] = True
    starts = events & ~np.vstack([np.zeros((1, events.shape[1]), bool), events[:-1]])
    episodes = np.cumsum(starts.T).reshape(starts.T.shape).T - 1  # ids ticker by ticker
    at, of = np.nonzero(events)
    table = {
        "ticker": np.asarray(panel.tickers, dtype=object)[of],
        "date": panel.dates[at],
        "episode": episodes[at, of],
    }
    figures, p_values = [], []
    for horizon in params.horizons:
        excess = _excess_move(panel.close, horizon)
        found = _horizon(events, episodes, excess, horizon, params)
        figures.append(found)
        p_values.append(found["p_value"])
        table[f"excess_{horizon}"] = excess[at, of]
    tests = params.trials * len(params.horizons)
    adjusted = holm_adjust([*params.earlier_p_values, *p_values], tests)[-len(p_values) :]
    horizons = tuple(
        SignalHorizon(
            **found,
            adjusted_p=float(p),
            verdict=signal_verdict(p, found["after_costs"], params.alpha),
        )
        for found, p in zip(figures, adjusted, strict=True)
    )
    return SignalStudyResult(
        condition=str(condition),
        horizons=horizons,
        path=_path(panel.close, events, params),
        events=pd.DataFrame(table).sort_values(["ticker", "date"], ignore_index=True),
        tests=tests,
        cost_bps=params.cost_bps,
    )

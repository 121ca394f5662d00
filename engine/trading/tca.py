"""Transaction-cost analysis: each fill's realized cost against the execution model's
estimate, summaries with intervals, the cost model re-estimated from fills, and the
slippage guardrail's rule. Pure functions; the store work is in
``engine.workflows.trading.tca``.

Prices per fill (implementation shortfall, Perold's split):

- decision price: the close of the session the target was decided at (a stop or a
  take-profit, decided by no close: the close of the session before its fill);
- arrival price: the fill session's open (its close on a bar without an open, as the
  execution model trades it). A journal order is decided after a close and queued for the
  next open, so the open is the first price it could trade at;
- fill price: as booked (paper) or the broker's average fill price.

Costs are in bps of the decision notional ``|shares| x decision price``, signed so that a
cost is positive for buys and sells: delay (decision -> arrival, the market's move while
the order waited), execution (arrival -> fill: spread, impact, and any slippage beyond
them) and commission add up to the shortfall exactly. The estimate is what the execution
model charges the same trade on the same session (``engine.trading.execution.fill_costs``,
its kernel's own fill), in the same units. Summaries, the re-estimation and the slippage
rule use rebalance fills only: a stop or a take-profit fills at its level, not at the
arrival price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.features.panel import WidePanel
from engine.metrics import N_BOOT, Interval, bootstrap_interval
from engine.trading.execution import CostInputs, CostModel, fill_costs

FILL_INPUT_COLUMNS = (
    "fill_id", "date", "decided", "ticker", "reason", "shares", "fill_price", "commission",
)  # fmt: skip
TCA_COLUMNS = (
    "fill_id", "date", "decided", "ticker", "reason", "side", "shares", "size_bucket",
    "participation", "impact_regressor", "decision_price", "arrival_price", "fill_price",
    "delay_bps", "execution_bps", "commission_bps", "shortfall_bps",
    "estimated_execution_bps", "estimated_commission_bps", "excess_bps",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "group", "fills", "execution_bps", "execution_low", "execution_high",
    "estimated_execution_bps", "excess_bps", "excess_low", "excess_high", "delay_bps",
    "commission_bps", "estimated_commission_bps",
)  # fmt: skip
MEAN_COLUMNS = (
    "estimated_execution_bps",
    "delay_bps",
    "commission_bps",
    "estimated_commission_bps",
)
SIZE_BUCKETS = ((0.001, "< 0.1% of ADV"), (0.01, "0.1-1% of ADV"), (np.inf, ">= 1% of ADV"))
UNKNOWN_VOLUME = "volume unknown"
MIN_REESTIMATE_FILLS = 30  # rebalance fills with a measured impact regressor
MIN_CHECK_FILLS = 20  # rebalance fills before the slippage rule may trip
DEFAULT_TOLERANCE_BPS = 5.0
BPS = 1e4


def size_buckets(participation: np.ndarray) -> np.ndarray:
    """The size bucket of each trade by its share of the 20-day average volume (NaN:
    ``UNKNOWN_VOLUME``)."""
    participation = np.asarray(participation, dtype=float)
    labels = np.full(participation.shape, UNKNOWN_VOLUME, dtype=object)
    lower = 0.0
    for upper, label in SIZE_BUCKETS:
        labels[(participation >= lower) & (participation < upper)] = label
        lower = upper
    return labels


def compute_fill_tca(
    fills: pd.DataFrame,
    panel: WidePanel,
    costs: CostModel,
    inputs: CostInputs,
) -> pd.DataFrame:
    """Each fill's realized cost, split, against the execution model's estimate.

    Parameters
    ----------
    fills : DataFrame, ``FILL_INPUT_COLUMNS``
        One row per fill: ``date`` its session, ``decided`` the session its target was
        decided at (NaT: the session before the fill), signed ``shares``, ``fill_price``
        as traded, ``commission`` in money (NaN: unknown).
    panel : WidePanel, shape (T, N)
        Prices up to the newest fill's session at most; rows before the first fill feed
        the cost inputs.
    costs : CostModel
        The cost model whose estimate each fill is compared with.
    inputs : CostInputs
        ``cost_inputs(panel, costs, ...)``: the inputs the execution model used.

    Returns
    -------
    DataFrame, ``TCA_COLUMNS``, one row per fill in ``fills``' order
        Prices NaN (and the figures from them) where the panel has no bar for them.
    """
    rows = panel.dates.get_indexer(pd.DatetimeIndex(fills["date"]))
    columns = pd.Index(panel.tickers).get_indexer(fills["ticker"].astype(str))
    decided = pd.DatetimeIndex(fills["decided"])
    decision_rows = np.where(decided.isna(), rows - 1, panel.dates.get_indexer(decided))
    before = panel.dates[np.clip(rows - 1, 0, None)].where(rows >= 1)
    known = (rows >= 0) & (columns >= 0)
    shares = fills["shares"].to_numpy(float)
    side = np.sign(shares)

    def at(values: np.ndarray, at_rows: np.ndarray) -> np.ndarray:
        ok = known & (at_rows >= 0)
        out = np.full(len(fills), np.nan)
        out[ok] = values[at_rows[ok], columns[ok]]
        return out

    opens = np.where(np.isfinite(panel.open), panel.open, panel.close)
    decision, arrival = at(panel.close, decision_rows), at(opens, rows)
    adv, daily_vol = at(inputs.adv, rows), at(inputs.daily_vol, rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        participation = np.where(adv > 0, np.abs(shares) / adv, np.nan)
    trades = np.column_stack([np.maximum(rows, 0), np.maximum(columns, 0), shares, arrival])
    trades[~known, 2] = np.nan
    estimate = fill_costs(inputs, costs, trades)  # commission, spread, impact (money)
    fill = fills["fill_price"].to_numpy(float)
    notional = np.abs(shares) * decision
    with np.errstate(divide="ignore", invalid="ignore"):
        delay = side * (arrival - decision) / decision * BPS
        execution = side * (fill - arrival) / decision * BPS
        commission = fills["commission"].to_numpy(float) / notional * BPS
        estimated_execution = (estimate[:, 1] + estimate[:, 2]) / notional * BPS
    return pd.DataFrame(
        {
            "fill_id": fills["fill_id"].to_numpy(),
            "date": pd.DatetimeIndex(fills["date"]),
            "decided": decided.where(decided.notna(), before),
            "ticker": fills["ticker"].astype(str).to_numpy(),
            "reason": fills["reason"].astype(str).to_numpy(),
            "side": np.where(side > 0, "buy", "sell"),
            "shares": shares,
            "size_bucket": size_buckets(participation),
            "participation": participation,
            "impact_regressor": daily_vol * np.sqrt(participation),
            "decision_price": decision,
            "arrival_price": arrival,
            "fill_price": fill,
            "delay_bps": delay,
            "execution_bps": execution,
            "commission_bps": commission,
            "shortfall_bps": delay + execution,
            "estimated_execution_bps": estimated_execution,
            "estimated_commission_bps": estimate[:, 0] / notional * BPS,
            "excess_bps": execution - estimated_execution,
        },
        columns=list(TCA_COLUMNS),
    )


def comparable(tca: pd.DataFrame) -> pd.DataFrame:
    """The rebalance fills with a realized and an estimated execution cost."""
    costs = tca[["execution_bps", "estimated_execution_bps", "impact_regressor"]].astype(float)
    known = np.isfinite(costs[["execution_bps", "estimated_execution_bps"]]).all(axis=1)
    return tca[(tca["reason"] == "rebalance") & known].assign(**costs[known])


def _mean_interval(values: np.ndarray, dates: np.ndarray, n_boot: int, seed: int) -> Interval:
    """Mean of ``values`` with a bootstrap interval resampling whole fill dates, iid (fills
    of one session share its market; sessions are taken as independent, as fills are few
    and far between for blocks of them); NaN bounds with fewer than two dates."""
    if len(np.unique(dates)) < 2:
        return Interval(float(np.mean(values)), np.nan, np.nan)
    return bootstrap_interval(np.mean, values, groups=dates, n_boot=n_boot, seed=seed)


def summarize_tca(tca: pd.DataFrame, *, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """Mean realized against estimated execution cost (bps) with intervals: all rebalance
    fills, by side and by size bucket (``SUMMARY_COLUMNS``; no row for a group without
    fills)."""
    fills = comparable(tca)
    buckets = [label for _, label in SIZE_BUCKETS] + [UNKNOWN_VOLUME]
    groups = [("all fills", fills), *fills.groupby("side")]
    groups += [(b, fills[fills["size_bucket"] == b]) for b in buckets]
    rows = []
    for name, part in groups:
        if part.empty:
            continue
        dates = part["date"].to_numpy()
        realized = _mean_interval(part["execution_bps"].to_numpy(), dates, n_boot, seed)
        excess = _mean_interval(part["excess_bps"].to_numpy(), dates, n_boot, seed)
        means = part[list(MEAN_COLUMNS)].astype(float).mean()
        rows.append(
            {
                "group": name,
                "fills": len(part),
                "execution_bps": realized.estimate,
                "execution_low": realized.low,
                "execution_high": realized.high,
                "excess_bps": excess.estimate,
                "excess_low": excess.low,
                "excess_high": excess.high,
                **means,
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


@dataclass(frozen=True)
class CostReestimate:
    """The cost model's half-spread (bps) and impact coefficient as realized fills say,
    beside those in force; never applied to the cost model.

    ``fills``: rebalance fills with a measured impact regressor; ``needed``: how many more
    the fit needs (0: fitted). The intervals are None until then.
    """

    fills: int
    needed: int
    in_force: CostModel
    half_spread_bps: Interval | None = None
    impact_coefficient: Interval | None = None
    message: str = ""

    def table(self) -> pd.DataFrame:
        """Parameter, in force, re-estimated with its interval (NaN before the fit)."""
        rows = []
        for name, fitted in (
            ("half_spread_bps", self.half_spread_bps),
            ("impact_coefficient", self.impact_coefficient),
        ):
            fit = fitted or Interval(np.nan, np.nan, np.nan)
            rows.append((name, getattr(self.in_force, name), fit.estimate, fit.low, fit.high))
        return pd.DataFrame(rows, columns=["parameter", "in_force", "estimate", "low", "high"])


def _least_squares(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(intercept, slope) of ``y`` on ``x``; ValueError when ``x`` does not vary."""
    if np.ptp(x) == 0:
        raise ValueError("the impact regressor does not vary")
    design = np.column_stack([np.ones_like(x), x])
    return np.linalg.lstsq(design, y, rcond=None)[0]


def reestimate_costs(
    tca: pd.DataFrame,
    in_force: CostModel,
    *,
    min_fills: int = MIN_REESTIMATE_FILLS,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> CostReestimate:
    """Half-spread and impact coefficient by least squares of the realized execution cost
    on the impact regressor, with bootstrap intervals over fill dates.

    The model is the execution model's: a fill costs ``half_spread + coefficient x daily
    vol x sqrt(shares / ADV)`` of the arrival price, so the intercept of the arrival-based
    cost (bps) on ``vol x sqrt(q / ADV)`` x 1e4 is the half-spread in bps and the slope the
    coefficient. Fills without a measured volume are left out (they pay the fallback).
    """
    fills = comparable(tca)
    fills = fills[np.isfinite(fills["impact_regressor"]) & (fills["arrival_price"] > 0)]
    n = len(fills)
    if n < min_fills:
        more = min_fills - n
        message = f"{n} fill(s) with a measured volume: {more} more needed to re-estimate."
        return CostReestimate(n, more, in_force, message=message)
    side = np.where(fills["side"] == "buy", 1.0, -1.0)
    y = side * (fills["fill_price"] / fills["arrival_price"] - 1.0).to_numpy() * BPS
    x = fills["impact_regressor"].to_numpy() * BPS
    dates = fills["date"].to_numpy()
    try:
        _least_squares(y, x)
    except ValueError as exc:
        return CostReestimate(n, 0, in_force, message=f"No fit: {exc} across the fills.")
    fits = [
        bootstrap_interval(
            lambda y, x, k=k: _least_squares(y, x)[k], y, x, groups=dates, n_boot=n_boot, seed=seed
        )
        for k in (0, 1)  # the intercept (half-spread, bps), the slope (coefficient)
    ]
    message = f"Fitted on {n} fills over {len(np.unique(dates))} sessions."
    return CostReestimate(n, 0, in_force, fits[0], fits[1], message)


def slippage_reason(
    tca: pd.DataFrame,
    tolerance_bps: float = DEFAULT_TOLERANCE_BPS,
    *,
    min_fills: int = MIN_CHECK_FILLS,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> str | None:
    """The slippage guardrail's rule: a reason when the fills' realized execution cost
    exceeds the cost model's estimate by more than ``tolerance_bps``, with the interval of
    the mean excess wholly above the tolerance; None otherwise or with fewer than
    ``min_fills`` comparable fills. The caller passes only fills dated <= its as-of date.
    """
    if not np.isfinite(tolerance_bps) or tolerance_bps < 0:
        raise ValueError(f"tolerance_bps must be a number >= 0, not {tolerance_bps}")
    fills = comparable(tca)
    if len(fills) < min_fills:
        return None
    excess = _mean_interval(fills["excess_bps"].to_numpy(), fills["date"].to_numpy(), n_boot, seed)
    if not excess.above(tolerance_bps):
        return None
    realized, estimated = fills["execution_bps"].mean(), fills["estimated_execution_bps"].mean()
    return (
        f"realized slippage: execution cost {realized:.1f} bps against the cost model's "
        f"{estimated:.1f} bps over {len(fills)} fills; the excess {excess.estimate:+.1f} bps "
        f"(95% interval {excess.low:+.1f} to {excess.high:+.1f}) is wholly above the "
        f"{tolerance_bps:g} bps tolerance"
    )

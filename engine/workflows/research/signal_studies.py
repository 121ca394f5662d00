"""Signal studies through the store: the condition read on the snapshot's features as of a
date, every study counted (Holm's family over all saved studies, and a trial for the
Deflated Sharpe), saved and reloadable."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from engine.studies.signals import SignalStudyParams, SignalStudyResult, compute_signal_study
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.research.studies import load_studies, load_study, save_study

SIGNAL_KIND = "signal"


def horizon_table(result: SignalStudyResult) -> pd.DataFrame:
    """One row per horizon: counts, means with intervals (fractions), hit rate, p-values
    and the verdict (what the page shows and the store keeps)."""
    rows = []
    for h in result.horizons:
        rows.append(
            {
                "horizon": h.horizon,
                "events": h.n_events,
                "episodes": h.n_episodes,
                "dates": h.n_dates,
                "overlap": h.overlap,
                "mean": h.mean.estimate,
                "after_costs": h.after_costs.estimate,
                "after_costs_low": h.after_costs.low,
                "after_costs_high": h.after_costs.high,
                "baseline": h.baseline,
                "hit_rate": h.hit_rate.estimate,
                "hit_rate_low": h.hit_rate.low,
                "hit_rate_high": h.hit_rate.high,
                **{f"q{q}": v for q, v in h.quantiles.items()},
                "p_value": h.p_value,
                "adjusted_p": h.adjusted_p,
                "verdict": h.verdict,
            }
        )
    return pd.DataFrame(rows)


def _earlier_p_values(db_path: DbPath) -> tuple[int, tuple[float, ...]]:
    """How many signal studies were saved, and every horizon's raw p-value of theirs."""
    saved = load_studies(db_path, SIGNAL_KIND)
    p_values: list[float] = []
    for study_id in saved["id"]:
        _, table, _ = load_study(db_path, SIGNAL_KIND, int(study_id))
        p_values += [float(p) for p in table.get("p_value", []) if p is not None]
    return len(saved), tuple(p for p in p_values if np.isfinite(p))


def run_signal_study(
    db_path: DbPath,
    tickers: list[str],
    condition: str,
    *,
    as_of: pd.Timestamp | None = None,
    params: SignalStudyParams | None = None,
) -> tuple[int, SignalStudyResult]:
    """Study ``condition`` (``engine.studies.conditions``; a ``ConditionError`` names
    what is wrong) on ``tickers`` with the store as of ``as_of``: features at t, outcomes
    from closes after t up to ``as_of`` only. The study joins Holm's family of every saved
    signal study (their horizons' p-values), counts as a trial for the Deflated Sharpe (its
    one-session after-cost excess by event date) and is saved; its id and result."""
    params = params or SignalStudyParams()
    snapshot = build_snapshot(db_path, tickers, as_of)
    prices = snapshot.prices[snapshot.prices["ticker"].isin(tickers)]
    studies, earlier = _earlier_p_values(db_path)
    counted = dataclasses.replace(params, trials=studies + 1, earlier_p_values=earlier)
    result = compute_signal_study(snapshot.features, prices, condition, counted)
    first = f"excess_{params.horizons[0]}"
    daily = result.events.groupby("date")[first].mean().dropna() - params.cost_bps / 1e4
    settings = {
        "condition": result.condition,
        "tickers": list(tickers),
        "as_of": None if as_of is None else pd.Timestamp(as_of).date().isoformat(),
        "cost_bps": params.cost_bps,
        "horizons": list(params.horizons),
        "tests": result.tests,
    }
    study_id = save_study(
        db_path,
        SIGNAL_KIND,
        settings,
        horizon_table(result),
        result.path.reset_index(),
        returns={f"signal study: {result.condition}": daily},
    )
    return study_id, result

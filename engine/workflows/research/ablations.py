"""The ablation study through the store: data, the study, trials, saved results."""

from __future__ import annotations

import pandas as pd

from engine.features.panel import to_wide
from engine.studies.ablation import AblationConfig, AblationResult, run_ablation
from engine.workflows.data.prices import DbPath
from engine.workflows.research.studies import save_study, study_rows, study_settings


def run_ablation_study(
    db_path: DbPath,
    tickers: list[str],
    config: AblationConfig | None = None,
    *,
    start: pd.Timestamp | None = None,
    membership: pd.DataFrame | None = None,
    progress=None,
) -> tuple[int, AblationResult]:
    """Run the study on stored data, count every variant as a trial, save the tables.

    With ``membership`` (``load_membership``) the study loads the tickers that were members
    on some date from ``start`` on; a ticker's rows count on its member dates only and each
    date's labels rank that date's members (None: every ticker on every date).
    The "+ position sizing" variant sizes with a neutral win/loss ratio of 1: measuring
    the ratio on the same rows would let test outcomes into the sizing.
    """
    config = config or AblationConfig()
    tickers, data, prices = study_rows(db_path, tickers, start=start, membership=membership)
    result = run_ablation(data, to_wide(prices), config, progress=progress)
    settings = study_settings(config, tickers, start, membership)
    study_id = save_study(
        db_path, "ablation", settings, result.table, result.steps, returns=result.returns
    )
    return study_id, result

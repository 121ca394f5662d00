"""The model zoo through the store: the rows, every learner, trials, saved results."""

from __future__ import annotations

import pandas as pd

from engine.features.panel import to_wide
from engine.modeling.labels import LabelParams
from engine.modeling.learners import learner_families
from engine.studies.zoo import ZooConfig, ZooResult, run_zoo
from engine.workflows.data.prices import DbPath
from engine.workflows.modeling.tracking import track_zoo_study
from engine.workflows.research.studies import save_study, study_rows, study_settings


def run_zoo_study(
    db_path: DbPath,
    tickers: list[str],
    config: ZooConfig | None = None,
    *,
    start: pd.Timestamp | None = None,
    membership: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
    progress=None,
) -> tuple[int, ZooResult]:
    """Run the zoo on stored data as of ``as_of`` (relative labels of ``config.horizon``
    sessions, each date's members ranked with ``membership``), count every row of it (each
    learner and ensemble) as a trial for the Deflated Sharpe, save its tables; the study's
    id and result."""
    config = config or ZooConfig()
    label = LabelParams(horizon=config.horizon)
    families = {f for n in config.learners for f in learner_families(n, config.learner.families)}
    tickers, data, prices = study_rows(
        db_path,
        tickers,
        start=start,
        membership=membership,
        label=label,
        as_of=as_of,
        families=tuple(families),
    )
    result = run_zoo(data, to_wide(prices), config, progress=progress)
    settings = study_settings(config, tickers, start, membership) | {"as_of": as_of}
    study_id = save_study(
        db_path, "zoo", settings, result.table, result.diversity, returns=result.returns
    )
    track_zoo_study(study_id, config, result)  # to MLflow when configured; never raises
    return study_id, result

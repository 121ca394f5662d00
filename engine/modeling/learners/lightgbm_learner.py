"""The LightGBM learner: gradient-boosted trees grown leaf-wise, early stopped on the
validation slice (the ranker: ``lambdarank`` with one group per date), contributions by
LightGBM's TreeSHAP (``pred_contrib``, adding up to the raw score), saved as LightGBM's
model text (``lightgbm.txt``), checked by ``lightgbm_check`` before LightGBM parses it.
LightGBM trains on the CPU here (``device`` applies to XGBoost)."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from engine.modeling.learners.lightgbm_check import read_lightgbm_model
from engine.modeling.learners.params import LearnerParams
from engine.modeling.learners.pipeline import Learner

LIGHTGBM_FILE = "lightgbm.txt"
_OBJECTIVES = {
    "classifier": {"objective": "binary", "metric": "binary_logloss"},
    "market_timing": {"objective": "binary", "metric": "binary_logloss"},
    "ranker": {"objective": "lambdarank", "metric": "ndcg"},
    "regressor": {"objective": "regression", "metric": "l2"},
}


def lightgbm_params(params: LearnerParams) -> dict:
    """LightGBM's training parameters for ``params``: the XGBoost settings by their
    LightGBM names (depth-bounded leaves, hessian per leaf, row and column sampling)."""
    return {
        **_OBJECTIVES[params.kind],
        "learning_rate": params.learning_rate,
        "max_depth": params.max_depth,
        "num_leaves": 2**params.max_depth,
        "min_sum_hessian_in_leaf": params.min_child_weight,
        "min_data_in_leaf": 1,
        "bagging_fraction": params.subsample,
        "bagging_freq": 1,
        "feature_fraction": params.colsample_bytree,
        "num_threads": params.n_jobs,
        "seed": params.seed,
        "deterministic": True,
        "verbosity": -1,
    }


class LightGBMLearner(Learner):
    """The shared pipeline with a LightGBM booster (``booster_``, ``best_iteration_``);
    missing values stay NaN (LightGBM routes them natively)."""

    MODEL_FILE = LIGHTGBM_FILE

    def _dataset(self, Z: pd.DataFrame, rows: np.ndarray, target: np.ndarray, **kw) -> lgb.Dataset:
        part = Z.iloc[rows]
        group = None
        if self._params.kind == "ranker":  # rows are in date order: one group per date
            group = part.groupby(level="date", sort=False).size().to_numpy()
        values = part.to_numpy(dtype=np.float32)
        return lgb.Dataset(
            values, label=target[rows], group=group, feature_name=list(Z.columns), **kw
        )

    def _fit_model(
        self, Z: pd.DataFrame, target: np.ndarray, fit_rows: np.ndarray, val_rows: np.ndarray
    ) -> None:
        p = self._params
        train = self._dataset(Z, fit_rows, target, free_raw_data=True)
        validation = self._dataset(Z, val_rows, target, reference=train)
        self.booster_ = lgb.train(
            lightgbm_params(p),
            train,
            num_boost_round=p.n_estimators,
            valid_sets=[validation],
            callbacks=[lgb.early_stopping(p.early_stopping_rounds, verbose=False)],
        )
        self.best_iteration_ = max(1, self.booster_.best_iteration)

    def _prepare(self, selected: pd.DataFrame) -> np.ndarray:
        return selected.to_numpy(dtype=np.float32)

    @property
    def rounds_(self) -> int:
        trained = self.booster_.num_trees()
        return max(self.best_iteration_, min(self._params.min_rounds, trained))

    def _raw_score(self, prepared: np.ndarray) -> np.ndarray:
        return self.booster_.predict(prepared, raw_score=True, num_iteration=self.rounds_)

    def _terms(self, prepared: np.ndarray) -> np.ndarray:
        return self.booster_.predict(prepared, pred_contrib=True, num_iteration=self.rounds_)

    def model_bytes(self) -> bytes:
        return self.booster_.model_to_string(num_iteration=-1).encode("ascii")

    def model_summary(self) -> dict:
        return {"best_iteration": self.best_iteration_, "trees": self.booster_.num_trees()}

    def load_model(self, data: bytes, columns: list[str], manifest: dict) -> None:
        trees, best = manifest.get("trees"), manifest.get("best_iteration")
        if type(trees) is not int or type(best) is not int or not 1 <= best <= trees:
            raise ValueError("is not described by the manifest (trees and stopping round)")
        self.booster_ = read_lightgbm_model(data, columns, trees)
        self.best_iteration_ = best

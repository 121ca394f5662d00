"""The sequence learners (GRU, Transformer): a network over each stock's last sessions
(the price-path family, per-date normalized for the cross-sectional kinds), trained with
torch (``sequence_networks``, ``make deep``) and kept and served as ONNX by onnxruntime,
so the app and the API serve them without torch.

Every column of the window is kept, in its order (the network reads them as a sequence):
the selector ranks nothing. In-fold preprocessing as the MLP's (``centred``): a missing
value is the fit slice's mean. Contributions add up exactly without gradients: the
columns are switched from the reference row (every column at its mean, the zero row) to
the row's values one at a time, in the window's order and in reverse, and each column's
term is the mean of its two score changes; the terms plus ``bias`` (the reference's
score) add up to the row's score. Served in float32, so a score is the network's to about
1e-6.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from engine.features.registry import feature_columns
from engine.modeling.learners.centred import CentredLearner
from engine.modeling.learners.params import SEQUENCE_FAMILIES
from engine.modeling.onnx_check import INPUT, check_network
from engine.modeling.selection import FeatureSelector
from engine.modeling.serialization import floats


def _session(network: bytes):
    import onnxruntime as ort  # noqa: PLC0415 - slow to import; most pages serve no network

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(network, options, providers=["CPUExecutionProvider"])


class SequenceLearner(CentredLearner):
    """The shared pipeline with a network over the price path: ``network_`` (ONNX bytes),
    ``epochs_`` trained and ``best_epoch_`` kept."""

    ARCHITECTURE: ClassVar[str]

    def _select(self, rows: pd.DataFrame, y: np.ndarray) -> FeatureSelector:
        window = feature_columns(SEQUENCE_FAMILIES)
        missing = [c for c in window if c not in rows.columns]
        if missing:
            raise ValueError(f"the {self.ARCHITECTURE} learner needs the price path {missing[:3]}")
        p = self._params
        selector = FeatureSelector(len(window), 1.0, p.seed, p.n_jobs)
        selector.columns_ = list(window)
        selector.importance_ = dict.fromkeys(window, 0.0)  # not ranked: all are read
        return selector

    def _fit_model(
        self, Z: pd.DataFrame, target: np.ndarray, fit_rows: np.ndarray, val_rows: np.ndarray
    ) -> None:
        # torch only here (make deep): serving needs onnxruntime alone
        try:
            from engine.modeling.learners.sequence_networks import (  # noqa: PLC0415
                Training,
                train_network,
            )
        except ModuleNotFoundError as exc:
            raise ValueError(
                f"the {self.ARCHITECTURE} learner trains with torch, which this install lacks "
                f"({exc.name} is missing): run `make deep` (serving needs only onnxruntime)"
            ) from None

        p = self._params
        _, scale = self._standardize(Z, fit_rows)  # sets means_
        setup = Training(
            architecture=self.ARCHITECTURE,
            lags=len(Z.columns) // 2,
            channels=2,
            hidden_units=p.hidden_units,
            hidden_layers=p.hidden_layers,
            step_size=p.step_size,
            l2_penalty=p.l2_penalty,
            epochs=p.epochs,
            patience=p.patience,
            classify=p.kind in ("classifier", "market_timing"),
            seed=p.seed,
            threads=p.n_jobs,
            device=p.device,
        )
        trained = train_network(
            setup,
            scale,
            (self._prepare(Z.iloc[fit_rows]), target[fit_rows]),
            (self._prepare(Z.iloc[val_rows]), target[val_rows]),
        )
        self.network_, self.epochs_, self.best_epoch_ = (
            trained.onnx,
            trained.epochs,
            trained.best_epoch,
        )
        self.session_ = _session(self.network_)

    def __getstate__(self) -> dict:
        # an onnxruntime session does not pickle (a Dask worker's result): rebuilt on use
        return {k: v for k, v in self.__dict__.items() if k != "session_"}

    def _run(self, prepared: np.ndarray) -> np.ndarray:
        if getattr(self, "session_", None) is None:
            self.session_ = _session(self.network_)
        values = np.ascontiguousarray(prepared, dtype=np.float32)
        return self.session_.run(None, {INPUT: values})[0][:, 0].astype(float)

    def _raw_score(self, prepared: np.ndarray) -> np.ndarray:
        return self._run(prepared)

    def _terms(self, prepared: np.ndarray) -> np.ndarray:
        n, k = prepared.shape
        # every partial row of both paths in one run: 2k x n rows
        steps = np.tril(np.ones((k + 1, k)))[:, None, :]  # step j: the first j columns set
        forward = steps * prepared[None, :, :]
        backward = steps[:, :, ::-1] * prepared[None, :, :]
        # both paths start at the reference and end at the row: one run of each
        scores = self._run(np.concatenate([forward, backward[1:k]]).reshape(-1, k))
        ahead = scores[: (k + 1) * n].reshape(k + 1, n)
        behind = np.concatenate([ahead[:1], scores[(k + 1) * n :].reshape(k - 1, n), ahead[-1:]])
        terms_ahead = np.diff(ahead, axis=0).T  # column j's change when it is set j-th
        terms_behind = np.diff(behind, axis=0).T[:, ::-1]  # set (k - j)-th
        terms = (terms_ahead + terms_behind) / 2.0
        return np.hstack([terms, ahead[0][:, None]])

    def model_bytes(self) -> bytes:
        return self.network_

    def model_summary(self) -> dict:
        return {
            "architecture": self.ARCHITECTURE,
            "means": floats(self.means_),
            "epochs": self.epochs_,
            "best_epoch": self.best_epoch_,
        }

    def load_model(self, data: bytes, columns: list[str], manifest: dict) -> None:
        if columns != feature_columns(SEQUENCE_FAMILIES):
            raise ValueError("does not read the price path's columns in their order")
        if manifest.get("architecture") != self.ARCHITECTURE:
            raise ValueError(f"is not described by the manifest as a {self.ARCHITECTURE}")
        epochs, best = manifest.get("epochs"), manifest.get("best_epoch")
        if type(epochs) is not int or type(best) is not int or not 1 <= best <= epochs:
            raise ValueError("is not described by the manifest (epochs and the epoch kept)")
        means = manifest.get("means")
        if (
            not isinstance(means, list)
            or len(means) != len(columns)
            or not all(type(m) in (int, float) and np.isfinite(m) for m in means)
        ):
            raise ValueError(f"has no {len(columns)} finite column means in the manifest")
        check_network(data, len(columns))
        self.means_ = np.asarray(means, dtype=float)
        self.network_ = bytes(data)
        self.session_ = _session(self.network_)
        self.epochs_, self.best_epoch_ = epochs, best


class GRULearner(SequenceLearner):
    ARCHITECTURE = "gru"
    MODEL_FILE = "gru.onnx"


class TransformerLearner(SequenceLearner):
    ARCHITECTURE = "transformer"
    MODEL_FILE = "transformer.onnx"

"""The MLP learner: a small feed-forward network (ReLU hidden layers, Qlib's MLP baseline's
shape) from scikit-learn, on the selected features (per-date normalized for the
cross-sectional kinds). Classifier and market timing: ``MLPClassifier`` (log-loss; its
output unit's input is the raw score, a log-odds); ranker: ``MLPRegressor`` on the
per-date quintile grades, pointwise (no pairwise loss); regressor: ``MLPRegressor`` on the
rank target.

Training: Adam, one epoch at a time (``partial_fit``) on the fit slice, early stopped on
the time-ordered validation slice: the weights of the epoch with the lowest validation
loss are kept, and training ends ``patience`` epochs after it (or at ``epochs``).
In-fold preprocessing as the linear learner's (``centred``): a missing value is imputed
with its column's fit-slice mean, and each column standardized by its fit-slice scale
(folded into the first layer's weights).

Served by a numpy forward pass over the weights in ``mlp.json`` (every array checked for
shape and finiteness before use): no native parser, no torch. Contributions by DeepLIFT's
rescale rule against the reference row with every column at its fit-slice mean: the terms
of a row plus ``bias`` (the network's output at the reference) add up to its score
(summation to delta, exact up to rounding), as TreeSHAP's do for the trees.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from engine.modeling.learners.centred import CentredLearner
from engine.modeling.serialization import array, field, floats

MLP_FILE = "mlp.json"
MAX_MLP_BYTES = 8 << 20  # 1,000 columns into 2 x 256 units take about 6 MB as JSON


def _forward(x: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Every layer's pre-activation for rows ``x``; the last one is the raw score (n, 1)."""
    outputs, h = [], x
    for i, (weights, bias) in enumerate(layers):
        z = h @ weights + bias
        outputs.append(z)
        if i < len(layers) - 1:
            h = np.maximum(z, 0.0)
    return outputs


class MLPLearner(CentredLearner):
    """The shared pipeline with a ReLU network: ``layers_`` [(weights, bias), ...] from the
    raw selected columns (centred on ``means_``) to one output, ``epochs_`` trained and
    ``best_epoch_`` kept."""

    MODEL_FILE = MLP_FILE

    def _network(self, n_rows: int):
        p = self._params
        options = {
            "hidden_layer_sizes": (p.hidden_units,) * p.hidden_layers,
            "activation": "relu",
            "solver": "adam",
            "alpha": p.l2_penalty,
            "learning_rate_init": p.step_size,
            "batch_size": min(256, n_rows),
            "random_state": p.seed,
        }
        if p.kind in ("classifier", "market_timing"):
            return MLPClassifier(**options)
        return MLPRegressor(**options)

    def _fit_model(
        self, Z: pd.DataFrame, target: np.ndarray, fit_rows: np.ndarray, val_rows: np.ndarray
    ) -> None:
        p = self._params
        x_fit, scale = self._standardize(Z, fit_rows)
        x_val = self._prepare(Z.iloc[val_rows]) / scale
        y_fit, y_val = target[fit_rows], target[val_rows]
        classify = p.kind in ("classifier", "market_timing")
        network = self._network(len(fit_rows))
        best, best_loss, since = None, np.inf, 0
        with warnings.catch_warnings():
            # one epoch per call: the "not converged" warning is the loop's own business
            warnings.simplefilter("ignore", ConvergenceWarning)
            for epoch in range(1, p.epochs + 1):
                if classify:
                    network.partial_fit(x_fit, y_fit.astype(int), classes=[0, 1])
                else:
                    network.partial_fit(x_fit, y_fit)
                layers = [
                    (w.copy(), b.copy())
                    for w, b in zip(network.coefs_, network.intercepts_, strict=True)
                ]
                raw = _forward(x_val, layers)[-1][:, 0]
                loss = _validation_loss(raw, y_val, classify)
                if loss < best_loss - 1e-9:
                    best, best_loss, since, self.best_epoch_ = layers, loss, 0, epoch
                else:
                    since += 1
                    if since >= p.patience:
                        break
        self.epochs_ = epoch
        first_weights, first_bias = best[0]
        # the standardization folded into the first layer: it reads centred raw columns
        self.layers_ = [(first_weights / scale[:, None], first_bias), *best[1:]]

    def _raw_score(self, prepared: np.ndarray) -> np.ndarray:
        return _forward(prepared, self.layers_)[-1][:, 0]

    def _terms(self, prepared: np.ndarray) -> np.ndarray:
        """DeepLIFT (rescale): each ReLU's multiplier is its output's change over its
        input's change from the reference (0: every column at its mean); the multipliers
        chained back through the weights give each column's share of the score's change."""
        reference = _forward(np.zeros((1, prepared.shape[1])), self.layers_)
        outputs = _forward(prepared, self.layers_)
        multipliers = []
        for z, z0 in zip(outputs[:-1], reference[:-1], strict=True):
            dz = z - z0
            dh = np.maximum(z, 0.0) - np.maximum(z0, 0.0)
            step = (z > 0).astype(float)  # where the input did not move, nor did the output
            multipliers.append(np.divide(dh, dz, out=step, where=dz != 0))
        gradient = np.broadcast_to(
            self.layers_[-1][0][:, 0], (len(prepared), self.layers_[-1][0].shape[0])
        )
        for (weights, _), m in zip(reversed(self.layers_[:-1]), reversed(multipliers), strict=True):
            gradient = (gradient * m) @ weights.T
        bias = np.full((len(prepared), 1), reference[-1][0, 0])
        return np.hstack([prepared * gradient, bias])

    def model_bytes(self) -> bytes:
        body = {
            "columns": list(self.selector_.columns_),
            "means": floats(self.means_),
            "layers": [{"weights": floats(w), "bias": floats(b)} for w, b in self.layers_],
        }
        return json.dumps(body, sort_keys=True, allow_nan=False).encode()

    def model_summary(self) -> dict:
        widths = [self.layers_[0][0].shape[0], *(w.shape[1] for w, _ in self.layers_)]
        return {"widths": widths, "epochs": self.epochs_, "best_epoch": self.best_epoch_}

    def load_model(self, data: bytes, columns: list[str], manifest: dict) -> None:
        widths = manifest.get("widths")
        p = self._params
        expected = [len(columns), *(p.hidden_units,) * p.hidden_layers, 1]
        if widths != expected:
            raise ValueError(
                f"has layer widths {str(widths):.80} where the settings give {expected}"
            )
        epochs, best = manifest.get("epochs"), manifest.get("best_epoch")
        if type(epochs) is not int or type(best) is not int or not 1 <= best <= epochs:
            raise ValueError("is not described by the manifest (epochs and the epoch kept)")
        body = self._read_document(data, columns, "network", MAX_MLP_BYTES)
        layers = field(body, "layers", list, "network")
        if len(layers) != len(expected) - 1:
            raise ValueError(f"has {len(layers)} layers, expected {len(expected) - 1}")
        self.layers_ = [
            (
                array(layer, "weights", f"network layer {i}", (n_in, n_out)),
                array(layer, "bias", f"network layer {i}", (n_out,)),
            )
            for i, (layer, n_in, n_out) in enumerate(
                zip(layers, expected[:-1], expected[1:], strict=True)
            )
        ]
        self.epochs_, self.best_epoch_ = epochs, best


def _validation_loss(raw: np.ndarray, target: np.ndarray, classify: bool) -> float:
    """Log-loss of the log-odds ``raw`` (classifiers) or squared error (regressors)."""
    if classify:
        # log(1 + e^-m) for label 1 and log(1 + e^m) for label 0, without overflow
        margin = np.where(target > 0.5, raw, -raw)
        return float(np.mean(np.logaddexp(0.0, -margin)))
    return float(np.mean((raw - target) ** 2))

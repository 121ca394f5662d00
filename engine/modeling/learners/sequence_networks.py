"""The sequence learners' networks in torch (installed by ``make deep``, never by the base
requirements): trained on the CPU here or on a GPU (``device="cuda"``, the Colab
notebook), then exported to ONNX, which is all a bundle keeps and all that serves.

Each network reads one row of the price-path family, its columns ``[ret_0 .. ret_{L-1},
vol_0 .. vol_{L-1}]`` centred on the fit slice's means (a missing value is 0), divides
them by the fit slice's scales, lays them out as L sessions of C channels, oldest first,
and returns one raw score (a log-odds for the classifiers):

- ``gru``: a GRU (``hidden_units`` wide, ``hidden_layers`` deep), the states of every
  session into a linear head. Qlib's GRU reads its last state only; on a planted pattern
  six sessions back that readout sat on a plateau for 20 epochs (the early stop ends it
  first), where every state's readout learned it in one (a gradient path from each
  session);
- ``transformer``: each session embedded linearly plus a learned position, a small
  Transformer encoder (two heads, ``hidden_layers`` layers), the mean over sessions into a
  linear head.

Training: Adam with ``step_size`` and weight decay ``l2_penalty / n`` (scikit-learn's
MLP's penalty, as the MLP learner), mini-batches of 256 in a seeded order; each epoch the
time-ordered validation slice's loss (log-loss or squared error) is measured and the
weights of the best epoch kept; training ends ``patience`` epochs after it.
"""

from __future__ import annotations

import copy
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from engine.modeling.onnx_check import INPUT, OUTPUT

ARCHITECTURES = ("gru", "transformer")
BATCH = 256
HEADS = 2


class _Window(nn.Module):
    """Centred columns (n, C * L) -> scaled sessions (n, L, C), oldest first."""

    def __init__(self, scale: np.ndarray, lags: int, channels: int) -> None:
        super().__init__()
        self.lags, self.channels = lags, channels
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.register_buffer("oldest_first", torch.arange(lags - 1, -1, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x / self.scale).reshape(-1, self.channels, self.lags).transpose(1, 2)
        return torch.index_select(x, 1, self.oldest_first)


class GRUNetwork(nn.Module):
    def __init__(self, window: _Window, hidden: int, layers: int) -> None:
        super().__init__()
        self.window = window
        self.gru = nn.GRU(window.channels, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden * window.lags, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.gru(self.window(x))
        return self.head(states.flatten(1))


class TransformerNetwork(nn.Module):
    def __init__(self, window: _Window, hidden: int, layers: int) -> None:
        super().__init__()
        width = max(HEADS, hidden - hidden % HEADS)
        self.window = window
        self.embed = nn.Linear(window.channels, width)
        self.position = nn.Parameter(torch.zeros(window.lags, width))
        layer = nn.TransformerEncoderLayer(width, HEADS, 2 * width, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        encoded = self.encoder(self.embed(self.window(x)) + self.position)
        return self.head(encoded.mean(dim=1))


@dataclass(frozen=True)
class Training:
    """What one training needs besides the rows: the network's shape and the optimizer's."""

    architecture: str
    lags: int
    channels: int
    hidden_units: int
    hidden_layers: int
    step_size: float
    l2_penalty: float
    epochs: int
    patience: int
    classify: bool
    seed: int
    threads: int
    device: str = "cpu"


@dataclass(frozen=True)
class TrainedNetwork:
    onnx: bytes
    epochs: int
    best_epoch: int


def _network(setup: Training, scale: np.ndarray) -> nn.Module:
    window = _Window(scale, setup.lags, setup.channels)
    cls = GRUNetwork if setup.architecture == "gru" else TransformerNetwork
    return cls(window, setup.hidden_units, setup.hidden_layers)


def _tensor(values: np.ndarray, device: str) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(values), dtype=torch.float32, device=device)


def train_network(
    setup: Training,
    scale: np.ndarray,
    fit: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
) -> TrainedNetwork:
    """The network trained on ``fit`` (centred rows, targets), early stopped on
    ``validation``, exported to ONNX on the CPU."""
    torch.manual_seed(setup.seed)
    torch.set_num_threads(setup.threads)
    device = setup.device if setup.device == "cpu" or torch.cuda.is_available() else "cpu"
    network = _network(setup, scale).to(device)
    x_fit, y_fit = _tensor(fit[0], device), _tensor(fit[1], device)
    x_val, y_val = _tensor(validation[0], device), _tensor(validation[1], device)
    loss_of = nn.BCEWithLogitsLoss() if setup.classify else nn.MSELoss()
    optimizer = torch.optim.Adam(
        network.parameters(), lr=setup.step_size, weight_decay=setup.l2_penalty / len(x_fit)
    )
    order = torch.Generator().manual_seed(setup.seed)
    best, best_loss, best_epoch, since = None, np.inf, 0, 0
    for epoch in range(1, setup.epochs + 1):
        network.train()
        for rows in torch.randperm(len(x_fit), generator=order).split(BATCH):
            batch = rows.to(device)
            optimizer.zero_grad()
            loss_of(network(x_fit[batch])[:, 0], y_fit[batch]).backward()
            optimizer.step()
        network.eval()
        with torch.no_grad():
            loss = float(loss_of(network(x_val)[:, 0], y_val))
        if loss < best_loss - 1e-9:
            best, best_loss, best_epoch, since = copy.deepcopy(network.state_dict()), loss, epoch, 0
        else:
            since += 1
            if since >= setup.patience:
                break
    network.load_state_dict(best)
    return TrainedNetwork(export_onnx(network.cpu().eval(), fit[0].shape[1]), epoch, best_epoch)


def export_onnx(network: nn.Module, width: int) -> bytes:
    """The network as an ONNX file: input ``features`` (batch, width), output ``score``."""
    example = torch.zeros(3, width)  # a batch of 3: the exporter specializes sizes 0 and 1
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            network,
            (example,),
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            dynamo=True,
            verbose=False,
        )
    return program.model_proto.SerializeToString()

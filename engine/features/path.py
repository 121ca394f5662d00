"""Price-path family: each stock's last ``PATH_SESSIONS`` daily bars as a window, the raw
input of the sequence learners (Qlib's Alpha360 in spirit, on what every ticker has).

Two channels per session back, ``k = 0`` being today:

- ``path_ret_k``: the log return of the session ``k`` back (close over the previous close);
- ``path_vol_k``: log of that session's volume over the mean volume of the window (NaN
  where the ticker has no volume: the close-only sample stocks).

Returns rather than price levels relative to today (Alpha360's ``CLOSE_k / CLOSE_0``): the
two carry the same path (a level is a sum of returns), and returns need no per-window
rescaling. Not one hand-made feature reads a single lag's return beyond the last session,
so a pattern in the path (one lag's sign against another's) is visible here and nowhere
else. Opt-in (``optional``): 40 columns that only the sequence learners read by default.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.features.base import ColumnSpec, FeatureParams, run_family
from engine.features.context import MarketContext
from engine.features.panel import Array, WidePanel, log_return, rolling_mean, shift

PATH_SESSIONS = 20
CHANNELS = ("ret", "vol")


def path_column(channel: str, lag: int) -> str:
    return f"path_{channel}_{lag}"


def columns(params: FeatureParams | None = None) -> tuple[ColumnSpec, ...]:
    returns = tuple(
        ColumnSpec(path_column("ret", k), ("close",), f"log return of the session {k} back")
        for k in range(PATH_SESSIONS)
    )
    volumes = tuple(
        ColumnSpec(
            path_column("vol", k),
            ("volume",),
            f"log volume of the session {k} back over the window's mean volume",
        )
        for k in range(PATH_SESSIONS)
    )
    return returns + volumes


def path_arrays(
    panel: WidePanel, context: MarketContext | None, params: FeatureParams
) -> dict[str, Array]:
    returns = log_return(panel.close)
    volume = np.where(panel.volume > 0, panel.volume, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_volume = np.log(volume)
        # today's window mean (NaN when a session of it lacks volume: a partial mean drifts)
        log_mean = np.log(rolling_mean(volume, PATH_SESSIONS))
    out = {path_column("ret", k): shift(returns, k) for k in range(PATH_SESSIONS)}
    out |= {path_column("vol", k): shift(log_volume, k) - log_mean for k in range(PATH_SESSIONS)}
    return out


def compute_path(prices: pd.DataFrame, *, context: MarketContext | None = None) -> pd.DataFrame:
    """Price-path columns by (ticker, date); row t uses rows <= t of its ticker only."""
    return run_family(path_arrays, columns(), prices, context)

"""Factor exposures per date: sector dummies and standardized style descriptors.

The exposure matrix of date t (``Exposures.at(t)``, N x K) is known at the close of t:
sectors are static reference data, styles come from rows <= t only
(engine.risk.descriptors). Factor returns on date d use the exposures of d - 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.risk.descriptors import STYLES, VOLUME_STYLES, compute_descriptors, standardize
from engine.risk.regression import cross_sectional_wls

MARKET = "market"
UNKNOWN_SECTOR = "unknown"


@dataclass(frozen=True)
class Exposures:
    """Each name's exposure to each factor on each date.

    Attributes
    ----------
    dates : DatetimeIndex of shape (D,)
    tickers : Index of shape (N,)
    factors : tuple of str, length K
        ``market`` (without sectors) or ``sector:<name>`` dummies, then the styles.
    values : ndarray of shape (D, N, K)
        Exposures known at the close of each date. A style whose descriptor is missing
        is 0 (the cross-sectional mean), flagged in ``missing``.
    missing : ndarray of bool, shape (D, N, K)
        Where the descriptor was missing and the exposure set to 0.
    unmapped : tuple of str
        Tickers without a sector (in ``sector:unknown``).
    dropped : tuple of str
        Styles not modelled at all: ``size`` and ``liquidity`` without a volume panel.
    """

    dates: pd.DatetimeIndex
    tickers: pd.Index
    factors: tuple[str, ...]
    values: np.ndarray
    missing: np.ndarray
    unmapped: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    def position(self, date: pd.Timestamp) -> int:
        """Row of the latest date <= ``date``; ValueError before the first date."""
        row = int(self.dates.searchsorted(pd.Timestamp(date), side="right")) - 1
        if row < 0:
            raise ValueError(f"no exposures on or before {pd.Timestamp(date).date()}")
        return row

    def at(self, date: pd.Timestamp) -> pd.DataFrame:
        """The (N, K) exposures as of ``date`` (its latest date <= ``date``)."""
        return pd.DataFrame(
            self.values[self.position(date)], index=self.tickers, columns=list(self.factors)
        )


def _sector_dummies(
    tickers: pd.Index, sectors: Mapping[str, str] | None
) -> tuple[list[str], np.ndarray, tuple[str, ...]]:
    """Names (K_s), (N, K_s) one-hot matrix and the unmapped tickers; ``market`` (all ones)
    without a mapping."""
    if sectors is None:
        return [MARKET], np.ones((len(tickers), 1)), ()
    labels = pd.Series([sectors.get(t) for t in tickers], index=tickers, dtype=object)
    unmapped = tuple(labels.index[labels.isna()])
    labels = labels.fillna(UNKNOWN_SECTOR).astype(str)
    names = sorted(labels.unique())
    one_hot = (labels.to_numpy()[:, None] == np.asarray(names)[None, :]).astype(float)
    return [f"sector:{n}" for n in names], one_hot, unmapped


def compute_exposures(
    close: pd.DataFrame,
    volume: pd.DataFrame | None = None,
    *,
    sectors: Mapping[str, str] | None = None,
    market: pd.Series | None = None,
) -> Exposures:
    """Sector dummies and standardized styles of every (date, ticker), rows <= t only.

    Parameters
    ----------
    close : DataFrame of shape (D, N)
        Adjusted closes, sessions by tickers.
    volume : DataFrame of shape (D, N), optional
        Share volumes; without them ``size`` and ``liquidity`` are dropped (``dropped``).
    sectors : mapping of ticker to sector, optional
        One dummy per sector (they sum to one, the intercept); names missing from the
        mapping share ``sector:unknown``. Without a mapping: one ``market`` column of ones.
    market : Series, optional
        The market's daily log return by date, for ``beta`` (default: the universe's
        equal-weight mean).

    Returns
    -------
    Exposures
        Styles standardized per date (``standardize``); ``liquidity`` is the residual of
        its standardized descriptor on standardized ``size`` (with an intercept) per
        date, standardized again (missing where size is). A missing descriptor becomes
        exposure 0 and is counted in ``missing``: the name is treated as average on that
        style.
    """
    raw = compute_descriptors(close, volume, market=market)
    styles = [s for s in STYLES if volume is not None or s not in VOLUME_STYLES]
    z = {name: standardize(raw[name]) for name in styles}
    if "liquidity" in z:
        size = z["size"]
        X = np.stack([np.ones(size.shape), size], axis=-1)
        _, residual = cross_sectional_wls(X, z["liquidity"])
        z["liquidity"] = standardize(residual)
    names, dummies, unmapped = _sector_dummies(close.columns, sectors)
    days = len(close.index)
    style_values = np.stack([z[name] for name in styles], axis=-1)
    missing = np.concatenate(
        [np.zeros((days, *dummies.shape), dtype=bool), ~np.isfinite(style_values)], axis=-1
    )
    values = np.concatenate(
        [np.broadcast_to(dummies, (days, *dummies.shape)), np.nan_to_num(style_values, nan=0.0)],
        axis=-1,
    )
    return Exposures(
        dates=pd.DatetimeIndex(close.index),
        tickers=pd.Index(close.columns),
        factors=(*names, *styles),
        values=values,
        missing=missing,
        unmapped=unmapped,
        dropped=tuple(s for s in STYLES if s not in styles),
    )

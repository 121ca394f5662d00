"""Cross-sectional processors: stock-level features normalized per date, fitted in-fold.

A stock-level feature (RSI, momentum, beta) says more about a stock relative to the others
that day than in absolute terms, and its absolute level drifts with the market. Qlib's
processors normalize per date (CSRankNorm, CSZScoreNorm, RobustZScoreNorm); this is the
same idea with scikit-learn's fit/transform API:

- ``fit`` (on the training fold only) decides which columns are stock-level: those that
  differ across tickers on most dates. Market-wide columns (index returns, VIX, the regime)
  are the same for every stock on a date, carry no cross-sectional information, and are
  left as they are, so a model can still condition on them. ``fit`` also records each
  stock-level column's typical dispersion, the fallback scale for a date whose own
  dispersion is zero.
- ``transform`` normalizes each stock-level column within each date of the rows it is
  given: ``rank`` maps to the centred percentile rank ``(rank - 0.5) / n - 0.5`` in
  (-0.5, 0.5); ``robust_zscore`` to
  ``(x - median) / (1.4826 MAD)`` clipped to +-``clip``. A value at (ticker, t) depends on
  the values of other tickers at t only, never on another date. Missing stays NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from engine.modeling.serialization import array, field, floats, number

NORMALIZATIONS = ("rank", "robust_zscore")
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


def _by_date(X: pd.DataFrame, values: np.ndarray):
    """``values`` (rows of ``X``) grouped by ``X``'s dates, as a frame with a plain index:
    the same per-date statistics as grouping ``X`` itself, without aligning its (ticker,
    date) index at every step. Columns are positions."""
    codes = pd.factorize(X.index.get_level_values("date"))[0]
    return pd.DataFrame(values).groupby(codes, sort=False)


class CrossSectionalNormalizer(TransformerMixin, BaseEstimator):
    """Per-date rank or robust z-score of the stock-level columns.

    Parameters
    ----------
    method : {"rank", "robust_zscore"}
    clip : float
        Bound of the robust z-score (ignored by ``rank``).
    min_varying_share : float
        A column is stock-level when it takes at least two distinct values on at least this
        share of the training dates that have any value.
    """

    def __init__(
        self, method: str = "robust_zscore", clip: float = 3.0, min_varying_share: float = 0.5
    ) -> None:
        self.method = method
        self.clip = clip
        self.min_varying_share = min_varying_share

    def fit(self, X: pd.DataFrame, y=None) -> CrossSectionalNormalizer:
        """Classify the columns of the training rows ``X`` (indexed by (ticker, date))."""
        if self.method not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {self.method!r}")
        if not self.clip > 0:
            raise ValueError("clip must be positive")
        values = X.to_numpy(dtype=float)
        groups = _by_date(X, values)
        observed = (groups.count() > 0).sum().to_numpy()
        # two distinct values on a date <=> its largest exceeds its smallest (NaN skipped)
        varying = (groups.max() > groups.min()).sum().to_numpy()
        share = np.divide(varying, observed, out=np.full(len(observed), np.nan), where=observed > 0)
        stock = [c for c, s in zip(X.columns, share, strict=True) if s >= self.min_varying_share]
        self.columns_ = list(X.columns)
        self.stock_columns_ = stock
        self.market_columns_ = [c for c in X.columns if c not in stock]
        if stock:
            positions = [X.columns.get_loc(c) for c in stock]
            own = values[:, positions]
            deviation = np.abs(own - _by_date(X, own).transform("median").to_numpy())
            mad = _by_date(X, deviation).median().median().to_numpy()
            spread = pd.DataFrame(own).std().fillna(1.0).to_numpy()
            self.fallback_scale_ = np.where(mad > 0, mad * MAD_TO_SIGMA, spread)
            self.fallback_scale_ = np.where(self.fallback_scale_ > 0, self.fallback_scale_, 1.0)
        else:
            self.fallback_scale_ = np.zeros(0)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` with its stock-level columns normalized within each date of ``X``."""
        out = X.copy()
        stock = self.stock_columns_
        if not stock or X.empty:
            return out
        values = X[stock].to_numpy(dtype=float)
        groups = _by_date(X, values)
        if self.method == "rank":
            ranks = groups.rank(method="average").to_numpy()
            counts = groups.transform("count").to_numpy()
            out[stock] = (ranks - 0.5) / counts - 0.5
        else:
            median = groups.transform("median").to_numpy()
            deviation = np.abs(values - median)
            mad = _by_date(X, deviation).transform("median").to_numpy() * MAD_TO_SIGMA
            scale = np.where(mad > 0, mad, self.fallback_scale_)
            out[stock] = np.clip((values - median) / scale, -self.clip, self.clip)
        return out

    def to_params(self) -> dict:
        """The fitted processor as plain JSON values (``from_params`` rebuilds it)."""
        return {
            **self.get_params(),
            "columns": list(self.columns_),
            "stock_columns": list(self.stock_columns_),
            "fallback_scale": floats(self.fallback_scale_),
        }

    @classmethod
    def from_params(cls, params: dict, name: str = "normalizer") -> CrossSectionalNormalizer:
        """The processor ``to_params`` described; ValueError naming a bad value."""
        method = field(params, "method", str, name)
        if method not in NORMALIZATIONS:
            raise ValueError(f"{name}.method must be one of {NORMALIZATIONS}")
        processor = cls(
            method,
            clip=number(params, "clip", name),
            min_varying_share=number(params, "min_varying_share", name),
        )
        columns = field(params, "columns", list, name)
        stock = field(params, "stock_columns", list, name)
        if not all(isinstance(c, str) for c in columns) or not set(stock) <= set(columns):
            raise ValueError(f"{name}.stock_columns must be a subset of {name}.columns")
        processor.columns_ = columns
        processor.stock_columns_ = [c for c in columns if c in stock]
        processor.market_columns_ = [c for c in columns if c not in stock]
        processor.fallback_scale_ = array(params, "fallback_scale", name, (len(stock),))
        if np.any(processor.fallback_scale_ <= 0):
            raise ValueError(f"{name}.fallback_scale holds a value <= 0")
        return processor

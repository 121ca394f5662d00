"""Warm-up: a feature's last value barely depends on how much history precedes it.

Tolerance: |short - long| <= 1e-5 + 1e-6 |long| in the feature's own units, where "short"
has 300 sessions of history and "long" 2,000. Everything with a finite look-back is exact;
the EMAs and Wilder smoothings converge well inside the tolerance (the worst, the distance
to EMA 50, differs by about 3e-6). Macro and sentiment inputs (synthetic) are given to
both, so their columns are warm too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.synthetic import make_panel
from engine.features import build_context, compute_features
from tests.builders import MARKET_PARAMS, synthetic_macro, synthetic_sentiment

ATOL, RTOL = 1e-5, 1e-6


def last_values(prices: pd.DataFrame, history: int) -> pd.DataFrame:
    dates = np.sort(prices["date"].unique())
    first, last = prices["date"].min(), prices["date"].max()
    macro = synthetic_macro(first, last, seed=4)
    items = synthetic_sentiment(tuple(sorted(prices["ticker"].unique())), first, last, seed=4)
    part = prices[prices["date"] >= dates[-history - 1]]
    context = build_context(part, MARKET_PARAMS, macro=macro, sentiment=items)
    return compute_features(part, context=context).xs(dates[-1], level="date")


def test_last_values_agree_with_300_or_2000_sessions_of_history() -> None:
    prices = make_panel(12, 2001, seed=3).prices
    short, long = last_values(prices, 300), last_values(prices, 2000)
    assert short.notna().all().all(), "every feature must be warm after 300 sessions"
    assert long.notna().all().all()
    gap = (short - long).abs()
    allowed = ATOL + RTOL * long.abs()
    unstable = gap.columns[(gap > allowed).any()].tolist()
    assert unstable == [], gap[unstable].max()

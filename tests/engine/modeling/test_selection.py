"""The selector's kept rankings: a fold's rows ranked once, the same selection every time,
ranked again when any value, label or setting differs, or once forgotten."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.modeling import selection
from engine.modeling.selection import FeatureSelector, forget_rankings


@pytest.fixture
def boosters(monkeypatch) -> list[int]:
    """Counts the boosters the selector trains."""
    trained: list[int] = []
    train = selection.xgb.train

    def counted(*args, **kwargs):
        trained.append(1)
        return train(*args, **kwargs)

    monkeypatch.setattr(selection.xgb, "train", counted)
    forget_rankings()
    return trained


def rows(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(400, 8)), columns=[f"f{k}" for k in range(8)])
    X.loc[::7, "f3"] = np.nan  # missing values take part in the key like any other
    y = (X["f0"] + 0.5 * X["f1"] + rng.normal(size=400) > 0).to_numpy(dtype=int)
    return X, y


def test_the_same_rows_are_ranked_once_and_select_the_same(boosters) -> None:
    X, y = rows()
    first = FeatureSelector(top_k=3).fit(X, y)
    again = FeatureSelector(top_k=3).fit(X.copy(), y.copy())
    wider = FeatureSelector(top_k=5, max_correlation=0.5).fit(X, y)  # same ranking, own pass
    assert len(boosters) == 1
    assert first.columns_ == again.columns_ and first.importance_ == again.importance_
    assert first.columns_[:2] == ["f0", "f1"] and wider.columns_[:3] == first.columns_
    forget_rankings()
    assert FeatureSelector(top_k=3).fit(X, y).columns_ == first.columns_
    assert len(boosters) == 2


@pytest.mark.parametrize(
    "change",
    [
        lambda X, y, s: (X.assign(f5=X["f5"].where(X.index != 3, 0.123)), y, s),
        lambda X, y, s: (X, np.where(np.arange(len(y)) == 9, 1 - y, y), s),
        lambda X, y, s: (X.rename(columns={"f7": "g7"}), y, s),
        lambda X, y, s: (X, y, 1),
    ],
    ids=["one value", "one label", "a column's name", "the seed"],
)
def test_any_difference_ranks_again(boosters, change) -> None:
    X, y = rows()
    FeatureSelector().fit(X, y)
    X2, y2, seed = change(X, y, 0)
    FeatureSelector(seed=seed).fit(X2, y2)
    assert len(boosters) == 2

"""Typed records: written as JSON, read back equal and typed; a document they did not
write is a ValueError naming what is wrong."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from engine.metrics import Interval
from engine.modeling.evaluation import RunScores, ranking_skill
from engine.modeling.records import read_record, record_document


@dataclass(frozen=True)
class Inner:
    interval: Interval
    series: pd.Series


@dataclass(frozen=True)
class Sample:
    run_id: str
    rows: int
    share: float
    first: pd.Timestamp
    table: pd.DataFrame
    by_regime: dict[int, pd.DataFrame]
    inner: Inner
    note: str | None


def sample() -> Sample:
    index = pd.MultiIndex.from_arrays(
        [pd.Index(["KO", "KO", "XOM"], dtype="str"), pd.to_datetime(["2020-01-02"] * 3)],
        names=["ticker", "date"],
    )
    table = pd.DataFrame(
        {"p": [0.1, np.nan, 1 / 3], "n": np.array([1, 2, 3], dtype="int32"), "ok": [1, 0, 1]},
        index=index,
    ).astype({"ok": bool})
    monthly = pd.DataFrame([[0.5, np.nan]], index=pd.Index([2020], name="year"), columns=[1, 2])
    return Sample(
        run_id="r1",
        rows=3,
        share=math.nan,
        first=pd.Timestamp("2020-01-02"),
        table=table,
        by_regime={3: monthly},
        inner=Inner(Interval(0.1, -0.2, 0.4), pd.Series([0.25, 1e-300], name="cumulative")),
        note=None,
    )


def test_a_record_comes_back_equal_and_typed() -> None:
    original = sample()
    back = read_record(Sample, record_document(original))
    pd.testing.assert_frame_equal(back.table, original.table, check_exact=True)
    pd.testing.assert_frame_equal(back.by_regime[3], original.by_regime[3], check_exact=True)
    pd.testing.assert_series_equal(back.inner.series, original.inner.series, check_exact=True)
    assert back.inner.interval == Interval(0.1, -0.2, 0.4)
    assert (back.run_id, back.rows, back.first, back.note) == ("r1", 3, original.first, None)
    assert math.isnan(back.share) and list(back.by_regime) == [3]


def crafted(change) -> bytes:
    body = json.loads(record_document(sample()))
    change(body)
    return json.dumps(body).encode()


def set_in(path: list, value):
    def change(body: dict) -> None:
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"not json", "Expecting value"),
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper"),
        (crafted(set_in(["record"], "Other")), "not a Sample"),
        (crafted(lambda b: b["fields"].pop("rows")), "not a Sample"),
        (crafted(set_in(["fields", "rows"], "3")), "Sample.rows: not a int"),
        (crafted(set_in(["fields", "rows"], True)), "Sample.rows: not a int"),
        (crafted(set_in(["fields", "first"], "yesterday")), "Sample.first: not a date"),
        (crafted(set_in(["fields", "table", "data", 0, "dtype"], "O")), "unknown type"),
        (crafted(set_in(["fields", "table", "data", 0, "values"], [1.0])), "wrong length"),
        (crafted(set_in(["fields", "table", "data", 1, "values"], [1, "2", 3])), "not int32"),
        (crafted(set_in(["fields", "table", "data", 0, "values"], [[1], [2], [3]])), "not float"),
        (crafted(set_in(["fields", "table", "index", 1, "values"], ["x"] * 3)), "not ISO"),
        (crafted(set_in(["fields", "by_regime"], {"three": None})), "no integer"),
        (crafted(set_in(["fields", "inner", "interval", "low"], None)), "not a float"),
        (record_document(sample()).replace(b"NaN", b"Infinity"), "Infinity is not a value"),
    ],
)
def test_a_document_it_did_not_write_is_refused_by_field(document: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_record(Sample, document)


def test_run_scores_type_what_a_run_records_and_leave_the_rest_none() -> None:
    metrics = {
        "model": {"auc": {"estimate": 0.52, "low": 0.5, "high": 0.54}},
        "rank_ic": {"mean": {"estimate": 0.02, "low": 0.01, "high": 0.03}},
        "calibrated": {"brier": {"estimate": 0.24, "low": None, "high": 0.25}},
    }
    scores = RunScores.from_metrics(metrics)
    assert scores.auc == Interval(0.52, 0.5, 0.54)
    assert math.isnan(scores.brier.low) and scores.brier.high == 0.25
    assert scores.baseline_auc is scores.ece is scores.brier_climatology is None
    assert ranking_skill(metrics).shown
    assert RunScores.from_metrics(None) == RunScores(*[None] * 7)
    below = {"rank_ic": {"mean": {"estimate": 0.01, "low": -0.01, "high": 0.03}}}
    assert not ranking_skill(below).shown and not ranking_skill({}).shown

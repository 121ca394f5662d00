"""Crafted boosters: a ``booster.ubj`` whose trees would make XGBoost read or jump outside
its arrays (a crash of the process that predicts, or an answer from stray memory) is
refused on import, decoded and checked in Python before XGBoost's parser sees it; the
store and the artifacts stay byte-identical, and a real bundle still imports and
forecasts exactly as before."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.modeling.booster_check import read_booster
from engine.modeling.ubjson import decode_ubjson
from tests.builders import unchanged
from tests.crafted_bundles import (
    chain,
    encode_ubjson,
    rehashed,
    trees_of,
    with_links,
    with_nodes,
    with_tree_count,
    zipped,
)

pytest_plugins = ["tests.trained_bundle"]


def _splitting(document: dict) -> int:
    """The first tree whose root splits (early trees of a cautious model may be one leaf)."""
    return next(n for n, tree in enumerate(trees_of(document)) if tree["left_children"][0] >= 0)


def _first_leaf(document: dict) -> int:
    return int(np.flatnonzero(trees_of(document)[0]["left_children"] == -1)[0])


def _with_learner(document: dict, path: str, value) -> dict:
    """A copy with the learner's field at ``path`` ("a.b.c") set to ``value``."""
    crafted = copy.deepcopy(document)
    *parents, key = path.split(".")
    target = crafted["learner"]
    for name in parents:
        target = target[name]
    target[key] = value
    return crafted


_NESTED = b"{L\x00\x00\x00\x00\x00\x00\x00\x01a" + b"[#L\x00\x00\x00\x00\x00\x00\x00\x01" * 50
CRAFTED_BOOSTERS = {
    "left child 10**6": (
        lambda d: encode_ubjson(with_nodes(d, _splitting(d), left_children={0: 10**6})),
        r"refused: tree \d+ node 0's left child 1000000 is outside its \d+ nodes",
    ),
    "split past the features": (
        lambda d: encode_ubjson(with_nodes(d, _splitting(d), split_indices={0: 10**6})),
        r"tree \d+ node 0 splits on feature 1000000, but the model has \d+",
    ),
    "own child": (
        lambda d: encode_ubjson(with_nodes(d, _splitting(d), left_children={0: 0})),
        r"tree \d+ node 0 is its own left child",
    ),
    "shared child": (
        lambda d: encode_ubjson(with_links(d, [1, 3, -1, -1, -1], [2, 3, -1, -1, -1])),
        "tree 0 node 3 is the child of 2 nodes, not one",
    ),
    "cycle": (  # 1 -> 3 -> 1, every node still some node's child exactly once
        lambda d: encode_ubjson(
            with_links(d, [2, 3, -1, 1, -1, -1, -1], [4, 5, -1, 6, -1, -1, -1])
        ),
        r"tree 0 node 1 is not reached from its root \(the links form a cycle\)",
    ),
    "wrong parent": (
        lambda d: encode_ubjson(with_nodes(d, _splitting(d), parents={1: 2})),
        r"tree \d+ node 1 records the parent 2, but node 0 links to it",
    ),
    "too deep": (
        lambda d: encode_ubjson(with_links(d, *chain(17))),
        "tree 0 is deeper than 16 levels",
    ),
    "NaN leaf": (
        lambda d: encode_ubjson(with_nodes(d, split_conditions={_first_leaf(d): math.nan})),
        r"tree 0 node \d+'s leaf value is nan, not finite",
    ),
    "infinite threshold": (
        lambda d: encode_ubjson(with_nodes(d, _splitting(d), split_conditions={0: math.inf})),
        r"tree \d+ node 0's threshold is inf, not finite",
    ),
    "negative cover": (
        lambda d: encode_ubjson(with_nodes(d, _splitting(d), sum_hessian={0: -1.0})),
        r"tree \d+ node 0's sum_hessian is negative",
    ),
    "categorical split": (
        lambda d: encode_ubjson(with_nodes(d, _splitting(d), split_type={0: 1})),
        r"tree \d+ node 0 has a categorical split",
    ),
    "too many trees": (
        lambda d: encode_ubjson(with_tree_count(d, 10_001)),
        "the model does not hold 1 to 10000 trees",
    ),
    "num_feature": (
        lambda d: encode_ubjson(_with_learner(d, "learner_model_param.num_feature", "40")),
        r"num_feature is 40, but the selector has \d+",
    ),
    "multi-class": (
        lambda d: encode_ubjson(_with_learner(d, "learner_model_param.num_class", "3")),
        "num_class is 3, outside 0 to 0",
    ),
    "dart": (
        lambda d: encode_ubjson(_with_learner(d, "gradient_booster.name", "dart")),
        "the booster kind 'dart' is not gbtree",
    ),
    "objective": (
        lambda d: encode_ubjson(_with_learner(d, "objective.name", "multi:softprob")),
        "the objective 'multi:softprob' is none of",
    ),
    "truncated": (
        lambda d: encode_ubjson(d)[: len(encode_ubjson(d)) // 2],
        r"is not an XGBoost UBJ model: byte \d+: needs \d+ more bytes",
    ),
    "random bytes": (
        lambda d: np.random.default_rng(21).bytes(4096),
        "is not an XGBoost UBJ model: byte 0: the document does not start with an object",
    ),
    "nested 50 deep": (lambda d: _NESTED, r"byte \d+: containers nest deeper than 16"),
    "trailing bytes": (lambda d: encode_ubjson(d) + b"Z", r"byte \d+: 1 bytes follow"),
}


@pytest.mark.parametrize("variant", CRAFTED_BOOSTERS)
def test_a_crafted_booster_is_refused_on_import(trained, booster_document, variant) -> None:
    db, bundle = trained
    craft, message = CRAFTED_BOOSTERS[variant]
    archive = rehashed(bundle, "crafted-run", **{"booster.ubj": craft(booster_document)})
    with unchanged(db), pytest.raises(workflows.ArtifactError, match=message) as refused:
        workflows.import_bundle_archive(db, archive)
    assert str(refused.value).startswith("booster.ubj in the upload ")
    assert tempfile.gettempdir() not in str(refused.value)
    assert workflows.load_runs(db)["run_id"].tolist() == [bundle.name]


def test_the_crafted_booster_would_crash_xgboost_and_the_check_refuses_it_first(
    trained, booster_document, tmp_path
) -> None:
    """The threat is real: XGBoost loads a booster whose child index is out of range and
    its process dies predicting with it; read_booster refuses it before XGBoost sees it."""
    _, bundle = trained
    columns = json.loads((bundle / "model.json").read_text())["selector"]["columns"]
    crafted = encode_ubjson(
        with_nodes(booster_document, _splitting(booster_document), left_children={0: 10**6})
    )
    (tmp_path / "crafted.ubj").write_bytes(crafted)
    predict = (
        "import sys, numpy as np, xgboost as xgb\n"
        "booster = xgb.Booster()\n"
        "booster.load_model(sys.argv[1])\n"
        f"booster.predict(xgb.DMatrix(np.zeros((8, {len(columns)}), dtype=np.float32)))\n"
        "print('survived')\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", predict, str(tmp_path / "crafted.ubj")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode != 0 and "survived" not in child.stdout
    with pytest.raises(ValueError, match="left child 1000000 is outside"):
        read_booster(crafted, columns)


def test_after_a_refused_booster_the_active_run_still_forecasts(trained, booster_document) -> None:
    db, bundle = trained
    crafted = encode_ubjson(
        with_nodes(booster_document, _splitting(booster_document), left_children={0: 10**6})
    )
    workflows.activate_run(db, bundle.name)
    with pytest.raises(workflows.ArtifactError, match="left child 1000000"):
        workflows.import_bundle_archive(
            db, rehashed(bundle, "crafted-run", **{"booster.ubj": crafted})
        )
    assert workflows.active_run(db).run_id == bundle.name
    snapshot = workflows.build_snapshot(db, ["KO", "AAPL"], pd.Timestamp("2018-09-28"))
    frame = workflows.forecast(db, snapshot)
    assert sorted(frame.index) == ["AAPL", "KO"] and (frame["run_id"] == bundle.name).all()


def test_a_real_bundle_imports_and_forecasts_identically(
    trained, _seeded_template, tmp_path, monkeypatch
) -> None:
    db, bundle = trained
    assert (
        encode_ubjson(decode_ubjson((bundle / "booster.ubj").read_bytes()))
        == (bundle / "booster.ubj").read_bytes()
    )  # the test encoder writes exactly what XGBoost writes
    elsewhere = tmp_path / "elsewhere.db"
    elsewhere.write_bytes(_seeded_template.read_bytes())
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "elsewhere"))
    imported = workflows.import_bundle_archive(elsewhere, zipped(bundle))
    assert imported.run.run_id == bundle.name
    as_of = pd.Timestamp("2018-09-28")
    tickers = ["AAPL", "JPM", "KO", "XOM", "MSFT", "PG"]
    here = workflows.forecast(db, workflows.build_snapshot(db, tickers, as_of), run_id=bundle.name)
    there = workflows.forecast(
        elsewhere, workflows.build_snapshot(elsewhere, tickers, as_of), run_id=bundle.name
    )
    assert len(here) == 6 and here["score"].nunique() == 6  # trees that split, six scores
    pd.testing.assert_frame_equal(here, there)

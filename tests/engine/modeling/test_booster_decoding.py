"""The UBJSON decoder reads exactly what XGBoost writes and refuses anything else with the
byte offset; a decoded booster passes the structural check, quickly."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from engine.modeling.booster_check import check_booster_document, library_message, read_booster
from engine.modeling.ubjson import MAX_NESTING, decode_ubjson
from tests.crafted_bundles import encode_ubjson, trees_of

COLUMNS = [f"f{i}" for i in range(12)]


@pytest.fixture(scope="module")
def booster() -> xgb.Booster:
    """600 rounds of depth-2 trees on 12 named features (the learner's defaults)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, len(COLUMNS))).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=3000) > 0).astype(int)
    matrix = xgb.DMatrix(X, label=y, feature_names=COLUMNS)
    params = {"objective": "binary:logistic", "max_depth": 2, "nthread": 1, "seed": 0}
    return xgb.train(params, matrix, num_boost_round=600)


def test_a_real_booster_decodes_to_what_xgboost_says_it_holds(booster) -> None:
    raw = bytes(booster.save_raw("ubj"))
    document = decode_ubjson(raw)
    assert encode_ubjson(document) == raw
    assert document["learner"]["feature_names"] == COLUMNS
    assert document["learner"]["objective"]["name"] == "binary:logistic"
    trees = trees_of(document)
    assert len(trees) == booster.num_boosted_rounds() == 600
    dumped = booster.trees_to_dataframe()
    first = dumped[dumped["Tree"] == 0]
    assert trees[0]["left_children"].dtype == np.dtype(">i4")
    assert int(trees[0]["tree_param"]["num_nodes"]) == len(first)
    leaves = trees[0]["left_children"] == -1
    assert sorted(trees[0]["split_conditions"][leaves]) == pytest.approx(
        sorted(first.loc[first["Feature"] == "Leaf", "Gain"]), rel=1e-6
    )


def test_a_real_booster_passes_the_check_and_loads_as_it_was(booster) -> None:
    raw = bytes(booster.save_raw("ubj"))
    check_booster_document(decode_ubjson(raw), COLUMNS)
    loaded = read_booster(raw, COLUMNS)
    matrix = xgb.DMatrix(np.eye(4, len(COLUMNS), dtype=np.float32), feature_names=COLUMNS)
    np.testing.assert_array_equal(loaded.predict(matrix), booster.predict(matrix))


def test_the_feature_names_must_be_the_selectors_columns(booster) -> None:
    document = decode_ubjson(bytes(booster.save_raw("ubj")))
    with pytest.raises(ValueError, match="not the selector's 11 columns .*has 12 names"):
        check_booster_document(document, COLUMNS[:-1])


_KEY = b"L\x00\x00\x00\x00\x00\x00\x00\x01a"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\x80\x04\x95", "byte 0: the document does not start with an object"),
        (b"{" + _KEY + b"S", "byte 12: needs 1 more byte, but the file ends at byte 12"),
        (b"{" + _KEY + b"i\x01" + _KEY + b"i\x02}", "byte 13: the key 'a' appears twice"),
        (b"{" + _KEY + b"[$d#L\x00\x00\x00\x00\x10\x00\x00\x00}", "byte 11: the typed array of"),
        (b"{" + _KEY + b"[$S#L\x00\x00\x00\x00\x00\x00\x00\x00}", "byte 11: a typed array must"),
        (b"{" + _KEY + b"[i\x01]}", r"byte 11: an array must give its count"),
        (b"{" + _KEY + b"[#i\xff}", "byte 13: the array has the negative length -1"),
        (b"{" + _KEY + b"SU\x02\xff\xfe}", "byte 12: the string is not UTF-8 text"),
        (b"{" + _KEY + b"C}", r"byte 11: b'C' is not a UBJSON value marker XGBoost writes"),
        (b"{" + _KEY + b"[#U\x01" * MAX_NESTING + b"Z}", "containers nest deeper than 16"),
        (b"{}{}", "byte 2: 2 bytes follow the document"),
    ],
    ids=[
        "empty",
        "pickle",
        "truncated",
        "duplicate key",
        "typed array past the end",
        "typed array of strings",
        "uncounted array",
        "negative count",
        "not UTF-8",
        "unknown marker",
        "too deep",
        "trailing bytes",
    ],
)
def test_a_malformed_document_is_refused_with_its_offset(data, message) -> None:
    with pytest.raises(ValueError, match=message):
        decode_ubjson(data)


def test_a_document_larger_than_allowed_is_refused_before_decoding() -> None:
    with pytest.raises(ValueError, match="holds 4096 bytes, more than the 1024 allowed"):
        decode_ubjson(b"{" + b"\x00" * 4095, max_bytes=1024)


def test_a_library_error_keeps_its_reason_and_loses_its_paths() -> None:
    error = xgb.core.XGBoostError(
        "[04:31:07] /workspace/src/learner.cc:712: Check failed: header == serialisation_header_:"
        " wrong header\nStack trace:\n  [bt] (0) /usr/lib/python3/site-packages/xgboost/lib/"
        "libxgboost.so(+0x25c7a) [0x7f]"
    )
    assert library_message(error) == "Check failed: header == serialisation_header_: wrong header"

"""A LightGBM model text checked in Python before LightGBM's own parser sees it.

``read_lightgbm_model`` reads the header and every ``Tree=`` section line by line and
refuses, with a ValueError saying what is wrong: a file over ``MAX_MODEL_BYTES`` or not
ASCII; a header key this version does not write, a version other than v4, more than one
class or tree per iteration, an objective other than binary / lambdarank / regression,
feature names other than the selector's; a tree with categorical splits or linear leaves,
an unknown key, a count that is not a whole number in range, a number that is not finite,
arrays whose lengths do not match its leaves, a split on a feature index out of range, or
children that do not form one tree (every node but the root reached exactly once, from a
lower index); more trees than the manifest records. LightGBM is then given only the
checked header (without its byte offsets, ``tree_sizes``) and trees, up to
``end of trees``: the importances and parameters after it are never parsed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import lightgbm as lgb

from engine.modeling.booster_check import library_message

MAX_MODEL_BYTES = 64 << 20
MAX_LEAVES = 1 << 17
OBJECTIVES = ("binary", "lambdarank", "regression")
_HEADER_KEYS = {
    "version",
    "num_class",
    "num_tree_per_iteration",
    "label_index",
    "max_feature_idx",
    "objective",
    "feature_names",
    "feature_infos",
    "tree_sizes",
}
_INTERNAL = ("split_feature", "split_gain", "threshold", "decision_type", "left_child")
_INTERNAL += ("right_child", "internal_value", "internal_weight", "internal_count")
_LEAF = ("leaf_value", "leaf_weight", "leaf_count")
_TREE_KEYS = {"num_leaves", "num_cat", "is_linear", "shrinkage", *_INTERNAL, *_LEAF}
_WHOLE = re.compile(r"-?[0-9]{1,12}")


def _pairs(lines: list[str], where: str) -> dict[str, str]:
    out = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if not sep or key in out:
            raise ValueError(f"{where} has a malformed or repeated line {line[:40]!r}")
        out[key] = value
    return out


def _wholes(text: str, where: str) -> list[int]:
    values = text.split()
    if not all(_WHOLE.fullmatch(v) for v in values):
        raise ValueError(f"{where} holds a value that is not a whole number")
    return [int(v) for v in values]


def _finite(text: str, where: str) -> list[float]:
    try:
        values = [float(v) for v in text.split()]
    except ValueError:
        raise ValueError(f"{where} holds a value that is not a number") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{where} holds a value that is not finite")
    return values


def _check_header(header: dict[str, str], columns: Sequence[str]) -> None:
    unknown = set(header) - _HEADER_KEYS
    if unknown:
        raise ValueError(f"its header has keys this version does not read: {sorted(unknown)}")
    expected = {"version": "v4", "num_class": "1", "num_tree_per_iteration": "1"}
    for key, value in expected.items():
        if header.get(key) != value:
            raise ValueError(f"its header's {key} is not {value}")
    if header.get("objective", "").split(" ")[0] not in OBJECTIVES:
        raise ValueError(f"its objective is not one of {OBJECTIVES}")
    if header.get("feature_names", "").split(" ") != list(columns):
        raise ValueError("its feature names are not the selector's columns")
    if header.get("max_feature_idx") != str(len(columns) - 1):
        raise ValueError("its max_feature_idx does not match its feature names")


def _check_tree(tree: dict[str, str], n_features: int, where: str) -> None:
    unknown = set(tree) - _TREE_KEYS
    missing = {"num_leaves", "leaf_value"} - set(tree)
    if unknown or missing:
        raise ValueError(f"{where} has unknown or missing keys {sorted(unknown | missing)}")
    counts = _wholes(tree["num_leaves"], f"{where}'s num_leaves")
    leaves = counts[0] if len(counts) == 1 else 0
    if not 1 <= leaves <= MAX_LEAVES:
        raise ValueError(f"{where} has {leaves} leaves (1 to {MAX_LEAVES} allowed)")
    if tree.get("num_cat", "0") != "0" or tree.get("is_linear", "0") != "0":
        raise ValueError(f"{where} has categorical splits or linear leaves")
    _finite(tree.get("shrinkage", "1"), f"{where}'s shrinkage")
    for key in (*_INTERNAL, *_LEAF):
        size = leaves - 1 if key in _INTERNAL else leaves
        parse = _wholes if key.endswith(("_feature", "_type", "_child", "_count")) else _finite
        values = parse(tree.get(key, ""), f"{where}'s {key}")
        stump_weight = key == "leaf_weight" and leaves == 1 and not values  # LightGBM's way
        if len(values) != size and not stump_weight:
            raise ValueError(f"{where}'s {key} has {len(values)} values, expected {size}")
    features = _wholes(tree.get("split_feature", ""), where)
    if any(not 0 <= f < n_features for f in features):
        raise ValueError(f"{where} splits on a feature index out of range")
    if any(t & 1 or not 0 <= t < 16 for t in _wholes(tree.get("decision_type", ""), where)):
        raise ValueError(f"{where} has a decision type this version does not read")
    children = [
        (node, child)
        for key in ("left_child", "right_child")
        for node, child in enumerate(_wholes(tree.get(key, ""), where))
    ]
    seen_nodes = sorted(c for _, c in children if c >= 0)
    seen_leaves = sorted(-c - 1 for _, c in children if c < 0)
    from_lower = all(child > node for node, child in children if child >= 0)
    if leaves > 1 and (
        seen_nodes != list(range(1, leaves - 1))
        or seen_leaves != list(range(leaves))
        or not from_lower
    ):
        raise ValueError(f"{where}'s children do not form one tree")


def read_lightgbm_model(data: bytes, columns: Sequence[str], trees: int) -> lgb.Booster:
    """The booster ``data`` (a LightGBM model text) holds, loaded only after the checks
    above pass for the selector's ``columns`` and the manifest's ``trees`` count."""
    if len(data) > MAX_MODEL_BYTES:
        raise ValueError(f"is larger than {MAX_MODEL_BYTES >> 20} MB")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("is not a LightGBM model text (not ASCII)") from None
    body, marker, _ = text.partition("\nend of trees\n")
    blocks = [b.strip("\n").split("\n") for b in body.split("\n\n") if b.strip("\n")]
    if not marker or not blocks or blocks[0][0] != "tree":
        raise ValueError("is not a LightGBM model text (no 'tree' header or 'end of trees')")
    header = _pairs(blocks[0][1:], "its header")
    _check_header(header, columns)
    sections = blocks[1:]
    if len(sections) != trees:
        raise ValueError(f"holds {len(sections)} trees, but the manifest records {trees}")
    for number, lines in enumerate(sections):
        if lines[0] != f"Tree={number}":
            raise ValueError(f"has {lines[0][:20]!r} where Tree={number} belongs")
        _check_tree(_pairs(lines[1:], f"tree {number}"), len(columns), f"tree {number}")
    kept = [line for line in blocks[0] if not line.startswith("tree_sizes=")]
    checked = "\n\n".join(["\n".join(kept), *("\n".join(s) for s in sections)])
    try:
        return lgb.Booster(model_str=f"{checked}\n\nend of trees\n")
    except (lgb.basic.LightGBMError, ValueError) as exc:
        raise ValueError(f"was refused by LightGBM: {library_message(exc)}") from None

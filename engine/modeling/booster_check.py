"""The structure of an XGBoost model, checked before XGBoost loads it.

XGBoost's loader trusts the trees it reads: a child index past the end of a tree, a node
that is its own child or a split on a feature the data does not have makes prediction read
or jump outside its arrays (a crash, or an answer from stray memory). ``read_booster``
therefore decodes ``booster.ubj`` with the pure-Python ``engine.modeling.ubjson``, checks
the document with ``check_booster_document`` and only then hands the same bytes to XGBoost.

Only what this project writes is accepted: a ``gbtree`` booster of single-output trees with
numerical splits (no categories, no vector leaves, no deleted nodes), one of the project's
objectives, one tree per round, and the selector's columns as its features.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from engine.modeling.ubjson import decode_ubjson

MAX_TREES = 10_000  # the learner trains at most n_estimators (600 by default) rounds
MAX_DEPTH = 16  # the learner's max_depth is 2, tuning searches 1 to 6
MAX_NODES = 2**22  # all trees together
MAX_FEATURES = 100_000
OBJECTIVES = ("binary:logistic", "rank:pairwise", "reg:squarederror")
ROOT_PARENTS = (2**31 - 1, -1)  # what XGBoost records as the root's parent
FEATURE_TYPES = ("float", "q", "int", "i")  # numerical; "c" (categorical) is refused

_DOCUMENT_KEYS = {"learner", "version"}
_LEARNER_KEYS = {
    "attributes",
    "feature_names",
    "feature_types",
    "gradient_booster",
    "learner_model_param",
    "objective",
}
_PARAM_KEYS = {"base_score", "boost_from_average", "num_class", "num_feature", "num_target"}
_MODEL_KEYS = {"cats", "gbtree_model_param", "iteration_indptr", "tree_info", "trees"}
_TREE_PARAM_KEYS = {"num_deleted", "num_feature", "num_nodes", "size_leaf_vector"}
_LINKS = ("left_children", "right_children", "parents", "split_indices")
_FLAGS = ("default_left", "split_type")
_FLOATS = ("split_conditions", "base_weights", "loss_changes", "sum_hessian")
_CATEGORIES = ("categories", "categories_nodes", "categories_segments", "categories_sizes")
_TREE_KEYS = {"id", "tree_param", *_LINKS, *_FLAGS, *_FLOATS, *_CATEGORIES}
_INTEGER = re.compile(r"-?[0-9]{1,12}")
_TEXT_NUMBER = re.compile(r"\[?(-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\]?")


def read_booster(data: bytes, columns: Sequence[str]) -> xgb.Booster:
    """The booster that ``data`` (a ``booster.ubj``) holds, loaded only after it decodes
    and passes ``check_booster_document``.

    Parameters
    ----------
    data : bytes
        The file's bytes; XGBoost loads these same bytes (not the file again).
    columns : sequence of str, shape (n_features,)
        The selector's columns: the booster's feature names must be these.

    Returns
    -------
    xgboost.Booster

    Raises
    ------
    ValueError
        Whose message continues "booster.ubj ...": "is not an XGBoost UBJ model: <why>",
        "is refused: <what is wrong>" or "was refused by XGBoost: <its reason>" (file and
        library paths removed).
    """
    try:
        document = decode_ubjson(data)
    except ValueError as exc:
        raise ValueError(f"is not an XGBoost UBJ model: {exc}") from None
    try:
        check_booster_document(document, columns)
    except ValueError as exc:
        raise ValueError(f"is refused: {exc}") from None
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(data))
    except (xgb.core.XGBoostError, ValueError, TypeError) as exc:
        raise ValueError(f"was refused by XGBoost: {library_message(exc)}") from None
    return booster


def library_message(exc: BaseException) -> str:
    """The first line of a native library's error, without its time stamp, source paths
    or stack trace."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = re.sub(r"^\[[0-9:]+\]\s*", "", lines[0]) if lines else type(exc).__name__
    first = re.sub(r"(?:[A-Za-z]:)?(?:[\\/][^\s:\\/]+)+(?::[0-9]+)?:?", "", first)
    return first.strip() or type(exc).__name__


def check_booster_document(document: dict, columns: Sequence[str]) -> None:
    """Raise ValueError naming the first thing in a decoded model that this project would
    not have written, or that could make XGBoost read outside a tree.

    Parameters
    ----------
    document : dict
        ``decode_ubjson`` of the model file.
    columns : sequence of str, shape (n_features,)
        The selector's columns, in order: the model's feature names must be these.
    """
    _keys(document, _DOCUMENT_KEYS, "the document")
    version = document["version"]
    if not (isinstance(version, list) and len(version) == 3 and all(_is_int(v) for v in version)):
        raise ValueError("version is not three integers")
    learner = _keys(document["learner"], _LEARNER_KEYS, "learner")
    num_feature = _check_features(learner, list(columns))
    _check_objective(learner)
    booster = _keys(learner["gradient_booster"], {"model", "name"}, "learner.gradient_booster")
    if booster["name"] != "gbtree":
        raise ValueError(f"the booster kind {str(booster['name'])[:20]!r} is not gbtree")
    model = _keys(booster["model"], _MODEL_KEYS, "the gbtree model")
    trees = model["trees"]
    if not isinstance(trees, list) or not 1 <= len(trees) <= MAX_TREES:
        raise ValueError(f"the model does not hold 1 to {MAX_TREES} trees")
    _check_rounds(model, learner["attributes"], len(trees))
    nodes = _gather(trees, num_feature)
    _check_links(nodes)
    _check_values(nodes, num_feature)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _keys(value, expected: set[str], where: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object")
    if set(value) != expected:
        missing, extra = sorted(expected - set(value)), sorted(set(value) - expected)
        raise ValueError(f"{where} lacks {missing} or has unexpected keys {extra[:5]}")
    return value


def _number(value, where: str, low: int, high: int) -> int:
    """An integer that XGBoost writes as text ("63"), within [low, high]."""
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        raise ValueError(f"{where} is not an integer")
    number = int(value)
    if not low <= number <= high:
        raise ValueError(f"{where} is {number}, outside {low} to {high}")
    return number


def _integers(value, where: str, size: int) -> np.ndarray:
    """A list or typed array of ``size`` integers, as int64."""
    if isinstance(value, list) and all(_is_int(v) for v in value):
        array = np.asarray(value, dtype=np.int64)
    elif isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        array = value.astype(np.int64)
    else:
        raise ValueError(f"{where} is not an array of integers")
    if len(array) != size:
        raise ValueError(f"{where} holds {len(array)} values, not {size}")
    return array


def _check_features(learner: dict, columns: list[str]) -> int:
    params = _keys(learner["learner_model_param"], _PARAM_KEYS, "learner_model_param")
    num_feature = _number(params["num_feature"], "num_feature", 1, MAX_FEATURES)
    names = learner["feature_names"]
    if names != columns:
        raise ValueError(
            f"its feature names are not the selector's {len(columns)} columns "
            f"(the model has {len(names) if isinstance(names, list) else 'no'} names)"
        )
    if num_feature != len(columns):
        raise ValueError(f"num_feature is {num_feature}, but the selector has {len(columns)}")
    types = learner["feature_types"]
    if not isinstance(types, list) or len(types) not in (0, num_feature):
        raise ValueError("feature_types is not one type per feature")
    if any(kind not in FEATURE_TYPES for kind in types):
        raise ValueError(f"feature_types allows only numerical types {FEATURE_TYPES}")
    _number(params["num_class"], "num_class", 0, 0)  # one output: no multi-class model
    _number(params["num_target"], "num_target", 1, 1)
    _number(params["boost_from_average"], "boost_from_average", 0, 1)
    base = params["base_score"]
    found = _TEXT_NUMBER.fullmatch(base) if isinstance(base, str) else None
    if found is None or not np.isfinite(float(found.group(1))):
        raise ValueError("base_score is not one finite number")
    return num_feature


def _check_objective(learner: dict) -> None:
    objective = learner["objective"]
    if not isinstance(objective, dict) or objective.get("name") not in OBJECTIVES:
        name = objective.get("name") if isinstance(objective, dict) else None
        raise ValueError(f"the objective {str(name)[:30]!r} is none of {OBJECTIVES}")
    for key, params in objective.items():
        if key == "name":
            continue
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise ValueError(f"the objective's {key[:30]} is not a set of text parameters")


def _check_rounds(model: dict, attributes, n_trees: int) -> None:
    params = _keys(model["gbtree_model_param"], {"num_parallel_tree", "num_trees"}, "gbtree")
    if _number(params["num_trees"], "num_trees", 1, MAX_TREES) != n_trees:
        raise ValueError(f"num_trees says {params['num_trees']}, but {n_trees} trees follow")
    _number(params["num_parallel_tree"], "num_parallel_tree", 1, 1)
    if _integers(model["tree_info"], "tree_info", n_trees).any():
        raise ValueError("tree_info assigns a tree to an output group other than 0")
    indptr = _integers(model["iteration_indptr"], "iteration_indptr", n_trees + 1)
    if not np.array_equal(indptr, np.arange(n_trees + 1)):
        raise ValueError("iteration_indptr does not give one tree per round")
    cats = _keys(model["cats"], {"enc", "feature_segments", "sorted_idx"}, "cats")
    if any(len(value) for value in cats.values()):
        raise ValueError("the model holds categorical encodings; this project's have none")
    if not isinstance(attributes, dict) or not all(isinstance(v, str) for v in attributes.values()):
        raise ValueError("attributes are not text")
    if "best_iteration" in attributes:
        _number(attributes["best_iteration"], "best_iteration", 0, n_trees - 1)


@dataclass(frozen=True)
class _Nodes:
    """Every tree's node arrays end to end (shape (n_nodes,)); tree t holds the global
    indices offsets[t] to offsets[t + 1] - 1, and ``local`` is each node's index in its
    tree."""

    offsets: np.ndarray
    tree: np.ndarray
    local: np.ndarray
    size: np.ndarray
    arrays: dict[str, np.ndarray]

    def where(self, index: int) -> str:
        return f"tree {self.tree[index]} node {self.local[index]}"


def _gather(trees: list, num_feature: int) -> _Nodes:
    sizes, parts, total = [], {key: [] for key in (*_LINKS, *_FLAGS, *_FLOATS)}, 0
    for number, entry in enumerate(trees):
        tree = _keys(entry, _TREE_KEYS, f"tree {number}")
        if not _is_int(tree["id"]) or tree["id"] != number:
            raise ValueError(f"tree {number} carries the id {str(tree['id'])[:20]}")
        param = _keys(tree["tree_param"], _TREE_PARAM_KEYS, f"tree {number}'s tree_param")
        size = _number(param["num_nodes"], f"tree {number}'s num_nodes", 1, 2 ** (MAX_DEPTH + 1))
        if _number(param["num_feature"], f"tree {number}'s num_feature", 0, MAX_FEATURES) != (
            num_feature
        ):
            raise ValueError(f"tree {number}'s num_feature is not the model's {num_feature}")
        _number(param["num_deleted"], f"tree {number}'s num_deleted", 0, 0)
        _number(param["size_leaf_vector"], f"tree {number}'s size_leaf_vector", 0, 1)
        total += size
        if total > MAX_NODES:
            raise ValueError(f"the trees hold more than {MAX_NODES} nodes")
        for key in _CATEGORIES:
            if not isinstance(tree[key], np.ndarray) or tree[key].size:
                raise ValueError(f"tree {number} has categorical splits ({key})")
        for key, kinds in [(k, "iu") for k in (*_LINKS, *_FLAGS)] + [(k, "f") for k in _FLOATS]:
            array = tree[key]
            if not isinstance(array, np.ndarray) or array.dtype.kind not in kinds:
                raise ValueError(f"tree {number}'s {key} is not a typed array of numbers")
            if len(array) != size:
                raise ValueError(f"tree {number}'s {key} holds {len(array)} values, not {size}")
            parts[key].append(array)
        sizes.append(size)
    size = np.asarray(sizes, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(size)])
    tree = np.repeat(np.arange(len(size)), size)
    arrays = {key: np.concatenate(values) for key, values in parts.items()}
    for key in (*_LINKS, *_FLAGS):
        arrays[key] = arrays[key].astype(np.int64)
    local = np.arange(total) - offsets[tree]
    return _Nodes(offsets, tree, local, size[tree], arrays)


def _first(nodes: _Nodes, bad: np.ndarray) -> int | None:
    found = np.flatnonzero(bad)
    return int(found[0]) if found.size else None


def _check_links(nodes: _Nodes) -> None:
    """Children within their tree, each node reached exactly once from its root, parents
    that agree, and no path longer than ``MAX_DEPTH``."""
    left, right = nodes.arrays["left_children"], nodes.arrays["right_children"]
    if (i := _first(nodes, (left == -1) != (right == -1))) is not None:
        raise ValueError(f"{nodes.where(i)} has one child (left {left[i]}, right {right[i]})")
    for side, child in (("left", left), ("right", right)):
        if (i := _first(nodes, (child < -1) | (child >= nodes.size))) is not None:
            raise ValueError(
                f"{nodes.where(i)}'s {side} child {child[i]} is outside its {nodes.size[i]} nodes"
            )
        if (i := _first(nodes, child == nodes.local)) is not None:
            raise ValueError(f"{nodes.where(i)} is its own {side} child")
    split = left >= 0
    base = nodes.offsets[nodes.tree]
    children = np.concatenate([left[split] + base[split], right[split] + base[split]])
    parents = np.concatenate([nodes.local[split], nodes.local[split]])
    incoming = np.bincount(children, minlength=len(left))
    roots = nodes.offsets[:-1]
    if (i := _first(nodes, incoming[roots] > 0)) is not None:
        raise ValueError(f"tree {i}'s root (node 0) is another node's child")
    incoming[roots] = 1
    if (i := _first(nodes, incoming != 1)) is not None:
        raise ValueError(f"{nodes.where(i)} is the child of {incoming[i]} nodes, not one")
    recorded = nodes.arrays["parents"]
    if (i := _first(nodes, ~np.isin(recorded[roots], ROOT_PARENTS))) is not None:
        raise ValueError(f"tree {i}'s root records the parent {recorded[roots[i]]}")
    wrong = recorded[children] != parents
    if (i := _first(nodes, wrong)) is not None:
        child = int(children[i])
        raise ValueError(
            f"{nodes.where(child)} records the parent {recorded[child]}, "
            f"but node {parents[i]} links to it"
        )
    _check_reach(nodes, np.where(split, left + base, -1), np.where(split, right + base, -1))


def _check_reach(nodes: _Nodes, left: np.ndarray, right: np.ndarray) -> None:
    """Walk every tree from its root, level by level (global indices, -1 for none)."""
    frontier, reached = nodes.offsets[:-1], np.zeros(len(left), dtype=bool)
    for depth in range(MAX_DEPTH + 2):
        if not frontier.size:
            break
        if depth > MAX_DEPTH:
            raise ValueError(f"tree {nodes.tree[frontier[0]]} is deeper than {MAX_DEPTH} levels")
        reached[frontier] = True
        frontier = np.concatenate([left[frontier], right[frontier]])
        frontier = frontier[frontier >= 0]
    if (i := _first(nodes, ~reached)) is not None:
        raise ValueError(f"{nodes.where(i)} is not reached from its root (the links form a cycle)")


def _check_values(nodes: _Nodes, num_feature: int) -> None:
    arrays = nodes.arrays
    index = arrays["split_indices"]
    if (i := _first(nodes, (index < 0) | (index >= num_feature))) is not None:
        raise ValueError(
            f"{nodes.where(i)} splits on feature {index[i]}, but the model has {num_feature}"
        )
    if (i := _first(nodes, ~np.isin(arrays["default_left"], (0, 1)))) is not None:
        raise ValueError(f"{nodes.where(i)}'s default_left is not 0 or 1")
    if (i := _first(nodes, arrays["split_type"] != 0)) is not None:
        raise ValueError(f"{nodes.where(i)} has a categorical split; this project's have none")
    leaf = arrays["left_children"] == -1
    for key in _FLOATS:
        if (i := _first(nodes, ~np.isfinite(arrays[key]))) is not None:
            what = "leaf value" if key == "split_conditions" and leaf[i] else key
            what = "threshold" if key == "split_conditions" and not leaf[i] else what
            raise ValueError(f"{nodes.where(i)}'s {what} is {arrays[key][i]}, not finite")
    if (i := _first(nodes, arrays["sum_hessian"] < 0)) is not None:  # TreeSHAP weighs by it
        raise ValueError(f"{nodes.where(i)}'s sum_hessian is negative")

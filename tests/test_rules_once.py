"""Rules that were once written in several places, held to one on the source."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from engine.modeling.learners import MODEL_KINDS, probability_label

ROOT = Path(__file__).resolve().parent.parent
CODE = ("engine", "store", "api", "views", "models", "app.py")


def python_files() -> list[Path]:
    files = []
    for name in CODE:
        path = ROOT / name
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def test_progress_sub_ranges_are_scaled_by_scaled_progress_only() -> None:
    # a stage's fraction mapped by hand: progress(0.1 + 0.9 * f, ...) or progress(0.85 * f, ...)
    by_hand = re.compile(r"progress\(\s*(?:[\w.]+\s*\+\s*)?[\w.()\s-]+\*\s*\w+\s*,")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in python_files()
        if path != ROOT / "engine" / "data" / "schema.py"  # scaled_progress itself
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if by_hand.search(line)
    ]
    assert found == []


def test_no_two_engine_classes_share_a_name() -> None:
    where = defaultdict(list)
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(ROOT)))
    assert {name: files for name, files in where.items() if len(files) > 1} == {}


def test_the_probability_wording_is_chosen_by_probability_label_only() -> None:
    # the re-entry condition is always on P(beats median): it names its own input
    allowed = {"engine/modeling/learners/params.py", "engine/book/reentry.py"}
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in python_files()
        if str(path.relative_to(ROOT)) not in allowed
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in ("P(up)", "P(beats median)")
    ]
    assert found == []


def test_probability_label_names_what_each_kind_forecasts() -> None:
    labels = {kind: probability_label(kind) for kind in MODEL_KINDS}
    assert labels == {
        "classifier": "P(beats median)",
        "ranker": "P(beats median)",
        "regressor": "P(beats median)",
        "market_timing": "P(up)",
    }


def test_snapshot_names_only_the_as_of_snapshot() -> None:
    # before: compute_snapshot (a price summary) and compute_feature_snapshot (one ticker's
    # feature readings) beside the as-of snapshot, and load_snapshot wrote the cache
    named = {
        node.name
        for path in python_files()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and "snapshot" in node.name.lower()
    }
    assert named == {"AsOfSnapshot", "build_snapshot", "forget_snapshots"}  # the last: its memo

"""The workflows index imports on first use: ``import engine.workflows`` loads none of the
heavy libraries, ``from engine.workflows import X`` loads only the module defining X, and
every re-exported name still resolves."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

from engine import workflows
from engine.lazy_exports import lazy_exports

ROOT = Path(__file__).resolve().parents[3]
HEAVY = (
    "xgboost",
    "shap",
    "streamlit",
    "plotly",
    "sklearn",
    "pandas",
    "arch",
    "skfolio",
    "yfinance",
)
SUBPACKAGES = ("data", "platform", "modeling", "research", "trading", "routines")


def loaded_after(code: str) -> set[str]:
    """The heavy libraries in ``sys.modules`` after a fresh interpreter runs ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    answer = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return set(answer.stdout.split())


def test_importing_the_index_loads_no_heavy_library() -> None:
    assert loaded_after("import engine.workflows") == set()
    assert loaded_after("from engine.workflows import data, modeling, routines") == set()


def test_a_name_loads_only_what_its_module_needs() -> None:
    assert loaded_after("from engine.workflows import load_settings, parse_allow_list") == set()
    # the sources' names and the seed's entry point: the sample's and Yahoo's libraries load
    # when data is read, not with the module
    seed = loaded_after("from engine.workflows import MARKET_SOURCES, DESCRIPTIONS, ensure_seeded")
    assert seed & {"arch", "skfolio", "yfinance"} == set()
    # the control: a training name does load the learners
    assert {"xgboost", "pandas"} <= loaded_after("from engine.workflows import train_model")


def test_every_name_resolves_to_what_its_module_defines() -> None:
    assert len(workflows.__all__) == len(set(workflows.__all__)) > 200
    subpackage_names = []
    for name in SUBPACKAGES:
        subpackage = getattr(workflows, name)
        assert isinstance(subpackage, types.ModuleType) and subpackage.__all__
        subpackage_names += subpackage.__all__
        for module, names in subpackage.EXPORTS.items():
            defined = importlib.import_module(module)
            for exported in names:
                assert getattr(workflows, exported) is getattr(defined, exported)
                assert not isinstance(getattr(workflows, exported), types.ModuleType)
    assert sorted(subpackage_names) == sorted(workflows.__all__)
    assert set(workflows.__all__) <= set(dir(workflows))


def test_star_import_binds_every_name() -> None:
    namespace: dict = {}
    exec("from engine.workflows import *", namespace)  # noqa: S102
    assert set(workflows.__all__) <= set(namespace)
    assert namespace["forecast"] is workflows.forecast and callable(namespace["forecast"])


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        workflows.no_such_name  # noqa: B018
    with pytest.raises(ImportError):
        exec("from engine.workflows.trading import no_such_name", {})  # noqa: S102


def test_a_name_exported_from_two_modules_is_refused() -> None:
    with pytest.raises(ValueError, match="load_prices re-exported from a.b and c.d"):
        lazy_exports("pkg", {"a.b": ("load_prices",)}, {"c.d": ("load_prices",)})


def test_a_patched_module_is_seen_through_the_index_and_its_undo_too(monkeypatch) -> None:
    from engine.workflows.modeling import runs  # noqa: PLC0415

    real = runs.active_run
    monkeypatch.setattr(runs, "active_run", lambda db_path: "patched")
    assert workflows.active_run("store.db") == "patched"
    monkeypatch.undo()
    assert workflows.active_run is real

"""The import rules of ARCHITECTURE.md, checked on the source."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.bench.pages import app_pages

ROOT = Path(__file__).resolve().parent.parent
# The one engine module that may import streamlit: the pages benchmark drives the app in
# Streamlit's AppTest (it imports streamlit inside its functions, never at import time).
STREAMLIT_IN_ENGINE = {"engine/bench/pages.py"}
# Likewise the API benchmark serves the api package (imported inside its functions).
API_IN_ENGINE = {"engine/bench/api.py"}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports; ``from engine import workflows`` counts as
    ``engine.workflows`` (a name imported from a package may be a module of it)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "engine":
                names |= {f"engine.{alias.name}" for alias in node.names}
    return names


def package_imports(package: str) -> dict[str, set[str]]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    return {str(f.relative_to(ROOT)): imported_modules(f) for f in files}


def offenders(package: str, forbidden: str, allowed: set[str] | None = None) -> list[str]:
    return [
        f"{file} imports {name}"
        for file, names in package_imports(package).items()
        if file not in (allowed or set())
        for name in names
        if name == forbidden or name.startswith(forbidden + ".")
    ]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("engine", "streamlit"),
        ("store", "streamlit"),
        ("store", "engine"),
        ("views", "store"),
        ("api", "store"),
        ("api", "streamlit"),
        ("engine", "api"),
        ("views", "api"),
    ],
)
def test_imports_point_downward_only(package: str, forbidden: str) -> None:
    allowed = {("engine", "streamlit"): STREAMLIT_IN_ENGINE, ("engine", "api"): API_IN_ENGINE}.get(
        (package, forbidden)
    )
    assert offenders(package, forbidden, allowed) == []


def test_only_workflows_open_the_store() -> None:
    """engine.workflows is the one layer over the store: the rest of the engine, the
    benchmarks (engine/bench) and models/train.py go through it."""
    files = {
        **package_imports("engine"),
        "models/train.py": imported_modules(ROOT / "models" / "train.py"),
    }
    found = [
        f"{file} imports {name}"
        for file, names in files.items()
        if not file.startswith("engine/workflows/")
        for name in names
        if name == "store" or name.startswith("store.")
    ]
    assert found == []


# What the interfaces may import of the engine: the UI also draws with engine.display.
INTERFACES = {"app.py": ("workflows", "display"), "views": ("workflows", "display")}
INTERFACES |= {"api": ("workflows",), "models/train.py": ("workflows",)}
WORKFLOWS = ROOT / "engine" / "workflows"
# The workflows subpackages, lowest first: each imports only those before it.
WORKFLOW_LAYERS = ("data", "platform", "modeling", "research", "trading", "routines")


def engine_offenders(root: Path, interface: str, allowed: tuple[str, ...]) -> list[str]:
    path = root / interface
    files = [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
    assert files, f"no Python files at {interface}"
    return [
        f"{file.relative_to(root)} imports {name}"
        for file in files
        for name in sorted(imported_modules(file))
        if name.startswith("engine.") and name.split(".")[1] not in allowed
    ]


@pytest.mark.parametrize("interface", sorted(INTERFACES))
def test_interfaces_reach_the_engine_through_workflows(interface: str) -> None:
    """Pages, app.py, api/ and models/train.py call engine.workflows (the UI also draws
    with engine.display); nothing below the use cases."""
    assert engine_offenders(ROOT, interface, INTERFACES[interface]) == []


def test_the_interface_check_sees_a_deep_import(tmp_path: Path) -> None:
    (tmp_path / "views").mkdir()
    (tmp_path / "views" / "page.py").write_text(
        "from engine import workflows, metrics\nfrom engine.display.signals import plot\n"
        "import engine.workflows.data\nfrom engine.trading.gate import GO\n"
    )
    assert engine_offenders(tmp_path, "views", INTERFACES["views"]) == [
        "views/page.py imports engine.metrics",
        "views/page.py imports engine.trading.gate",
    ]


def test_workflow_subpackages_import_downward_only() -> None:
    assert sorted(p.parent.name for p in WORKFLOWS.glob("*/__init__.py")) == sorted(WORKFLOW_LAYERS)
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for rank, layer in enumerate(WORKFLOW_LAYERS)
        for path in sorted((WORKFLOWS / layer).rglob("*.py"))
        for name in sorted(imported_modules(path))
        if name.startswith("engine.workflows.")
        and name.split(".")[2] not in WORKFLOW_LAYERS[: rank + 1]
    ]
    assert found == []


def test_every_workflow_module_is_listed_in_the_index() -> None:
    """The index docstring of engine.workflows names each module of each subpackage."""
    index = ast.get_docstring(ast.parse((WORKFLOWS / "__init__.py").read_text()))
    unlisted = [
        f"{path.parent.name}.{path.stem}"
        for path in sorted(WORKFLOWS.glob("*/*.py"))
        if path.stem != "__init__" and f"``{path.parent.name}.{path.stem}``" not in index
    ]
    assert unlisted == []


def test_engine_imports_without_streamlit() -> None:
    """The pages benchmark's Streamlit imports are lazy: importing the engine, the bench
    entry point included, does not load Streamlit."""
    code = (
        "import sys, engine.bench.__main__; "
        "assert not {'streamlit', 'api', 'fastapi', 'uvicorn'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import streamlit as st\nfrom engine.data import schema\n")
    assert imported_modules(bad) == {"streamlit", "engine.data"}


def test_app_is_a_router_over_every_page_in_sidebar_sections() -> None:
    """app.py routes with st.navigation in sidebar sections, and lists each page file of
    views/ once (a file there that is not a page lives in views/components/)."""
    app = (ROOT / "app.py").read_text()
    assert "set_page_config" in app and 'position="sidebar"' in app
    sections = next(
        node.value
        for node in ast.walk(ast.parse(app))
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "SECTIONS"
    )
    assert [key.value for key in sections.keys] == [
        "Today",
        "Research",
        "Trading",
        "Data and settings",
    ]
    listed = [spec.path for spec in app_pages(ROOT / "app.py")]
    files = sorted(
        str(page.relative_to(ROOT))
        for page in (ROOT / "views").glob("*.py")
        if page.name != "__init__.py"
    )
    assert sorted(listed) == files and len(set(listed)) == len(listed)
    assert not (ROOT / "pages").exists()  # Streamlit's legacy discovery would read it


def test_every_ui_module_stays_thin() -> None:
    """Every module of the UI, pages and components alike, has at most 150 lines."""
    modules = [ROOT / "app.py", *sorted((ROOT / "views").rglob("*.py"))]
    long = {
        str(path.relative_to(ROOT)): lines
        for path in modules
        if (lines := len(path.read_text().splitlines())) > 150
    }
    assert long == {}, f"{long}: move logic into engine/ or split the component"


def test_the_api_stays_thin() -> None:
    """api/ is a layer over engine.workflows like views/: small modules, no computation."""
    for path in (ROOT / "api").rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 400, f"{path.relative_to(ROOT)} has {lines} lines; move logic to engine/"


# Ways to turn bytes into objects by running code: none may appear in the application.
UNPICKLING = re.compile(
    r"\bimport\s+(c?pickle|cloudpickle|dill|shelve|joblib)\b"
    r"|\bfrom\s+(c?pickle|cloudpickle|dill|shelve|joblib)\s+import\b"
    r"|\b(c?pickle|cloudpickle|dill|joblib)\.loads?\b"
    r"|\bread_pickle\b|\ballow_pickle\s*=\s*True"
)


def unpickling_offenders(root: Path, folders: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for folder in folders
        for path in sorted((root / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if UNPICKLING.search(line)
    ]


def test_nothing_in_the_application_can_unpickle() -> None:
    """A bundle is data, never code: no pickle, joblib or cloudpickle on any path that
    reads a file (tests may build pickles, to show that they are refused)."""
    folders = tuple(f for f in ("engine", "store", "views", "models", "api") if (ROOT / f).is_dir())
    assert {"engine", "store", "views", "models"} <= set(folders)
    assert unpickling_offenders(ROOT, folders) == []


@pytest.mark.parametrize(
    "line",
    [
        "import pickle",
        "import joblib",
        "from cloudpickle import loads",
        "model = joblib.load(path)",
        "x = pickle.loads(data)",
        "frame = pd.read_pickle(path)",
        "np.load(path, allow_pickle=True)",
    ],
)
def test_the_unpickling_check_sees_each_way(tmp_path: Path, line: str) -> None:
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "bad.py").write_text(f"# a pickle is never loaded\n{line}\n")
    assert unpickling_offenders(tmp_path, ("engine",)) == [f"engine/bad.py:2: {line}"]

"""Pages benchmark: every page of the app rendered by Streamlit's AppTest.

The store is the first-launch one: what ``python -m engine.workflows seed`` (``make run``)
builds on a fresh clone, the offline sample and the default model (every default setting,
the sample universe from 2005) trained and active, through engine.workflows. It takes
minutes to build, so it is built once per version of the engine and store code under
``<tempdir>/workbench-bench/`` and reused; each benchmark renders a copy of its database.
$WORKBENCH_DB and $WORKBENCH_ARTIFACTS point at those while the pages render and are
restored afterwards: the user's store and models/artifacts are never opened.

Each page gets its own AppTest session of app.py, the router:

- the session's landing run (app.py and the default page) is not timed;
- cold: Streamlit's caches are cleared, the page is opened and rendered once: every
  st.cache_data loader (views/components/loaders.py) it uses runs. Modules imported by the
  landing run or by pages benchmarked earlier stay imported, as in one server process;
- warm: ``repeats`` reruns of the same page in the same session with the caches the cold
  render filled and no widget changed (what a user waits for on a revisit or a rerun).

The goal per page is a cold render under ``COLD_GOAL_S`` and a warm median under
``WARM_GOAL_S`` (wall clock). Each figure also comes as the process's CPU seconds
(``cold_cpu_s``, ``warm_cpu_median_s``): on a machine that other processes load, the wall
figures swell and scatter while the CPU ones hardly move, so compare code by those. A page
whose run raised, that shows an exception or an st.error element, or that does not show
its own title fails the benchmark (``python -m engine.bench pages`` then exits 1).
"""

from __future__ import annotations

import ast
import hashlib
import logging
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine import workflows
from engine.modeling.learners import LearnerParams
from engine.modeling.training import TrainConfig
from engine.settings import DB_ENV_VAR
from engine.workflows.modeling.jobs import wait_for_training
from engine.workflows.routines.first_launch import ensure_ready

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
COLD_GOAL_S = 2.0
WARM_GOAL_S = 0.5
TRAINING_TIMEOUT_S = 3600  # the default model (66 folds) takes many minutes on a busy machine
TIMEOUT_S = 300.0
# The small model of the page tests (tests/builders.py SMALL_TRAIN): seconds to train.
BENCH_TRAIN = TrainConfig(
    tickers=("AAPL", "JPM", "KO", "XOM", "MSFT", "PG"),
    start=pd.Timestamp("2014-01-01"),
    as_of=pd.Timestamp("2018-06-29"),
    train_months=12,
    test_months=6,
    n_boot=50,
    learner=LearnerParams(n_estimators=200),
)
COLD = (
    "first render of the page in a new AppTest session of app.py, right after "
    "st.cache_data was cleared (modules imported earlier in the process stay imported)"
)
WARM = (
    "rerun of the same page in the same AppTest session, st.cache_data filled by the "
    "cold render, no widget changed; median of the repeats"
)


@dataclass(frozen=True)
class PageSpec:
    """One page of the router: its file relative to the app, and its title."""

    path: str
    title: str

    @property
    def name(self) -> str:
        return Path(self.path).stem


def app_pages(app: Path = APP) -> list[PageSpec]:
    """The ``st.Page("views/x.py", title=...)`` entries of ``app``, in its order."""
    found = []
    for node in ast.walk(ast.parse(app.read_text(), filename=str(app))):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "Page"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            continue
        path = node.args[0].value
        titles = [k.value.value for k in node.keywords if k.arg == "title"]
        found.append((node.lineno, node.col_offset, PageSpec(path, titles[0] if titles else "")))
    return [spec for *_, spec in sorted(found, key=lambda item: item[:2])]


def select_pages(app: Path, repeats: int, pages: Sequence[str] | None) -> list[PageSpec]:
    """``app``'s pages named in ``pages`` (all of them when None); ValueError on an unknown
    name or fewer than one repeat."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    specs = app_pages(app)
    if not pages:
        return specs
    known = {spec.name: spec for spec in specs}
    unknown = [name for name in pages if name not in known]
    if unknown:
        raise ValueError(f"no such page(s) in {app.name}: {unknown}; pages: {list(known)}")
    return [known[name] for name in pages]


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _at_the_app(app: Path) -> Iterator[None]:
    """cwd at the app (st.Page paths, .streamlit/config.toml), and the process's
    ``__main__`` given back afterwards (Streamlit installs the script as ``__main__``;
    spawned workers would re-run it)."""
    cwd, main_module = Path.cwd(), sys.modules.get("__main__")
    os.chdir(app.parent)
    try:
        yield
    finally:
        os.chdir(cwd)
        if main_module is not None:
            sys.modules["__main__"] = main_module


@contextmanager
def _outside_a_run() -> Iterator[None]:
    """Creating an AppTest and clearing the caches happen outside a script run, and
    Streamlit warns about the missing run context and runtime: expected here, so quiet."""
    loggers = [
        logging.getLogger(f"streamlit.runtime.{name}")
        for name in ("caching.cache_data_api", "scriptrunner_utils.script_run_context")
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _problems(at, title: str) -> list[str]:
    """Exceptions and error elements on the rendered page, and a missing title."""
    found = [
        f"exception {e.proto.type}: {e.value}"
        + (f" ({e.stack_trace[-1].splitlines()[0]})" if e.stack_trace else "")
        for e in at.exception
    ]
    found += [f"error element: {e.value}" for e in at.error]
    titles = [t.value for t in at.title]
    if title and title not in titles:
        found.append(f"title {title!r} not shown (titles: {titles})")
    return found


def _timed_run(at, timeout: float) -> tuple[float, float]:
    """Wall and process CPU seconds of one run (the CPU figure, every thread of this
    process, hardly moves when other processes load the machine)."""
    started, cpu = time.perf_counter(), time.process_time()
    at.run(timeout=timeout)
    return time.perf_counter() - started, time.process_time() - cpu


def _bench_page(app: Path, page: PageSpec, repeats: int, timeout: float) -> dict:
    import streamlit as st  # noqa: PLC0415 - only this benchmark needs Streamlit
    from streamlit.testing.v1 import AppTest  # noqa: PLC0415

    result: dict = {
        "title": page.title,
        "cold_s": None,
        "warm_median_s": None,
        "cold_cpu_s": None,
        "warm_cpu_median_s": None,
    }
    warm: list[float] = []
    warm_cpu: list[float] = []
    problems: list[str] = []
    try:
        with _outside_a_run():
            at = AppTest.from_file(str(app), default_timeout=timeout)
        at.run()  # the session's landing run: app.py and the default page, not timed
        with _outside_a_run():
            st.cache_data.clear()
        at.switch_page(page.path)
        result["cold_s"], result["cold_cpu_s"] = (round(t, 4) for t in _timed_run(at, timeout))
        problems += _problems(at, page.title)
        if not problems:  # a broken page is reported, not timed further
            for _ in range(repeats):
                wall, cpu = _timed_run(at, timeout)
                warm.append(wall)
                warm_cpu.append(cpu)
                problems += [p for p in _problems(at, page.title) if p not in problems]
    except Exception as error:  # noqa: BLE001 - a page that breaks the run is the finding
        problems.append(f"run raised {type(error).__name__}: {error}")
    if warm:
        result["warm_median_s"] = round(statistics.median(warm), 4)
        result["warm_cpu_median_s"] = round(statistics.median(warm_cpu), 4)
    result["warm_runs_s"] = [round(t, 4) for t in warm]
    result["meets_goal"] = (
        not problems
        and bool(warm)
        and result["cold_s"] < COLD_GOAL_S
        and statistics.median(warm) < WARM_GOAL_S
    )
    result["problems"] = problems
    return result


def render_pages(
    app: Path = APP,
    *,
    repeats: int = 5,
    pages: Sequence[str] | None = None,
    timeout: float = TIMEOUT_S,
) -> dict:
    """Cold and warm render times of the pages named in ``pages`` (default: all of
    ``app``'s), against the store and artifacts that the environment names.

    Returns the figures per page and a summary: the pages meeting the goal, the slowest
    page (warm median), and ``failed_pages``, page name -> what went wrong; ``ok`` is
    False when any page failed.
    """
    specs = select_pages(app, repeats, pages)
    started = time.perf_counter()
    with _at_the_app(app):
        figures = {spec.name: _bench_page(app, spec, repeats, timeout) for spec in specs}
    render_s = time.perf_counter() - started
    failed = {name: f["problems"] for name, f in figures.items() if f["problems"]}
    timed = {name: f for name, f in figures.items() if f["warm_median_s"] is not None}
    slowest = max(timed, key=lambda name: timed[name]["warm_median_s"], default=None)
    slowest_cold = max(timed, key=lambda name: timed[name]["cold_s"], default=None)
    return {
        "ok": not failed,
        "pages": len(figures),
        "repeats": repeats,
        "goal": f"cold < {COLD_GOAL_S:g} s and warm median < {WARM_GOAL_S:g} s per page",
        "pages_meeting_goal": sum(f["meets_goal"] for f in figures.values()),
        "all_meet_goal": all(f["meets_goal"] for f in figures.values()),
        "slowest_page": slowest,
        "slowest_warm_s": timed[slowest]["warm_median_s"] if slowest else None,
        "slowest_cold_page": slowest_cold,
        "slowest_cold_s": timed[slowest_cold]["cold_s"] if slowest_cold else None,
        "failed_pages": len(failed),
        "failures": failed,
        "cold": COLD,
        "warm": WARM,
        "render_s": round(render_s, 2),
        "per_page": figures,
    }


def source_version(root: Path = ROOT) -> str:
    """A digest of the engine's and the store's source: a cached store is rebuilt when the
    code that builds it changes."""
    digest = hashlib.sha256()
    for path in sorted(p for folder in ("engine", "store") for p in (root / folder).rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def first_launch_store(folder: Path, config: TrainConfig | None = None) -> tuple[Path, dict]:
    """The first-launch store of ``config`` (None: the default model) under ``folder``:
    its database and the setup figures. Built by ``ensure_ready`` unless ``folder`` holds
    it already (then ``reused`` is True and no seconds are spent)."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "store.db"
    with _environment(
        **{DB_ENV_VAR: str(db), workflows.ARTIFACTS_ENV_VAR: str(folder / "artifacts")}
    ):
        started = time.perf_counter()
        launch = ensure_ready(db, config=config)  # the default model trains as a job
        seeded_s = time.perf_counter() - started
        if launch.started is not None or launch.running is not None:
            wait_for_training(db, launch.started or launch.running, timeout_s=TRAINING_TIMEOUT_S)
        total_s = time.perf_counter() - started
        active = workflows.active_run(db)
    if active is None:
        raise RuntimeError(f"the first-launch store under {folder} has no active run")
    reused = launch.seeded_s is None and launch.started is None
    setup = {
        "setup_s": 0.0 if reused else round(total_s, 2),
        "seed_s": round(launch.seeded_s or 0.0, 2),
        "train_s": 0.0 if reused else round(total_s - seeded_s, 2),
        "reused": reused,
        "store": "first-launch store, " + ("the default model" if config is None else "given"),
        "active_run": active.run_id,
    }
    return db, setup


def run_pages_bench(
    *,
    repeats: int = 5,
    pages: Sequence[str] | None = None,
    config: TrainConfig | None = None,
    store: Path | None = None,
) -> dict:
    """:func:`render_pages` on a copy of the first-launch store of ``config`` (None: the
    default model, as ``make run`` trains it), built once under ``store`` and reused from
    there. Without ``store`` the default model's is kept per :func:`source_version` under
    ``<tempdir>/workbench-bench/`` (a folder of one's own keeps it across code changes) and
    a given ``config``'s is temporary. Setup time is reported apart."""
    select_pages(APP, repeats, pages)  # a wrong name fails before the setup, not after
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        kept = Path(tempfile.gettempdir()) / "workbench-bench" / f"first-launch-{source_version()}"
        folder = store or (kept if config is None else Path(tmp) / "built")
        db, setup = first_launch_store(folder, config)
        copy = Path(tmp) / "store.db"
        with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(copy)) as target:
            source.backup(target)  # the pages may write (caches): never to the reused store
        artifacts = str(folder / "artifacts")
        with _environment(**{DB_ENV_VAR: str(copy), workflows.ARTIFACTS_ENV_VAR: artifacts}):
            rendered = render_pages(APP, repeats=repeats, pages=pages)
    summary = {k: v for k, v in rendered.items() if k != "per_page"}
    return {**summary, **setup, "per_page": rendered["per_page"]}

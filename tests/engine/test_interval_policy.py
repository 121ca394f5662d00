"""One interval policy (issue 22, item 1): every bootstrap interval resamples blocks of
``ic_block(horizon)`` sessions, ``N_BOOT`` times, unless its caller asks otherwise."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import engine
from engine import workflows
from engine.metrics import IC_BLOCK, N_BOOT, _forecasts, ic_block
from engine.modeling import calibration_scores, factors
from engine.workflows.modeling.runs import run_horizon


def _engine_modules():
    for info in pkgutil.walk_packages(engine.__path__, "engine."):
        try:
            yield importlib.import_module(info.name)
        except ImportError:  # an optional dependency (torch) that is not installed
            continue


def _defaults() -> dict[str, dict[str, object]]:
    """Every engine function's (and dataclass's) n_boot and block defaults, by name."""
    found: dict[str, dict[str, object]] = {}
    for module in _engine_modules():
        for name, thing in vars(module).items():
            if getattr(thing, "__module__", None) != module.__name__:
                continue
            if dataclasses.is_dataclass(thing):
                fields = {f.name: f.default for f in dataclasses.fields(thing)}
            elif inspect.isfunction(thing):
                fields = {p.name: p.default for p in inspect.signature(thing).parameters.values()}
            else:
                continue
            chosen = {
                k: v
                for k, v in fields.items()
                if k in ("n_boot", "feature_boot", "block")
                and v not in (dataclasses.MISSING, inspect.Parameter.empty)  # required
            }
            if chosen:
                found[f"{module.__name__}.{name}"] = chosen
    return found


def test_every_bootstrap_count_and_block_defaults_to_the_policy() -> None:
    # before: 200 (feature IC table, scenarios, compare_methods), 300 (backtests, tear
    # sheet, evaluation), 500 (bootstrap_interval, ic_summary, the gate), 100 (the
    # Factors page's feature intervals); backtest returns in blocks of 20, not 21
    defaults = _defaults()
    assert len(defaults) >= 15
    wrong = {
        where: values
        for where, values in defaults.items()
        for key, value in values.items()
        if (key in ("n_boot", "feature_boot") and value != N_BOOT)
        or (key == "block" and value not in (IC_BLOCK, None))
    }
    assert not wrong


def test_the_factors_page_and_the_calibration_review_resample_the_same_blocks(
    trained_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before: the Factors page's feature table used blocks of ``horizon`` (5) sessions
    # while its tear sheet and the calibration review used ic_block(horizon) (21)
    seeded_db, record = trained_db
    blocks: list[int | None] = []
    for module in (_forecasts, factors, calibration_scores):  # ic_summary's is _forecasts'
        original = module.bootstrap_interval

        def spy(*args, _original=original, **kwargs):
            blocks.append(kwargs.get("block"))
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, "bootstrap_interval", spy)
    workflows.factor_report(seeded_db, record.run_id, n_boot=20, feature_boot=20)
    on_factors, blocks[:] = set(blocks), []
    workflows.calibration_report(seeded_db, record.run_id)
    on_calibration = set(blocks)
    expected = {ic_block(run_horizon(workflows.load_run(seeded_db, record.run_id)))}
    assert on_factors == on_calibration == expected

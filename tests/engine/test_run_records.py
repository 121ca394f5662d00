"""A run's analyses are kept with it as typed records: computed once, read back typed,
refused with an ArtifactError when the kept file was crafted (on a page and on import)."""

from __future__ import annotations

import pandas as pd
import pytest

from engine import workflows
from engine.modeling.artifacts import CALIBRATION_RECORD, SIGNAL_RECORD, ArtifactError
from tests.crafted_bundles import zipped

pytest_plugins = ["tests.trained_bundle"]


def test_analyses_are_kept_once_and_read_back_typed(trained) -> None:
    db, bundle = trained
    run_id = bundle.name
    assert not (bundle / CALIBRATION_RECORD).exists()  # trained before they were kept
    workflows.keep_analyses(db, run_id)
    kept = {name: (bundle / name).read_bytes() for name in (CALIBRATION_RECORD, SIGNAL_RECORD)}
    calibration = workflows.calibration_report(db, run_id)  # read back, not recomputed
    assert isinstance(calibration, workflows.CalibrationReport)
    assert calibration.run_id == run_id and calibration.forecasts > 0
    assert isinstance(calibration.first, pd.Timestamp)
    assert {"run's method", "climatology"} <= set(calibration.methods["method"])
    factors = workflows.factor_report(db, run_id)
    assert factors.sheet.quantiles == 5 and len(factors.features) > 0
    other = workflows.factor_report(db, run_id, quantiles=3)  # other options: computed
    assert other.sheet.quantiles == 3
    for name, data in kept.items():
        assert (bundle / name).read_bytes() == data, f"{name} was rewritten"


def test_a_run_without_kept_analyses_gets_them_on_first_read(trained) -> None:
    db, bundle = trained
    report = workflows.calibration_report(db, bundle.name)
    assert (bundle / CALIBRATION_RECORD).is_file()
    again = workflows.calibration_report(db, bundle.name)
    pd.testing.assert_frame_equal(again.methods, report.methods, check_exact=True)


@pytest.mark.parametrize(
    "content",
    [
        b"{}",
        b"\xff\xfe",
        b'{"record": "CalibrationReport", "fields": {"run_id": 1}}',
        b"[" * 50_000,
    ],
)
def test_a_crafted_kept_record_is_an_artifact_error(trained, content: bytes) -> None:
    db, bundle = trained
    (bundle / CALIBRATION_RECORD).write_bytes(content)
    with pytest.raises(ArtifactError, match=CALIBRATION_RECORD):
        workflows.calibration_report(db, bundle.name)


def test_an_import_refuses_a_crafted_record_and_checks_a_sound_one(trained) -> None:
    db, bundle = trained
    (bundle / SIGNAL_RECORD).write_bytes(b'{"record": "FactorReport", "fields": []}')
    with pytest.raises(ArtifactError, match=SIGNAL_RECORD):
        workflows.import_bundle_archive(db, zipped(bundle))
    (bundle / SIGNAL_RECORD).unlink()
    workflows.keep_analyses(db, bundle.name)
    # sound records pass the check: the import goes on to refuse the run as a duplicate
    with pytest.raises(ArtifactError, match="already registered"):
        workflows.import_bundle_archive(db, zipped(bundle))

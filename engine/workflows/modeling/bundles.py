"""Bundles trained elsewhere (e.g. Colab): checked, copied and registered.

Only format-2 bundles (data, no pickles) are imported; an old-format one is refused after
reading nothing but its manifest. The result says whether the bundle is signed by this
install, signed with another key, or unsigned.
"""

from __future__ import annotations

import copy
import io
import os
import shutil
import tempfile
import zipfile
import zlib
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
from pyarrow import feather

from engine.modeling.analyses import CalibrationReport, FactorReport
from engine.modeling.artifacts import (
    CALIBRATION_RECORD,
    COMMON_FILES,
    FEATURE_BASELINE,
    MANIFEST,
    MODEL_FILES,
    PREDICTIONS,
    RECORD_FILES,
    SIGNAL_RECORD,
    ArtifactError,
    check_format,
    legacy_message,
    manifest_hashes,
    read_bundle,
    read_manifest,
    read_run_record,
)
from engine.modeling.serialization import json_document
from engine.modeling.signing import SIGNED_HERE, signature_status
from engine.modeling.training import TrainConfig, data_hash
from engine.settings import load_settings
from engine.workflows.data.prices import DbPath
from engine.workflows.modeling.runs import RUN_ID_PATTERN, artifacts_root, load_run, new_run_id
from store.db import open_db, write_transaction
from store.models import ModelRun, ModelRunRepository
from store.prices import PriceRepository


@dataclass(frozen=True)
class BundleImport:
    """An imported run's record and whether its manifest is signed by this install
    ("signed by this install", "signed with another key" or "unsigned")."""

    run: ModelRun
    signature: str


def import_bundle(db_path: DbPath, folder: Path) -> BundleImport:
    """Register a bundle trained elsewhere (e.g. Colab) after checking its files against its
    manifest; its files are copied under the artifacts root and registered as 'imported'.

    """
    try:  # settings that cannot be read are said before anything else
        signing = load_settings().signing
        key, required = signing.key, signing.require_signed
    except ValueError as exc:
        raise ArtifactError(str(exc)) from exc
    hashes = manifest_hashes(folder)
    try:
        signature = signature_status(read_manifest(folder), key)
    except ValueError as exc:
        raise ArtifactError(f"{MANIFEST} in {folder}: {exc}") from exc
    if required and signature != SIGNED_HERE:
        raise ArtifactError(
            f"this install imports only bundles signed with its own key, and this one is "
            f"{signature}. Train it here, or sign it with this install's key; to accept "
            f"bundles from elsewhere set require_signed_bundles = false in the secrets file"
        )
    manifest = read_bundle(Path(folder), hashes)[1]
    for name, record in ((CALIBRATION_RECORD, CalibrationReport), (SIGNAL_RECORD, FactorReport)):
        # a malformed record refuses the bundle; a sound one is not copied: the run's
        # analyses are recomputed here from its verified predictions on first read
        read_run_record(Path(folder), name, record)
    through, verified = checked_trained_through(manifest, Path(folder))
    try:  # what a retrain of this run would reuse (POST /retrain, the Training page)
        config = TrainConfig.from_dict(manifest.get("config"))
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"the manifest's training configuration is refused: {exc}") from exc
    check_training_data(db_path, config, manifest)
    run_id = str(manifest.get("run_id") or new_run_id())
    if not RUN_ID_PATTERN.fullmatch(run_id):  # it names a folder: no paths, no surprises
        raise ArtifactError(f"the manifest's run id {run_id[:40]!r} is not a valid run id")
    with closing(open_db(db_path)) as db:
        if ModelRunRepository(db).get(run_id) is not None:
            raise ArtifactError(f"run {run_id} is already registered in this store")
    target = artifacts_root() / run_id
    if target.exists():
        raise ArtifactError(f"run {run_id} is already in {target.parent}")
    temp = target.with_name(f".tmp-import-{run_id}")
    temp.mkdir(parents=True)
    try:
        for name in hashes:  # the bundle's own files, nothing else from the folder
            shutil.copyfile(Path(folder) / name, temp / name)
        os.rename(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    try:
        with closing(open_db(db_path)) as db, write_transaction(db):
            runs = ModelRunRepository(db)
            runs.start(run_id, manifest.get("config", {}), origin="imported")
            runs.complete(
                run_id,
                metrics=manifest.get("metrics", {}),
                files=hashes,
                artifact_dir=str(target),
                feature_version=str(manifest.get("feature_version", "")),
                data_hash=str(manifest.get("data_hash", "")),
                code_version=str(manifest.get("code_version", "")),
                trained_through=through,
                trained_through_verified=verified,
            )
    except BaseException:  # not registered: leave no unregistered folder behind
        shutil.rmtree(target, ignore_errors=True)
        raise
    return BundleImport(load_run(db_path, run_id), signature)


def training_rows(db_path: DbPath, config: TrainConfig, through: pd.Timestamp) -> pd.DataFrame:
    """The stored price rows of ``config.tickers`` dated on or before ``through``: what a
    run of ``config`` learned from when ``through`` is its last labelled date."""
    with closing(open_db(db_path)) as db:
        return PriceRepository(db).load(list(config.tickers), end=through)


def check_training_data(db_path: DbPath, config: TrainConfig, manifest: dict) -> None:
    """Refuse a bundle that was not trained on exactly the rows this store holds: the
    manifest's ``data_hash`` must be the hash of the store's rows of its tickers through its
    last labelled date (a Colab run on an exported package is; a run on another vendor's or
    a restated history is not, and its trained-through date would mean nothing here)."""
    try:
        through = pd.Timestamp(manifest["last_labelled_date"])
        recorded = str(manifest["data_hash"])
    except (KeyError, TypeError, ValueError):
        raise ArtifactError(
            "the manifest records no data hash and last labelled date: retrain it with this "
            "version (on a training package of this store, for a run trained elsewhere)"
        ) from None
    if data_hash(training_rows(db_path, config, through)) != recorded:
        raise ArtifactError(
            f"the run was trained on other prices than this store holds for its tickers "
            f"through {through:%Y-%m-%d} (the data hash differs): export a training package "
            "from this store and train on that"
        )


def checked_trained_through(manifest: dict, folder: Path) -> tuple[str, bool]:
    """The manifest's trained-through date (ISO) and whether the bundle's own files could
    confirm it; ArtifactError when it is missing or earlier than they show.

    The run learned from every outcome its out-of-sample predictions record (``end_date``)
    and from the labels of its feature baseline's rows (each dated before its outcome), so
    a date before the newest of those is false: with it the look-ahead guard would let the
    model forecast dates whose outcomes it has seen. With no outcome date in the files the
    date is the bundle's word only (verified False).
    """
    try:
        claimed = pd.Timestamp(manifest["trained_through"])
        if pd.isna(claimed):
            raise ValueError("not a date")
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(
            "the manifest records no valid trained-through date (the newest label end date "
            "the run learned from): retrain it with models/train.py from this version"
        ) from exc
    newest = [
        _newest_date(folder / PREDICTIONS, "end_date"),
        _newest_date(folder / FEATURE_BASELINE, "date"),
    ]
    if newest[0] is not None and claimed < newest[0]:
        raise ArtifactError(
            f"the manifest says the run is trained through {claimed:%Y-%m-%d}, but its own "
            f"out-of-sample predictions hold outcomes up to {newest[0]:%Y-%m-%d}: it learned "
            "from outcomes after the date it claims, so it is not imported"
        )
    if newest[1] is not None and claimed <= newest[1]:
        raise ArtifactError(
            f"the manifest says the run is trained through {claimed:%Y-%m-%d}, but its "
            f"feature baseline holds training rows up to {newest[1]:%Y-%m-%d}, whose outcomes "
            "came later: it is not imported"
        )
    return f"{claimed:%Y-%m-%d}", newest[0] is not None


def _newest_date(path: Path, column: str) -> pd.Timestamp | None:
    """The newest date in ``column`` of the Arrow file at ``path`` (None: no such column or
    no date), read after the file's structure is validated in full."""
    try:
        table = feather.read_table(path)
        table.validate(full=True)
        if column not in table.column_names:
            return None
        dates = pd.to_datetime(table.column(column).to_pandas(), errors="coerce")
    except (OSError, ValueError, TypeError, pa.ArrowException) as exc:
        raise ArtifactError(f"{path.name} is not a readable Arrow table: {exc}") from exc
    newest = dates.max()
    return None if pd.isna(newest) else pd.Timestamp(newest)


MAX_BUNDLE_BYTES = 200 * 2**20  # all files inflated, counted while they are read
MAX_MANIFEST_BYTES = 16 * 2**20
_CHUNK = 1 << 20
_ENCRYPTED = 0x1  # bit 0 of a zip entry's flags
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_OTHER_METHODS = {9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstandard", 99: "AES"}
# what zipfile and zlib raise for a damaged entry or one they cannot read
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def import_bundle_archive(db_path: DbPath, archive: bytes) -> BundleImport:
    """Import a zipped bundle (the files of one run folder, at the top level or inside one
    folder). Only the bundle's own file names are accepted and nothing is written outside a
    temporary folder before the hash check passes. Every entry is inflated in chunks and
    counted: one that inflates past its declared size or the bundle past
    ``MAX_BUNDLE_BYTES`` is refused when it does, and any problem with the archive, an
    entry or a file in it is an ArtifactError naming the file."""
    try:
        zipped = zipfile.ZipFile(io.BytesIO(archive))
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ArtifactError(f"the upload is not a zip archive: {exc}") from exc
    members = [m for m in zipped.infolist() if not m.is_dir()]
    names = {PurePosixPath(m.filename).name for m in members}
    if any(name.endswith(".joblib") for name in names):
        raise ArtifactError(legacy_message("the uploaded bundle"))
    folders = {PurePosixPath(m.filename).parent for m in members}
    allowed = {*COMMON_FILES, *MODEL_FILES, *RECORD_FILES}
    one_model = len(names & set(MODEL_FILES)) == 1
    if (
        not (set(COMMON_FILES) <= names <= allowed and one_model)
        or len(members) != len(names)
        or len(folders) != 1
    ):
        raise ArtifactError(
            f"a bundle archive holds exactly {', '.join(COMMON_FILES)} and one model file "
            f"({' or '.join(MODEL_FILES)}), and optionally the run's "
            f"{' and '.join(RECORD_FILES)}, in one folder; "
            f"this one holds {', '.join(sorted(m.filename for m in members)[:8])}"
        )
    if sum(m.file_size for m in members) > MAX_BUNDLE_BYTES:
        raise ArtifactError(f"the bundle is larger than {MAX_BUNDLE_BYTES // 2**20} MB")
    for member in members:
        check_entry(member)
    (manifest,) = [m for m in members if PurePosixPath(m.filename).name == MANIFEST]
    text = io.BytesIO()
    inflate(zipped, manifest, text, MAX_MANIFEST_BYTES, f"{MAX_MANIFEST_BYTES // 2**20} MB")
    try:
        body = json_document(text.getvalue())
    except ValueError as exc:
        raise ArtifactError(f"cannot read {MANIFEST} in the upload: {exc}") from exc
    if not isinstance(body, dict):
        raise ArtifactError(f"{MANIFEST} in the upload is not a JSON object")
    check_format(body, Path("the upload"))  # refused before any other file is read
    with tempfile.TemporaryDirectory() as tmp:
        budget, cap = MAX_BUNDLE_BYTES, f"the {MAX_BUNDLE_BYTES // 2**20} MB a bundle may hold"
        for member in members:
            with open(Path(tmp) / PurePosixPath(member.filename).name, "wb") as target:
                budget -= inflate(zipped, member, target, budget, cap)
        try:
            return import_bundle(db_path, Path(tmp))
        except ArtifactError as exc:  # its messages name the temporary folder
            raise ArtifactError(str(exc).replace(tmp, "the upload")) from exc


def check_entry(member: zipfile.ZipInfo) -> None:
    """Refuse an entry that is encrypted or compressed with a method other than the two
    every zip tool writes, before reading it."""
    name = PurePosixPath(member.filename).name
    if member.flag_bits & _ENCRYPTED:
        raise ArtifactError(
            f"{name} in the upload is encrypted; a bundle is never password-protected: "
            "zip the run folder again without a password"
        )
    if member.compress_type not in _METHODS:
        method = _OTHER_METHODS.get(member.compress_type, f"method {member.compress_type}")
        raise ArtifactError(
            f"{name} in the upload is compressed with {method}, which this version does not "
            "read: zip the run folder again with the standard method (deflate)"
        )


def inflate(
    zipped: zipfile.ZipFile, member: zipfile.ZipInfo, sink: BinaryIO, limit: int, cap: str
) -> int:
    """Write ``member``'s inflated bytes to ``sink`` one chunk at a time; return how many.
    ``cap`` says what ``limit`` is, for the message.

    zipfile stops silently at the size an entry declares, so it is asked for one byte more
    (and its CRC check, which would fire at that byte, is done here instead): a stream that
    inflates beyond the declared size is refused, as is one past ``limit``, neither
    inflated further than one chunk past either.
    """
    name = PurePosixPath(member.filename).name
    probe = copy.copy(member)
    probe.file_size, probe.CRC = member.file_size + 1, None
    size, crc = 0, 0
    try:
        with zipped.open(probe) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > member.file_size:
                    raise ArtifactError(
                        f"{name} in the upload inflates beyond the {member.file_size} bytes "
                        "its zip entry declares: the archive is damaged or crafted"
                    )
                if size > limit:
                    raise ArtifactError(f"{name} in the upload inflates past {cap}")
                crc = zlib.crc32(chunk, crc)
                sink.write(chunk)
    except _UNREADABLE as exc:
        raise ArtifactError(f"cannot read {name} in the upload: {exc}") from exc
    if size != member.file_size:
        raise ArtifactError(
            f"{name} in the upload holds {size} bytes, not the {member.file_size} its zip "
            "entry declares"
        )
    if crc != member.CRC:
        raise ArtifactError(f"cannot read {name} in the upload: Bad CRC-32 (it is damaged)")
    return size

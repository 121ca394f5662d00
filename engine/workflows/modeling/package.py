"""Training packages: the round trip through Colab on the user's own data.

The Training page exports a package (``export_training_package``): one zip holding
``package.json`` (the run's configuration, the as-of date, the SHA-256 of the rows it will
learn from: ``data_hash``), ``prices.arrow`` (every price row the store holds dated on or
before the as-of date: the universe's and the market's, which the context families read)
and ``code/`` (this version's engine, store and training script, which the notebook runs).
The notebook loads it into a store of its own (``load_training_package``: the rows pass
the same quality gate as any import, then their hash must equal the package's) and trains
the configuration as it is; the bundle's manifest carries the hash of the rows the run
learned from, which the import checks against the store it lands in (``bundles``).
"""

from __future__ import annotations

import io
import json
import zipfile
from contextlib import closing
from pathlib import Path, PurePosixPath

import pandas as pd
import pyarrow as pa
from pyarrow import feather

from engine.data.schema import PRICE_COLUMNS, FetchResult
from engine.modeling.artifacts import ArtifactError
from engine.modeling.serialization import json_document
from engine.modeling.training import TrainConfig, data_hash
from engine.workflows.data.prices import DbPath, ingest
from engine.workflows.modeling.bundles import check_entry, inflate, training_rows
from engine.workflows.modeling.runs import code_version
from store.db import open_db
from store.prices import PriceRepository

PACKAGE_FORMAT = 1
PACKAGE_FILE, PRICES_FILE, CODE_FOLDER = "package.json", "prices.arrow", "code"
# what models/train.py needs to run: its modules and the pinned requirements
CODE_PARTS = ("engine", "store", "models", "requirements.txt", "requirements-deep.txt")
ROOT = Path(__file__).resolve().parents[3]
MAX_PRICES_BYTES = 1 << 30
MAX_JSON_BYTES = 1 << 20
ARROW_MAGIC = b"ARROW1"


def _code_files() -> list[Path]:
    files = []
    for part in CODE_PARTS:
        path = ROOT / part
        found = [path] if path.is_file() else sorted(path.rglob("*.py"))
        files += [f for f in found if "__pycache__" not in f.parts]
    return files


def export_training_package(db_path: DbPath, config: TrainConfig) -> bytes:
    """The zipped package of ``config`` (with an as-of date) on this store's data."""
    if config.as_of is None:
        raise ValueError("a training package needs an as-of date: the data stops there")
    with closing(open_db(db_path)) as db:
        prices = PriceRepository(db).load(None, end=config.as_of)
    universe = prices[prices["ticker"].isin(config.tickers)]
    if universe.empty:
        raise ValueError("the store holds no prices of the chosen tickers by the as-of date")
    body = {
        "format": PACKAGE_FORMAT,
        "config": config.as_dict(),
        "as_of": f"{config.as_of:%Y-%m-%d}",
        "rows": len(prices),
        "data_hash": data_hash(universe),
        "code_version": code_version(),
    }
    table = pa.Table.from_pandas(prices[list(PRICE_COLUMNS)], preserve_index=False)
    arrow = io.BytesIO()
    feather.write_feather(table, arrow, compression="uncompressed")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(PACKAGE_FILE, json.dumps(body, indent=1, sort_keys=True))
        zipped.writestr(PRICES_FILE, arrow.getvalue())
        for path in _code_files():
            zipped.write(path, f"{CODE_FOLDER}/{path.relative_to(ROOT).as_posix()}")
    return out.getvalue()


def _member(zipped: zipfile.ZipFile, name: str, limit: int) -> bytes:
    found = [m for m in zipped.infolist() if m.filename == name]
    if len(found) != 1:
        raise ArtifactError(f"the package holds no single {name}: it is not a training package")
    check_entry(found[0])
    sink = io.BytesIO()
    inflate(zipped, found[0], sink, limit, f"{limit >> 20} MB")
    return sink.getvalue()


def read_training_package(archive: bytes) -> tuple[dict, pd.DataFrame]:
    """The package's description and prices, checked: ArtifactError saying what is wrong."""
    try:
        zipped = zipfile.ZipFile(io.BytesIO(archive))
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ArtifactError(f"the package is not a zip archive: {exc}") from exc
    names = {PurePosixPath(m.filename) for m in zipped.infolist()}
    if any(n.is_absolute() or ".." in n.parts for n in names):
        raise ArtifactError("the package names a file outside its own folder")
    try:
        body = json_document(_member(zipped, PACKAGE_FILE, MAX_JSON_BYTES))
    except ValueError as exc:
        raise ArtifactError(f"cannot read {PACKAGE_FILE}: {exc}") from exc
    if not isinstance(body, dict) or body.get("format") != PACKAGE_FORMAT:
        raise ArtifactError(f"{PACKAGE_FILE} is not a training package of format {PACKAGE_FORMAT}")
    data = _member(zipped, PRICES_FILE, MAX_PRICES_BYTES)
    if not data.startswith(ARROW_MAGIC):  # checked before Arrow's reader sees the bytes
        raise ArtifactError(f"{PRICES_FILE} is not an Arrow file")
    try:
        prices = feather.read_table(pa.BufferReader(data)).to_pandas()
    except (pa.ArrowException, ValueError) as exc:
        raise ArtifactError(f"cannot read {PRICES_FILE}: {exc}") from exc
    if list(prices.columns) != list(PRICE_COLUMNS):
        raise ArtifactError(f"{PRICES_FILE} has columns {list(prices.columns)[:8]}")
    return body, prices


def load_training_package(db_path: DbPath, archive: bytes) -> TrainConfig:
    """Store the package's prices (through the quality gate) and return its configuration,
    once the stored rows' hash equals the package's: the data arrived exactly."""
    body, prices = read_training_package(archive)
    try:
        config = TrainConfig.from_dict(body.get("config"))
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"the package's training configuration is refused: {exc}") from exc
    result = ingest(db_path, FetchResult("package", prices, adjusted=True))
    refused = result.outcomes[result.outcomes["outcome"] != "stored"]
    if len(refused):
        raise ArtifactError(
            f"the package's prices of {', '.join(refused['ticker'][:5])} failed the quality "
            "gate; export the package again"
        )
    rows = training_rows(db_path, config, pd.Timestamp(body.get("as_of")))
    if data_hash(rows) != body.get("data_hash"):
        raise ArtifactError("the package's prices are not the rows it describes (data hash)")
    return config

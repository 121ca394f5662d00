"""Hostile input: each gets a clear message, and the store and the artifacts stay as they were.

"Unchanged" is checked byte for byte: the SHA-256 of the closed database file and of every
file under the artifacts folder, before and after.
"""

from __future__ import annotations

import ctypes
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.data.schema import FetchResult, InvalidTickerError, to_normalized
from engine.modeling.training import TrainConfig
from store import db as store_db
from tests.builders import store_digest, unchanged

HOSTILE_TICKERS = [
    "AAPL;rm -rf /",
    "../x",
    "A" * 5000,
    "株式会社",
    "AAPL\x00",
    "$(reboot)",
    "",
]


@pytest.fixture
def store(seeded_db: Path) -> Path:
    workflows.load_prices(seeded_db, ["AAPL"])  # migrations done: later opens change nothing
    return seeded_db


# --- tickers ---------------------------------------------------------------------------


@pytest.mark.parametrize("ticker", HOSTILE_TICKERS, ids=lambda t: repr(t[:12]))
def test_hostile_tickers_are_refused_everywhere(store: Path, ticker: str) -> None:
    shown = "Invalid ticker" if ticker.strip() else "Invalid ticker ''"
    with unchanged(store):
        with pytest.raises(InvalidTickerError, match=shown):
            workflows.refresh_data(store, "sample", ["KO", ticker])
        with pytest.raises(InvalidTickerError, match=shown):
            workflows.save_watchlist(store, "Sample universe", ["KO", ticker])
        with pytest.raises(InvalidTickerError, match=shown):
            workflows.launch_training(store, TrainConfig(tickers=("KO", ticker)))
        csv = b"Date,Close\n2024-02-05,10\n"
        result = workflows.import_csv(store, csv, adjusted=True, ticker=ticker)
        assert result.status == "rejected"
        assert "Nothing stored" in result.message
        assert "Invalid ticker" in result.message or "enter the ticker" in result.message
    assert workflows.training_status(store) is None  # no lock left behind


def test_a_long_ticker_is_shortened_in_the_message(store: Path) -> None:
    with pytest.raises(InvalidTickerError) as caught:
        workflows.refresh_data(store, "sample", ["A" * 5000])
    assert len(str(caught.value)) < 200 and "AAAA..." in str(caught.value)


@pytest.mark.parametrize("name", ["", "x" * 5000, "\x00", "   "])
def test_hostile_watchlist_names_are_refused(store: Path, name: str) -> None:
    with unchanged(store), pytest.raises(workflows.WatchlistError, match="name"):
        workflows.save_watchlist(store, name, ["KO"])


@pytest.mark.parametrize("run_id", ["../x", "../../etc/passwd", "A" * 5000, "'; DROP TABLE x"])
def test_hostile_run_ids_find_no_run(store: Path, run_id: str) -> None:
    with unchanged(store):
        with pytest.raises(workflows.StoreError, match="no model run"):
            workflows.load_model(store, run_id)
        with pytest.raises((workflows.StoreError, ValueError), match="run"):
            workflows.activate_run(store, run_id)


# --- CSV uploads -----------------------------------------------------------------------

MANY_ROWS = b"Date,Close\n" + b"2024-02-05,1\n" * 1_000_000  # 13 MB: under the size limit


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"   \n\n", "The file is empty"),
        (b"Date,Close\n", "a header but no rows"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"\x00\x01\x02PK\x03\x04", "not text"),
        (b"\xef\xbb\xbf", "The file is empty"),
        (b"Date;Close\n", "a header but no rows"),
        (b"Date,Open;High\tLow,Close\n2024-02-05;1,2\t3;4\n", "mixes delimiters"),
        (
            b"Date,Close\n2024-02-05 16:00,10\n2024-02-06 09:30,11\n",
            "line 3 has '2024-02-06 09:30'",
        ),
        (b"Date;Close\n2024-02-05;10,5\n2024-02-06;10.5\n", "line 3: '10.5'"),
        (b"Date,Close\n2024-02-05,10,11,12\n2024-02-06\n", "not a readable CSV"),
        (b"When,Value\n2024-02-05,10\n", "No column for 'date'"),
        (b"Date,Open,High\n2024-02-05,1,2\n", "No column for 'close'"),
        (b"Date,Close\n2024-02-05,10\n2024-02-06,ten\n", "line 3: 'ten'"),
        (b"Date,Close\n2024-02-05,10\n06/02/2024,11\n", "Column 'Date'"),
        (b"Date,Close\n2024-02-05,10\nyesterday,11\n", "Column 'Date'"),
        (b"Date,Close\n2024-02-05,inf\n2024-02-06,11\n", "infinite"),
        (b"Date,Close\n2024-02-05,-inf\n2024-02-06,11\n", "infinite"),
        (b"Date,Close\n2024-02-05,NaN\n2024-02-06,NaN\n", "Nothing stored"),
        (b"Date,Close\n2024-02-05,0\n2024-02-06,-3\n", "Nothing stored"),
        (b"Date,Close\n2024-02-05,10\n2024-02-05,11\n", "Nothing stored"),
        (b"Date,Close,Volume\n2024-02-05,10,-5\n", "Nothing stored"),
        (b"Date,Close\n2099-01-02,10\n", "Nothing stored"),
        (b"Date,Close\n" + b"1" * 300_000 + b" 16:00,2\n", "a field is over 131,072 characters"),
        (MANY_ROWS, "more than 500,000 rows"),
        (b"Date,Close\n" + b"2024-02-05,1" + b"0" * (21 * 2**20) + b"\n", "the limit is 20 MB"),
    ],
    ids=[
        "empty",
        "blank",
        "header only",
        "binary",
        "binary, valid UTF-8",
        "byte-order mark only",
        "header only, semicolons",
        "three delimiters",
        "two times of day",
        "decimal point among decimal commas",
        "ragged",
        "wrong columns",
        "no close",
        "text in numbers",
        "mixed date formats",
        "not a date",
        "inf",
        "-inf",
        "all NaN",
        "non-positive",
        "duplicate date",
        "negative volume",
        "future date",
        "a 300,000-character date",
        "10^6 rows",
        "21 MB",
    ],
)
def test_malformed_csv_uploads_store_nothing(store: Path, data: bytes, message: str) -> None:
    with unchanged(store):
        result = workflows.import_csv(store, data, adjusted=True, ticker="NEWCO")
    assert result.status == "rejected", result.message
    assert result.message.startswith("Nothing stored")
    assert message.lower() in result.message.lower() or any(
        message.lower() in str(r).lower() for r in result.outcomes["reason"]
    ), result.message


def test_a_batch_of_hostile_files_stores_nothing_and_names_each_problem(store: Path) -> None:
    files = [
        ("empty.csv", b""),
        ("header.csv", b"Date,Close\n"),
        ("binary.csv", bytes(range(256))),
        ("big.csv", b"Date,Close\n" + b"2024-02-05,1" + b"0" * (21 * 2**20) + b"\n"),
        ("mixed.csv", b"Date;Close\tVolume,X\n2024-02-05;1\t2,3\n"),
    ]
    with unchanged(store):
        report = workflows.import_files(store, files)
    assert report.status == "rejected"
    reasons = dict(zip(report.files["file"], report.files["message"], strict=True))
    assert reasons == {
        "empty.csv": "Nothing stored: The file is empty",
        "header.csv": "Nothing stored: The file has a header but no rows",
        "binary.csv": "Nothing stored: The file is not UTF-8 text (byte 128)",
        "big.csv": "Nothing stored: The file is 21.0 MB; the limit is 20 MB",
        "mixed.csv": "Nothing stored: Line 1 mixes delimiters (comma, semicolon, tab): "
        "'Date;Close\\tVolume,X'; use one of comma, semicolon or tab throughout",
    }


def test_one_bad_ticker_rejects_the_whole_file(store: Path) -> None:
    data = b"Ticker,Date,Close\nNEWA,2024-02-05,10\nNEWB,2024-02-05,-1\n"
    with unchanged(store):
        result = workflows.import_csv(store, data, adjusted=True)
    assert result.status == "rejected" and "NEWB" in result.message


# --- NaN and inf through a provider ----------------------------------------------------


class _Provider:
    """A source that answers with the given frame (like a broken live feed)."""

    name = "hostile"
    adjusted = True

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def fetch(self, tickers, *, start=None, end=None, progress=None):
        return FetchResult(self.name, to_normalized(self.frame), True, {})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_inf_everywhere_store_nothing(store: Path, value: float) -> None:
    dates = pd.bdate_range("2024-02-05", periods=5)
    frame = pd.DataFrame(
        {
            "ticker": "NEWCO",
            "date": dates,
            **dict.fromkeys(["open", "high", "low", "close", "volume"], value),
        }
    )
    with unchanged(store):
        result = workflows.refresh_data(store, "sample", ["NEWCO"], provider=_Provider(frame))
    assert result.status == "rejected", result.message
    assert "Nothing stored" in result.message


# --- a locked or read-only database ----------------------------------------------------

CSV = b"Date,Close\n2024-02-05,10\n2024-02-06,11\n"


def test_a_locked_database_refuses_the_write_and_keeps_everything(store, monkeypatch) -> None:
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", 0.5)
    before = store_digest(store)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        result = workflows.import_csv(store, CSV, adjusted=True, ticker="NEWCO")
        assert result.status == "failed"
        assert "Nothing stored: the database write failed (database is locked)" in result.message
        refreshed = workflows.refresh_data(store, "sample", ["KO"])
        assert refreshed.status == "failed" and "database is locked" in refreshed.message
        assert len(workflows.load_prices(store, ["KO"])) > 0  # readers still read (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store_digest(store) == before


def test_an_exclusively_locked_database_gives_a_clear_error(store, monkeypatch) -> None:
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", 0.5)
    before = store_digest(store)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(workflows.StoreError, match=r"Cannot open the database at .*locked"):
            workflows.load_prices(store, ["KO"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store_digest(store) == before


READ_ONLY_WRITE = """
import sys
from engine import workflows
result = workflows.import_csv(sys.argv[1], {csv!r}, adjusted=True, ticker="NEWCO")
print(result.status, result.message, sep="|")
"""


def _without_root_override() -> None:
    """Root ignores file modes; drop the capabilities that let it (override, read-search,
    owner) from the child's bounding set so a read-only file really is read-only."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_a_read_only_database_refuses_the_write_and_keeps_everything(store, tmp_path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "store.db"
    db.write_bytes(store.read_bytes())
    before = store_digest(db)
    db.chmod(0o444)
    folder.chmod(0o555)  # no -wal or -shm file can be created next to it either
    try:
        done = subprocess.run(
            [sys.executable, "-c", READ_ONLY_WRITE.format(csv=CSV), str(db)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parents[1],
            check=False,
            preexec_fn=_without_root_override,
        )
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)
    assert done.returncode == 0, done.stderr[-2000:]
    status, message = done.stdout.strip().splitlines()[-1].split("|", 1)
    assert status == "failed" and "Nothing stored" in message
    assert "readonly" in message.replace("-", "").replace(" ", "").lower() or (
        "unable to open" in message
    ), message
    assert store_digest(db) == before

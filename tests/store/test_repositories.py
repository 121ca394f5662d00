"""Price, ingestion and watchlist repositories."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from store.db import StoreError, open_db, write_transaction
from store.ingestion import IngestionRepository
from store.models import ModelRunRepository
from store.prices import PriceRepository
from store.watchlists import WatchlistError, WatchlistRepository

NO_FINDINGS = pd.DataFrame(
    columns=["ticker", "check", "severity", "count", "first_date", "message"]
)


def _log(db) -> int:
    return IngestionRepository(db).record(
        source="synthetic", tickers=["X"], rows=0, status="ok", message="m", findings=NO_FINDINGS
    )


def test_prices_round_trip_with_nan_kept_missing(db_path: Path, small_panel: pd.DataFrame) -> None:
    frame = small_panel.copy()
    frame.loc[3, ["open", "volume"]] = np.nan
    with closing(open_db(db_path)) as db:
        repo = PriceRepository(db)
        assert repo.upsert(frame, source="synthetic", adjusted=True, ingestion_id=_log(db)) == 240
        pd.testing.assert_frame_equal(repo.load(), frame)
        one = repo.load(["SYN0002"], start="2022-12-01", end="2022-12-15")
        assert set(one["ticker"]) == {"SYN0002"} and len(one) == 11  # 11 sessions
        assert repo.load([]).empty


def test_upsert_replaces_rows_on_the_same_ticker_and_date(db_path: Path, small_panel) -> None:
    with closing(open_db(db_path)) as db:
        repo = PriceRepository(db)
        log = _log(db)
        repo.upsert(small_panel, source="synthetic", adjusted=True, ingestion_id=log)
        changed = small_panel.head(2).assign(close=[1.0, 2.0])
        repo.upsert(changed, source="csv", adjusted=False, ingestion_id=log)
        assert repo.count() == 240
        assert repo.load(["SYN0000"])["close"].head(2).tolist() == [1.0, 2.0]
        coverage = repo.load_coverage().set_index("ticker")
        assert coverage.loc["SYN0000", "adjusted"] == False  # noqa: E712 - numpy bool
        assert coverage.loc["SYN0001", "rows"] == 60
        assert coverage.loc["SYN0001", "has_ohlc"] and coverage.loc["SYN0001", "has_volume"]
        # dates come back parsed, so no caller parses the store's text (the one decoder)
        first = small_panel.groupby("ticker")["date"].min()
        assert coverage["first_date"].dtype == coverage["last_date"].dtype == "datetime64[ns]"
        assert coverage.loc["SYN0001", "first_date"] == first["SYN0001"]


def test_coverage_of_an_empty_store_has_its_columns(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        coverage = PriceRepository(db).load_coverage()
    assert coverage.empty and coverage["last_date"].dtype == "datetime64[ns]"


def test_ingestion_log_keeps_findings(db_path: Path) -> None:
    findings = pd.DataFrame(
        [
            {
                "ticker": "X",
                "check": "missing_session",
                "severity": "warning",
                "count": 2,
                "first_date": "2022-01-03",
                "message": "X: gap",
            }
        ]
    )
    with closing(open_db(db_path)) as db:
        repo = IngestionRepository(db)
        log_id = repo.record(
            source="csv",
            tickers=["X"],
            rows=5,
            status="partial",
            message="Stored",
            findings=findings,
        )
        log = repo.load_log()
        assert log[["id", "source", "rows", "status", "warnings"]].values.tolist() == [
            [log_id, "csv", 5, "partial", 1]
        ]
        assert repo.load_findings("X")["check"].tolist() == ["missing_session"]
        assert repo.latest_id() == log_id


def test_watchlists_save_replace_order_and_delete(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        repo = WatchlistRepository(db)
        repo.save("Tech", ["MSFT", "AAPL"], "big tech")
        repo.save("Tech", ["NVDA", "MSFT"], "big tech")
        assert repo.load("Tech") == ["NVDA", "MSFT"]
        assert repo.load_all()["tickers"].tolist() == ["NVDA, MSFT"]
        repo.delete("Tech")
        assert repo.names() == []
        with pytest.raises(WatchlistError, match="No watchlist named 'Tech'"):
            repo.load("Tech")


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "../etc", "a;b", "tab\tname"])
def test_bad_watchlist_names_are_refused(db_path: Path, name: str) -> None:
    with closing(open_db(db_path)) as db:
        with pytest.raises(WatchlistError, match="Invalid watchlist name"):
            WatchlistRepository(db).save(name, ["AAPL"])
        assert WatchlistRepository(db).names() == []


def test_duplicate_tickers_in_a_watchlist_are_refused_atomically(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        repo = WatchlistRepository(db)
        repo.save("Keep", ["AAPL"])
        with pytest.raises(WatchlistError, match="twice"):
            repo.save("Keep", ["MSFT", "MSFT"])
        assert repo.load("Keep") == ["AAPL"]
        with write_transaction(db):  # a caller's transaction wraps a save as a savepoint
            repo.save("Other", ["KO"])
        assert repo.names() == ["Keep", "Other"]


def test_a_run_records_its_construction_only_when_complete(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        runs.start("r1", {"learner": {"kind": "market_timing"}})
        assert runs.get("r1").construction is None
        with pytest.raises(StoreError, match="not a complete model run"):
            runs.set_construction("r1", {"method": "top_k"})
        runs.complete(
            "r1", metrics={}, files={}, artifact_dir="a", feature_version="f", data_hash="h",
            code_version="c", trained_through=None,
        )  # fmt: skip
        runs.set_construction("r1", {"method": "top_k", "k": 4})
        assert runs.get("r1").construction == {"method": "top_k", "k": 4}
        assert runs.load_all()["construction"].iloc[0] == {"method": "top_k", "k": 4}

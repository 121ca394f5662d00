"""Ingest use cases: what reaches the store, what does not, and that nothing half-writes."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.data.sample import DESCRIPTIONS
from engine.data.schema import FetchResult, InvalidTickerError
from engine.data.synthetic import SyntheticProvider
from store.db import open_db
from store.prices import PriceRepository
from tests.builders import store_digest

GOOD_CSV = b"Ticker,Date,Close\nAAA,2022-12-01,10\nAAA,2022-12-02,11\nBBB,2022-12-01,5\n"


def test_sample_refresh_stores_rows_and_logs_the_batch(db_path: Path) -> None:
    progress: list[float] = []
    result = workflows.refresh_data(
        db_path, "sample", ["aapl", "^vix"], progress=lambda f, _: progress.append(f)
    )
    assert result.status == "ok"
    assert result.outcomes[["ticker", "outcome"]].values.tolist() == [
        ["AAPL", "stored"],
        ["^VIX", "stored"],
    ]
    assert result.rows == 8313 + 1259  # VIX's 46 empty holiday rows are dropped
    assert progress[-1] == 1.0 and progress == sorted(progress)
    log = workflows.load_ingestion_log(db_path)
    assert log[["source", "rows", "status"]].values.tolist() == [["sample", result.rows, "ok"]]


def test_reingesting_the_same_data_is_idempotent(db_path: Path) -> None:
    first = workflows.refresh_data(db_path, "sample", ["KO"])
    before = workflows.load_prices(db_path)
    second = workflows.refresh_data(db_path, "sample", ["KO"])
    assert first.rows == second.rows == 8313
    pd.testing.assert_frame_equal(workflows.load_prices(db_path), before)
    assert len(workflows.load_ingestion_log(db_path)) == 2


def test_unknown_ticker_makes_a_partial_refresh(db_path: Path) -> None:
    result = workflows.refresh_data(db_path, "sample", ["KO", "HOOD"])
    assert result.status == "partial"
    outcome = result.outcomes.set_index("ticker")
    assert outcome.loc["HOOD", "outcome"] == "not fetched"
    assert "not in the offline sample" in outcome.loc["HOOD", "reason"]
    assert "1 ticker(s) not stored" in result.message


def test_rejected_batch_leaves_the_store_byte_for_byte_unchanged(seeded_db: Path) -> None:
    before = store_digest(seeded_db)
    prices = workflows.load_prices(seeded_db, ["^GSPC"], start="2008-10-01", end="2008-10-31")
    broken = prices.assign(high=prices["low"] - 1)  # high below low on every row
    result = workflows.ingest(seeded_db, FetchResult("csv", broken, True))
    assert result.status == "rejected"
    assert "high below low" in result.message
    assert store_digest(seeded_db) == before


def test_one_bad_ticker_rejects_a_whole_csv(seeded_db: Path) -> None:
    before = store_digest(seeded_db)
    bad = GOOD_CSV + b"BBB,2022-12-02,-5\n"
    result = workflows.import_csv(seeded_db, bad, adjusted=False)
    assert result.status == "rejected"
    outcome = result.outcomes.set_index("ticker")["outcome"].to_dict()
    assert outcome == {"AAA": "not stored", "BBB": "rejected"}
    assert store_digest(seeded_db) == before
    unreadable = workflows.import_csv(
        seeded_db, b"Date,Close\nnope,1\n", adjusted=False, ticker="X"
    )
    assert unreadable.status == "rejected" and "not dates" in unreadable.message
    assert store_digest(seeded_db) == before


def test_a_good_csv_is_stored_unadjusted(db_path: Path) -> None:
    result = workflows.import_csv(db_path, GOOD_CSV, adjusted=False)
    assert result.status == "ok" and result.rows == 3
    coverage = workflows.load_freshness(db_path, pd.Timestamp("2022-12-02")).set_index("ticker")
    assert coverage.loc["AAA", "source"] == "csv" and not coverage.loc["AAA", "adjusted"]
    assert coverage.loc["BBB", "status"] == "stale"


def test_a_write_that_fails_midway_leaves_the_store_unchanged(
    seeded_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = store_digest(seeded_db)
    original = PriceRepository.upsert

    def half_then_fail(self, prices, **kwargs):
        original(self, prices.head(len(prices) // 2), **kwargs)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(PriceRepository, "upsert", half_then_fail)
    result = workflows.ingest(seeded_db, SyntheticProvider(n_days=50).fetch(["NEW1", "NEW2"]))
    assert result.status == "failed"
    assert "disk I/O error" in result.message
    assert set(result.outcomes["outcome"]) == {"not stored"}
    assert store_digest(seeded_db) == before


def test_a_provider_that_raises_is_reported_and_stores_nothing(seeded_db: Path) -> None:
    class Broken:
        name = "yfinance"
        adjusted = True

        def fetch(self, tickers, start=None, end=None, progress=None):
            raise ConnectionError("network unreachable")

    before = store_digest(seeded_db)
    result = workflows.refresh_data(seeded_db, "yfinance", ["AAPL"], provider=Broken())
    assert result.status == "failed" and "network unreachable" in result.message
    assert store_digest(seeded_db) == before


def test_seeding_happens_once(seeded_db: Path) -> None:
    before = store_digest(seeded_db)
    assert workflows.ensure_seeded(seeded_db) is None
    assert store_digest(seeded_db) == before
    names = workflows.load_watchlists(seeded_db)["name"].tolist()
    assert names == sorted(workflows.DEFAULT_WATCHLISTS)
    assert workflows.load_watchlist(seeded_db, "Seed portfolio") == ["KDK", "HOOD", "BA", "WMT"]
    with closing(open_db(seeded_db)) as db:
        assert set(PriceRepository(db).load_coverage()["ticker"]) == set(DESCRIPTIONS)


def test_hostile_watchlist_tickers_change_nothing(seeded_db: Path) -> None:
    before = store_digest(seeded_db)
    with pytest.raises(InvalidTickerError, match="AAPL;rm -rf /"):
        workflows.save_watchlist(seeded_db, "Seed portfolio", ["KDK", "AAPL;rm -rf /"])
    assert store_digest(seeded_db) == before


def test_freshness_of_a_watchlist_names_the_tickers_without_data(seeded_db: Path) -> None:
    table = workflows.load_freshness(seeded_db, pd.Timestamp("2022-12-28"), ["AAPL", "HOOD"])
    assert table["status"].tolist() == ["fresh", "no data"]


def test_restated_history_is_stored_with_a_warning(seeded_db: Path) -> None:
    again = workflows.refresh_data(seeded_db, "sample", ["KO"])
    assert "restated_history" not in set(again.findings["check"])  # same data: no warning
    ko = workflows.load_prices(seeded_db, ["KO"], start="2022-01-01")
    restated = ko.assign(close=ko["close"] * 1.02)  # e.g. re-adjusted for a new dividend
    result = workflows.ingest(seeded_db, FetchResult("yfinance", restated, True))
    assert result.status == "ok"
    found = result.findings.set_index("check").loc["restated_history"]
    assert found["severity"] == "warning" and found["count"] == len(ko)
    assert "median 2.0%" in found["message"]
    logged = workflows.load_findings(seeded_db, "KO")
    assert "restated_history" in set(logged["check"])


def test_unadjusted_rows_meeting_adjusted_ones_are_flagged(seeded_db: Path) -> None:
    data = b"Date,Close\n2022-12-29,130.0\n2022-12-30,129.9\n"
    result = workflows.import_csv(seeded_db, data, adjusted=False, ticker="AAPL")
    assert result.status == "ok"
    found = result.findings.set_index("check").loc["mixed_adjustment"]
    assert "stored prices are adjusted, these are unadjusted" in found["message"]

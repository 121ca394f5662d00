"""Macro and sentiment repositories: point-in-time reads, NULL as NaN, one transaction."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.macro import MACRO_COLUMNS
from store.db import open_db, write_transaction
from store.macro import MacroRepository
from store.migrations import MIGRATIONS
from store.sentiment import SentimentRepository
from tests.builders import synthetic_sentiment


def test_macro_and_sentiment_migrations_are_10_and_11() -> None:
    names = {version: name for version, name, _ in MIGRATIONS}
    assert names[10] == "macro series, point in time"
    assert names[11] == "news and insider transactions, point in time"


def macro_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": ["DGS10", "DGS10", "DGS10", "BTC-USD"],
            "date": pd.to_datetime(["2024-02-08", "2024-02-09", "2024-02-09", "2024-02-10"]),
            "value": [4.15, 4.18, 4.20, np.nan],
            "known_date": pd.to_datetime(["2024-02-09", "2024-02-12", "2024-02-20", "2024-02-10"]),
            "realtime_start": pd.to_datetime(["2024-02-16", "2024-02-16", "2024-02-20", None]),
            "source": ["FRED", "FRED", "FRED", "yfinance"],
        },
        columns=list(MACRO_COLUMNS),
    )


def test_macro_rows_are_read_as_known_by_a_date(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        repo = MacroRepository(db)
        assert repo.upsert(macro_frame()) == 4
        everything = repo.load()
        assert len(everything) == 4 and np.isnan(everything.iloc[0]["value"])  # BTC's NULL
        assert everything["date"].dtype == "datetime64[ns]"
        by_friday = repo.load(["DGS10"], known_by=pd.Timestamp("2024-02-12"))
        assert by_friday["value"].tolist() == [4.15, 4.18]  # the revision is not known yet
        assert repo.load(known_by=pd.Timestamp("2024-02-08")).empty
        summary = repo.load_summary().set_index("series_id")
        assert summary.at["DGS10", "rows"] == 3 and summary.at["BTC-USD", "values_present"] == 0


def test_sentiment_items_are_read_as_public_by_a_date(db_path: Path) -> None:
    day = pd.Timestamp("2022-03-04")
    first, last = pd.Timestamp("2022-02-01"), pd.Timestamp("2022-03-31")
    items = synthetic_sentiment(("AAA", "BBB"), first, last, 3)
    with closing(open_db(db_path)) as db:
        repo = SentimentRepository(db)
        written = repo.save(items.news, items.insider, items.coverage)
        assert written == len(items.news) + len(items.insider)
        news = repo.load_news(["AAA"], day)
        assert len(news) == (items.news[items.news["ticker"] == "AAA"]["public_date"] <= day).sum()
        assert news["public_date"].max() <= day and str(news["published_utc"].dt.tz) == "UTC"
        pd.testing.assert_series_equal(
            news.set_index("item_id")["published_utc"],
            items.news.set_index("item_id").loc[news["item_id"], "published_utc"],
        )
        assert repo.load_insider(None, day)["filing_date"].max() <= day
        coverage = repo.load_coverage(["AAA"], day)
        assert set(coverage["kind"]) == {"news", "insider"} and (coverage["last_date"] == day).all()
        assert repo.load_summary()["ticker"].tolist() == ["AAA", "BBB"]


def test_a_failed_sentiment_write_leaves_nothing(db_path: Path) -> None:
    items = synthetic_sentiment(("AAA",), pd.Timestamp("2022-02-01"), pd.Timestamp("2022-03-31"), 3)
    bad_coverage = items.coverage.assign(kind="tweets")  # violates the CHECK constraint
    with closing(open_db(db_path)) as db:
        repo = SentimentRepository(db)
        with pytest.raises(Exception, match="CHECK"), write_transaction(db):
            repo.save(items.news, items.insider, bad_coverage)
        assert repo.load_news().empty and repo.load_insider().empty

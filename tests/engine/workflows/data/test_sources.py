"""Macro and sentiment refreshes on recorded answers: stored point in time, or nothing at all."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.data.finnhub import FinnhubClient
from engine.data.fred import FredClient
from engine.data.http import JsonClient
from engine.data.macro import FRED_SERIES
from engine.data.yahoo import YFinanceProvider
from engine.workflows.data import sources
from store.db import open_db
from store.macro import MacroRepository
from store.sentiment import SentimentRepository
from tests.builders import unchanged
from tests.recorded_http import FIXTURES, recorded_session

TODAY = pd.Timestamp("2024-02-16")
FRED_PATH = "/fred/series/observations"


def fred_client(**overrides: list[tuple[int, str]]):
    session, adapter = recorded_session()
    for series in FRED_SERIES:
        recorded = [(200, f"fred/observations_{series.series_id}.json")]
        answers = overrides.get(series.series_id, recorded)
        adapter.add(FRED_PATH, answers, series_id=series.series_id)
    http = JsonClient("FRED", session=session, sleep=lambda s: None, seed=0)
    return FredClient("k" * 32, http=http)


def btc_provider(fail: bool = False) -> YFinanceProvider:
    frame = pd.read_csv(FIXTURES / "yfinance" / "download_btc_usd.csv", header=[0, 1], index_col=0)
    frame.columns = frame.columns.set_names(["Price", "Ticker"])
    frame.index = pd.to_datetime(frame.index)
    empty = pd.DataFrame()
    return YFinanceProvider(download=lambda *a, **k: empty if fail else frame, sleep=lambda s: None)


def stored_macro(db: Path) -> pd.DataFrame:
    with closing(open_db(db)) as conn:
        return MacroRepository(conn).load()


def test_refresh_macro_stores_every_series_with_known_dates(db_path: Path) -> None:
    result = sources.refresh_macro(
        db_path, None, client=fred_client(), btc_provider=btc_provider(), today=TODAY
    )
    assert result.status == "ok", result.message
    assert result.outcomes.set_index("name")["rows"].to_dict() == {
        "DGS10": 11, "DGS2": 11, "DTWEXBGS": 11, "VIXCLS": 11, "BTC-USD": 5,
    }  # fmt: skip
    rows = stored_macro(db_path).set_index(["series_id", "date"])
    friday = rows.loc[("DGS10", pd.Timestamp("2024-02-09"))]
    assert friday["known_date"] == pd.Timestamp("2024-02-12")  # the next business day
    assert pd.isna(rows.loc[("VIXCLS", pd.Timestamp("2024-02-19")), "value"])
    saturday = rows.loc[("BTC-USD", pd.Timestamp("2024-02-10"))]
    assert saturday["known_date"] == pd.Timestamp("2024-02-10") and saturday["source"] == "yfinance"
    assert sources.load_macro_summary(db_path)["series_id"].tolist() == [
        "BTC-USD", "DGS10", "DGS2", "DTWEXBGS", "VIXCLS",
    ]  # fmt: skip


def test_a_second_refresh_adds_only_revisions_known_from_that_day(db_path: Path) -> None:
    sources.refresh_macro(db_path, None, client=fred_client(), include_btc=False, today=TODAY)
    again = sources.refresh_macro(
        db_path, None, client=fred_client(), include_btc=False, today=TODAY + pd.Timedelta(days=3)
    )
    assert again.status == "ok" and again.message.startswith("Stored 0 new or revised")
    fetched = fred_client().fetch_series("DGS10", today=TODAY)
    revised = fetched.assign(value=fetched["value"] + 0.01).head(1)
    later = pd.Timestamp("2024-02-20")
    rows = sources.new_vintages(revised, stored_macro(db_path), later)
    assert len(rows) == 1 and rows.iloc[0]["known_date"] == later  # never back-dated


@pytest.mark.parametrize(
    ("series", "answers", "message"),
    [
        ("DGS2", [(429, "fred/error_rate_limit.json")], "FRED: series DGS2: rate limit reached"),
        ("DGS10", [(400, "fred/error_bad_key.json")], "FRED: series DGS10: the API key was"),
        ("VIXCLS", [(200, "fred/observations_empty.json")], "FRED: series VIXCLS: no observations"),
        ("DTWEXBGS", [(200, "fred/malformed.txt")], "FRED: series DTWEXBGS: the answer is not"),
    ],
)
def test_a_failed_macro_refresh_stores_nothing(seeded_db: Path, series, answers, message) -> None:
    with unchanged(seeded_db):
        result = sources.refresh_macro(
            seeded_db, None, client=fred_client(**{series: answers}), btc_provider=btc_provider(),
            today=TODAY,
        )  # fmt: skip
    assert result.status == "failed" and result.rows == 0
    assert result.message.startswith(f"Nothing stored: {message}")
    assert set(result.outcomes["outcome"]) <= {"fetched, not stored", "not stored"}


def test_no_btc_from_yahoo_stores_nothing_and_says_why(seeded_db: Path) -> None:
    with unchanged(seeded_db):
        result = sources.refresh_macro(
            seeded_db, None, client=fred_client(), btc_provider=btc_provider(fail=True), today=TODAY
        )
    assert result.status == "failed" and "Yahoo: BTC-USD" in result.message


def test_no_key_is_reported_not_raised(seeded_db: Path) -> None:
    with unchanged(seeded_db):
        result = sources.refresh_macro(seeded_db, "", today=TODAY)
    assert result.status == "failed" and "set FRED_API_KEY" in result.message


def finnhub_client(news: dict[str, list[tuple[int, str]]]):
    session, adapter = recorded_session()
    for ticker, answers in news.items():
        adapter.add("/api/v1/company-news", answers, symbol=ticker)
    insider = [(200, "finnhub/insider_transactions_AAPL.json")]
    adapter.add("/api/v1/stock/insider-transactions", insider)
    http = JsonClient("Finnhub", session=session, sleep=lambda s: None, seed=0)
    return FinnhubClient("secret", http=http)


def test_refresh_sentiment_stores_items_and_the_ranges_covered(db_path: Path) -> None:
    client = finnhub_client({"AAPL": [(200, "finnhub/company_news_AAPL.json")]})
    result = sources.refresh_sentiment(
        db_path, ["AAPL"], None, client=client, start=pd.Timestamp("2024-02-01"), end=TODAY
    )
    assert result.status == "ok" and result.rows == 4 + 3, result.message
    with closing(open_db(db_path)) as db:
        repo = SentimentRepository(db)
        assert len(repo.load_news(["AAPL"])) == 4 and len(repo.load_insider(["AAPL"])) == 3
        coverage = repo.load_coverage(["AAPL"])
    assert coverage["first_date"].eq(pd.Timestamp("2024-02-01")).all()
    assert coverage["last_date"].eq(TODAY).all()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([(401, "finnhub/error_invalid_key.json")], "Finnhub: MSFT news: the API key was refused"),
        ([(429, "finnhub/error_rate_limit.json")], "Finnhub: MSFT news: rate limit reached"),
        ([(200, "finnhub/news_empty.json")], "Finnhub: MSFT news: no items"),
        ([(200, "finnhub/malformed.txt")], "Finnhub: MSFT news: the answer is not valid JSON"),
    ],
)
def test_one_failing_ticker_stores_nothing_for_any(seeded_db: Path, answers, message) -> None:
    client = finnhub_client({"AAPL": [(200, "finnhub/company_news_AAPL.json")], "MSFT": answers})
    with unchanged(seeded_db):
        result = sources.refresh_sentiment(
            seeded_db, ["AAPL", "MSFT"], None, client=client,
            start=pd.Timestamp("2024-02-01"), end=TODAY,
        )  # fmt: skip
    assert result.status == "failed" and result.message.startswith(f"Nothing stored: {message}")
    outcomes = result.outcomes.set_index("name")["outcome"].to_dict()
    assert outcomes == {"AAPL": "fetched, not stored", "MSFT": "not stored"}


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sources.FRED_KEY_ENV, "  abc  ")
    monkeypatch.setenv(sources.FINNHUB_KEY_ENV, "   ")  # blank: unset
    assert workflows.source_key("fred") == "abc"
    assert workflows.source_key("finnhub") is None

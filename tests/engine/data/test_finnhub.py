"""Finnhub client on recorded answers: news times, headline scores, insider filings, failures."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.data.finnhub import FinnhubClient, headline_score
from engine.data.http import JsonClient, SourceError
from tests.recorded_http import recorded_session

NEWS, INSIDER = "/api/v1/company-news", "/api/v1/stock/insider-transactions"
START, END = pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-16")


def client(news=(200, "finnhub/company_news_AAPL.json"), insider=None):
    session, adapter = recorded_session()
    adapter.add(NEWS, [news] if isinstance(news, tuple) else news, symbol="AAPL")
    adapter.add(INSIDER, [insider or (200, "finnhub/insider_transactions_AAPL.json")])
    http = JsonClient("Finnhub", session=session, sleep=lambda s: None, seed=0)
    return FinnhubClient("secret-token", http=http), adapter


def test_news_items_carry_the_new_york_date_they_were_public() -> None:
    finnhub, adapter = client()
    news = finnhub.fetch_news("AAPL", START, END).set_index("item_id")
    assert adapter.requests[0]["token"] == "secret-token"
    assert adapter.requests[0]["from"] == "2024-02-01" and adapter.requests[0]["to"] == "2024-02-16"
    # 16:00 New York on Friday 02-09 (21:00 UTC) is still Friday there
    assert news.at["125002", "public_date"] == pd.Timestamp("2024-02-09")
    assert news.at["125002", "published_utc"] == pd.Timestamp("2024-02-09 21:00", tz="UTC")
    assert news.at["125001", "score"] == 1.0  # "rise", "beat"
    assert news.at["125002", "score"] == -1.0  # "probe"
    assert news.at["125003", "score"] == 0.0


def test_headline_score_is_the_balance_of_word_counts() -> None:
    assert headline_score("Strong quarter, but margins fall") == 0.0
    assert headline_score("Shares surge on record profit after upgrade") == 1.0
    assert headline_score("Nothing to see") == 0.0


def test_insider_transactions_keep_filing_dates_and_codes() -> None:
    finnhub, _ = client()
    rows = finnhub.fetch_insider("AAPL", START, END)
    assert list(rows["code"]) == ["S", "P", "F"]
    assert rows["filing_date"].iloc[0] == pd.Timestamp("2024-02-06")
    assert rows["change"].tolist() == [-196410.0, 12000.0, -30000.0]


def test_an_empty_insider_answer_is_no_filings() -> None:
    finnhub, _ = client(insider=(200, "finnhub/insider_transactions_empty.json"))
    assert finnhub.fetch_insider("AAPL", START, END).empty


def test_long_ranges_are_asked_in_30_day_windows() -> None:
    finnhub, adapter = client()
    finnhub.fetch_news("AAPL", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-15"))
    windows = [(r["from"], r["to"]) for r in adapter.requests]
    assert windows == [
        ("2024-01-01", "2024-01-30"),
        ("2024-01-31", "2024-02-29"),
        ("2024-03-01", "2024-03-15"),
    ]


def test_a_rate_limit_is_retried_then_succeeds() -> None:
    finnhub, adapter = client(
        news=[(429, "finnhub/error_rate_limit.json"), (200, "finnhub/company_news_AAPL.json")]
    )
    assert len(finnhub.fetch_news("AAPL", START, END)) == 4
    assert len(adapter.requests) == 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((429, "finnhub/error_rate_limit.json"), r"Finnhub: AAPL news: rate limit reached"),
        ((401, "finnhub/error_invalid_key.json"), r"AAPL news: the API key was refused \(HTTP 401"),
        ((403, "finnhub/error_no_access.json"), r"AAPL news: the API key was refused .*access"),
        ((200, "finnhub/malformed.txt"), r"Finnhub: AAPL news: the answer is not valid JSON"),
        ((200, "finnhub/insider_transactions_empty.json"), r"AAPL news: the answer is not a list"),
        ((200, "finnhub/news_empty.json"), r"Finnhub: AAPL news: no items from 2024-02-01"),
    ],
)
def test_every_news_failure_names_the_source_and_ticker(answer, message) -> None:
    finnhub, _ = client(news=answer)
    with pytest.raises(SourceError, match=message) as caught:
        finnhub.fetch_news("AAPL", START, END)
    assert "secret-token" not in str(caught.value)


def test_a_malformed_insider_answer_is_named() -> None:
    finnhub, _ = client(insider=(200, "finnhub/company_news_AAPL.json"))
    with pytest.raises(SourceError, match="Finnhub: AAPL insider transactions: the answer has no"):
        finnhub.fetch_insider("AAPL", START, END)

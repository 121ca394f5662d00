"""One rule reads and validates dates (issue 22, item 1): ``parse_date``, which the
watchlists (through engine.workflows), the book's holdings and the API's as-of dates use.

Before, the watchlists read dates with ``pd.Timestamp`` (accepting '2024-2-5', '20240205'
and a time of day, cut to its date), the holdings with a YYYY-MM-DD pattern (refusing
them) and the API's ``check_as_of`` took any Timestamp by its date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.book.holdings import BookError, check_holding
from engine.data.calendar import DateError, check_as_of, parse_date
from store.watchlists import WatchlistError

DAY = dt.date(2024, 2, 5)
CASES = [  # what is sent -> the one answer (a date, or None: refused)
    ("2024-02-05", DAY),
    (" 2024-02-05 ", DAY),
    (DAY, DAY),
    (pd.Timestamp("2024-02-05"), DAY),
    (dt.datetime(2024, 2, 5), DAY),
    ("2024-2-5", None),
    ("20240205", None),
    ("05/02/2024", None),
    ("2024-02-30", None),
    ("2024-02-05 10:30", None),
    ("2024-02-05T10:30:00", None),
    (pd.Timestamp("2024-02-05 10:30"), None),
    (20240205, None),
    ("", None),
    ("2999-01-01", None),  # after today
]


def _everywhere(value, db_path: Path) -> dict[str, dt.date | None]:
    answers: dict[str, dt.date | None] = {}
    try:
        answers["parse_date"] = parse_date(value)
    except DateError:
        answers["parse_date"] = None
    try:
        answers["holdings"] = dt.date.fromisoformat(check_holding("AAPL", 1, 10, value).opened)
    except BookError:
        answers["holdings"] = None
    try:
        answers["as_of"] = check_as_of(value)
    except DateError:
        answers["as_of"] = None
    try:
        workflows.add_to_watchlist(db_path, "Dates", "AAPL", value)
    except WatchlistError:
        answers["watchlist"] = None
    else:
        spell = workflows.load_membership(db_path, "Dates")
        answers["watchlist"] = spell.loc[spell["ticker"] == "AAPL", "added"].iloc[0].date()
    return answers


@pytest.mark.parametrize(("value", "expected"), CASES, ids=[repr(v) for v, _ in CASES])
def test_every_reader_gives_the_same_answer(value, expected, db_path: Path) -> None:
    workflows.save_watchlist(db_path, "Dates", ["MSFT"])
    answers = _everywhere(value, db_path)
    assert answers == dict.fromkeys(answers, expected)


def test_messages_name_the_field_the_value_and_the_rule() -> None:
    with pytest.raises(DateError, match=r"^opened: '2024-2-5' is not a date \(YYYY-MM-DD\)$"):
        parse_date("2024-2-5", "opened")
    today = dt.date(2024, 2, 1)
    with pytest.raises(
        DateError, match=r"^removal date: '2024-02-05' is after today \(2024-02-01\)"
    ):
        parse_date("2024-02-05", "removal date", today=today)
    with pytest.raises(DateError, match="as_of must be a date between 1990-01-02"):
        check_as_of("1989-12-29")

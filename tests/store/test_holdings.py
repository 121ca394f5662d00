"""The book's tables: transactions, hostile input refused whole, CSV round trip."""

from __future__ import annotations

from contextlib import closing

import pytest

from engine import workflows
from engine.book.holdings import read_holdings_csv
from store.db import StoreError, open_db
from store.holdings import BookRepository

FIELD_LIMIT = "a field is over 131,072 characters, the most a CSV field may hold"
GOOD = (
    b"ticker,shares,cost_basis,opened,note\nAAPL,10,150.5,2021-01-04,core\nko,30,60,2021-02-01,\n"
)


def test_migration_13_creates_both_tables(db_path) -> None:
    with closing(open_db(db_path)) as db:
        assert {"holdings", "reentry_conditions"} <= set(db.table_names())
        assert 13 in {r["version"] for r in db.query("SELECT version FROM schema_migrations")}


def test_csv_round_trip_and_formula_notes(db_path) -> None:
    assert workflows.import_holdings_csv(db_path, GOOD) == 2
    workflows.add_holding(db_path, "JPM", 5, 100, "2022-01-03", note="=HYPERLINK(1)")
    text = workflows.export_holdings_csv(db_path)
    assert "'=HYPERLINK(1)" in text  # a spreadsheet will not run it
    before = workflows.load_holdings(db_path)
    workflows.import_holdings_csv(db_path, text.encode())
    after = workflows.load_holdings(db_path)
    assert after.equals(before)
    assert after["ticker"].tolist() == ["AAPL", "JPM", "KO"]
    assert after.loc[after["ticker"] == "JPM", "note"].item() == "=HYPERLINK(1)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ticker,shares\nAAPL,1\n", "Line 1: the header must be"),
        (b"ticker,shares,cost_basis,opened,evil\nA,1,1,2021-01-01,x\n", "unknown ['evil']"),
        (GOOD + b"MSFT,-3,10,2021-01-04,\n", "Line 4, column shares: '-3' is not a number above 0"),
        (GOOD + b"MSFT,nan,10,2021-01-04,\n", "Line 4, column shares: 'nan'"),
        (GOOD + b"MSFT,1,1e999,2021-01-04,\n", "Line 4, column cost_basis: '1e999'"),
        (GOOD + b"MSFT,1,10,2021-13-40,\n", "Line 4, column opened: '2021-13-40' is not a date"),
        (GOOD + b"MSFT,1,10,2999-01-01,\n", "Line 4, column opened: '2999-01-01' is after today"),
        (GOOD + b"DROP TABLE;,1,10,2021-01-04,\n", "Line 4, column ticker: Invalid ticker"),
        (
            GOOD + b"aapl,1,10,2021-01-04,\n",
            "Line 4, column ticker: 'AAPL' again (first on line 2)",
        ),
        (GOOD + b"MSFT,1,10\n", "Line 4: 3 values for 5 columns"),
        (b"ticker,shares,cost_basis,opened\n", "no holdings"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (GOOD + b"X" * 300_000, "at most 256,000"),
        (GOOD + b'MSFT,1,10,2021-01-04,"' + b"x" * 131_073 + b'"\n', f"Line 4: {FIELD_LIMIT}"),
        (GOOD + b'MSFT,1,10,2021-01-04,"' + b"x" * 131_073, f"Line 4: {FIELD_LIMIT}"),  # open
        (GOOD + b'MSFT,1,10,2021-01-04,"a\n' + b"x" * 140_000 + b'"\n', f"Line 4: {FIELD_LIMIT}"),
        (b'ticker,shares,cost_basis,opened,"' + b"n" * 140_000 + b'"\n', f"Line 1: {FIELD_LIMIT}"),
        (GOOD + b'MSFT,1,10,2021-01-04,"' + b"x" * 600 + b'"\n', "Line 4, column note: 'xxx"),
    ],
)
def test_hostile_csv_is_refused_whole_with_a_message(db_path, data, message) -> None:
    workflows.add_holding(db_path, "PG", 1, 100, "2021-01-04")
    before = workflows.load_holdings(db_path)
    with pytest.raises(workflows.BookError, match=None) as caught:
        workflows.import_holdings_csv(db_path, data)
    assert message in str(caught.value)
    assert workflows.load_holdings(db_path).equals(before)  # nothing half-imported


def test_a_batch_that_breaks_a_table_rule_is_rolled_back(db_path) -> None:
    workflows.import_holdings_csv(db_path, GOOD)
    rows = [h.row() for h in read_holdings_csv(GOOD)]
    rows.append({**rows[0], "ticker": "MSFT", "shares": 0.0})  # past the validation
    with closing(open_db(db_path)) as db:
        repo = BookRepository(db)
        before = repo.holdings()
        with pytest.raises(StoreError, match="breaks a rule"):
            repo.replace_holdings(rows)
        assert repo.holdings().equals(before)


def test_edits_remove_and_the_example(db_path) -> None:
    assert workflows.load_example_holdings(db_path) == ["KDK", "HOOD", "BA", "WMT"]
    assert workflows.load_holdings(db_path)["example"].all()
    workflows.add_holding(db_path, "WMT", 3, 140, "2022-05-02")  # now the user's own
    book = workflows.load_holdings(db_path).set_index("ticker")
    assert not book.loc["WMT", "example"] and book.loc["WMT", "shares"] == 3
    assert workflows.load_example_holdings(db_path) == []  # never overwrites a holding
    workflows.remove_holding(db_path, "KDK")
    with pytest.raises(StoreError, match="No holding of 'KDK'"):
        workflows.remove_holding(db_path, "KDK")
    with pytest.raises(workflows.BookError, match="column note"):
        workflows.add_holding(db_path, "KO", 1, 1, "2022-01-03", note="x" * 501)


def test_reentry_conditions_round_trip_and_bad_input(db_path) -> None:
    saved = workflows.save_reentry_condition(
        db_path, "aapl", min_percentile=0.8, pullback_days=20, min_pullback=0.1, regimes=[5, 1]
    )
    assert saved.ticker == "AAPL" and saved.regimes == (1, 5)
    workflows.save_reentry_condition(db_path, "SERV", min_p=0.6)
    assert workflows.load_reentry_conditions(db_path) == [
        saved,
        workflows.save_reentry_condition(db_path, "SERV", min_p=0.6),
    ]
    for bad, message in (
        ({"min_p": 1.5}, "P(beats median): '1.5' must be a number from 0 to 1"),
        ({"min_pullback": 0.1, "pullback_days": 1}, "pullback window: 1 must be 2 to 1000"),
        ({"regimes": [12]}, "regime ids 0-11"),
        ({}, "set at least one condition"),
    ):
        with pytest.raises(workflows.BookError, match=None) as caught:
            workflows.save_reentry_condition(db_path, "YYAI", **bad)
        assert message in str(caught.value)
    workflows.remove_reentry_condition(db_path, "SERV")
    assert [c.ticker for c in workflows.load_reentry_conditions(db_path)] == ["AAPL"]

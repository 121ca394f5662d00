"""Importing a user's files: which close is stored, and several files at once, each whole
or not at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.data.calendar import sessions_between
from engine.workflows.data.imports import PREVIEW_COLUMNS

SESSIONS = sessions_between(pd.Timestamp("2015-03-02"), pd.Timestamp("2015-03-31"))[:5]
# Raw open/high/low with an adjusted close below the raw low: the file Yahoo gives.
YAHOO = (
    b"Date,Open,High,Low,Close,Adj Close,Volume\n"
    b"2015-04-01,124.82,125.12,123.10,124.25,114.10,40621400\n"
    b"2015-04-02,125.03,125.56,124.19,125.32,115.08,32220100\n"
)


def test_a_yahoo_export_imports_adjusted_by_default_and_says_so(db_path: Path) -> None:
    result = workflows.import_csv(db_path, YAHOO, ticker="AAPL")
    assert result.status == "ok", result.message
    assert result.message == (
        "Stored 2 rows for 1 ticker(s) (adjusted: close from 'Adj Close', "
        "open/high/low scaled by 'Adj Close' / 'Close')"
    )
    stored = workflows.load_prices(db_path, ["AAPL"])
    np.testing.assert_allclose(stored["open"], [124.82 * 114.10 / 124.25, 125.03 * 115.08 / 125.32])
    assert stored["close"].tolist() == [114.10, 115.08]
    assert workflows.load_ingestion_log(db_path)["message"].iloc[0] == result.message
    coverage = workflows.load_freshness(db_path, pd.Timestamp("2015-04-02"))
    assert coverage.set_index("ticker").loc["AAPL", "adjusted"]


def test_a_yahoo_export_imported_unadjusted_stores_the_close_as_it_is(db_path: Path) -> None:
    result = workflows.import_csv(db_path, YAHOO, ticker="AAPL", adjusted=False)
    assert result.status == "ok" and result.message.endswith("(unadjusted: close from 'Close')")
    stored = workflows.load_prices(db_path, ["AAPL"])
    assert stored["open"].tolist() == [124.82, 125.03]
    assert stored["close"].tolist() == [124.25, 125.32]
    coverage = workflows.load_freshness(db_path, pd.Timestamp("2015-04-02"))
    assert not coverage.set_index("ticker").loc["AAPL", "adjusted"]


def _file(i: int) -> tuple[str, bytes]:
    """File ``i`` of a batch, in one of five layouts; prices 10 + i + day."""
    days = [d.strftime("%Y-%m-%d") for d in SESSIONS]
    closes = [10.0 + i + k for k in range(len(days))]
    rows = list(zip(days, closes, strict=True))
    kind = i % 5
    if kind == 0:  # Yahoo Finance, adjusted close = close / 2
        lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
        lines += [f"{d},{c},{c + 1},{c - 1},{c},{c / 2},100" for d, c in rows]
        return f"T{i:02d}.csv", "\n".join(lines).encode()
    if kind == 1:  # stooq ASCII
        lines = ["<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>"]
        lines += [f"X.US,D,{d.replace('-', '')},000000,{c},{c},{c},{c},5,0" for d, c in rows]
        return f"t{i:02d}.us.txt", "\n".join(lines).encode()
    if kind == 2:  # a European spreadsheet, with a byte-order mark
        lines = ["\ufeffDate;Close"] + [f"{d};{str(c).replace('.', ',')}" for d, c in rows]
        return f"T{i:02d}_daily.csv", "\n".join(lines).encode()
    if kind == 3:  # Alpha Vantage, newest first, date-times at the close
        lines = ["timestamp,open,high,low,close,volume"]
        lines += [f"{d} 16:00:00,{c},{c},{c},{c},7" for d, c in reversed(rows)]
        return f"daily_T{i:02d}.csv", "\n".join(lines).encode()
    frame = pd.DataFrame({"Close": closes}, index=pd.DatetimeIndex(SESSIONS))  # pandas
    return f"T{i:02d}.csv", frame.to_csv().encode()


def test_twenty_files_import_one_by_one_and_the_bad_one_stores_nothing(db_path: Path) -> None:
    files = [_file(i) for i in range(20)]
    name, data = files[7]  # a semicolon file whose last row has a price of zero
    files[7] = (name, data[: data.rindex(b";") + 1] + b"0")
    calls: list[tuple[float, str]] = []
    report = workflows.import_files(db_path, files, progress=lambda f, t: calls.append((f, t)))

    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(calls) == 20
    assert calls[7][1].startswith("T07_daily.csv: Nothing stored")
    assert report.status == "partial"
    assert report.message == "Imported 19 of 20 file(s), 95 rows stored; refused: T07_daily.csv"
    rows = report.files.set_index("file")
    assert rows["ticker"].tolist() == [f"T{i:02d}" for i in range(20)]
    assert rows.loc["T07_daily.csv", "outcome"] == "refused"
    assert "T07" in rows.loc["T07_daily.csv", "message"]
    assert rows.drop("T07_daily.csv")["rows"].eq(5).all()
    assert rows.drop("T07_daily.csv")["outcome"].eq("stored").all()

    stored = workflows.load_prices(db_path)
    assert sorted(stored["ticker"].unique()) == [f"T{i:02d}" for i in range(20) if i != 7]
    by_ticker = stored.set_index(["ticker", "date"])["close"]
    assert by_ticker.loc[("T00", SESSIONS[0])] == 5.0  # Yahoo: the adjusted close
    assert by_ticker.loc[("T02", SESSIONS[4])] == 16.0  # "16,0"
    assert by_ticker.loc[("T03", SESSIONS[0])] == 13.0  # the session of 16:00:00
    assert by_ticker.loc[("T19", SESSIONS[2])] == 31.0
    assert len(workflows.load_ingestion_log(db_path)) == 19  # one batch per stored file


def test_the_preview_guesses_tickers_and_names_problems_without_storing(db_path: Path) -> None:
    files = [_file(0), _file(1), ("T00_daily.csv", _file(5)[1]), ("prices.csv", b"Date,Close\n")]
    preview = workflows.preview_imports(files)
    assert list(preview.columns) == list(PREVIEW_COLUMNS)
    assert preview["ticker"].tolist() == ["T00", "T01", "T00", ""]
    assert preview["layout"].tolist()[:2] == [
        "Yahoo Finance; comma-separated",
        "stooq ASCII; comma-separated",
    ]
    assert preview["rows"].tolist() == [5, 5, 5, 0]
    assert preview["first_date"].iloc[0] == SESSIONS[0].date()
    assert preview["last_date"].iloc[0] == SESSIONS[-1].date()
    assert preview["adjusted"].tolist() == [True, False, True, None]
    assert preview["problems"].tolist() == [
        "",
        "",
        "T00 is also in T00.csv",
        "The file has a header but no rows",
    ]
    assert not db_path.exists()
    edited = workflows.preview_imports(files[:1], tickers=["ZZZ"], adjusted=[False])
    assert edited[["ticker", "adjusted"]].values.tolist() == [["ZZZ", False]]
    assert edited["prices"].iloc[0] == "unadjusted: close from 'Close'"
    with pytest.raises(ValueError, match="2 files but 1 tickers"):
        workflows.import_files(db_path, files[:2], tickers=["A"])

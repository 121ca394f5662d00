"""CSV importer: mapping, strict parsing and a clear message for each kind of bad file."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data import csv_file
from engine.data.csv_file import CsvImportError, csv_columns, guess_mapping, read_price_csv

GOOD = (
    b"Date,Open,High,Low,Close,Volume\n"
    b"2024-02-05,188.15,189.25,185.84,187.68,69668800\n"
    b"2024-02-06,186.86,189.31,186.77,189.30,43490800\n"
)


def test_a_plain_file_reads_with_guessed_columns_and_the_given_ticker() -> None:
    out = read_price_csv(GOOD, ticker="aapl").prices
    assert out["ticker"].tolist() == ["AAPL", "AAPL"]
    assert out["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-05", "2024-02-06"]
    assert out["close"].tolist() == [187.68, 189.30]
    assert out["volume"].iloc[0] == 69668800


def test_guess_mapping_finds_both_closes_and_ignores_case() -> None:
    mapping = guess_mapping(["SYMBOL", " date", "Close", "Adj Close", "VOL"])
    assert mapping["ticker"] == "SYMBOL" and mapping["date"] == " date"
    assert mapping["close"] == "Close" and mapping["adj_close"] == "Adj Close"
    assert mapping["volume"] == "VOL" and mapping["open"] is None


def test_explicit_mapping_and_ticker_column_with_missing_cells() -> None:
    text = b"sym;d;px\nA;2024-01-02;1\n"  # no column is named like a date
    with pytest.raises(CsvImportError, match="No column for 'date'"):
        read_price_csv(text)
    data = b"sym,d,px,v\nmsft,01/02/2024,370.87,\nMSFT,01/03/2024,,25000\n"
    out = read_price_csv(
        data,
        mapping={"ticker": "sym", "date": "d", "close": "px", "volume": "v"},
        date_format="%m/%d/%Y",
    ).prices
    assert out["ticker"].tolist() == ["MSFT", "MSFT"]
    assert out["date"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert np.isnan(out["close"].iloc[1]) and np.isnan(out["volume"].iloc[0])  # stays missing


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"   \n", "The file is empty"),
        (b"Date,Close\n", "header but no rows"),
        (b"\xff\xfeD\x00", "not UTF-8"),
        (b"Date,Open\n2024-02-05,1\n", "No column for 'close'"),
        (b"Date,Close\n2024-02-05,1.0\n2024-02-06,abc\n", "line 3: 'abc'"),
        (b"Date,Close\n2024-02-05,1.0\n02/06/2024,2.0\n", "not dates in one format"),
        (b"Date,Close\n2024-02-05,1.0\nyesterday,2.0\n", "first at line 3: 'yesterday'"),
        (b"Date,Close\n01/02/2024,1.0\n03/04/2024,2.0\n", "choose the date format"),
        (b'Date,Close\n2024-02-05,"1\n', "not a readable CSV"),
    ],
)
def test_bad_files_get_a_message_naming_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(CsvImportError, match=message):
        read_price_csv(data, ticker="X")


def test_missing_ticker_and_bad_ticker_values() -> None:
    with pytest.raises(CsvImportError, match="no ticker column"):
        read_price_csv(GOOD)
    with pytest.raises(CsvImportError, match="Invalid ticker"):
        read_price_csv(GOOD, ticker="AAPL;rm -rf /")
    data = b"Ticker,Date,Close\nAAPL,2024-02-05,1\n../x,2024-02-05,1\n"
    with pytest.raises(CsvImportError, match="line 3: Invalid ticker '../x'"):
        read_price_csv(data)


def test_size_and_row_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_file, "MAX_CSV_ROWS", 3)
    rows = "".join(f"2024-02-0{d},1.0\n" for d in range(1, 6))
    with pytest.raises(CsvImportError, match="more than 3 rows"):
        read_price_csv(("Date,Close\n" + rows).encode(), ticker="X")
    monkeypatch.setattr(csv_file, "MAX_CSV_BYTES", 10)
    with pytest.raises(CsvImportError, match="the limit is"):
        read_price_csv(GOOD, ticker="X")


def test_csv_columns_reads_only_the_header() -> None:
    assert csv_columns(GOOD) == ["Date", "Open", "High", "Low", "Close", "Volume"]


@settings(max_examples=40, deadline=None)
@given(
    closes=st.lists(
        st.floats(min_value=0.01, max_value=1e6, allow_nan=False), min_size=1, max_size=30
    ),
    fmt=st.sampled_from(["%Y-%m-%d", "%Y%m%d", "%d.%m.%Y"]),
)
def test_any_written_frame_reads_back_the_same(closes: list[float], fmt: str) -> None:
    dates = pd.bdate_range("2021-03-01", periods=len(closes))
    frame = pd.DataFrame({"Date": dates.strftime(fmt), "Close": closes})
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.17g")
    out = read_price_csv(buffer.getvalue().encode(), ticker="T", date_format=fmt).prices
    assert out["date"].tolist() == list(dates)
    assert out["close"].tolist() == closes


BIG = "x" * (128 * 1024 + 1)  # one character over the csv module's field limit
LIMIT = "a field is over 131,072 characters, the most a CSV field may hold"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (f'Date,Close,Note\n2024-02-05,1,ok\n2024-02-06,2,"{BIG}"\n', "Line 3, column 'Note'"),
        (f'Date,Close\n2024-02-05,1\n2024-02-06,"{BIG}"\n', "Line 3, column 'Close'"),
        (f'Date,Close\n"{BIG},1"\n', "Line 2, column 'Date'"),
        (f'Date,Close,"{BIG}"\n2024-02-05,1,2\n', "Line 1"),
        (f'Date;Close;Note\n2024-02-05;1,5;"{BIG}\nmore"\n', "Line 2, column 'Note'"),
    ],
    ids=["quoted note", "quoted close", "date with its quote left open", "header", "semicolons"],
)
def test_a_field_over_the_limit_is_refused_naming_its_line(text: str, where: str) -> None:
    with pytest.raises(CsvImportError) as caught:
        read_price_csv(text.encode(), ticker="X")
    assert str(caught.value) == f"{where}: {LIMIT} (a quote left open?)"


def test_a_field_at_the_limit_is_read_and_long_values_are_cut_in_messages() -> None:
    at_limit = "y" * (128 * 1024)
    out = read_price_csv(f'Date,Close,Note\n2024-02-05,1,"{at_limit}"\n'.encode(), ticker="X")
    assert out.prices["close"].tolist() == [1.0]
    with pytest.raises(CsvImportError) as caught:
        read_price_csv(f"Date,Close\n2024-02-05,{at_limit}\n".encode(), ticker="X")
    assert str(caught.value).endswith("first at line 2: '" + "y" * 76 + "...")  # 80 shown
    assert len(str(caught.value)) < 200

"""The layouts a user's files come in: each from a small file written in that layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.csv_file import CsvImportError, csv_columns, read_price_csv
from engine.data.csv_layouts import guess_ticker

YAHOO = (
    b"Date,Open,High,Low,Close,Adj Close,Volume\n"
    b"2015-04-01,124.82,125.12,123.10,124.25,114.10,40621400\n"
    b"2015-04-02,125.03,125.56,124.19,125.32,115.08,32220100\n"
)
RAW = pd.DataFrame(
    {
        "open": [124.82, 125.03],
        "high": [125.12, 125.56],
        "low": [123.10, 124.19],
        "close": [124.25, 125.32],
        "adj": [114.10, 115.08],
        "volume": [40621400.0, 32220100.0],
    }
)


def _assert_scaled(prices: pd.DataFrame) -> None:
    ratio = RAW["adj"] / RAW["close"]
    for column in ("open", "high", "low"):
        np.testing.assert_allclose(prices[column], RAW[column] * ratio, rtol=1e-12, atol=0)
    assert prices["close"].tolist() == RAW["adj"].tolist()
    assert prices["volume"].tolist() == RAW["volume"].tolist()  # volume is not scaled


def test_yahoo_adjusted_by_default_scales_open_high_low_by_adj_over_close() -> None:
    parsed = read_price_csv(YAHOO, ticker="AAPL")
    _assert_scaled(parsed.prices)
    assert parsed.adjusted and parsed.layout == "Yahoo Finance; comma-separated"
    assert parsed.basis == (
        "adjusted: close from 'Adj Close', open/high/low scaled by 'Adj Close' / 'Close'"
    )
    explicit = read_price_csv(YAHOO, ticker="AAPL", adjusted=True)
    assert explicit.prices.equals(parsed.prices) and explicit.basis == parsed.basis


def test_yahoo_unadjusted_keeps_the_close_as_it_is_and_says_so() -> None:
    parsed = read_price_csv(YAHOO, ticker="AAPL", adjusted=False)
    assert not parsed.adjusted and parsed.basis == "unadjusted: close from 'Close'"
    for column in ("open", "high", "low", "close", "volume"):
        assert parsed.prices[column].tolist() == RAW[column].tolist()


def test_one_close_is_as_stated_and_an_adjusted_close_alone_is_adjusted() -> None:
    plain = b"Date,Close\n2015-04-01,124.25\n"
    assert not read_price_csv(plain, ticker="X").adjusted
    stated = read_price_csv(plain, ticker="X", adjusted=True)
    assert stated.adjusted and stated.basis == "stated adjusted: close from 'Close' as in the file"
    only_adj = read_price_csv(b"Date,Adj Close\n2015-04-01,114.1\n", ticker="X")
    assert only_adj.adjusted and only_adj.prices["close"].tolist() == [114.1]
    with pytest.raises(CsvImportError, match="'Adj Close' is the only close"):
        read_price_csv(b"Date,Adj Close\n2015-04-01,114.1\n", ticker="X", adjusted=False)
    with pytest.raises(CsvImportError, match="open/high/low cannot be adjusted"):
        read_price_csv(b"Date,Open,Adj Close\n2015-04-01,1,2\n", ticker="X")


@pytest.mark.parametrize(
    "cells",
    [
        ("4/1/2015 16:00:00", "4/2/2015 16:00:00", "4/15/2015 16:00:00"),
        ("2015-04-01 16:00:00", "2015-04-02 16:00:00", "2015-04-15 16:00:00"),
        ("2015-04-01 16:00", "2015-04-02 16:00:00", "2015-04-15T16:00"),
    ],
    ids=["US with seconds", "ISO", "with and without seconds"],
)
def test_one_time_of_day_per_file_becomes_the_session_date(cells: tuple[str, ...]) -> None:
    data = ("Date,Close\n" + "".join(f"{c},{i + 1}\n" for i, c in enumerate(cells))).encode()
    prices = read_price_csv(data, ticker="X").prices
    assert prices["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2015-04-01",
        "2015-04-02",
        "2015-04-15",
    ]


CLOSES = "daily prices need one time of day per file, or each session's own close"


@pytest.mark.parametrize(
    ("third", "problem"),
    [
        (
            "2015-04-06 09:30:00",
            f"{CLOSES} (New York time); line 2 has '2015-04-01 16:00:00' but line 4 has "
            "'2015-04-06 09:30:00', while 2015-04-06 closed at 16:00",
        ),
        (
            "2015-04-06",
            "daily prices need one time of day per file; line 2 has '2015-04-01 16:00:00' "
            "but line 4 has '2015-04-06'",
        ),
    ],
)
def test_mixed_times_of_day_are_refused_naming_column_line_and_value(
    third: str, problem: str
) -> None:
    data = f"When,Close\n2015-04-01 16:00:00,1\n2015-04-02 16:00,2\n{third},3\n".encode()
    with pytest.raises(CsvImportError) as caught:
        read_price_csv(data, ticker="X", mapping={"date": "When", "close": "Close"})
    assert str(caught.value) == f"Column 'When': {problem}"


def session_file(cells: list[str]) -> bytes:
    """A Date,Close file with one row per cell; closes 1, 2, ..."""
    return ("Date,Close\n" + "".join(f"{c},{i + 1}\n" for i, c in enumerate(cells))).encode()


def test_early_closes_at_1300_import_among_1600_closes() -> None:
    """The refused real file: 16:00 closes and 13:00 on the day after Thanksgiving 2017."""
    cells = [f"{d} 16:00:00" for d in ("4/1/2015", "11/21/2017", "11/22/2017")]
    cells += ["11/24/2017 13:00:00", "11/27/2017 16:00:00", "7/3/2017 13:00:00"]
    cells += ["12/24/2018 13:00:00", "12/26/2018 16:00:00"]
    prices = read_price_csv(session_file(cells), ticker="X").prices
    assert prices["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2015-04-01", "2017-07-03", "2017-11-21", "2017-11-22", "2017-11-24", "2017-11-27",
        "2018-12-24", "2018-12-26",
    ]  # fmt: skip
    assert prices.set_index(prices["date"].dt.strftime("%Y-%m-%d")).at["2017-11-24", "close"] == 4


@pytest.mark.parametrize(
    "cells",
    [
        ["2017-11-22T21:00:00Z", "2017-11-24T18:00:00Z", "2017-07-05T20:00:00Z"],  # UTC
        ["2017-11-22 16:00:00-05:00", "2017-11-24 13:00:00-05:00", "2017-07-05 16:00-04:00"],
        ["2017-11-22 16:00:00-0500", "2017-11-24 13:00:00", "2017-07-05T20:00:00+00:00"],
    ],
    ids=["UTC", "New York offsets", "mixed offsets and naive New York"],
)
def test_closes_with_a_utc_offset_are_converted_to_new_york_first(cells) -> None:
    prices = read_price_csv(session_file(cells), ticker="X").prices
    assert prices["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2017-07-05", "2017-11-22", "2017-11-24",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        (  # 13:00 on a normal session
            ["4/1/2015 16:00:00", "4/2/2015 16:00:00", "4/16/2015 13:00:00"],
            "line 4 has '4/16/2015 13:00:00', while 2015-04-16 closed at 16:00",
        ),
        (  # 16:00 on an early close
            [
                "11/22/2017 16:00:00",
                "11/24/2017 16:00:00",
                "11/27/2017 16:00:00",
                "11/28/2017 13:00",
            ],
            "line 3 has '11/24/2017 16:00:00', while 2017-11-24 closed at 13:00",
        ),
        (  # 13:00 on a Saturday
            ["2015-04-01 16:00", "2015-04-04 13:00"],
            "line 3 has '2015-04-04 13:00', while 2015-04-04 is no session "
            "(a regular close is 16:00)",
        ),
        (  # 13:00 UTC is 08:00 in New York, not the early close
            ["2017-11-22T21:00:00Z", "2017-11-24T13:00:00Z"],
            "line 3 has '2017-11-24T13:00:00Z', while 2017-11-24 closed at 13:00",
        ),
        (  # naive times are New York time: 21:00 is no close
            ["2017-11-22 21:00:00", "2017-11-24 18:00:00"],
            "(New York time); line 2 has '2017-11-22 21:00:00', while 2017-11-22 closed at 16:00",
        ),
    ],
    ids=["early on a normal day", "regular on an early close", "weekend", "UTC", "naive UTC"],
)
def test_a_time_that_is_not_its_session_s_close_is_refused_naming_its_line(cells, problem) -> None:
    with pytest.raises(CsvImportError, match="or each session's own close") as caught:
        read_price_csv(session_file(cells), ticker="X")
    assert str(caught.value).startswith(f"Column 'Date': {CLOSES} (New York time); line 2 has ")
    assert str(caught.value).endswith(problem)
    assert str(caught.value).count("line 2 has") == 1


def test_one_time_that_is_no_close_on_every_row_still_imports() -> None:
    cells = ["2017-11-22 00:00:00", "2017-11-24 00:00", "2017-11-25 00:00:00"]
    prices = read_price_csv(session_file(cells), ticker="X").prices  # the gate judges days
    assert prices["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2017-11-22", "2017-11-24", "2017-11-25",
    ]  # fmt: skip
    midnight_utc = ["2017-11-22T00:00:00Z", "2017-11-24T00:00:00Z"]  # one time: dates as written
    days = read_price_csv(session_file(midnight_utc), ticker="X").prices["date"].dt.day
    assert days.tolist() == [22, 24]


def test_a_pandas_export_with_its_unnamed_index_column_of_dates() -> None:
    frame = pd.DataFrame(
        {"Close": [10.5, 11.0]}, index=pd.to_datetime(["2015-04-01", "2015-04-02"])
    )
    parsed = read_price_csv(frame.to_csv().encode(), ticker="X")
    assert parsed.prices["date"].tolist() == list(frame.index)
    assert parsed.prices["close"].tolist() == [10.5, 11.0]
    assert "dates in an unnamed first column" in parsed.layout
    named = read_price_csv(b"Unnamed: 0,Close\n2015-04-01,10.5\n", ticker="X")
    assert named.prices["date"].tolist() == [pd.Timestamp("2015-04-01")]


def test_semicolons_decimal_commas_thousands_dots_and_a_byte_order_mark() -> None:
    data = (
        "\ufeffDate;Open;High;Low;Close;Volume\n"
        "01.04.2015;1.234,56;1.240,00;1.230,10;1.235,5;1.000.000\n"
        "02.04.2015;12,5;13;12;12,75;2\n"
    ).encode()
    assert csv_columns(data)[0] == "Date"  # the BOM is not part of the name
    parsed = read_price_csv(data, ticker="X")
    assert parsed.layout.endswith("semicolon-separated, decimal comma")
    assert parsed.prices["open"].tolist() == [1234.56, 12.5]
    assert parsed.prices["close"].tolist() == [1235.5, 12.75]
    assert parsed.prices["volume"].tolist() == [1_000_000.0, 2.0]
    assert parsed.prices["date"].tolist() == list(pd.to_datetime(["2015-04-01", "2015-04-02"]))


def test_tabs_and_semicolons_with_decimal_points_read_as_they_are() -> None:
    tabbed = read_price_csv(b"Date\tClose\n2015-04-01\t12.5\n", ticker="X")
    assert tabbed.prices["close"].tolist() == [12.5] and "tab-separated" in tabbed.layout
    semicolons = read_price_csv(b"Date;Close\n2015-04-01;12.5\n", ticker="X")
    assert semicolons.prices["close"].tolist() == [12.5] and "decimal" not in semicolons.layout


def test_a_point_in_a_decimal_comma_file_is_refused_not_read_as_thousands() -> None:
    data = b"Date;Close\n2015-04-01;12,5\n2015-04-02;12.5\n"
    with pytest.raises(CsvImportError) as caught:
        read_price_csv(data, ticker="X")
    assert str(caught.value) == (
        "Column 'Close' (close) has 1 value(s) that are not numbers with a decimal comma; "
        "first at line 3: '12.5'"
    )


def test_stooq_downloads_and_its_ascii_layout() -> None:
    plain = b"Date,Open,High,Low,Close,Volume\n2015-04-01,124.82,125.12,123.1,124.25,40621400\n"
    parsed = read_price_csv(plain, ticker="AAPL")
    assert parsed.layout.startswith("Date, OHLC, Volume (stooq")
    assert parsed.prices.iloc[0][["open", "close"]].tolist() == [124.82, 124.25]
    ascii_ = (
        b"<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>\n"
        b"AAPL.US,D,20150401,000000,124.82,125.12,123.1,124.25,40621400,0\n"
        b"AAPL.US,D,20150402,000000,125.03,125.56,124.19,125.32,32220100,0\n"
    )
    with pytest.raises(CsvImportError, match="no ticker column"):  # <TICKER> says AAPL.US
        read_price_csv(ascii_)
    parsed = read_price_csv(ascii_, ticker=guess_ticker("aapl.us.txt"))
    assert parsed.layout.startswith("stooq ASCII")
    assert parsed.prices["ticker"].unique().tolist() == ["AAPL"]
    assert parsed.prices["date"].tolist() == list(pd.to_datetime(["2015-04-01", "2015-04-02"]))
    assert parsed.prices["volume"].tolist() == [40621400.0, 32220100.0]


def test_alpha_vantage_csv_and_json_names_with_the_yahoo_scaling() -> None:
    plain = b"timestamp,open,high,low,close,volume\n2015-04-02,125.03,125.56,124.19,125.32,1\n"
    parsed = read_price_csv(plain, ticker="IBM")
    assert parsed.layout.startswith("Alpha Vantage;") and not parsed.adjusted
    adjusted = (
        b"timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient\n"
        b"2015-04-02,125.03,125.56,124.19,125.32,115.08,32220100,0.0000,1.0\n"
        b"2015-04-01,124.82,125.12,123.10,124.25,114.10,40621400,0.0000,1.0\n"
    )
    parsed = read_price_csv(adjusted, ticker="IBM")
    assert parsed.layout.startswith("Alpha Vantage, adjusted") and parsed.adjusted
    _assert_scaled(parsed.prices)  # rows sorted by date: 04-01 first
    series = {  # the JSON's "Time Series (Daily)", as pandas writes it out
        "2015-04-01": {"1. open": "124.82", "2. high": "125.12", "3. low": "123.10",
                       "4. close": "124.25", "5. adjusted close": "114.10",
                       "6. volume": "40621400"},
        "2015-04-02": {"1. open": "125.03", "2. high": "125.56", "3. low": "124.19",
                       "4. close": "125.32", "5. adjusted close": "115.08",
                       "6. volume": "32220100"},
    }  # fmt: skip
    exported = pd.DataFrame.from_dict(series, orient="index").to_csv().encode()
    parsed = read_price_csv(exported, ticker="IBM")
    assert parsed.layout.startswith("Alpha Vantage JSON, adjusted; dates in an unnamed")
    _assert_scaled(parsed.prices)
    unadjusted = b",1. open,2. high,3. low,4. close,5. volume\n2015-04-01,1,2,0.5,1.5,10\n"
    parsed = read_price_csv(unadjusted, ticker="IBM")
    assert parsed.layout.startswith("Alpha Vantage JSON;")
    assert parsed.prices.iloc[0][["open", "close", "volume"]].tolist() == [1.0, 1.5, 10.0]


@pytest.mark.parametrize(
    ("name", "ticker"),
    [
        ("AAPL.csv", "AAPL"),
        ("aapl.us.txt", "AAPL"),
        ("BRK-B_daily.csv", "BRK-B"),
        ("daily_adjusted_IBM.csv", "IBM"),
        ("msft (1).csv", "MSFT"),
        ("^GSPC.csv", "^GSPC"),
        ("RDS.A.CSV", "RDS.A"),
        ("prices.csv", ""),
    ],
)
def test_a_ticker_guessed_from_the_file_name(name: str, ticker: str) -> None:
    assert guess_ticker(name) == ticker

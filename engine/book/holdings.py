"""Holdings: validation, CSV import and export, and their value as of a date.

A holding is one position per ticker: shares, cost basis per share, the date it was
opened and an optional note. Valuation at the as-of date t reads closes dated <= t only;
a holding without a stored close stays unvalued (NaN) and says so, and one opened after
t did not exist at t and is left out of the book's value.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from engine.data.calendar import DateError, parse_date
from engine.data.csv_layouts import FIELD_LIMIT, field_limit_error
from engine.data.schema import InvalidTickerError, normalize_ticker
from engine.data.universe import SECTORS
from engine.trading.sizing import ewma_volatility

CSV_COLUMNS = ("ticker", "shares", "cost_basis", "opened", "note")
REQUIRED_COLUMNS = CSV_COLUMNS[:4]
MAX_CSV_BYTES = 256_000
MAX_HOLDINGS = 2_000
MAX_NOTE = 500
MAX_SHARES = 1e12
EXAMPLE_NOTE = "example: made-up shares and cost, not your data"
# the seed portfolio as an editable example; every number is made up
EXAMPLE_HOLDINGS = (
    ("KDK", 120.0, 9.50, "2024-03-01"),
    ("HOOD", 60.0, 24.00, "2024-06-03"),
    ("BA", 15.0, 210.00, "2024-02-01"),
    ("WMT", 40.0, 62.00, "2023-11-01"),
)
VALUE_COLUMNS = (
    "ticker", "shares", "cost_basis", "opened", "note", "example", "sector", "last_date",
    "price", "market_value", "cost", "pnl", "pnl_pct", "weight", "volatility", "status",
)  # fmt: skip
_FORMULA = ("=", "+", "-", "@")  # a spreadsheet runs a cell that starts with one of these


class BookError(ValueError):
    """A holding, a file of holdings or a condition that cannot be stored; the message
    names the column, line and value."""


@dataclass(frozen=True)
class Holding:
    """One position: ``opened`` is an ISO date; ``example`` marks a made-up row."""

    ticker: str
    shares: float
    cost_basis: float
    opened: str
    note: str = ""
    example: bool = False

    def row(self) -> dict:
        return asdict(self)


def _number(value, column: str, where: str, *, positive: bool) -> float:
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        number = math.nan
    bad = not math.isfinite(number) or number > MAX_SHARES or number < 0
    if bad or (positive and number == 0):
        rule = "a number above 0" if positive else "a number of 0 or more"
        raise BookError(f"{where}column {column}: {str(value)[:40]!r} is not {rule}")
    return number


def _date(value, where: str) -> str:
    """The opened date as ISO text, by the one date rule (``parse_date``)."""
    try:
        return parse_date(value, f"{where}column opened").isoformat()
    except DateError as exc:
        raise BookError(str(exc)) from None


def check_holding(
    ticker, shares, cost_basis, opened, note: str = "", *, where: str = "", example: bool = False
) -> Holding:
    """A validated Holding; BookError naming the column and value (``where`` prefixes the
    message, e.g. "line 3, ")."""
    try:
        clean = normalize_ticker(ticker)
    except InvalidTickerError as exc:
        raise BookError(f"{where}column ticker: {exc}") from exc
    note = "" if note is None else str(note).strip()
    if len(note) > MAX_NOTE or any(ord(c) < 32 for c in note):
        raise BookError(
            f"{where}column note: {note[:40]!r} is over {MAX_NOTE} characters or has "
            "control characters"
        )
    return Holding(
        clean,
        _number(shares, "shares", where, positive=True),
        _number(cost_basis, "cost_basis", where, positive=False),
        _date(opened, where),
        note,
        example,
    )


def example_holdings() -> list[Holding]:
    """The seed portfolio (KDK HOOD BA WMT) with made-up shares and costs, each marked."""
    return [check_holding(*row, EXAMPLE_NOTE, example=True) for row in EXAMPLE_HOLDINGS]


def _records(text: str):
    """(file line, values) of each CSV record of ``text``; BookError naming the line where
    a record is not readable (a field over ``FIELD_LIMIT`` characters, ...)."""
    reader = csv.reader(io.StringIO(text))
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise BookError(field_limit_error(start)) from None
            raise BookError(f"Line {start}: not a readable CSV record ({exc})") from None
        if any(len(v) > FIELD_LIMIT for v in values):  # whatever csv's own limit is set to
            raise BookError(field_limit_error(start))
        yield start, values


def read_holdings_csv(data: bytes) -> list[Holding]:
    """Every holding of a CSV file (columns ``CSV_COLUMNS``, note optional), or BookError
    for the first problem: the file is taken whole or not at all. No field may be over
    ``FIELD_LIMIT`` characters (the same limit as a prices CSV's)."""
    if len(data) > MAX_CSV_BYTES:
        raise BookError(f"The file has {len(data):,} bytes; at most {MAX_CSV_BYTES:,}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BookError(f"The file is not UTF-8 text (byte {exc.start})") from exc
    if "\x00" in text:
        raise BookError("The file has a NUL byte: not a CSV text file")
    records = _records(text)
    header = [h.strip().lower() for h in next(records, (1, []))[1]]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise BookError(
            f"Line 1: the header must be {', '.join(CSV_COLUMNS)} (note optional); "
            f"unknown {unknown}, missing {missing}"
        )
    holdings: dict[str, tuple[int, Holding]] = {}
    for line, values in records:
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise BookError(f"Line {line}: {len(values)} values for {len(header)} columns")
        if len(holdings) >= MAX_HOLDINGS:
            raise BookError(f"Line {line}: more than {MAX_HOLDINGS} holdings")
        row = dict(zip(header, values, strict=True))
        note = row.get("note", "")
        if note[:1] == "'" and note[1:2] in _FORMULA:
            note = note[1:]  # written by holdings_csv to keep a spreadsheet from running it
        fields = (row["ticker"], row["shares"], row["cost_basis"], row["opened"])
        holding = check_holding(*fields, note, where=f"Line {line}, ")
        if holding.ticker in holdings:
            first = holdings[holding.ticker][0]
            raise BookError(
                f"Line {line}, column ticker: {holding.ticker!r} again (first on line "
                f"{first}): one position per ticker"
            )
        holdings[holding.ticker] = (line, holding)
    if not holdings:
        raise BookError("The file has no holdings (a header and at least one row)")
    return [holding for _, holding in holdings.values()]


def holdings_csv(holdings: pd.DataFrame) -> str:
    """``holdings`` as CSV text (``CSV_COLUMNS``); ``read_holdings_csv`` reads it back."""
    frame = holdings.reindex(columns=list(CSV_COLUMNS)).copy()
    frame["note"] = [f"'{n}" if str(n)[:1] in _FORMULA else n for n in frame["note"].fillna("")]
    return frame.to_csv(index=False, lineterminator="\n")


def value_holdings(
    holdings: pd.DataFrame, closes: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Each holding's value at ``as_of`` from ``closes`` (dates x tickers, rows <= as_of).

    Returns ``VALUE_COLUMNS``, one row per holding: price and ``last_date`` of its last
    close on or before ``as_of``; cost = shares x cost basis; P&L absolute and as a share of
    cost; weight in the book's valued total; annualized EWMA volatility (the sizer's);
    sector (``Unknown`` when not in the reference data). Unvalued rows are NaN, and
    ``status`` says why.
    """
    as_of = pd.Timestamp(as_of)
    closes = closes.loc[:as_of]
    volatility = ewma_volatility(closes.pct_change(fill_method=None)).ffill()
    frame = holdings.reindex(columns=list(VALUE_COLUMNS[:6])).reset_index(drop=True)
    frame["sector"] = [SECTORS.get(t, "Unknown") for t in frame["ticker"]]
    rows = []
    for ticker, opened in zip(frame["ticker"], frame["opened"], strict=True):
        series = closes[ticker].dropna() if ticker in closes else pd.Series(dtype=float)
        if series.empty:
            status = f"no stored prices for {ticker} on or before {as_of:%Y-%m-%d}"
            rows.append((pd.NaT, np.nan, np.nan, status))
        elif pd.Timestamp(opened) > as_of:
            rows.append((pd.NaT, np.nan, np.nan, f"opened after the as-of date {as_of:%Y-%m-%d}"))
        else:
            vol = volatility[ticker].iloc[-1]
            rows.append((series.index[-1], float(series.iloc[-1]), float(vol), "valued"))
    last, price, vol, status = zip(*rows, strict=True) if rows else ((), (), (), ())
    frame["last_date"] = pd.to_datetime(list(last))
    frame["price"] = np.array(price, dtype=float)
    frame["market_value"] = frame["shares"] * frame["price"]
    frame["cost"] = (frame["shares"] * frame["cost_basis"]).where(frame["price"].notna())
    frame["pnl"] = frame["market_value"] - frame["cost"]
    frame["pnl_pct"] = frame["pnl"] / frame["cost"].where(frame["cost"] > 0)
    frame["weight"] = frame["market_value"] / frame["market_value"].sum()
    frame["volatility"] = np.array(vol, dtype=float)
    frame["status"] = list(status)
    return frame[list(VALUE_COLUMNS)]


def sector_exposure(valued: pd.DataFrame) -> pd.DataFrame:
    """Market value and weight per sector of the valued holdings, largest first."""
    priced = valued[valued["market_value"].notna()]
    frame = priced.groupby("sector", as_index=False)["market_value"].sum()
    frame["weight"] = frame["market_value"] / frame["market_value"].sum()
    return frame.sort_values("market_value", ascending=False, ignore_index=True)


def value_series(valued: pd.DataFrame, closes: pd.DataFrame, sessions: int = 252) -> pd.Series:
    """The book's value by date over the last ``sessions`` + 1 dates: today's shares of the
    valued holdings at each date's closes, on the dates where every one of them has a
    close (a gap stays a gap: such a date is left out, never filled)."""
    priced = valued[valued["market_value"].notna()]
    if priced.empty:
        return pd.Series(dtype=float, name="value")
    shares = priced.set_index("ticker")["shares"]
    wide = closes[shares.index].dropna()
    return (wide * shares).sum(axis=1).iloc[-(sessions + 1) :].rename("value")

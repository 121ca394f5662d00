"""How a price file is laid out: delimiter, decimal mark, column names, the ticker in its name.

Detection only; ``csv_file`` parses. The layouts recognized by their header:

- Yahoo Finance: Date, Open, High, Low, Close, Adj Close, Volume;
- stooq: Date, Open, High, Low, Close, Volume, and its ASCII layout <TICKER>, <PER>,
  <DATE>, <TIME>, <OPEN>, <HIGH>, <LOW>, <CLOSE>, <VOL>, <OPENINT> (dates 20150401);
- Alpha Vantage: timestamp, open, high, low, close, (adjusted_close,) volume, ..., and
  the names of its JSON ("1. open" ... "5. adjusted close", "6. volume");
- a pandas ``to_csv()`` export, whose first column (the index: dates) has no name.

Any other header is matched column by column through ``SYNONYMS``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import PurePath

import pandas as pd

from engine.data.schema import InvalidTickerError, normalize_ticker

FIELDS = ("ticker", "date", "open", "high", "low", "close", "adj_close", "volume")
# Matched against a column name lower-cased, without <> (stooq) or a "4. " prefix (Alpha
# Vantage JSON).
SYNONYMS = {
    "ticker": ("ticker", "symbol", "code", "name"),
    "date": ("date", "datetime", "timestamp", "time", "day"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close", "price", "last"),
    "adj_close": ("adj close", "adj_close", "adjclose", "adjusted close", "adjusted_close"),
    "volume": ("volume", "vol"),
}
# name -> the lower-cased header names that identify it; the first whose names all appear
LAYOUTS = (
    ("stooq ASCII", ("<date>", "<close>")),
    ("Alpha Vantage JSON, adjusted", ("4. close", "5. adjusted close")),
    ("Alpha Vantage JSON", ("4. close",)),
    ("Alpha Vantage, adjusted", ("timestamp", "close", "adjusted_close")),
    ("Alpha Vantage", ("timestamp", "close")),
    ("Yahoo Finance", ("date", "open", "high", "low", "close", "adj close", "volume")),
    ("Date, OHLC, Volume (stooq and others)", ("date", "open", "high", "low", "close", "volume")),
)
UNNAMED = ("", "unnamed: 0")  # a pandas index column: written without a name, read back so
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
SNIFF_LINES = 50
SNIFF_CHARS = 64 * 1024  # under the csv module's field limit; a header is never longer
# characters in one field of any CSV import (prices, holdings): the csv module's default
# field_size_limit, so every reader refuses the same files with the same message
FIELD_LIMIT = 131_072
SHOWN_CHARS = 80  # of a value quoted in an error message
# A number written with a decimal comma ("12,5", "1.234,56"), or with at least two
# thousands dots ("1.234.567"): either means the file's decimal mark is a comma.
_COMMA_DECIMAL = re.compile(r"[+-]?(\d+,\d+|\d{1,3}(\.\d{3})+,\d+|\d{1,3}(\.\d{3}){2,})")
_PREFIX = re.compile(r"^\d+\.\s+")
# Words in a file name around the ticker (Alpha Vantage's "daily_adjusted_IBM.csv").
_NOT_TICKER = {"daily", "adjusted", "weekly", "monthly", "prices", "price", "history", "data"}


class CsvImportError(ValueError):
    """A CSV that cannot be imported; the message says what and where."""


def field_limit_error(line: int, column: object = None) -> str:
    """The message for a field over ``FIELD_LIMIT`` characters at file line ``line``."""
    where = f"Line {line}" + ("" if column is None else f", column {shown(column)}")
    return (
        f"{where}: a field is over {FIELD_LIMIT:,} characters, the most a CSV field may "
        "hold (a quote left open?)"
    )


def file_line(position: int) -> int:
    """File line of data row ``position`` (the header is line 1)."""
    return position + 2


def shown(value: object) -> str:
    """``repr(value)`` for an error message, cut to ``SHOWN_CHARS`` characters."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _key(column: object) -> str:
    return _PREFIX.sub("", str(column).strip().lower().strip("<>"))


def guess_mapping(columns: Sequence[str]) -> dict[str, str | None]:
    """Field -> the file's column for it (case- and space-insensitive), None if absent.

    A first column without a name (a pandas export's index) is taken as the date when no
    column is named like one. stooq's <TICKER> (its own symbol, "AAPL.US") is not used:
    the ticker comes from the file name or the form.
    """
    by_key: dict[str, str] = {}
    for column in columns:
        if str(column).strip().lower() != "<ticker>":
            by_key.setdefault(_key(column), column)
    mapping = {
        field: next((by_key[s] for s in SYNONYMS[field] if s in by_key), None) for field in FIELDS
    }
    if mapping["date"] is None and columns and str(columns[0]).strip().lower() in UNNAMED:
        mapping["date"] = columns[0]
    return mapping


def layout_name(columns: Sequence[str], mapping: dict[str, str | None]) -> str:
    """The name of the layout ``columns`` are in ("named columns" when none is known)."""
    names = {str(c).strip().lower() for c in columns}
    name = next((n for n, needs in LAYOUTS if set(needs) <= names), "named columns")
    if columns and mapping.get("date") == columns[0] and names & set(UNNAMED):
        name += "; dates in an unnamed first column"
    return name


def sniff_separator(text: str) -> str:
    """The delimiter of ``text`` (',', ';' or tab) from its first lines; ',' if unclear.

    Refuses a header that is split by one delimiter but still holds another.
    """
    lines = [line for line in text[:SNIFF_CHARS].splitlines()[:SNIFF_LINES] if line.strip()]
    try:
        sep = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(SEPARATORS)).delimiter
    except csv.Error:
        sep = ","
    header = next(csv.reader(lines[:1], delimiter=sep), [])
    found = [name for s, name in SEPARATORS.items() if s == sep or any(s in c for c in header)]
    if len(found) > 1:
        raise CsvImportError(
            f"Line 1 mixes delimiters ({', '.join(found)}): {lines[0][:80]!r}; "
            "use one of comma, semicolon or tab throughout"
        )
    return sep


def decimal_mark(table: pd.DataFrame, sep: str) -> str:
    """',' when a value in the first rows of a ';' or tab file reads as a decimal comma."""
    if sep == ",":
        return "."
    cells = table.head(SNIFF_LINES).stack().astype(str)
    return "," if cells.str.fullmatch(_COMMA_DECIMAL).any() else "."


def describe_dialect(sep: str, decimal: str) -> str:
    """E.g. "semicolon-separated, decimal comma"."""
    text = f"{SEPARATORS[sep]}-separated"
    return text + (", decimal comma" if decimal == "," else "")


def guess_ticker(file_name: str) -> str:
    """The ticker a file name suggests, "" when none: AAPL.csv -> AAPL, stooq's
    aapl.us.txt -> AAPL, BRK-B_daily.csv -> BRK-B, daily_adjusted_IBM.csv -> IBM."""
    stem = re.sub(r"(\.us)?\.(csv|txt|tsv)$", "", PurePath(file_name).name, flags=re.IGNORECASE)
    for part in re.split(r"[_\s()]+", stem):
        if part and part.lower() not in _NOT_TICKER:
            try:
                return normalize_ticker(part)
            except InvalidTickerError:
                continue
    return ""

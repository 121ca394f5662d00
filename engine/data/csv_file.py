"""A user's own CSV of daily prices: column mapping, strict parsing, clear errors.

Every error names what was wrong: the column, the file line and the offending value. The
file is parsed in full before anything is returned, so a bad file never half-imports.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from engine.data.schema import (
    VALUE_COLUMNS,
    FetchResult,
    InvalidTickerError,
    Progress,
    normalize_ticker,
    to_normalized,
)

MAX_CSV_BYTES = 20 * 1024 * 1024  # the same limit as server.maxUploadSize
MAX_CSV_ROWS = 500_000
FIELDS = ("ticker", "date", *VALUE_COLUMNS)
REQUIRED = ("date", "close")
SYNONYMS = {
    "ticker": ("ticker", "symbol", "code", "name"),
    "date": ("date", "datetime", "timestamp", "time", "day"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("adj close", "adj_close", "adjclose", "adjusted close", "close", "price", "last"),
    "volume": ("volume", "vol"),
}
# Tried in order when no format is given; a file must parse whole in exactly one.
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y")
_NA = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "-"]


class CsvImportError(ValueError):
    """A CSV that cannot be imported; the message says what and where."""


def guess_mapping(columns: Sequence[str]) -> dict[str, str | None]:
    """Field -> the file's column for it (case- and space-insensitive), None if absent."""
    by_key = {str(c).strip().lower(): c for c in columns}
    return {
        field: next((by_key[s] for s in SYNONYMS[field] if s in by_key), None) for field in FIELDS
    }


def _line(position: int) -> int:
    """File line of data row ``position`` (the header is line 1)."""
    return position + 2


def _parse_dates(values: pd.Series, column: str, date_format: str | None) -> pd.Series:
    """Parse with the one format that reads every value; refuse mixed or ambiguous dates."""
    formats = (date_format,) if date_format else DATE_FORMATS
    fits = []
    for fmt in formats:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if parsed.notna().all():
            fits.append((fmt, parsed))
    if not fits:
        best = pd.to_datetime(values, format=formats[0], errors="coerce")
        bad = values[best.isna()]
        raise CsvImportError(
            f"Column {column!r}: {len(bad)} value(s) are not dates in one format "
            f"({', '.join(formats)}); first at line {_line(bad.index[0])}: {bad.iloc[0]!r}"
        )
    for fmt, parsed in fits[1:]:
        if not parsed.equals(fits[0][1]):
            raise CsvImportError(
                f"Column {column!r}: dates read as both {fits[0][0]} and {fmt}; "
                "choose the date format"
            )
    return fits[0][1]


def _read_table(data: bytes | str | Path, *, nrows: int) -> pd.DataFrame:
    """Size, encoding and CSV-syntax checks, then up to ``nrows`` rows as text."""
    raw = Path(data).read_bytes() if isinstance(data, (str, Path)) else data
    if len(raw) > MAX_CSV_BYTES:
        raise CsvImportError(
            f"The file is {len(raw) / 2**20:.1f} MB; the limit is {MAX_CSV_BYTES // 2**20} MB"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvImportError(f"The file is not UTF-8 text (byte {exc.start})") from exc
    if not text.strip():
        raise CsvImportError("The file is empty")
    # index_col=False: rows longer than the header must not silently become an index;
    # pandas then warns that data would be lost, and that warning is an error here.
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(
                io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                na_values=_NA,
                nrows=nrows,
                skipinitialspace=True,
                index_col=False,
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, pd.errors.ParserWarning) as exc:
            raise CsvImportError(f"The file is not a readable CSV: {exc}") from exc


def csv_columns(data: bytes | str | Path) -> list[str]:
    """The header of a CSV (for the column-mapping form), or CsvImportError."""
    return [str(c) for c in _read_table(data, nrows=0).columns]


def read_price_csv(
    data: bytes | str | Path,
    *,
    mapping: Mapping[str, str | None] | None = None,
    ticker: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Parse a CSV into a normalized price frame or raise CsvImportError.

    Parameters
    ----------
    data : the file's bytes, or a path to it.
    mapping : field -> file column; guessed from the header when None.
    ticker : used when the file has no ticker column (one ticker per file).
    date_format : strftime format of the date column; inferred when None.
    """
    table = _read_table(data, nrows=MAX_CSV_ROWS + 1)
    if len(table) > MAX_CSV_ROWS:
        raise CsvImportError(f"The file has more than {MAX_CSV_ROWS:,} rows; split it")
    if table.empty:
        raise CsvImportError("The file has a header but no rows")

    mapping = dict(guess_mapping(list(table.columns)) if mapping is None else mapping)
    for field, column in mapping.items():
        if column is not None and column not in table.columns:
            raise CsvImportError(f"Column {column!r} (for {field}) is not in the file")
    for field in REQUIRED:
        if mapping.get(field) is None:
            raise CsvImportError(
                f"No column for {field!r}: name one (expected e.g. {SYNONYMS[field][:3]}); "
                f"columns found: {list(table.columns)[:12]}"
            )

    out = pd.DataFrame(index=table.index)
    out["date"] = _parse_dates(table[mapping["date"]], mapping["date"], date_format)
    for field in VALUE_COLUMNS:
        column = mapping.get(field)
        if column is None:
            continue
        numbers = pd.to_numeric(table[column], errors="coerce")
        bad = table[column][numbers.isna() & table[column].notna()]
        if len(bad):
            raise CsvImportError(
                f"Column {column!r} ({field}) has {len(bad)} non-numeric value(s); "
                f"first at line {_line(bad.index[0])}: {bad.iloc[0]!r}"
            )
        out[field] = numbers
    out["ticker"] = _tickers(table, mapping.get("ticker"), ticker)
    return to_normalized(out)


def _tickers(table: pd.DataFrame, column: str | None, default: str | None) -> pd.Series:
    if column is None:
        if not default:
            raise CsvImportError("The file has no ticker column: enter the ticker it holds")
        try:
            return pd.Series(normalize_ticker(default), index=table.index)
        except InvalidTickerError as exc:
            raise CsvImportError(str(exc)) from exc
    values = table[column]
    if values.isna().any():
        line = _line(values[values.isna()].index[0])
        raise CsvImportError(f"Column {column!r}: empty ticker at line {line}")
    normalized = {}
    for value in values.unique():
        try:
            normalized[value] = normalize_ticker(value)
        except InvalidTickerError as exc:
            line = _line(values[values == value].index[0])
            raise CsvImportError(f"Column {column!r}, line {line}: {exc}") from exc
    return values.map(normalized)


class CsvProvider:
    """Provider over one parsed CSV (bytes or a path)."""

    name = "csv"

    def __init__(
        self,
        data: bytes | str | Path,
        *,
        adjusted: bool,
        mapping: Mapping[str, str | None] | None = None,
        ticker: str | None = None,
        date_format: str | None = None,
    ) -> None:
        self.adjusted = adjusted
        self.prices = read_price_csv(data, mapping=mapping, ticker=ticker, date_format=date_format)

    @property
    def tickers(self) -> list[str]:
        """Tickers the file holds."""
        return sorted(self.prices["ticker"].unique())

    def fetch(
        self,
        tickers: Sequence[str] | None = None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        progress: Progress | None = None,
    ) -> FetchResult:
        """The file's rows for ``tickers`` (all when None) within [start, end]."""
        wanted = self.tickers if tickers is None else list(tickers)
        mask = self.prices["ticker"].isin(wanted)
        if start is not None:
            mask &= self.prices["date"] >= pd.Timestamp(start)
        if end is not None:
            mask &= self.prices["date"] <= pd.Timestamp(end)
        errors = {t: f"{t} is not in the CSV file" for t in wanted if t not in self.tickers}
        if progress:
            progress(1.0, f"Read {int(mask.sum())} rows from the CSV file")
        return FetchResult(
            self.name, self.prices[mask].reset_index(drop=True), self.adjusted, errors
        )

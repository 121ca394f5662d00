"""A user's own CSV of daily prices: layout, strict parsing, clear errors.

Every error names what was wrong: the column, the file line and the offending value. The
file is parsed in full before anything is returned, so a bad file never half-imports.
The layout (delimiter, decimal mark, column names) is detected in ``csv_layouts``.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.data.csv_dates import parse_csv_dates
from engine.data.csv_layouts import (
    FIELD_LIMIT,
    SYNONYMS,
    CsvImportError,
    decimal_mark,
    describe_dialect,
    field_limit_error,
    file_line,
    guess_mapping,
    layout_name,
    shown,
    sniff_separator,
)
from engine.data.schema import (
    VALUE_COLUMNS,
    FetchResult,
    InvalidTickerError,
    Progress,
    apply_adjusted_close,
    normalize_ticker,
    to_normalized,
)

MAX_CSV_BYTES = 20 * 1024 * 1024  # the same limit as server.maxUploadSize
MAX_CSV_ROWS = 500_000
_NA = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "-"]
# With a decimal comma, a number is 12,5 or 1.234,56 (dots only between thousands).
_COMMA_NUMBER = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?")


@dataclass(frozen=True)
class PriceFile:
    """One parsed file.

    Attributes
    ----------
    prices : pd.DataFrame
        Normalized long frame, columns ``PRICE_COLUMNS``.
    layout : str
        The layout detected, with delimiter and decimal mark ("Yahoo Finance;
        comma-separated").
    adjusted : bool
        True when the prices are split- and dividend-adjusted.
    basis : str
        Which close was used, and how ("adjusted: close from 'Adj Close', ...").
    """

    prices: pd.DataFrame
    layout: str
    adjusted: bool
    basis: str


def _numbers(values: pd.Series, column: str, field: str, decimal: str) -> pd.Series:
    """Numbers of one column; refuse any cell that is not one, naming its line.

    With a decimal comma a value must read 12,5 or 1.234,56: pandas' own ``thousands``
    option would take 12.5 for 125 and a date 01.04.2015 for 1042015.
    """
    text = values
    if decimal == ",":
        plain = values.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        text = plain.where(values.str.fullmatch(_COMMA_NUMBER).fillna(False).astype(bool))
    numbers = pd.to_numeric(text, errors="coerce")
    bad = values[numbers.isna() & values.notna()]
    if len(bad):
        kind = "numbers with a decimal comma" if decimal == "," else "numeric"
        raise CsvImportError(
            f"Column {column!r} ({field}) has {len(bad)} value(s) that are not {kind}; "
            f"first at line {file_line(bad.index[0])}: {shown(bad.iloc[0])}"
        )
    return numbers


def _read_table(data: bytes | str | Path, *, nrows: int) -> tuple[pd.DataFrame, str]:
    """Size, encoding, delimiter and CSV-syntax checks; up to ``nrows`` rows as text and
    the delimiter."""
    raw = Path(data).read_bytes() if isinstance(data, (str, Path)) else data
    if len(raw) > MAX_CSV_BYTES:
        raise CsvImportError(
            f"The file is {len(raw) / 2**20:.1f} MB; the limit is {MAX_CSV_BYTES // 2**20} MB"
        )
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark is dropped, not kept in a name
    except UnicodeDecodeError as exc:
        raise CsvImportError(f"The file is not UTF-8 text (byte {exc.start})") from exc
    if not text.strip():
        raise CsvImportError("The file is empty")
    if "\x00" in text:
        raise CsvImportError(f"The file is not text (a NUL byte at {text.index(chr(0))})")
    sep = sniff_separator(text)
    # index_col=False: rows longer than the header must not silently become an index;
    # pandas then warns that data would be lost, and that warning is an error here.
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            table = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_values=_NA,
                nrows=nrows,
                skipinitialspace=True,
                index_col=False,
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, pd.errors.ParserWarning) as exc:
            raise CsvImportError(f"The file is not a readable CSV: {exc}") from exc
    _check_field_sizes(table)
    return table, sep


def _check_field_sizes(table: pd.DataFrame) -> None:
    """Refuse a header name or a cell over ``FIELD_LIMIT`` characters, naming its line."""
    for column in table.columns:
        if len(str(column)) > FIELD_LIMIT:
            raise CsvImportError(field_limit_error(1))
        long = table[column].str.len() > FIELD_LIMIT
        if long.any():
            raise CsvImportError(field_limit_error(file_line(long.idxmax()), column))


def csv_columns(data: bytes | str | Path) -> list[str]:
    """The header of a CSV (for the column-mapping form), or CsvImportError."""
    return [str(c) for c in _read_table(data, nrows=0)[0].columns]


def read_price_csv(
    data: bytes | str | Path,
    *,
    mapping: Mapping[str, str | None] | None = None,
    ticker: str | None = None,
    date_format: str | None = None,
    adjusted: bool | None = None,
) -> PriceFile:
    """Parse a CSV into a normalized price frame or raise CsvImportError.

    Parameters
    ----------
    data : the file's bytes, or a path to it.
    mapping : field (``FIELDS``) -> file column; guessed from the header when None.
    ticker : used when the file has no ticker column (one ticker per file).
    date_format : strftime format of the date (its part before a time of day); inferred
        when None.
    adjusted : with both a close and an adjusted close: True or None stores adjusted
        prices (close = the adjusted close, open/high/low scaled by adjusted close /
        close, volume as is, like yfinance's auto_adjust), False the close as it is.
        With one close: whether it is split- and dividend-adjusted (None: no).
    """
    table, sep = _read_table(data, nrows=MAX_CSV_ROWS + 1)
    if len(table) > MAX_CSV_ROWS:
        raise CsvImportError(f"The file has more than {MAX_CSV_ROWS:,} rows; split it")
    if table.empty:
        raise CsvImportError("The file has a header but no rows")

    columns = list(table.columns)
    mapping = dict(guess_mapping(columns) if mapping is None else mapping)
    for field, column in mapping.items():
        if column is not None and column not in table.columns:
            raise CsvImportError(f"Column {column!r} (for {field}) is not in the file")
    for field in ("date", "close"):
        if mapping.get(field) is None and not (field == "close" and mapping.get("adj_close")):
            raise CsvImportError(
                f"No column for {field!r}: name one (expected e.g. {SYNONYMS[field][:3]}); "
                f"columns found: {columns[:12]}"
            )

    decimal = decimal_mark(table, sep)
    out = pd.DataFrame(index=table.index)
    out["date"] = parse_csv_dates(table[mapping["date"]], mapping["date"], date_format)
    for field in (*VALUE_COLUMNS, "adj_close"):
        if (column := mapping.get(field)) is not None:
            out[field] = _numbers(table[column], column, field, decimal)
    out, adjusted, basis = _choose_close(out, mapping, adjusted)
    out["ticker"] = _tickers(table, mapping.get("ticker"), ticker)
    layout = f"{layout_name(columns, mapping)}; {describe_dialect(sep, decimal)}"
    return PriceFile(to_normalized(out), layout, adjusted, basis)


def _choose_close(
    out: pd.DataFrame, mapping: Mapping[str, str | None], adjusted: bool | None
) -> tuple[pd.DataFrame, bool, str]:
    """The close to store, whether it is adjusted, and a line saying so."""
    close, adj = mapping.get("close"), mapping.get("adj_close")
    if adj is None:
        state = "stated adjusted" if adjusted else "unadjusted"
        return out, bool(adjusted), f"{state}: close from {close!r} as in the file"
    if close is None:
        if adjusted is False:
            raise CsvImportError(f"Column {adj!r} is the only close: it cannot be unadjusted")
        if any(mapping.get(c) for c in ("open", "high", "low")):
            raise CsvImportError(
                f"Column {adj!r} is the only close: open/high/low cannot be adjusted "
                "without the unadjusted close; map a close column too"
            )
        return out.rename(columns={"adj_close": "close"}), True, f"adjusted: close from {adj!r}"
    if adjusted is False:
        return out.drop(columns="adj_close"), False, f"unadjusted: close from {close!r}"
    basis = f"adjusted: close from {adj!r}, open/high/low scaled by {adj!r} / {close!r}"
    return apply_adjusted_close(out), True, basis


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
        line = file_line(values[values.isna()].index[0])
        raise CsvImportError(f"Column {column!r}: empty ticker at line {line}")
    normalized = {}
    for value in values.unique():
        try:
            normalized[value] = normalize_ticker(value)
        except InvalidTickerError as exc:
            line = file_line(values[values == value].index[0])
            raise CsvImportError(f"Column {column!r}, line {line}: {exc}") from exc
    return values.map(normalized)


class CsvProvider:
    """Provider over one parsed CSV (bytes or a path); see ``read_price_csv``."""

    name = "csv"

    def __init__(
        self,
        data: bytes | str | Path,
        *,
        adjusted: bool | None = None,
        mapping: Mapping[str, str | None] | None = None,
        ticker: str | None = None,
        date_format: str | None = None,
    ) -> None:
        self.file = read_price_csv(
            data, mapping=mapping, ticker=ticker, date_format=date_format, adjusted=adjusted
        )
        self.prices = self.file.prices
        self.adjusted = self.file.adjusted

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

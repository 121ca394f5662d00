"""Several price files at once: a preview of each, then one all-or-nothing import per file.

Each file is its own batch through ``import_csv`` (quality gate, one transaction, one
log row): a bad file is refused with its message and the others still import. A file
without a ticker column holds the ticker its name suggests (``guess_ticker``) unless
another is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from engine.data.csv_file import CsvImportError, CsvProvider
from engine.data.csv_layouts import guess_ticker
from engine.data.quality import FINDING_COLUMNS, check_prices
from engine.data.schema import Progress
from engine.workflows.data.prices import DbPath, import_csv

Upload = tuple[str, bytes]  # (file name, contents)
ColumnMapping = Mapping[str, str | None]
PREVIEW_COLUMNS = (
    "file",
    "ticker",
    "layout",
    "rows",
    "first_date",
    "last_date",
    "adjusted",
    "prices",
    "problems",
)
REPORT_COLUMNS = ("file", "ticker", "outcome", "rows", "message")


@dataclass(frozen=True)
class ImportReport:
    """What importing several files did.

    status: "ok" (every file stored), "partial" (some), "rejected" (none).
    files: one row per file, columns ``REPORT_COLUMNS``; outcome "stored" or "refused",
    message the file's own (which close was stored, or why nothing was).
    findings: quality-gate findings of every file, ``FINDING_COLUMNS`` plus "file".
    """

    status: str
    message: str
    files: pd.DataFrame
    findings: pd.DataFrame


def _choices(
    files: Sequence[Upload],
    tickers: Sequence[str] | None,
    adjusted: Sequence[bool | None] | None,
) -> list[tuple[str, bytes, str, bool | None]]:
    """(name, data, ticker, adjusted) per file: guessed tickers and default adjustment
    where none are given."""
    tickers = [guess_ticker(name) for name, _ in files] if tickers is None else list(tickers)
    adjusted = [None] * len(files) if adjusted is None else list(adjusted)
    if not len(tickers) == len(adjusted) == len(files):
        raise ValueError(
            f"{len(files)} files but {len(tickers)} tickers and {len(adjusted)} adjustments"
        )
    return [
        (
            name,
            data,
            ticker if isinstance(ticker, str) else "",
            None if pd.isna(choice) else bool(choice),
        )
        for (name, data), ticker, choice in zip(files, tickers, adjusted, strict=True)
    ]


def preview_imports(
    files: Sequence[Upload],
    *,
    tickers: Sequence[str] | None = None,
    adjusted: Sequence[bool | None] | None = None,
    mapping: ColumnMapping | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """What importing ``files`` would do, one row per file (``PREVIEW_COLUMNS``); stores
    nothing.

    The options are those of ``import_files``.
    ``problems`` holds why a file would be refused (its parse error, or the quality
    gate's reason per ticker) and tickers another file of the batch holds too.
    """
    rows, owner = [], {}
    for name, data, ticker, choice in _choices(files, tickers, adjusted):
        try:
            provider = CsvProvider(
                data,
                adjusted=choice,
                ticker=ticker or None,
                mapping=mapping,
                date_format=date_format,
            )
        except CsvImportError as exc:
            rows.append((name, ticker, "", 0, None, None, choice, "", str(exc)))
            continue
        prices, held = provider.prices, provider.tickers
        problems = [f"{t}: {reason}" for t, reason in check_prices(prices).rejected.items()]
        problems += [f"{t} is also in {owner[t]}" for t in held if t in owner]
        owner.update({t: name for t in held if t not in owner})
        rows.append(
            (
                name,
                ", ".join(held),
                provider.file.layout,
                len(prices),
                prices["date"].min().date(),
                prices["date"].max().date(),
                provider.adjusted,
                provider.file.basis,
                "; ".join(problems),
            )
        )
    return pd.DataFrame(rows, columns=list(PREVIEW_COLUMNS))


def import_files(
    db_path: DbPath,
    files: Sequence[Upload],
    *,
    tickers: Sequence[str] | None = None,
    adjusted: Sequence[bool | None] | None = None,
    mapping: ColumnMapping | None = None,
    date_format: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import each of ``files`` on its own, all-or-nothing per file.

    Parameters
    ----------
    files : (file name, contents) per file.
    tickers : per file, the ticker of a file without a ticker column; guessed from the
        file names when None ("" leaves the file without one, and it is refused).
    adjusted : per file, as ``import_csv``'s ``adjusted`` (None: adjusted when the file
        has both a close and an adjusted close).
    mapping, date_format : as ``import_csv``'s, for every file; None guesses each file's.
    progress : called after each file with the share of files done, reaching 1.0.
    """
    chosen = _choices(files, tickers, adjusted)
    records, findings = [], []
    for i, (name, data, ticker, choice) in enumerate(chosen):
        result = import_csv(
            db_path,
            data,
            adjusted=choice,
            ticker=ticker or None,
            mapping=mapping,
            date_format=date_format,
        )
        held = ", ".join(result.outcomes["ticker"]) or ticker
        outcome = "stored" if result.status == "ok" else "refused"
        records.append((name, held, outcome, result.rows, result.message))
        if not result.findings.empty:
            findings.append(result.findings.assign(file=name))
        if progress:
            progress((i + 1) / len(chosen), f"{name}: {result.message}")
    report = pd.DataFrame(records, columns=list(REPORT_COLUMNS))
    stored = report[report["outcome"] == "stored"]
    status = "rejected" if stored.empty else "ok" if len(stored) == len(report) else "partial"
    message = (
        f"Imported {len(stored)} of {len(report)} file(s), "
        f"{int(stored['rows'].sum()):,} rows stored"
    )
    if len(stored) < len(report):
        message += "; refused: " + ", ".join(report.loc[report["outcome"] != "stored", "file"])
    if progress and not chosen:
        progress(1.0, message)
    all_findings = (
        pd.concat(findings, ignore_index=True)
        if findings
        else pd.DataFrame(columns=[*FINDING_COLUMNS, "file"])
    )
    return ImportReport(status, message, report, all_findings)

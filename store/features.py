"""Feature cache: one block of per-ticker features per (feature-set version, ticker).

A block is an Arrow IPC (Feather v2) file compressed with LZ4: about three times faster
to write than Parquet here, quick to decompress, and read back without conversion
surprises (float64 stays float64, NaN stays NaN).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import feather
from sqlite_utils import Database

from store.db import iso_date, write_transaction
from store.migrations import utc_now

COVERAGE_COLUMNS = ("ticker", "first_date", "last_date", "rows", "input_digest", "input_version")


def _encode(frame: pd.DataFrame) -> bytes:
    """Date-indexed float columns -> Feather bytes (the index becomes a ``date`` column)."""
    arrays = [pa.array(frame.index.to_numpy())]
    arrays += [pa.array(frame[column].to_numpy(dtype="float64")) for column in frame.columns]
    table = pa.Table.from_arrays(arrays, names=["date", *map(str, frame.columns)])
    buffer = io.BytesIO()
    feather.write_feather(table, buffer, compression="lz4")
    return buffer.getvalue()


def _decode(blob: bytes) -> pd.DataFrame:
    return feather.read_table(io.BytesIO(blob)).to_pandas().set_index("date")


class FeatureRepository:
    """The ``feature_sets`` and ``feature_blocks`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def register(self, version: str, params: dict, columns: Sequence[str]) -> None:
        """Record a feature set (idempotent) and drop the blocks of every other version."""
        with write_transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO feature_sets (version, params_json, columns_json, "
                "created_utc) VALUES (?, ?, ?, ?)",
                (version, json.dumps(params, sort_keys=True), json.dumps(list(columns)), utc_now()),
            )
            self.db.execute("DELETE FROM feature_sets WHERE version != ?", (version,))

    def save_block(
        self,
        version: str,
        ticker: str,
        features: pd.DataFrame,
        digest: str,
        input_version: str | None = None,
    ) -> None:
        """Store one ticker's features (indexed by date), replacing its previous block.

        ``input_version`` is the ticker's ``PriceRepository.versions`` value the block was
        built from (None: unknown, the rows are hashed next time)."""
        if features.empty:
            raise ValueError(f"no feature rows to store for {ticker}")
        dates = features.index
        with write_transaction(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO feature_blocks (version, ticker, first_date, last_date,"
                " rows, input_digest, data, updated_utc, input_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    version,
                    ticker,
                    iso_date(dates.min()),
                    iso_date(dates.max()),
                    len(features),
                    digest,
                    _encode(features),
                    utc_now(),
                    input_version,
                ),
            )

    def set_input_version(self, version: str, ticker: str, input_version: str) -> None:
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE feature_blocks SET input_version = ? WHERE version = ? AND ticker = ?",
                (input_version, version, ticker),
            )

    def coverage(self, version: str) -> pd.DataFrame:
        """One row per cached ticker: ``COVERAGE_COLUMNS``."""
        rows = self.db.conn.execute(
            f"SELECT {', '.join(COVERAGE_COLUMNS)} FROM feature_blocks WHERE version = ? "
            "ORDER BY ticker",
            (version,),
        ).fetchall()
        return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))

    def _blobs(self, version: str, tickers: Sequence[str] | None) -> list[tuple[str, bytes]]:
        sql = "SELECT ticker, data FROM feature_blocks WHERE version = ?"
        params: list = [version]
        if tickers is not None:
            if not tickers:
                return []
            sql += f" AND ticker IN ({', '.join('?' * len(tickers))})"
            params += list(tickers)
        return self.db.conn.execute(sql + " ORDER BY ticker", params).fetchall()

    def load_frame(self, version: str, tickers: Sequence[str] | None = None) -> pd.DataFrame:
        """Cached features of ``tickers`` (all when None) as one frame by (ticker, date).

        The blocks are joined as Arrow tables and converted once, much faster than
        converting each block to pandas.
        """
        rows = self._blobs(version, tickers)
        if not rows:
            return pd.DataFrame()
        tables = [feather.read_table(io.BytesIO(blob)) for _, blob in rows]
        frame = pa.concat_tables(tables).to_pandas()
        names = np.repeat([ticker for ticker, _ in rows], [t.num_rows for t in tables])
        index = pd.MultiIndex.from_arrays([names, frame.pop("date")], names=["ticker", "date"])
        return frame.set_axis(index)

    def load(self, version: str, tickers: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        """Ticker -> its cached features (indexed by date); absent tickers are left out."""
        return {ticker: _decode(blob) for ticker, blob in self._blobs(version, tickers)}

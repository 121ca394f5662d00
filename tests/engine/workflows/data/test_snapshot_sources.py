"""The as-of snapshot reads macro rows, news, filings and fetched ranges as known at t.

Synthetic macro and sentiment rows go into a copy of the sample store; in a second copy
everything known or public after t is poisoned (values x10, scores flipped, filings
reversed, a fetched range that starts after t). The cross-asset and sentiment features
of the snapshot at t must be identical in both, and must really use the inputs.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd

from engine import workflows
from store.db import open_db, write_transaction
from store.macro import MacroRepository
from store.sentiment import SentimentRepository
from tests.builders import synthetic_macro, synthetic_sentiment

T = pd.Timestamp("2018-06-29")
TICKERS = ["AAPL", "KO"]
FAMILIES = ["cross_asset", "sentiment"]


def poison_after(path: Path, day: pd.Timestamp) -> None:
    iso = f"{day:%Y-%m-%d}"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE macro_observations SET value = 10 * value WHERE known_date > ?", [iso])
        conn.execute("UPDATE news_items SET score = -score WHERE public_date > ?", (iso,))
        conn.execute(
            "UPDATE insider_transactions SET change = -change WHERE filing_date > ?", (iso,)
        )
        conn.execute(
            "INSERT INTO sentiment_coverage VALUES ('KO', 'news', ?, '2019-12-31', 'x')",
            (f"{day + pd.Timedelta(days=1):%Y-%m-%d}",),
        )


def test_nothing_known_after_t_reaches_the_snapshot_at_t(seeded_db: Path, tmp_path: Path) -> None:
    first, last = pd.Timestamp("2018-01-02"), pd.Timestamp("2018-12-31")
    items = synthetic_sentiment(tuple(TICKERS), first, last, seed=2)
    with closing(open_db(seeded_db)) as db, write_transaction(db):
        MacroRepository(db).upsert(synthetic_macro(first, last, seed=2))
        SentimentRepository(db).save(items.news, items.insider, items.coverage)
    poisoned = tmp_path / "poisoned.db"
    shutil.copy(seeded_db, poisoned)
    poison_after(poisoned, T)
    clean = workflows.build_snapshot(seeded_db, TICKERS, T, families=FAMILIES).features
    dirty = workflows.build_snapshot(poisoned, TICKERS, T, families=FAMILIES).features
    pd.testing.assert_frame_equal(clean, dirty)
    june = clean.xs(T, level="date")
    assert june[["curve_slope_10y2y", "btc_ret_20d", "news_sentiment_5d"]].notna().all().all()
    assert (june["avail_sentiment"] == 1).all()

    # after t the poison shows: the check is not vacuous
    def vix_at_the_end(path: Path) -> pd.Series:
        snapshot = workflows.build_snapshot(path, TICKERS, last, families=FAMILIES)
        return snapshot.features["vixcls_level"]

    assert not vix_at_the_end(poisoned).equals(vix_at_the_end(seeded_db))

"""The as-of snapshot: nothing stored after t reaches anything computed at t.

One store is copied; in the copy every price row after t is poisoned (prices x10, rows
emptied to NaN, values shuffled across dates, rows deleted). Snapshot, features, labels
known by t, forecasts and paper steps at t must come out identical in both.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.modeling.labels import LabelParams
from store.db import open_db
from store.paper import PaperLedger
from tests.builders import SMALL_TRAIN

T = pd.Timestamp("2018-06-29")  # a session
TRAINING = dataclasses.replace(SMALL_TRAIN, as_of=pd.Timestamp("2018-06-22"))  # through < T
TICKERS = list(SMALL_TRAIN.tickers)


def poison_after(path: Path, day: pd.Timestamp, seed: int = 0) -> int:
    """Poison every stored price row dated after ``day``; return how many rows changed."""
    rng = np.random.default_rng(seed)
    iso = f"{day:%Y-%m-%d}"
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT ticker, date FROM prices WHERE date > ?", (iso,)).fetchall()
        for ticker, date in rows:
            kind = rng.integers(0, 4)
            if kind == 0:  # ten times the price
                conn.execute(
                    "UPDATE prices SET open = open * 10, high = high * 10, low = low * 10, "
                    "close = close * 10, volume = volume * 10 WHERE ticker = ? AND date = ?",
                    (ticker, date),
                )
            elif kind == 1:  # an empty row
                conn.execute(
                    "UPDATE prices SET open = NULL, high = NULL, low = NULL, close = NULL, "
                    "volume = NULL WHERE ticker = ? AND date = ?",
                    (ticker, date),
                )
            elif kind == 2:  # deleted
                conn.execute("DELETE FROM prices WHERE ticker = ? AND date = ?", (ticker, date))
        # shuffled dates: each ticker's remaining closes after t permuted across its dates
        for (ticker,) in conn.execute("SELECT DISTINCT ticker FROM prices").fetchall():
            later = conn.execute(
                "SELECT date, close FROM prices WHERE ticker = ? AND date > ? ORDER BY date",
                (ticker, iso),
            ).fetchall()
            closes = [c for _, c in later]
            rng.shuffle(closes)
            conn.executemany(
                "UPDATE prices SET close = ? WHERE ticker = ? AND date = ?",
                [(c, ticker, d) for (d, _), c in zip(later, closes, strict=True)],
            )
    return len(rows)


@pytest.fixture
def clean_and_poisoned(seeded_db: Path, tmp_path: Path) -> tuple[Path, Path, str]:
    record = workflows.train_model(seeded_db, TRAINING)
    workflows.activate_run(seeded_db, record.run_id)
    poisoned = tmp_path / "poisoned.db"
    poisoned.write_bytes(Path(seeded_db).read_bytes())
    assert poison_after(poisoned, T) > 10_000
    return seeded_db, poisoned, record.run_id


def paper_journal(path: Path) -> dict[str, pd.DataFrame]:
    with open_db(path) as db:
        ledger = PaperLedger(db)
        return {
            "positions": ledger.positions(),
            "orders": ledger.orders().drop(columns="created_utc"),
            "fills": ledger.fills(),
            "steps": ledger.steps(),
        }


def test_nothing_after_t_reaches_a_snapshot_forecast_or_paper_step(clean_and_poisoned) -> None:
    clean, poisoned, run_id = clean_and_poisoned
    # the poison is real: the full histories differ
    assert not workflows.load_prices(clean, TICKERS).equals(
        workflows.load_prices(poisoned, TICKERS)
    )
    a = workflows.build_snapshot(clean, TICKERS, T)
    b = workflows.build_snapshot(poisoned, TICKERS, T)
    assert a.prices["date"].max() == T and len(a.features) > 1000
    pd.testing.assert_frame_equal(a.prices, b.prices, check_exact=True)
    pd.testing.assert_frame_equal(a.features, b.features, check_exact=True)
    pd.testing.assert_frame_equal(a.regimes, b.regimes, check_exact=True)
    pd.testing.assert_series_equal(a.context.breadth, b.context.breadth, check_exact=True)
    for kind, horizon in (("direction", 5), ("triple_barrier", 10)):
        params = LabelParams(kind=kind, horizon=horizon)
        labels = a.labels(params)
        assert labels["end_date"].max() <= T  # only outcomes known by t
        pd.testing.assert_frame_equal(labels, b.labels(params), check_exact=True)
    pd.testing.assert_frame_equal(
        workflows.forecast(clean, a, run_id=run_id),
        workflows.forecast(poisoned, b, run_id=run_id),
        check_exact=True,
    )
    for day in (T - pd.Timedelta(days=1), T):  # a step that orders, then one that fills
        for path in (clean, poisoned):
            result = workflows.paper_step(path, day, TICKERS, run_id=run_id)
            assert result.status == "done", result.message
    journal_a, journal_b = paper_journal(clean), paper_journal(poisoned)
    assert len(journal_a["fills"]) > 0 and len(journal_a["orders"]) > 0
    for name, frame in journal_a.items():
        pd.testing.assert_frame_equal(frame, journal_b[name], check_exact=True, obj=name)


def test_a_snapshot_holds_nothing_after_its_date(seeded_db: Path) -> None:
    snapshot = workflows.build_snapshot(seeded_db, ["KO", "^GSPC"], pd.Timestamp("2008-09-15"))
    assert snapshot.prices["date"].max() == pd.Timestamp("2008-09-15")
    assert snapshot.features.index.get_level_values("date").max() == pd.Timestamp("2008-09-15")
    assert snapshot.regimes.index.max() <= pd.Timestamp("2008-09-15")
    assert snapshot.context.breadth.index.max() <= pd.Timestamp("2008-09-15")
    latest = snapshot.latest_features()
    assert list(latest.index.get_level_values("ticker")) == ["KO", "^GSPC"]
    pd.testing.assert_frame_equal(latest, snapshot.features.groupby(level="ticker").tail(1))
    assert snapshot.latest_features() is latest  # found once, shared like the snapshot
    everything = workflows.build_snapshot(seeded_db, ["KO"])
    assert everything.as_of is None and everything.last_session == pd.Timestamp("2022-12-28")


def test_a_snapshot_is_read_again_after_any_write_to_the_store(seeded_db: Path) -> None:
    day = pd.Timestamp("2008-09-15")
    first = workflows.build_snapshot(seeded_db, ["KO"], day)
    assert workflows.build_snapshot(seeded_db, ["KO"], day) is first  # unchanged store: shared
    with sqlite3.connect(seeded_db) as conn:  # a write that bypasses the repositories
        conn.execute(
            "UPDATE prices SET close = close * 2 WHERE ticker = 'KO' AND date = '2008-09-15'"
        )
    second = workflows.build_snapshot(seeded_db, ["KO"], day)
    assert second is not first
    closes = [s.prices.set_index("date")["close"][day] for s in (first, second)]
    assert closes[1] == pytest.approx(2 * closes[0])

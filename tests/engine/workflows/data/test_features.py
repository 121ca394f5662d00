"""The feature cache computes only what is new and serves what compute_features would."""

from __future__ import annotations

from contextlib import closing

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.data.schema import FetchResult
from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.features.cache import CacheSpec
from store.db import open_db
from store.features import FeatureRepository


def cached_coverage(db_path) -> pd.DataFrame:
    with closing(open_db(db_path)) as db:
        return FeatureRepository(db).coverage(CacheSpec().version)


def store(db_path, prices: pd.DataFrame) -> None:
    result = workflows.ingest(db_path, FetchResult("synthetic", prices, True))
    assert result.status == "ok", result.message


@pytest.fixture
def synthetic_prices() -> pd.DataFrame:
    return make_panel(6, 700, seed=21).prices


def test_second_build_reuses_everything(cold_seeded_db) -> None:
    first = workflows.build_features(cold_seeded_db)
    assert len(first.built) == 33 and first.appended == () and first.rows_computed > 200_000
    second = workflows.build_features(cold_seeded_db)
    assert second.built == () and second.appended == () and len(second.reused) == 33
    assert second.rows_computed == 0


def test_loaded_features_equal_a_fresh_computation(seeded_db) -> None:
    tickers = ["AAPL", "^GSPC"]
    loaded = workflows.load_features(seeded_db, tickers)
    stored = workflows.load_prices(seeded_db)
    fresh = compute_features(stored).loc[tickers]
    pd.testing.assert_frame_equal(loaded, fresh[loaded.columns], check_exact=True)
    assert list(loaded.columns) == list(fresh.columns)


def test_close_only_ticker_has_flagged_empty_families(seeded_db) -> None:
    aapl = workflows.load_features(seeded_db, ["AAPL"], families=["flow", "technical"]).loc["AAPL"]
    assert aapl.filter(["ifi_20", "cmf_20", "smi"]).isna().all().all()
    assert (aapl["avail_flow"] == 0).all()
    # ADX, ATR, stochastic %K and %D and the volume z-score need more than closes: 16 of 21.
    assert aapl["avail_technical"].iloc[-1] == pytest.approx(16 / 21)
    assert aapl["rsi_14"].iloc[-100:].notna().all() and aapl["adx_14"].isna().all()


def test_new_dates_are_appended_not_recomputed(db_path) -> None:
    prices = make_panel(4, 1400, seed=22).prices
    dates = np.sort(prices["date"].unique())
    store(db_path, prices[prices["date"] <= dates[1199]])
    workflows.build_features(db_path)
    store(db_path, prices[prices["date"] > dates[1199]])
    result = workflows.build_features(db_path)
    assert len(result.appended) == 4 and result.built == ()
    assert result.rows_computed == 4 * 200
    loaded = workflows.load_features(db_path, sorted(prices["ticker"].unique()))
    fresh = compute_features(prices, families=CacheSpec().families)
    cached = loaded[fresh.columns]
    # Appended rows start from a 1,000-session tail: within the warm-up tolerance.
    np.testing.assert_allclose(cached.to_numpy(), fresh.to_numpy(), rtol=1e-6, atol=1e-5)
    assert not cached.equals(fresh)  # the tail really was used (the EMAs differ a little)
    assert (cached_coverage(db_path)["rows"] == 1400).all()


def test_restated_history_rebuilds_only_that_ticker(db_path, synthetic_prices) -> None:
    store(db_path, synthetic_prices)
    workflows.build_features(db_path)
    restated = synthetic_prices[synthetic_prices["ticker"] == "SYN0002"].copy()
    restated.loc[restated.index[10], ["close", "open", "high", "low"]] *= 1.01
    store(db_path, restated)
    result = workflows.build_features(db_path)
    assert result.built == ("SYN0002",) and len(result.reused) == 5


def test_a_new_ticker_is_computed_alone(db_path, synthetic_prices) -> None:
    store(db_path, synthetic_prices[synthetic_prices["ticker"] != "SYN0005"])
    workflows.build_features(db_path)
    store(db_path, synthetic_prices[synthetic_prices["ticker"] == "SYN0005"])
    result = workflows.build_features(db_path)
    assert result.built == ("SYN0005",) and result.rows_computed == 700


def test_a_failed_batch_leaves_the_cache_as_it_was(db_path, synthetic_prices, monkeypatch) -> None:
    store(db_path, synthetic_prices)
    calls = {"n": 0}
    original = FeatureRepository.save_block

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FeatureRepository, "save_block", failing)
    with pytest.raises(OSError, match="disk full"):
        workflows.build_features(db_path)
    assert cached_coverage(db_path).empty
    monkeypatch.setattr(FeatureRepository, "save_block", original)
    assert len(workflows.build_features(db_path).built) == 6

"""The price-path family: each lag's log return and relative volume, missing stays missing,
and the family is opt-in (not a default family, not in the feature cache)."""

from __future__ import annotations

import numpy as np

from engine.features import CACHED_FAMILIES, DEFAULT_FAMILIES, compute_path, feature_columns
from engine.features.path import PATH_SESSIONS


def test_each_lag_is_that_sessions_return_and_volume(market_panel) -> None:
    one = market_panel[market_panel["ticker"] == "SYN0003"].reset_index(drop=True)
    path = compute_path(one).loc["SYN0003"]
    close = one.set_index("date")["close"]
    volume = one.set_index("date")["volume"]
    t = 200  # a row well past the window's warm-up
    day = close.index[t]
    for lag in (0, 1, 7, PATH_SESSIONS - 1):
        expected = np.log(close.iloc[t - lag] / close.iloc[t - lag - 1])
        assert path.at[day, f"path_ret_{lag}"] == expected
        mean = volume.iloc[t - PATH_SESSIONS + 1 : t + 1].mean()
        assert np.isclose(path.at[day, f"path_vol_{lag}"], np.log(volume.iloc[t - lag] / mean))
    # the first session has no previous close; the window's first sessions no mean volume
    assert np.isnan(path.iloc[0]["path_ret_0"])
    assert path.iloc[: PATH_SESSIONS - 1]["path_vol_0"].isna().all()


def test_a_close_only_ticker_has_no_volume_channel(market_panel) -> None:
    one = market_panel[market_panel["ticker"] == "SYN0003"].copy()
    one[["open", "high", "low", "volume"]] = np.nan
    path = compute_path(one)
    vol_columns = [c for c in path.columns if c.startswith("path_vol_")]
    assert path[vol_columns].isna().all().all()
    assert path["path_ret_0"].iloc[1:].notna().all()


def test_the_path_is_opt_in() -> None:
    assert "path" not in DEFAULT_FAMILIES and "path" not in CACHED_FAMILIES
    assert len(feature_columns(["path"])) == 2 * PATH_SESSIONS
    assert not any(c.startswith("path_") for c in feature_columns())

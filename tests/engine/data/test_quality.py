"""Each quality-gate check catches its defect, with the right severity and consequence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.quality import check_prices
from engine.data.synthetic import make_panel

TODAY = pd.Timestamp("2023-01-10")


@pytest.fixture
def clean() -> pd.DataFrame:
    return make_panel(3, 40, seed=5).prices.copy()


def first_row(frame: pd.DataFrame, ticker: str = "SYN0001", offset: int = 10) -> int:
    return int(frame.index[frame["ticker"] == ticker][offset])


def test_clean_panel_has_no_findings(clean: pd.DataFrame) -> None:
    result = check_prices(clean, today=TODAY)
    assert result.findings.empty
    assert result.rejected == {}
    pd.testing.assert_frame_equal(result.accepted, clean)


def _break(frame: pd.DataFrame, defect: str) -> pd.DataFrame:
    i = first_row(frame)
    out = frame.copy()
    if defect == "high_below_low":
        high, low = out.loc[i, "high"], out.loc[i, "low"]
        out.loc[i, "high"], out.loc[i, "low"] = low, high
    elif defect == "non_positive_price":
        out.loc[i, "low"] = 0.0
    elif defect == "outside_range":
        out.loc[i, "close"] = out.loc[i, "high"] * 1.05
    elif defect == "nan_price_with_volume":
        out.loc[i, ["open", "high", "low", "close"]] = np.nan
    elif defect == "negative_volume":
        out.loc[i, "volume"] = -5.0
    elif defect == "non_finite":
        out.loc[i, "high"] = np.inf
    elif defect == "duplicate_date":
        out = pd.concat([out, out.loc[[i]]], ignore_index=True)
    elif defect == "future_date":
        last = out.index[out["ticker"] == "SYN0001"][-1]
        out.loc[last, "date"] = TODAY + pd.Timedelta(days=3)
    elif defect == "non_trading_date":
        out.loc[i, "date"] = pd.Timestamp("2022-12-25")  # Christmas Day, a Sunday
    return out


@pytest.mark.parametrize(
    "defect",
    [
        "high_below_low",
        "non_positive_price",
        "outside_range",
        "nan_price_with_volume",
        "negative_volume",
        "non_finite",
        "duplicate_date",
        "future_date",
        "non_trading_date",
    ],
)
def test_each_error_is_caught_and_rejects_only_its_ticker(clean: pd.DataFrame, defect: str) -> None:
    result = check_prices(_break(clean, defect), today=TODAY)
    found = result.findings[result.findings["check"] == defect]
    assert found[["ticker", "severity"]].values.tolist() == [["SYN0001", "error"]]
    assert "SYN0001" in found["message"].iloc[0]
    assert list(result.rejected) == ["SYN0001"]
    assert set(result.accepted["ticker"]) == {"SYN0000", "SYN0002"}


def test_unadjusted_split_is_flagged_on_its_day(clean: pd.DataFrame) -> None:
    out = clean.copy()
    rows = out.index[out["ticker"] == "SYN0002"][20:]
    out.loc[rows, ["open", "high", "low", "close"]] /= 2.0  # a 2:1 split left unadjusted
    result = check_prices(out, today=TODAY)
    found = result.findings[result.findings["check"] == "suspected_split"]
    assert found[["ticker", "severity", "count"]].values.tolist() == [["SYN0002", "warning", 1]]
    assert found["first_date"].iloc[0] == out.loc[rows[0], "date"].strftime("%Y-%m-%d")


def test_split_check_skips_indices(clean: pd.DataFrame) -> None:
    out = clean.assign(ticker=clean["ticker"].str.replace("SYN0002", "^IDX"))
    rows = out.index[out["ticker"] == "^IDX"][20:]
    out.loc[rows, ["open", "high", "low", "close"]] /= 2.0
    assert check_prices(out, today=TODAY).findings.empty


def test_missing_sessions_are_warned_and_stay_missing(clean: pd.DataFrame) -> None:
    rows = clean.index[clean["ticker"] == "SYN0000"][5:8]
    result = check_prices(clean.drop(index=rows), today=TODAY)
    found = result.findings[result.findings["check"] == "missing_session"]
    assert found[["ticker", "severity", "count"]].values.tolist() == [["SYN0000", "warning", 3]]
    assert result.rejected == {}
    assert (result.accepted["ticker"] == "SYN0000").sum() == 37


def test_empty_rows_on_holidays_are_dropped_as_info(clean: pd.DataFrame) -> None:
    holiday = pd.DataFrame({"ticker": ["SYN0000"], "date": [pd.Timestamp("2022-12-26")]})
    out = pd.concat([clean, holiday], ignore_index=True)
    result = check_prices(out, today=TODAY)
    assert result.findings[["check", "severity"]].values.tolist() == [["empty_non_trading", "info"]]
    assert len(result.accepted) == len(clean)


def test_missing_close_without_volume_is_a_warning_and_kept_as_nan(clean: pd.DataFrame) -> None:
    out = clean.copy()
    i = first_row(out)
    out.loc[i, ["close", "volume"]] = np.nan
    result = check_prices(out, today=TODAY)
    assert result.findings[["check", "severity"]].values.tolist() == [["missing_close", "warning"]]
    assert result.accepted["close"].isna().sum() == 1

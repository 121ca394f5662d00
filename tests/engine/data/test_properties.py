"""Property-based tests (Hypothesis) of the CSV importer and the quality gate.

Importer: whatever the bytes, the answer is a clean price frame or a CsvImportError, never
another exception. Gate: whatever defects are planted, nothing it accepts breaks a rule,
a ticker is rejected exactly when an error names it, and it never invents or alters rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data.calendar import is_session
from engine.data.csv_file import CsvImportError, read_price_csv
from engine.data.quality import check_prices
from engine.data.schema import normalize_ticker
from engine.data.synthetic import make_panel

TODAY = pd.Timestamp("2023-01-10")
CELLS = st.sampled_from(
    ["2024-02-05", "2024-02-06", "02/07/2024", "2024/02/08", "20240209", "10", "10.5", "-1",
     "0", "1e308", "1e309", "inf", "NaN", "", "abc", "AAPL", "../x", "株", '"', "'", ";",
     "  7 ", "2024-13-45", "Date", "Close"]
)  # fmt: skip


def _check_frame(out: pd.DataFrame) -> None:
    """What any parsed file must look like: known columns, dates, valid tickers."""
    assert {"ticker", "date", "close"} <= set(out.columns)
    assert out["date"].notna().all()
    for ticker in out["ticker"].unique():
        assert normalize_ticker(ticker) == ticker


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=600))
def test_any_bytes_give_a_frame_or_a_clear_error(data: bytes) -> None:
    try:
        out = read_price_csv(data, ticker="T").prices
    except CsvImportError as exc:
        assert str(exc)
    else:
        _check_frame(out)


@settings(max_examples=200, deadline=None)
@given(
    header=st.lists(
        st.sampled_from(["Date", "Close", "Open", "High", "Low", "Volume", "Ticker", "X"]),
        min_size=1,
        max_size=6,
    ),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=7), min_size=0, max_size=12),
)
def test_any_table_gives_a_frame_or_an_error_naming_what_is_wrong(header, rows) -> None:
    text = ",".join(header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    try:
        out = read_price_csv(text.encode(), ticker="T").prices
    except CsvImportError as exc:
        message = str(exc)
        assert message and "Traceback" not in message
    else:
        _check_frame(out)
        assert len(out) <= len(rows)


DEFECTS = ("none", "zero", "swap", "inf", "nan_close", "neg_volume", "dup", "holiday", "empty")


def _plant(frame: pd.DataFrame, row: int, defect: str) -> pd.DataFrame:
    out = frame.copy()
    if defect == "zero":
        out.loc[row, "low"] = 0.0
    elif defect == "swap":
        out.loc[row, ["high", "low"]] = out.loc[row, ["low", "high"]].to_numpy() * [0.9, 1.1]
    elif defect == "inf":
        out.loc[row, "close"] = np.inf
    elif defect == "nan_close":
        out.loc[row, ["open", "high", "low", "close"]] = np.nan
    elif defect == "neg_volume":
        out.loc[row, "volume"] = -1.0
    elif defect == "dup":
        out = pd.concat([out, out.loc[[row]]], ignore_index=True)
    elif defect == "holiday":
        out.loc[row, "date"] = pd.Timestamp("2022-12-25")
    elif defect == "empty":
        out.loc[row, ["open", "high", "low", "close", "volume"]] = np.nan
    return out


PANEL = make_panel(3, 30, seed=2).prices


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    planted=st.lists(
        st.tuples(st.integers(0, len(PANEL) - 1), st.sampled_from(DEFECTS)), max_size=6
    )
)
def test_the_gate_accepts_nothing_that_breaks_a_rule(planted) -> None:
    frame = PANEL
    for row, defect in planted:
        frame = _plant(frame, row, defect)
    result = check_prices(frame, today=TODAY)
    accepted, findings = result.accepted, result.findings

    errors = set(findings.loc[findings["severity"] == "error", "ticker"])
    assert set(result.rejected) == errors
    assert not set(accepted["ticker"]) & errors
    # every accepted row is an input row, unchanged
    merged = accepted.merge(frame, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    # a ticker that passed keeps all its non-empty rows
    values = ["open", "high", "low", "close", "volume"]
    for ticker in set(frame["ticker"]) - errors:
        rows = frame[(frame["ticker"] == ticker) & frame[values].notna().any(axis=1)]
        assert len(accepted[accepted["ticker"] == ticker]) == len(rows)
    # nothing accepted breaks a rule
    prices = accepted[["open", "high", "low", "close"]]
    assert (prices.fillna(1.0) > 0).all().all()
    assert np.isfinite(accepted[values].fillna(0.0).to_numpy()).all()
    assert (accepted["high"].fillna(np.inf) >= accepted["low"].fillna(-np.inf)).all()
    assert (accepted["volume"].fillna(0.0) >= 0).all()
    assert not accepted.duplicated(["ticker", "date"]).any()
    assert is_session(accepted["date"]).all()
    assert (accepted["date"] <= TODAY).all()

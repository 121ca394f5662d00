import pandas as pd
import pytest

from engine.data.schema import (
    PRICE_COLUMNS,
    InvalidTickerError,
    normalize_ticker,
    normalize_tickers,
    scaled_progress,
    to_normalized,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("aapl", "AAPL"),
        (" brk-b ", "BRK-B"),
        ("^GSPC", "^GSPC"),
        ("EURUSD=X", "EURUSD=X"),
        ("RDS.A", "RDS.A"),
    ],
)
def test_plain_symbols_are_accepted_and_uppercased(raw: str, expected: str) -> None:
    assert normalize_ticker(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "AAPL;rm -rf /",
        "../x",
        "",
        "   ",
        "A" * 5000,
        "ÄPPL",
        "AA\tPL",
        "a b",
        "'; DROP TABLE",
        "-X",
    ],
)
def test_hostile_tickers_are_refused_with_the_rule(raw: str) -> None:
    with pytest.raises(InvalidTickerError, match="Invalid ticker") as info:
        normalize_ticker(raw)
    assert "A-Z, 0-9" in str(info.value)
    assert len(str(info.value)) < 200  # a 5,000-character ticker is not echoed whole


def test_normalize_tickers_deduplicates_in_order() -> None:
    assert normalize_tickers(["msft", "AAPL", "MSFT"]) == ["MSFT", "AAPL"]


def test_to_normalized_drops_timezone_keeps_session_date_and_fills_missing_columns() -> None:
    frame = pd.DataFrame(
        {
            "ticker": ["X", "X"],
            "date": pd.DatetimeIndex(["2024-02-06", "2024-02-05"]).tz_localize("America/New_York"),
            "close": [2.0, 1.0],
        }
    )
    out = to_normalized(frame)
    assert list(out.columns) == list(PRICE_COLUMNS)
    assert out["date"].dtype == "datetime64[ns]"
    assert out["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-05", "2024-02-06"]
    assert out["close"].tolist() == [1.0, 2.0]
    assert out[["open", "high", "low", "volume"]].isna().all().all()


def test_scaled_progress_maps_a_stage_onto_its_range_and_nests() -> None:
    calls: list[tuple[float, str]] = []
    stage = scaled_progress(lambda f, t: calls.append((f, t)), 0.2, 0.6, "Fold: ")
    inner = scaled_progress(stage, 0.5, 1.0)
    stage(0.0, "start")
    stage(1.0, "end")
    inner(0.5, "half of the second half")
    assert calls == [
        (0.2, "Fold: start"),
        (pytest.approx(0.6), "Fold: end"),
        (pytest.approx(0.5), "Fold: half of the second half"),
    ]
    assert scaled_progress(None, 0.0, 0.5) is None

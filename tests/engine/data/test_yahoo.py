"""yfinance provider: recorded layouts, per-ticker emptiness, rate-limit backoff. No network."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
from yfinance.exceptions import YFRateLimitError

from engine.data.yahoo import YahooFormatError, YFinanceProvider, normalize_yf_frame

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "yfinance"
# file -> (header rows, index is tz-aware)
LAYOUTS = {
    "download_multiindex_autoadjust.csv": (2, False),
    "download_flat_autoadjust.csv": (1, False),
    "download_multiindex_adjclose.csv": (2, False),
    "history_flat_adjclose_tz.csv": (1, True),
    "download_groupby_ticker_tz.csv": (2, True),
}


def recorded(name: str) -> pd.DataFrame:
    """A fixture frame with the dtypes yfinance returns (MultiIndex names, tz)."""
    headers, tz_aware = LAYOUTS[name]
    frame = pd.read_csv(FIXTURES / name, header=list(range(headers)), index_col=0)
    if headers == 2:
        frame.columns = frame.columns.set_names(
            ["Price", "Ticker"] if "groupby" not in name else ["Ticker", "Price"]
        )
    index = pd.to_datetime(frame.index, utc=tz_aware)
    frame.index = index.tz_convert("America/New_York") if tz_aware else index
    frame.index.name = "Date"
    return frame


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_recorded_layout_normalizes_to_the_same_frame(name: str) -> None:
    reference = normalize_yf_frame(recorded("download_multiindex_autoadjust.csv"), "AAPL")
    pd.testing.assert_frame_equal(normalize_yf_frame(recorded(name), "AAPL"), reference, rtol=1e-9)


def test_adjustment_matches_a_hand_computed_value() -> None:
    out = normalize_yf_frame(recorded("download_multiindex_adjclose.csv"), "AAPL")
    first = out.iloc[0]
    factor = 1 - 0.24 / 188.32  # the $0.24 dividend, ex 2024-02-09, on the 02-08 close
    assert first["date"] == pd.Timestamp("2024-02-05")
    assert first["open"] == pytest.approx(188.15 * factor, rel=1e-9)
    assert first["close"] == pytest.approx(187.68 * factor, rel=1e-9)
    assert first["volume"] == 69668800  # volume is not adjusted
    after = out[out["date"] == "2024-02-09"].iloc[0]
    assert after["open"] == pytest.approx(188.65)


def test_second_ticker_of_a_group_by_ticker_frame_is_selected() -> None:
    out = normalize_yf_frame(recorded("download_groupby_ticker_tz.csv"), "MSFT")
    aapl = normalize_yf_frame(recorded("download_groupby_ticker_tz.csv"), "AAPL")
    assert (out["ticker"] == "MSFT").all()
    assert out["close"].to_numpy() == pytest.approx(aapl["close"].to_numpy() * 2.2)


def test_frame_without_close_or_without_the_ticker_is_refused() -> None:
    frame = recorded("download_multiindex_autoadjust.csv")
    with pytest.raises(YahooFormatError, match="MSFT: not among"):
        normalize_yf_frame(frame, "MSFT")
    with pytest.raises(YahooFormatError, match="no Close column"):
        normalize_yf_frame(frame.droplevel(1, axis=1).drop(columns="Close"), "AAPL")


class ScriptedDownload:
    """Stands in for yfinance.download: plays a script of outcomes per call."""

    def __init__(self, script: list) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, ticker: str, **kwargs):
        self.calls.append((ticker, kwargs))
        outcome = self.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, str):  # what download() does: log the error, return empty
            logging.getLogger("yfinance").error(f"['{ticker}']: {outcome}")
            return pd.DataFrame()
        return outcome


def provider(script: list, sleeps: list[float]) -> tuple[YFinanceProvider, ScriptedDownload]:
    download = ScriptedDownload(script)
    return YFinanceProvider(download=download, sleep=sleeps.append, seed=1), download


def test_download_is_called_with_explicit_adjustment_and_column_layout() -> None:
    sleeps: list[float] = []
    prov, download = provider([recorded("download_multiindex_autoadjust.csv")], sleeps)
    result = prov.fetch(["AAPL"], start=pd.Timestamp("2024-02-05"), end=pd.Timestamp("2024-02-14"))
    kwargs = download.calls[0][1]
    assert kwargs["auto_adjust"] is True and kwargs["multi_level_index"] is True
    assert str(kwargs["end"]) == "2024-02-15"  # yfinance's end is exclusive
    assert len(result.prices) == 8 and result.adjusted and not result.errors


def test_rate_limit_backs_off_then_succeeds() -> None:
    sleeps: list[float] = []
    limited = repr(YFRateLimitError())
    prov, download = provider(
        [limited, YFRateLimitError(), recorded("download_flat_autoadjust.csv")], sleeps
    )
    result = prov.fetch(["AAPL"])
    assert len(download.calls) == 3
    assert len(result.prices) == 8 and not result.errors
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0  # exponential, jittered


def test_endless_rate_limit_fails_with_a_clear_message_after_bounded_attempts() -> None:
    sleeps: list[float] = []
    prov, download = provider([YFRateLimitError()] * 5, sleeps)
    result = prov.fetch(["AAPL"])
    assert len(download.calls) == 5 and len(sleeps) == 4
    assert all(s <= prov.max_delay_s for s in sleeps)
    assert result.prices.empty
    assert "after 5 attempts" in result.errors["AAPL"]
    assert "try again in a few minutes" in result.errors["AAPL"]


def test_timeout_is_retried_but_a_delisted_ticker_is_not() -> None:
    sleeps: list[float] = []
    prov, download = provider(
        [
            "TimeoutError('Read timed out')",
            recorded("download_flat_autoadjust.csv"),
            "YFPricesMissingError('possibly delisted; no price data found')",
        ],
        sleeps,
    )
    result = prov.fetch(["AAPL", "GONE"])
    assert [c[0] for c in download.calls] == ["AAPL", "AAPL", "GONE"]
    assert len(sleeps) == 1
    assert set(result.prices["ticker"]) == {"AAPL"}
    assert "possibly delisted" in result.errors["GONE"]


def test_empty_frame_without_any_message_is_reported_per_ticker() -> None:
    sleeps: list[float] = []
    prov, _ = provider([pd.DataFrame(), recorded("download_flat_autoadjust.csv")], sleeps)
    progress: list[tuple[float, str]] = []
    result = prov.fetch(["NOPE", "AAPL"], progress=lambda f, t: progress.append((f, t)))
    assert "no rows returned" in result.errors["NOPE"]
    assert sleeps == []
    assert [round(f, 2) for f, _ in progress] == [0.5, 1.0]
    assert progress[1][1] == "AAPL: 8 rows"

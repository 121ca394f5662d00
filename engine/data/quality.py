"""Quality gate: checks a normalized price frame before anything reaches the store.

Each finding has a severity. An ``error`` rejects its ticker (the caller decides whether
one rejected ticker rejects the whole batch); a ``warning`` is stored with the data and
shown; ``info`` records a harmless clean-up. Nothing is repaired or filled in: rows that
carry no value at all are dropped (missing stays missing), everything else is kept or
rejected as it came.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.calendar import exchange_today, is_session, sessions_between
from engine.data.schema import OHLC_COLUMNS, VALUE_COLUMNS

FINDING_COLUMNS = ("ticker", "check", "severity", "count", "first_date", "message")
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

# A one-day close ratio within 1% of a split ratio (or its inverse) looks like a split
# that was not adjusted for. Real crashes can land there too (AMD fell 32% on 2002-10-03),
# so it is a warning naming the day, not a rejection of the ticker's whole history.
# Indices ("^...") never split and are not checked.
SPLIT_RATIOS = (2.0, 3.0, 4.0, 5.0, 10.0, 1.5)
SPLIT_TOLERANCE = 0.01
# Relative slack for open/close lying outside [low, high] because of rounding.
RANGE_TOLERANCE = 1e-6
# Median relative close difference on overlapping days above which a batch is said to
# restate the stored history (a new dividend or split adjustment, another source).
RESTATEMENT_TOLERANCE = 0.005


@dataclass(frozen=True)
class QualityResult:
    """Outcome of the quality gate for one batch.

    Attributes
    ----------
    accepted : pd.DataFrame
        Normalized rows of the tickers that passed, empty rows dropped.
    findings : pd.DataFrame
        One row per (ticker, check), columns ``FINDING_COLUMNS``, errors first.
    rejected : Mapping[str, str]
        Ticker -> the error messages that rejected it, joined.
    """

    accepted: pd.DataFrame
    findings: pd.DataFrame
    rejected: Mapping[str, str]


def _summarize(
    frame: pd.DataFrame, mask: np.ndarray, check: str, severity: str, what: str
) -> list[dict]:
    """One finding per ticker for the rows where ``mask`` holds."""
    if not mask.any():
        return []
    hits = frame.loc[mask, ["ticker", "date"]]
    grouped = hits.groupby("ticker", sort=True)["date"].agg(["count", "min"])
    rows = []
    for ticker, (count, first) in grouped.iterrows():
        day = first.strftime("%Y-%m-%d")
        rows.append(
            {
                "ticker": ticker,
                "check": check,
                "severity": severity,
                "count": int(count),
                "first_date": day,
                "message": f"{ticker}: {what} on {count} row(s), first on {day}",
            }
        )
    return rows


def _split_like(ratio: np.ndarray) -> np.ndarray:
    """True where a close-to-close ratio is within SPLIT_TOLERANCE of a split ratio."""
    hit = np.zeros(ratio.shape, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        for split in SPLIT_RATIOS:
            hit |= np.abs(ratio * split - 1.0) < SPLIT_TOLERANCE  # e.g. 2:1 split: x0.5
            hit |= np.abs(ratio / split - 1.0) < SPLIT_TOLERANCE  # reverse split: x2
    return hit


def _missing_sessions(present: pd.DataFrame) -> list[dict]:
    """Warn about sessions between a ticker's first and last row that it lacks."""
    rows = []
    for ticker, dates in present.groupby("ticker", sort=True)["date"]:
        expected = sessions_between(dates.min(), dates.max())
        missing = expected.difference(pd.DatetimeIndex(dates))
        if len(missing):
            day = missing[0].strftime("%Y-%m-%d")
            rows.append(
                {
                    "ticker": ticker,
                    "check": "missing_session",
                    "severity": "warning",
                    "count": len(missing),
                    "first_date": day,
                    "message": f"{ticker}: {len(missing)} NYSE session(s) without data, "
                    f"first on {day}; they stay missing",
                }
            )
    return rows


def _without_any_close(frame: pd.DataFrame, no_close: np.ndarray) -> list[dict]:
    """An error for each ticker none of whose rows has a close: there is nothing to store."""
    counts = pd.Series(no_close).groupby(frame["ticker"].to_numpy(), sort=True).agg(["all", "size"])
    return [
        {
            "ticker": ticker,
            "check": "no_close",
            "severity": "error",
            "count": int(row["size"]),
            "first_date": None,
            "message": f"{ticker}: none of its {int(row['size'])} row(s) has a close price",
        }
        for ticker, row in counts[counts["all"]].iterrows()
    ]


@np.errstate(invalid="ignore")  # inf - inf in the range checks: such rows fail non_finite
def check_prices(prices: pd.DataFrame, *, today: pd.Timestamp | None = None) -> QualityResult:
    """Run every check on a normalized price frame.

    Parameters
    ----------
    prices : pd.DataFrame
        Normalized long frame (see ``engine.data.schema``), shape (n_rows, 7).
    today : pd.Timestamp, optional
        Dates after this are future dates; defaults to today in New York.

    Returns
    -------
    QualityResult
    """
    today = exchange_today() if today is None else pd.Timestamp(today).normalize()
    frame = prices.reset_index(drop=True)
    values = frame[list(VALUE_COLUMNS)].to_numpy(dtype="float64")
    ohlc = frame[list(OHLC_COLUMNS)]
    o, h, lo, c = (frame[col].to_numpy() for col in OHLC_COLUMNS)
    volume = frame["volume"].to_numpy()
    empty = np.isnan(values).all(axis=1)
    session = is_session(frame["date"])
    slack = RANGE_TOLERANCE * np.abs(c)

    findings: list[dict] = []
    checks = [
        (np.isinf(values).any(axis=1), "non_finite", "error", "infinite value"),
        (
            frame.duplicated(["ticker", "date"], keep=False).to_numpy(),
            "duplicate_date",
            "error",
            "duplicate date",
        ),
        ((frame["date"] > today).to_numpy(), "future_date", "error", "date in the future"),
        (~empty & ~session, "non_trading_date", "error", "prices on a non-trading date"),
        ((ohlc <= 0).any(axis=1).to_numpy(), "non_positive_price", "error", "price <= 0"),
        (h < lo, "high_below_low", "error", "high below low"),
        (
            (o > h + slack) | (o < lo - slack) | (c > h + slack) | (c < lo - slack),
            "outside_range",
            "error",
            "open or close outside [low, high]",
        ),
        (volume < 0, "negative_volume", "error", "negative volume"),
        (np.isnan(c) & (volume > 0), "nan_price_with_volume", "error", "no close but volume"),
        (np.isnan(c) & ~empty & ~(volume > 0), "missing_close", "warning", "no close"),
        (empty & ~session, "empty_non_trading", "info", "empty row on a non-trading date dropped"),
    ]
    for mask, check, severity, what in checks:
        findings += _summarize(frame, mask, check, severity, what)
    findings += _without_any_close(frame, np.isnan(c))

    present = frame.loc[~empty & ~np.isnan(c) & ~frame["ticker"].str.startswith("^")]
    ratio = present.groupby("ticker", sort=False)["close"].pct_change().to_numpy() + 1.0
    split_mask = np.zeros(len(frame), dtype=bool)
    split_mask[present.index[_split_like(ratio)]] = True
    findings += _summarize(
        frame, split_mask, "suspected_split", "warning", "close jump like an unadjusted split"
    )
    findings += _missing_sessions(frame.loc[~empty & session])

    table = pd.DataFrame(findings, columns=list(FINDING_COLUMNS))
    rank = table["severity"].map(SEVERITY_ORDER)
    table = table.assign(rank=rank).sort_values(["rank", "ticker", "check"], kind="stable")
    table = table.drop(columns="rank").reset_index(drop=True)
    errors = table[table["severity"] == "error"]
    rejected = {t: "; ".join(group["message"]) for t, group in errors.groupby("ticker")}
    keep = ~empty & ~frame["ticker"].isin(list(rejected)).to_numpy()
    accepted = frame.loc[keep].reset_index(drop=True)
    return QualityResult(accepted=accepted, findings=table, rejected=rejected)


def compare_with_stored(
    new: pd.DataFrame, stored: pd.DataFrame, stored_adjusted: Mapping[str, bool], adjusted: bool
) -> pd.DataFrame:
    """Warn where a batch would splice inconsistent history into the store.

    Parameters
    ----------
    new : normalized rows about to be stored.
    stored : normalized rows already stored for the same tickers and dates.
    stored_adjusted : ticker -> whether its stored rows are adjusted.
    adjusted : whether ``new`` is adjusted.

    Returns
    -------
    pd.DataFrame
        Findings (columns ``FINDING_COLUMNS``), all warnings: ``restated_history`` when
        overlapping closes differ by more than RESTATEMENT_TOLERANCE (median), and
        ``mixed_adjustment`` when adjusted and unadjusted rows would meet in one series.
    """
    rows = []
    for ticker in sorted(set(new["ticker"]) & set(stored_adjusted)):
        if stored_adjusted[ticker] != adjusted:
            kinds = ("adjusted", "unadjusted")
            rows.append(
                {
                    "ticker": ticker,
                    "check": "mixed_adjustment",
                    "severity": "warning",
                    "count": int((new["ticker"] == ticker).sum()),
                    "first_date": None,
                    "message": f"{ticker}: stored prices are {kinds[not stored_adjusted[ticker]]}, "
                    f"these are {kinds[not adjusted]}; returns across the seam will be wrong",
                }
            )
    both = new.merge(stored, on=["ticker", "date"], suffixes=("", "_stored"))
    both = both.dropna(subset=["close", "close_stored"])
    both["diff"] = (both["close"] / both["close_stored"] - 1).abs()
    for ticker, group in both.groupby("ticker", sort=True):
        median = group["diff"].median()
        if median > RESTATEMENT_TOLERANCE:
            rows.append(
                {
                    "ticker": ticker,
                    "check": "restated_history",
                    "severity": "warning",
                    "count": len(group),
                    "first_date": group["date"].min().strftime("%Y-%m-%d"),
                    "message": f"{ticker}: closes differ from the stored ones by a median "
                    f"{median:.1%} on {len(group)} overlapping day(s); the new values replace "
                    "them. Refresh the whole history so the series stays consistent",
                }
            )
    return pd.DataFrame(rows, columns=list(FINDING_COLUMNS))

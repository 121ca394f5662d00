"""A point-in-time universe: which tickers were members of a watchlist on each date.

A watchlist keeps every member's spells: ``added`` (the first date it is a member; NaT:
a member since its data starts) and ``removed`` (the first date it is no longer one; NaT:
still a member). The rule, in one place (``is_member``): a ticker is a member on date t
when ``added <= t < removed``. It uses only what was recorded by t, so a model trained as
of t never learns which tickers would survive. Training, the ablation and the scenarios
build their data from every ticker that was a member on some date of their window and
mask the rest (``membership_mask``); relative labels rank each date among that date's
members only.

The store's ``WatchlistRepository.members_as_of`` applies the same rule in SQL; a test
checks that both agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MEMBERSHIP_COLUMNS = ("ticker", "added", "removed")
MembershipRecord = tuple[str, str | None, str | None]  # ticker, ISO added, ISO removed


def membership_frame(records: pd.DataFrame | Iterable[Sequence]) -> pd.DataFrame:
    """Spells as a frame: ``ticker`` (str), ``added`` and ``removed`` (datetime64, NaT open).

    ``records`` is a frame with ``MEMBERSHIP_COLUMNS`` or rows of (ticker, added, removed)
    with dates as ISO text, dates or None. ValueError names the first bad spell: a date that
    cannot be read, or a removal on or before its addition.
    """
    if isinstance(records, pd.DataFrame):
        frame = records.loc[:, list(MEMBERSHIP_COLUMNS)].copy()
    else:
        rows = list(records)
        bad = [r for r in rows if not isinstance(r, list | tuple) or len(r) != 3]
        if bad:
            raise ValueError(f"a membership spell is (ticker, added, removed), not {bad[0]!r:.60}")
        frame = pd.DataFrame([tuple(r) for r in rows], columns=list(MEMBERSHIP_COLUMNS))
    frame["ticker"] = frame["ticker"].astype(str)
    for column in ("added", "removed"):
        try:
            frame[column] = pd.to_datetime(frame[column], format="ISO8601").dt.normalize()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"membership {column} dates must be ISO dates: {exc}") from exc
    backwards = frame["removed"].notna() & frame["added"].notna()
    backwards &= frame["removed"] <= frame["added"]
    if backwards.any():
        bad = frame[backwards].iloc[0]
        raise ValueError(
            f"{bad['ticker']} is removed on {bad['removed']:%Y-%m-%d}, not after it was "
            f"added on {bad['added']:%Y-%m-%d}"
        )
    return frame.reset_index(drop=True)


def membership_records(membership: pd.DataFrame) -> tuple[MembershipRecord, ...]:
    """The spells as plain (ticker, ISO added or None, ISO removed or None) tuples: what a
    training configuration records."""

    def iso(value) -> str | None:
        return None if pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"

    frame = membership_frame(membership)
    return tuple(
        (str(t), iso(a), iso(r))
        for t, a, r in zip(frame["ticker"], frame["added"], frame["removed"], strict=True)
    )


def is_member(membership: pd.DataFrame, tickers: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """True where ``tickers[i]`` was a member on ``dates[i]`` (``added <= date < removed``).

    ``tickers`` and ``dates`` are paired arrays of shape (n,); a ticker without a spell is
    never a member. Only spells recorded by each date count: none is dated after it.
    """
    frame = membership_frame(membership)
    tickers = np.asarray(tickers, dtype=object)
    dates = pd.DatetimeIndex(dates).to_numpy()
    member = np.zeros(len(tickers), dtype=bool)
    codes = pd.Index(frame["ticker"].unique())
    rows_of = codes.get_indexer(tickers)
    for code, spells in frame.groupby(codes.get_indexer(frame["ticker"]), sort=False):
        rows = np.flatnonzero(rows_of == code)
        when = dates[rows]
        for added, removed in zip(spells["added"], spells["removed"], strict=True):
            inside = np.ones(len(rows), dtype=bool)
            if pd.notna(added):
                inside &= when >= added.to_datetime64()
            if pd.notna(removed):
                inside &= when < removed.to_datetime64()
            member[rows[inside]] = True
    return member


def membership_mask(membership: pd.DataFrame | None, index: pd.MultiIndex) -> np.ndarray:
    """Boolean mask over ``index`` (levels ``ticker`` and ``date``, any order): True where
    the row's ticker was a member on the row's date; all True when ``membership`` is None
    (a fixed universe)."""
    if membership is None:
        return np.ones(len(index), dtype=bool)
    tickers = index.get_level_values("ticker").to_numpy()
    return is_member(membership, tickers, index.get_level_values("date"))


def membership_grid(
    membership: pd.DataFrame | None, dates: pd.DatetimeIndex, tickers: Sequence[str]
) -> np.ndarray:
    """``membership_mask`` on a (T, N) grid of ``dates`` x ``tickers`` (a wide panel)."""
    if membership is None:
        return np.ones((len(dates), len(tickers)), dtype=bool)
    grid_dates = np.repeat(pd.DatetimeIndex(dates).to_numpy(), len(tickers))
    grid_tickers = np.tile(np.asarray(tickers, dtype=object), len(dates))
    return is_member(membership, grid_tickers, grid_dates).reshape(len(dates), len(tickers))


def _overlaps(frame: pd.DataFrame, start, end) -> pd.Series:
    """Spells that hold at least one date of [start, end] (None: unbounded)."""
    keep = pd.Series(True, index=frame.index)
    if end is not None:
        keep &= frame["added"].isna() | (frame["added"] <= pd.Timestamp(end))
    if start is not None:
        keep &= frame["removed"].isna() | (frame["removed"] > pd.Timestamp(start))
    return keep


def _within(column: pd.Series, start, end) -> pd.Series:
    """Dates in (start, end]: a change that happens between two dates of the window."""
    keep = column.notna()
    if start is not None:
        keep &= column > pd.Timestamp(start)
    if end is not None:
        keep &= column <= pd.Timestamp(end)
    return keep


def members_in(
    membership: pd.DataFrame | None, tickers: Sequence[str], start=None, end=None
) -> list[str]:
    """The tickers of ``tickers`` that were members on some date of [start, end] (None:
    unbounded), in order; all of them when ``membership`` is None (a fixed list)."""
    if membership is None:
        return list(tickers)
    frame = membership_frame(membership)
    ever = set(frame.loc[_overlaps(frame, start, end), "ticker"])
    return [t for t in tickers if t in ever]


@dataclass(frozen=True)
class UniverseWindow:
    """A watchlist's universe over [start, end] (None: unbounded).

    tickers : every ticker that was a member on some date of the window, in the spells'
        order: the universe a study over the window loads (and masks by ``membership``).
    current : the members now (open spells).
    added, removed : spells that began / ended on a date in (start, end].
    """

    membership: pd.DataFrame
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    tickers: tuple[str, ...]
    current: tuple[str, ...]
    added: int
    removed: int

    @property
    def records(self) -> tuple[MembershipRecord, ...]:
        return membership_records(self.membership)


def universe_window(
    membership: pd.DataFrame, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
) -> UniverseWindow:
    """The universe of ``membership`` over [start, end] (see ``UniverseWindow``)."""
    frame = membership_frame(membership)
    start = None if start is None else pd.Timestamp(start)
    end = None if end is None else pd.Timestamp(end)
    if start is not None and end is not None and start > end:
        raise ValueError(f"the window starts on {start:%Y-%m-%d}, after its end {end:%Y-%m-%d}")
    ever = members_in(frame, list(dict.fromkeys(frame["ticker"])), start, end)
    current = frame.loc[frame["removed"].isna(), "ticker"]
    return UniverseWindow(
        frame,
        start,
        end,
        tuple(ever),
        tuple(dict.fromkeys(current)),
        int(_within(frame["added"], start, end).sum()),
        int(_within(frame["removed"], start, end).sum()),
    )

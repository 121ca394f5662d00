"""A challenger judged against the champion on the same recent out-of-sample sessions.

The rule: the challenger replaces the champion unless it is worse beyond the interval,
i.e. unless the whole interval of the mean daily rank-IC difference (challenger less
champion, moving blocks as every per-date series: ``engine.metrics.ic_block``) lies
below 0. Both runs are judged on the sessions both have out of sample (the last
``window_sessions`` of them), never on a window only one of them saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.metrics import IC_BLOCK, N_BOOT, Interval, bootstrap_interval, daily_ic
from engine.modeling.factors import excess_returns

WINDOW_SESSIONS = 126  # about six months of sessions


@dataclass(frozen=True)
class ChallengeVerdict:
    """A challenger against the champion over the sessions both have out of sample.

    ``daily`` is indexed by date (the window, oldest first) with columns ``challenger``,
    ``champion`` (each run's rank IC of its score against the excess return on that date)
    and ``difference`` (challenger less champion). The intervals are of the window's
    means; NaN throughout (and ``sessions`` 0) when the runs share no session.
    """

    challenger_id: str
    champion_id: str
    sessions: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    challenger_ic: Interval
    champion_ic: Interval
    difference: Interval
    promote: bool
    reason: str
    daily: pd.DataFrame


def rank_ic_by_date(predictions: pd.DataFrame) -> pd.Series:
    """Per date, the cross-sectional rank IC of a run's score against the excess return.

    Parameters
    ----------
    predictions : DataFrame indexed by (ticker, date)
        A run's out-of-sample walk-forward predictions: ``score`` (``p`` for runs from
        before scores existed) and the realized ``excess`` (or ``ret``, demeaned per date:
        ``engine.modeling.factors.excess_returns``).

    Returns
    -------
    Series indexed by date (sorted)
        Every date with a known outcome. A date on which the score does not differ across
        the names (or fewer than 3 have both values) counts 0: a ranking that does not
        rank has no skill that day, and leaving the date out would judge a run that is
        often flat only on the days it ranks.
    """
    score = predictions["score"] if "score" in predictions else predictions["p"]
    forward, _ = excess_returns(predictions)
    dates = predictions.index.get_level_values("date")
    ic = daily_ic(dates.to_numpy(), score.to_numpy(dtype=float), forward.to_numpy(dtype=float))
    known = np.unique(dates[forward.notna().to_numpy()])
    return ic["rank_ic"].reindex(pd.Index(known, name="date"), fill_value=0.0)


def judge_challenger(
    challenger: pd.Series,
    champion: pd.Series,
    *,
    challenger_id: str,
    champion_id: str,
    window_sessions: int = WINDOW_SESSIONS,
    block: int = IC_BLOCK,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> ChallengeVerdict:
    """The verdict on a challenger from the two runs' per-date rank ICs.

    Parameters
    ----------
    challenger, champion : Series indexed by date
        Each run's daily rank IC (``rank_ic_by_date``); NaN values are left out.
    challenger_id, champion_id : str
        The runs, as recorded.
    window_sessions : int
        How many of the most recent sessions both runs have are compared.
    block : int
        Moving-block length of the intervals (``ic_block`` of the label's horizon).
    n_boot, seed
        Bootstrap replicates and seed.
    """
    if window_sessions < 1:
        raise ValueError(f"window_sessions must be 1 or more (got {window_sessions})")
    both = pd.concat({"challenger": challenger, "champion": champion}, axis=1).dropna()
    daily = both.sort_index().iloc[-window_sessions:]
    daily = daily.assign(difference=daily["challenger"] - daily["champion"])
    daily.index.name = "date"
    if daily.empty:
        none = Interval(np.nan, np.nan, np.nan)
        reason = (
            f"the challenger {challenger_id} and the champion {champion_id} share no "
            "out-of-sample session: nothing to compare them on, so the champion stays"
        )
        return ChallengeVerdict(
            challenger_id, champion_id, 0, None, None, none, none, none, False, reason, daily
        )

    def interval(column: str) -> Interval:
        values = daily[column].to_numpy()
        return bootstrap_interval(np.mean, values, block=block, n_boot=n_boot, seed=seed)

    ours, theirs, difference = map(interval, ("challenger", "champion", "difference"))
    worse = bool(difference.high < 0)  # NaN bounds: not shown worse
    start, end = daily.index[0], daily.index[-1]
    window = f"the {len(daily)} sessions {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    figures = (
        f"mean rank IC {ours.estimate:+.4f} against {theirs.estimate:+.4f}, difference "
        f"{difference.estimate:+.4f} [{difference.low:+.4f}, {difference.high:+.4f}]"
    )
    reason = (
        f"worse than the champion beyond the interval over {window}: {figures}"
        if worse
        else f"not worse than the champion beyond the interval over {window}: {figures}"
    )
    return ChallengeVerdict(
        challenger_id,
        champion_id,
        len(daily),
        start,
        end,
        ours,
        theirs,
        difference,
        not worse,
        reason,
        daily,
    )

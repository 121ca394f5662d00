"""The Go / No-Go gate on the paper journal, and the capital ramp it governs. Pure
functions; ``engine.workflows.trading.gate`` reads the journal and records the ramp.

What each criterion measures:

- **win rate**: the share of closed trades with a positive P&L after costs. A closed
  trade is one fill that reduces a position (``closed_trades``): its cost basis is the
  FIFO lots of that ticker it closes, its P&L the price difference (fill prices include
  the half-spread and impact) less the commissions of both sides, the entry's pro rata.
  Interval: Wilson's score interval (closed trades taken as independent).
- **Sharpe**: ``engine.metrics.sharpe`` (annualized, risk-free rate 0) of the paper
  account's equity returns from one step to the next (a step that catches missed sessions
  up is one return), at full size: divided by the ramp's fraction in force
  (``step_returns``). Interval: moving blocks of ``SHARPE_BLOCK`` returns.
- **calibration error**: ``expected_calibration_error`` of the P(up) the journal stores
  with each order the model placed, against the run's own label at that ticker and step
  date, for labels whose outcome is known by the as-of date; ``n_bins`` holds at least
  ``MIN_PER_BIN`` forecasts each. Interval: whole step dates resampled iid. Orders exist
  only where the model traded, so this is the calibration of the forecasts it acted on.
- **max drawdown**: the largest fall of the full-size equity (the same returns) from its
  running peak (a positive fraction). Interval: moving blocks of ``SHARPE_BLOCK`` returns.

The verdict decides on the estimates: "not enough evidence yet" while fewer than
``MIN_TRADES`` closed trades, ``MIN_RETURNS`` returns or ``MIN_FORECASTS`` scored
forecasts exist (whatever the estimates say); else NO-GO when any criterion crosses its
NO-GO threshold, GO when every one passes its GO threshold, otherwise "in between" (keep
paper trading). A criterion whose interval holds a threshold says so (``straddles``).

The ramp (``RAMP_STAGES``) is the fraction of the paper step's target weights that is
traded. It moves only on the user's confirmation: up one stage on GO, back to the first
stage on NO-GO (``ramp_proposal``), at most once per as-of date; never by itself.
"""

from __future__ import annotations

import operator
from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.metrics import (
    N_BOOT,
    Interval,
    bootstrap_interval,
    max_drawdown,
    sharpe,
    wilson_interval,
)
from engine.modeling.calibration_scores import expected_calibration_error

RAMP_STAGES = (0.01, 0.05, 0.10)  # fraction of the target weights traded, per stage
MIN_TRADES = 20  # closed trades behind a win rate
MIN_RETURNS = 20  # step-to-step equity returns behind a Sharpe or drawdown interval
MIN_FORECASTS = 30  # forecasts with a known outcome behind a calibration error
MIN_PER_BIN = 10  # forecasts per calibration bin (at most 10 bins)
SHARPE_BLOCK = 5  # moving-block length (returns) of the Sharpe and drawdown intervals
GO, NO_GO, BETWEEN, TOO_EARLY = "GO", "NO-GO", "in between", "not enough evidence yet"
_OPS = {">=": operator.ge, ">": operator.gt, "<": operator.lt}
# name: (GO rule, NO-GO rule), each (comparison, threshold) on the estimate
RULES = {
    "win rate": ((">=", 0.55), ("<", 0.50)),
    "Sharpe": ((">", 0.4), ("<", 0.3)),
    "calibration error": (("<", 0.10), (">", 0.15)),
    "max drawdown": (("<", 0.20), (">", 0.25)),
}
ROUND_TRIP_COLUMNS = ("ticker", "opened", "closed", "quantity", "entry_price", "exit_price", "pnl")


@dataclass(frozen=True)
class GateCriterion:
    """One criterion: its estimate with interval, the observations behind it, its rules."""

    name: str
    interval: Interval
    observations: int
    unit: str  # what was counted: "closed trades", "returns", "forecasts"
    method: str  # how the interval was made
    enough: bool  # enough observations for the criterion to count

    @property
    def rules(self) -> tuple[tuple[str, float], tuple[str, float]]:
        return RULES[self.name]

    @property
    def state(self) -> str:
        """GO, NO-GO or "in between" by the estimate; "not enough evidence yet" without it."""
        (go_op, go), (no_op, no_go) = self.rules
        value = self.interval.estimate
        if not self.enough or not np.isfinite(value):
            return TOO_EARLY
        if _OPS[no_op](value, no_go):
            return NO_GO
        return GO if _OPS[go_op](value, go) else BETWEEN

    @property
    def straddles(self) -> tuple[float, ...]:
        """The thresholds inside the interval (the estimate's side of them is not sure)."""
        low, high = self.interval.low, self.interval.high
        return tuple(t for _, t in self.rules if low <= t <= high)


@dataclass(frozen=True)
class GoNoGoResult:
    verdict: str
    criteria: tuple[GateCriterion, ...]

    def table(self) -> pd.DataFrame:
        """One row per criterion, for display and for the ramp's record."""
        return pd.DataFrame(
            [
                {
                    "criterion": c.name,
                    "estimate": c.interval.estimate,
                    "low": c.interval.low,
                    "high": c.interval.high,
                    "observations": c.observations,
                    "of": c.unit,
                    "GO if": " ".join(map(str, c.rules[0])),
                    "NO-GO if": " ".join(map(str, c.rules[1])),
                    "state": c.state,
                    "interval straddles": ", ".join(f"{t:g}" for t in c.straddles),
                    "interval": c.method,
                }
                for c in self.criteria
            ]
        )

    def as_dict(self) -> dict:
        table = self.table().astype(object)
        return {
            "verdict": self.verdict,
            "criteria": table.where(table.notna(), None).to_dict("records"),
        }


def closed_trades(fills: pd.DataFrame) -> pd.DataFrame:
    """Closed trades from fills, FIFO per ticker (see the module docstring).

    Parameters
    ----------
    fills : DataFrame with ticker, fill_date (datetime64), quantity (signed shares), price, fees
        In booking order.

    Returns
    -------
    DataFrame with ``ROUND_TRIP_COLUMNS``
        One row per fill that reduced a position: the date its first lot was opened, the
        fill's date, the shares closed, their FIFO average entry price, the exit price and
        the P&L after both sides' commissions. A fill that flips the position closes the
        old side and opens the rest as a new lot.
    """
    lots: dict[str, deque] = defaultdict(deque)  # ticker -> [shares, price, fee/share, date]
    rows = []
    for fill in fills.itertuples(index=False):
        quantity, price = float(fill.quantity), float(fill.price)
        if quantity == 0:
            continue
        fee = float(fill.fees) / abs(quantity)
        book, closed, cost, pnl, opened = lots[fill.ticker], 0.0, 0.0, 0.0, None
        while quantity and book and np.sign(book[0][0]) != np.sign(quantity):
            lot = book[0]
            size = min(abs(quantity), abs(lot[0]))
            opened = opened or lot[3]
            pnl += size * ((price - lot[1]) * np.sign(lot[0]) - lot[2] - fee)
            closed, cost = closed + size, cost + size * lot[1]
            lot[0] -= size * np.sign(lot[0])
            quantity -= size * np.sign(quantity)
            if lot[0] == 0:
                book.popleft()
        if quantity:
            book.append([quantity, price, fee, fill.fill_date])
        if closed:
            rows.append((fill.ticker, opened, fill.fill_date, closed, cost / closed, price, pnl))
    return pd.DataFrame(rows, columns=list(ROUND_TRIP_COLUMNS))


def step_equity(steps: pd.DataFrame) -> pd.Series:
    """The paper equity at each step's close, by step date."""
    return steps.set_index("step_date")["equity"].astype(float)


def step_returns(steps: pd.DataFrame, ramp: pd.DataFrame | None = None) -> pd.Series:
    """The paper equity's return from each step to the next, by step date; with ``ramp``
    (the ramp's changes: ``changed_on``, ``fraction``) at full size: each return divided
    by the fraction in force at the step it starts from (the first stage before any
    change). The account trades that fraction of the targets and its cash earns nothing,
    so a return at 1% is about 1% of the strategy's, and a drawdown of the deployed 1%
    would pass any threshold: the gate judges the strategy, not its small stake."""
    returns = step_equity(steps).pct_change().dropna()
    if ramp is None:
        return returns
    starts = steps["step_date"].sort_values().to_numpy()[:-1]
    changes = ramp.assign(on=pd.to_datetime(ramp["changed_on"])).sort_values("on")
    # position 0: before any change (the first stage); k: after the k-th change
    position = np.searchsorted(changes["on"].to_numpy(), starts, side="right")
    fractions = np.concatenate([[RAMP_STAGES[0]], changes["fraction"].to_numpy(dtype=float)])
    return returns / fractions[position]


def scored_forecasts(orders: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The journal's forecasts with a known outcome: columns date, ticker, p, y.

    ``orders`` has ticker, step_date (datetime64) and p_up (NaN where the order carries no
    forecast); ``labels`` the run's labels by (ticker, date), NaN where the outcome was not known.
    """
    known = orders.dropna(subset=["p_up"])
    keys = pd.MultiIndex.from_arrays(
        [known["ticker"], known["step_date"]], names=["ticker", "date"]
    )
    outcome = labels["label"].reindex(keys).to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "date": keys.get_level_values("date"),
            "ticker": known["ticker"].to_numpy(),
            "p": known["p_up"].to_numpy(dtype=float),
            "y": outcome,
        }
    )
    return frame[np.isfinite(frame["y"])].reset_index(drop=True)


def evaluate_gate(
    trades: pd.DataFrame,
    returns: pd.Series,
    forecasts: pd.DataFrame,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> GoNoGoResult:
    """The gate's verdict from ``closed_trades``, ``step_returns`` and ``scored_forecasts``."""
    wins = int((trades["pnl"] > 0).sum())
    r = returns.to_numpy(dtype=float)
    blocks = {"block": SHARPE_BLOCK, "n_boot": n_boot, "seed": seed}
    enough_returns = len(r) >= MIN_RETURNS
    none = Interval(np.nan, np.nan, np.nan)
    n_bins = max(1, min(10, len(forecasts) // MIN_PER_BIN))

    def ece(y: np.ndarray, p: np.ndarray) -> float:
        return expected_calibration_error(y, p, n_bins)

    def drawdown(x: np.ndarray) -> float:
        return -max_drawdown(x)

    scored = len(forecasts) >= MIN_FORECASTS
    criteria = (
        GateCriterion(
            "win rate", wilson_interval(wins, len(trades)), len(trades), "closed trades",
            "Wilson score interval", len(trades) >= MIN_TRADES,
        ),
        GateCriterion(
            "Sharpe", bootstrap_interval(sharpe, r, **blocks) if enough_returns else none,
            len(r), "returns", f"moving blocks of {SHARPE_BLOCK} returns", enough_returns,
        ),
        GateCriterion(
            "calibration error",
            bootstrap_interval(
                ece, forecasts["y"], forecasts["p"], groups=forecasts["date"], n_boot=n_boot,
                seed=seed,
            ) if scored else none,
            len(forecasts), "forecasts", f"step dates iid, {n_bins} equal-mass bins", scored,
        ),
        GateCriterion(
            "max drawdown", bootstrap_interval(drawdown, r, **blocks) if enough_returns else none,
            len(r), "returns", f"moving blocks of {SHARPE_BLOCK} returns", enough_returns,
        ),
    )  # fmt: skip
    states = {c.state for c in criteria}
    if TOO_EARLY in states:
        verdict = TOO_EARLY
    elif NO_GO in states:
        verdict = NO_GO
    else:
        verdict = GO if states == {GO} else BETWEEN
    return GoNoGoResult(verdict, criteria)


def ramp_proposal(
    stage: int, verdict: str, *, changed_on: pd.Timestamp | None = None, as_of: pd.Timestamp
) -> int | None:
    """The stage the user may confirm as of ``as_of``: the next one on GO (none past the
    last), the first on NO-GO (none when already there), otherwise None. None as well when
    the last change (``changed_on``) was on or after ``as_of``: one change per date, so
    climbing a further stage takes the gate again on a later date."""
    if changed_on is not None and pd.Timestamp(changed_on) >= pd.Timestamp(as_of):
        return None
    if verdict == GO and stage + 1 < len(RAMP_STAGES):
        return stage + 1
    if verdict == NO_GO and stage > 0:
        return 0
    return None

"""The execution model: fills, exits and costs, one implementation for every use that trades.

The backtest runs it over a whole panel; the paper step runs it one session at a time from
the state its ledger stored; a broker adapter will run it to decide what to send. Rules:

- A target weight decided at the close of day t is traded on day t+1, at the open or at
  the close (``execution``; a bar with no open, as in close-only sources, trades at its
  close). NaN means no decision: the position is left as it is.
- Orders rebalance to the target weight of the portfolio's value at the execution prices,
  sells before buys; buys larger than the cash left are all cut in the same proportion.
- Stops and take-profits come from the decision that opened the position. They fill at
  their level within later bars (under next-open execution, from the entry bar on): a gap
  through the level fills at the open, a bar touching both counts as the stop. With the
  trailing flag (bull regimes) the stop follows the close at the initial risk distance.
- After an exit the ticker is not re-entered until its target weight has gone to zero or
  changed side.
- Costs per fill: commission per share with a minimum, half the bid-ask spread (fixed bps,
  or a per-day estimate such as Corwin-Schultz), and market impact that grows with the
  square root of participation in the 20-day average volume (a fixed fallback where
  volume is unknown). Spread and impact move the fill price; commission is paid apart.

Spread and impact on day t use rows < t only, so a window that starts 30 sessions before
the first traded day gives exactly the inputs a backtest over the whole history gives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from engine.features.microstructure import corwin_schultz
from engine.features.panel import WidePanel, pct_change, rolling_mean, rolling_std, shift
from engine.modeling.param_limits import Limit, check_limits
from engine.trading.simulation import REASONS, REBALANCE, STATE_FIELDS, fill_kernel, simulate

Execution = Literal["next_open", "next_close"]
HISTORY_SESSIONS = 30  # rows before the first traded day that the cost inputs need (>= 22)
COST_WINDOW = 20
TRADE_COLUMNS = (
    "date",
    "ticker",
    "shares",
    "price",
    "reason",
    "commission",
    "spread",
    "impact",
    "realized_pnl",
)
STATE_COLUMNS = (
    "ticker",
    "quantity",
    "cost_basis",
    "stop",
    "take_profit",
    "risk",
    "trailing",
    "blocked",
    "exit_side",
    "entered",
)

COST_LIMITS = {
    "commission_per_share": Limit(0, 1),
    "commission_min": Limit(0, 100),
    "half_spread_bps": Limit(0, 1000),
    "impact_coefficient": Limit(0, 10),
    "impact_unknown_bps": Limit(0, 1000),
}


@dataclass(frozen=True)
class CostModel:
    commission_per_share: float = 0.005
    commission_min: float = 1.0
    half_spread_bps: float = 5.0
    impact_coefficient: float = 0.1  # fraction = coef x daily vol x sqrt(shares / ADV)
    impact_unknown_bps: float = 10.0  # when the ticker has no volume to measure against

    def __post_init__(self) -> None:
        check_limits(self, COST_LIMITS, "cost parameters")
        if (
            self.commission_per_share == 0
            and self.commission_min == 0
            and self.half_spread_bps == 0
        ):
            raise ValueError("a backtest needs some cost: commission or spread must be above 0")


_ARRAYS = {
    "shares": float, "basis": float, "stop": float, "take_profit": float, "risk": float,
    "trailing": bool, "blocked": bool, "exit_side": float, "entered": "datetime64[ns]",
    "last_close": float,
}  # fmt: skip
_FLAGS = ("trailing", "blocked")
_ROW_COLUMNS = {  # ExecutionState array -> STATE_COLUMNS column
    "shares": "quantity", "basis": "cost_basis", "stop": "stop", "take_profit": "take_profit",
    "risk": "risk", "trailing": "trailing", "blocked": "blocked", "exit_side": "exit_side",
    "entered": "entered",
}  # fmt: skip


def _flat(n: int) -> dict[str, np.ndarray]:
    """Writable arrays of a book flat in ``n`` tickers."""
    return {
        "shares": np.zeros(n), "basis": np.zeros(n), "stop": np.full(n, np.nan),
        "take_profit": np.full(n, np.nan), "risk": np.full(n, np.nan),
        "trailing": np.zeros(n, bool), "blocked": np.zeros(n, bool), "exit_side": np.zeros(n),
        "entered": np.full(n, np.datetime64("NaT"), "datetime64[ns]"),
        "last_close": np.full(n, np.nan),
    }  # fmt: skip


@dataclass(frozen=True, eq=False)
class ExecutionState:
    """Where the execution model stands after a close, per ticker (arrays read-only).

    Attributes
    ----------
    tickers : tuple of str, length N
    cash : float
    shares : ndarray, shape (N,)
        Signed shares held.
    basis : ndarray, shape (N,)
        Average fill price of the open position (0 when flat).
    stop, take_profit : ndarray, shape (N,)
        Exit levels of the open position (NaN: none).
    risk : ndarray, shape (N,)
        |entry price - initial stop|: the distance a trailing stop keeps from the close.
    trailing, blocked : ndarray of bool, shape (N,)
        The stop trails; re-entry is blocked after an exit.
    exit_side : ndarray, shape (N,)
        Side of the last exit (+1 long, -1 short, 0 none): a target on that side stays
        blocked.
    entered : ndarray of datetime64[ns], shape (N,)
        Session the position was opened (NaT: flat). Its exits are active from that
        session's open under next-open execution, from the next session under next-close.
    last_close : ndarray, shape (N,)
        Last finite close (the mark of a ticker without a bar); NaN until one is seen.
    """

    tickers: tuple[str, ...]
    cash: float
    shares: np.ndarray
    basis: np.ndarray
    stop: np.ndarray
    take_profit: np.ndarray
    risk: np.ndarray
    trailing: np.ndarray
    blocked: np.ndarray
    exit_side: np.ndarray
    entered: np.ndarray
    last_close: np.ndarray

    def __post_init__(self) -> None:
        """Own read-only copies of the arrays, checked against the tickers."""
        object.__setattr__(self, "tickers", tuple(self.tickers))
        object.__setattr__(self, "cash", float(self.cash))
        for name, dtype in _ARRAYS.items():
            values = np.array(getattr(self, name), dtype=dtype)
            if values.shape != (len(self.tickers),):
                raise ValueError(f"{name} has shape {values.shape}, not ({len(self.tickers)},)")
            values.flags.writeable = False
            object.__setattr__(self, name, values)

    @classmethod
    def empty(cls, tickers: tuple[str, ...] | list[str], cash: float) -> ExecutionState:
        """Flat in every ticker, with ``cash``."""
        return cls(tuple(tickers), cash, **_flat(len(tickers)))

    @classmethod
    def from_rows(
        cls, rows: pd.DataFrame, cash: float, tickers: tuple[str, ...] | list[str]
    ) -> ExecutionState:
        """The state of ``tickers`` from per-ticker ``rows`` (``STATE_COLUMNS``; a ticker
        without a row is flat, and a missing or null value takes the flat default)."""
        arrays = _flat(len(tickers))
        rows = rows[rows["ticker"].isin(list(tickers))]
        at = pd.Index(list(tickers)).get_indexer(rows["ticker"])
        for name, column in _ROW_COLUMNS.items():
            if column not in rows:
                continue
            if name == "entered":
                arrays[name][at] = pd.to_datetime(rows[column]).to_numpy("datetime64[ns]")
                continue
            values = pd.to_numeric(rows[column], errors="coerce").to_numpy(float)
            known = np.isfinite(values)
            arrays[name][at[known]] = values[known] != 0 if name in _FLAGS else values[known]
        return cls(tuple(tickers), cash, **arrays)

    def to_rows(self) -> pd.DataFrame:
        """One row (``STATE_COLUMNS``) per ticker held or blocked; other tickers are flat."""
        keep = (self.shares != 0) | self.blocked
        held = self.shares[keep] != 0
        return pd.DataFrame(
            {
                "ticker": np.asarray(self.tickers, dtype=object)[keep],
                "quantity": self.shares[keep],
                "cost_basis": self.basis[keep],
                "stop": np.where(held, self.stop[keep], np.nan),
                "take_profit": np.where(held, self.take_profit[keep], np.nan),
                "risk": np.where(held, self.risk[keep], np.nan),
                "trailing": held & self.trailing[keep],
                "blocked": self.blocked[keep],
                "exit_side": self.exit_side[keep],
                "entered": pd.DatetimeIndex(
                    np.where(held, self.entered[keep], np.datetime64("NaT"))
                ),
            },
            columns=list(STATE_COLUMNS),
        )

    def _kernel(self, dates: pd.DatetimeIndex) -> tuple:
        """Writable copies in the kernel's order (``STATE_FIELDS``); ``entered`` as a row of
        ``dates`` (the last row before it when it is not one; -1 before the window)."""
        stamps = self.entered
        rows = dates.searchsorted(stamps, side="left")
        exact = rows < len(dates)
        exact[exact] = dates[rows[exact]] == stamps[exact]
        rows = np.where(exact, rows, rows - 1).astype(np.int64)
        rows[np.isnat(stamps)] = -1
        arrays = {name: getattr(self, name).copy() for name in _ARRAYS}
        arrays.update(cash=np.array([self.cash]), entered=rows)
        return tuple(arrays[field] for field in STATE_FIELDS)

    def _after(self, before: np.ndarray, arrays: tuple, dates: pd.DatetimeIndex) -> ExecutionState:
        """The state the kernel left in ``arrays`` (``before``: the entry rows it got)."""
        values = dict(zip(STATE_FIELDS, arrays, strict=True))
        rows = values.pop("entered")
        moved = rows != before
        entered = self.entered.copy()
        entered[moved] = dates[rows[moved]].to_numpy("datetime64[ns]")
        cash = float(values.pop("cash")[0])
        return replace(self, cash=cash, entered=entered, **values)


@dataclass(frozen=True)
class ExecutionResult:
    """Days ``start`` .. T-1 of an execution run: equity and cash by date, shares held
    (dates x tickers), every fill (``TRADE_COLUMNS``), daily costs by component, and the
    state after the last day."""

    equity: pd.Series
    cash: pd.Series
    positions: pd.DataFrame
    trades: pd.DataFrame
    costs: pd.DataFrame
    state: ExecutionState


def corwin_schultz_half_spread(panel: WidePanel) -> np.ndarray:
    """Half the 20-day mean Corwin-Schultz spread up to the day before, ``(T, N)``; NaN
    (the fixed half-spread applies) where high/low are missing."""
    return shift(rolling_mean(corwin_schultz(panel.high, panel.low), COST_WINDOW)) / 2.0


@dataclass(frozen=True, eq=False)
class CostInputs:
    """The cost inputs per session and ticker, ``(T, N)`` each, from rows < t only: the half
    spread (a fraction of the price), the 20-day daily volatility and average volume."""

    half_spread: np.ndarray
    daily_vol: np.ndarray
    adv: np.ndarray

    def pricing(self, costs: CostModel) -> tuple:
        """The kernel's pricing tuple (half spread, impact scale, impact measured, fallback
        impact, (commission per share, minimum)) under ``costs``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            impact_scale = costs.impact_coefficient * self.daily_vol / np.sqrt(self.adv)
        fees = np.array([costs.commission_per_share, costs.commission_min])
        fallback = costs.impact_unknown_bps / 1e4
        return self.half_spread, impact_scale, np.isfinite(impact_scale), fallback, fees


def cost_inputs(
    panel: WidePanel, costs: CostModel, half_spread: np.ndarray | None = None
) -> CostInputs:
    """The inputs ``execute`` prices fills with (``half_spread`` as ``execute`` takes it)."""
    fixed = costs.half_spread_bps / 1e4
    shape = panel.close.shape
    spread = np.full(shape, fixed) if half_spread is None else np.nan_to_num(half_spread, nan=fixed)
    daily_vol = shift(rolling_std(pct_change(panel.close), COST_WINDOW, ddof=1))
    return CostInputs(spread, daily_vol, shift(rolling_mean(panel.volume, COST_WINDOW)))


def fill_costs(inputs: CostInputs, costs: CostModel, trades: np.ndarray) -> np.ndarray:
    """Commission, spread and impact in money, shape (K, 3), that the kernel's own fill
    books for each trade (row, column, signed shares, price before costs) of ``trades``,
    shape (K, 4), on a scratch book; NaN for a trade without shares or a price."""
    pricing = inputs.pricing(costs)
    book = ExecutionState.empty([""] * inputs.adv.shape[1], 0.0)._kernel(pd.DatetimeIndex([]))
    k = len(trades)
    log = (np.zeros(1, np.int64), np.empty(k, np.int64), np.empty(k, np.int64),
           np.empty(k, np.int8), np.empty((k, 6)))  # fmt: skip
    out = np.full((k, 3), np.nan)
    for n, (i, j, q, price) in enumerate(np.asarray(trades, dtype=float)):
        if q != 0 and np.isfinite(q) and np.isfinite(price):
            fill_kernel(book, pricing, log, int(i), int(j), q, price, REBALANCE)
            out[n] = log[4][log[0][0] - 1, 2:5]
    return out


def _trade_frame(log: tuple, panel: WidePanel) -> pd.DataFrame:
    """One row per fill from the simulation's trade log."""
    days, columns, reasons, values = log
    return pd.DataFrame(
        {
            "date": panel.dates[days],
            "ticker": pd.Categorical.from_codes(columns, categories=list(panel.tickers)),
            "shares": values[:, 0],
            "price": values[:, 1],
            "reason": pd.Categorical.from_codes(reasons.astype(int), categories=list(REASONS)),
            "commission": values[:, 2],
            "spread": values[:, 3],
            "impact": values[:, 4],
            "realized_pnl": values[:, 5],
        },
        columns=list(TRADE_COLUMNS),
    )


def execute(
    panel: WidePanel,
    weights: np.ndarray,
    *,
    state: ExecutionState,
    costs: CostModel,
    start: int = 0,
    stops: np.ndarray | None = None,
    take_profits: np.ndarray | None = None,
    trailing: np.ndarray | None = None,
    half_spread: np.ndarray | None = None,
    execution: Execution = "next_open",
    whole_shares: bool = True,
    use_exits: bool = True,
) -> ExecutionResult:
    """Run the execution model on days ``start`` .. T-1 of ``panel`` from ``state``.

    Parameters
    ----------
    panel : WidePanel, shape (T, N), tickers in ``state.tickers`` order
        Rows before ``start`` are history: they feed the cost inputs and the last close.
    weights : ndarray, shape (T, N)
        Target weights decided at each close (NaN: no decision); day i trades row i - 1.
    state : ExecutionState
        The state after the close of day ``start - 1``.
    stops, take_profits : ndarray, shape (T, N), optional
        Levels for positions opened from that row's decision.
    trailing : ndarray of bool, shape (T, N), optional
        The stop of a position opened from that row trails the close.
    half_spread : ndarray, shape (T, N), optional
        Per-day half-spread fractions (e.g. ``corwin_schultz_half_spread``) for rows < t
        only; NaN takes the cost model's fixed half-spread.
    """
    shape = panel.close.shape
    if weights.shape != shape:
        raise ValueError(f"weights have shape {weights.shape}, prices {shape}")
    if tuple(state.tickers) != tuple(panel.tickers):
        raise ValueError("the execution state and the panel have different tickers")
    if not 0 <= start <= shape[0]:
        raise ValueError(f"start {start} is outside the panel's {shape[0]} rows")
    nan = np.full(shape, np.nan)
    stops = nan if stops is None or not use_exits else stops
    take_profits = nan if take_profits is None or not use_exits else take_profits
    trailing = np.zeros(shape, dtype=bool) if trailing is None else trailing
    pricing = cost_inputs(panel, costs, half_spread).pricing(costs)
    # a close-only source has no open to trade at: such a bar trades at its close
    opens = np.where(np.isfinite(panel.open), panel.open, panel.close)
    arrays = state._kernel(panel.dates)
    entered_before = arrays[9].copy()
    equity, cash, held, daily_costs, *log = simulate(
        opens,
        panel.high,
        panel.low,
        panel.close,
        np.asarray(weights, dtype=float),
        np.asarray(stops, dtype=float),
        np.asarray(take_profits, dtype=float),
        np.asarray(trailing, dtype=bool),
        *pricing,
        arrays,
        start,
        execution == "next_open",
        whole_shares,
        use_exits,
    )
    index = panel.dates[start:]
    return ExecutionResult(
        equity=pd.Series(equity, index=index, name="equity"),
        cash=pd.Series(cash, index=index, name="cash"),
        positions=pd.DataFrame(held, index=index, columns=list(panel.tickers)),
        trades=_trade_frame(tuple(log), panel),
        costs=pd.DataFrame(daily_costs, index=index, columns=["commission", "spread", "impact"]),
        state=state._after(entered_before, arrays, panel.dates),
    )

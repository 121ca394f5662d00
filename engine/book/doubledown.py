"""The double-down check: may the analyst add to a losing holding?

Yes only when four checks agree, each with its numbers:

- position: the holding is valued and losing (P&L < 0);
- forecast: its rank percentile and P(beats the median) (P(up) for a market-timing run)
  reach the thresholds, and the run's ranking has shown skill out of sample
  (``engine.modeling.evaluation.ranking_skill``);
- regime: neither high volatility nor weak breadth (the bear half of the 12 states, see
  ``engine.features.regime.is_bull``), and known;
- risk caps (``SizingParams``, the sizer's rules): after the purchase the ticker's weight
  stays within ``max_weight``, its sector's (``sector_of``: an unlisted ticker is its own
  sector) within the regime's sector limit (the bear limit when the regime is not bull),
  and the book's volatility (``portfolio_volatility`` on each name's EWMA volatility)
  within ``target_vol``.

Weights are shares of the equity: the valued holdings plus the cash given; the purchase
is paid from that cash, and any amount above it is new money added to the equity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.book.holdings import BookError
from engine.data.universe import sector_of
from engine.features.regime import REGIME_NAMES, is_bull
from engine.modeling.evaluation import SkillVerdict
from engine.trading.sizing import SizingParams, portfolio_volatility


@dataclass(frozen=True)
class DoubleDownParams:
    """The forecast's thresholds."""

    min_percentile: float = 0.7
    min_p: float = 0.55


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    text: str


@dataclass(frozen=True)
class DoubleDownVerdict:
    """``allowed`` only when every check is ok; ``text`` names those that say no."""

    ticker: str
    amount: float
    allowed: bool
    checks: tuple[Check, ...]

    @property
    def text(self) -> str:
        no = [c.name for c in self.checks if not c.ok]
        if not no:
            return f"Adding {self.amount:,.0f} to {self.ticker}: every check agrees."
        verb = "checks say" if len(no) > 1 else "check says"
        return f"Not now: the {', '.join(no)} {verb} no."


def _position(row: pd.Series) -> Check:
    if not np.isfinite(row["pnl"]):
        return Check("position", False, f"{row['ticker']} has no value: {row['status']}")
    text = f"P&L {row['pnl']:+,.2f} ({row['pnl_pct']:+.1%})"
    if row["pnl"] >= 0:
        return Check("position", False, f"{text}: not a losing holding, nothing to double down on")
    return Check("position", True, f"{text}: a losing holding")


def _forecast(
    forecast: pd.Series | None, note: str, skill: SkillVerdict | None, event: str,
    params: DoubleDownParams,
) -> Check:  # fmt: skip
    if forecast is None or skill is None:
        return Check("forecast", False, f"no forecast: {note}")
    percentile, p = float(forecast["percentile"]), float(forecast["p_up"])
    parts = [
        f"rank percentile {percentile:.2f} {'>=' if percentile >= params.min_percentile else '<'} "
        f"{params.min_percentile:.2f}",
        f"{event} {p:.3f} {'>=' if p >= params.min_p else '<'} {params.min_p:.3f}",
        skill.text,
    ]
    ok = percentile >= params.min_percentile and p >= params.min_p and skill.shown
    return Check("forecast", ok, "; ".join(parts))


def _regime(regime_id: float) -> Check:
    if not np.isfinite(regime_id):
        return Check("regime", False, "the regime is unknown (an input is missing)")
    name = REGIME_NAMES[int(regime_id)]
    if int(regime_id) // 4 == 2:
        return Check("regime", False, f"{name}: high volatility")
    if not is_bull(regime_id):
        return Check("regime", False, f"{name}: weak breadth (a bear state)")
    return Check("regime", True, f"{name}: neither high volatility nor weak breadth")


def _caps(
    valued: pd.DataFrame, ticker: str, amount: float, cash: float, *, regime_id: float,
    sizing: SizingParams,
) -> Check:  # fmt: skip
    book = valued[valued["market_value"].notna()]
    value = book.set_index("ticker")["market_value"].copy()
    equity = max(value.sum() + cash, value.sum() + amount)
    value[ticker] += amount
    weights = value / equity
    sectors = pd.Series({t: sector_of(t) for t in value.index})
    bull = np.isfinite(regime_id) and bool(is_bull(regime_id))
    limit = sizing.sector_limit_bull if bull else sizing.sector_limit_bear
    sector_weight = weights[sectors == sectors[ticker]].sum()
    vols = book.set_index("ticker")["volatility"].reindex(value.index)
    parts, ok = [], True
    for what, number, cap in (
        (f"{ticker} weight", weights[ticker], sizing.max_weight),
        (f"{sectors[ticker]} sector weight", sector_weight, limit),
    ):
        ok &= number <= cap
        parts.append(f"{what} {number:.1%} {'<=' if number <= cap else '>'} cap {cap:.1%}")
    missing = vols.index[vols.isna()].tolist()
    if missing:
        ok = False
        parts.append(
            f"no volatility estimate for {', '.join(missing)}: the book's cannot be checked"
        )
    else:
        vol = portfolio_volatility(weights.to_numpy(), vols.to_numpy(), sizing.assumed_correlation)
        ok &= vol <= sizing.target_vol
        parts.append(
            f"book volatility {vol:.1%} {'<=' if vol <= sizing.target_vol else '>'} target "
            f"{sizing.target_vol:.1%}"
        )
    unvalued = valued.loc[valued["market_value"].isna(), "ticker"].tolist()
    if unvalued:
        parts.append(f"left out, having no value: {', '.join(unvalued)}")
    return Check("risk caps", bool(ok), f"after adding {amount:,.0f}: " + "; ".join(parts))


def check_double_down(
    valued: pd.DataFrame,
    ticker: str,
    amount: float,
    cash: float,
    *,
    forecast: pd.Series | None,
    forecast_note: str,
    skill: SkillVerdict | None,
    event: str,
    regime_id: float,
    params: DoubleDownParams | None = None,
    sizing: SizingParams | None = None,
) -> DoubleDownVerdict:
    """The verdict on adding ``amount`` (currency, > 0) to the holding ``ticker``.

    Parameters
    ----------
    valued : DataFrame of ``engine.book.holdings.VALUE_COLUMNS`` at the as-of date.
    cash : the cash beside the holdings (>= 0), part of the equity the caps are against.
    forecast : the ticker's forecast row (``percentile``, ``p_up``) from the active run at
        the as-of date, None when there is none (``forecast_note`` says why).
    skill : the run's ``ranking_skill`` verdict; ``event``: what ``p_up`` is the chance of.
    regime_id : the regime at the as-of date (NaN when unknown).
    """
    rows = valued[valued["ticker"] == ticker]
    if rows.empty:
        raise BookError(f"ticker: {ticker!r} is not a holding")
    if not np.isfinite(amount) or amount <= 0:
        raise BookError(f"amount: {amount!r} must be a number above 0")
    if not np.isfinite(cash) or cash < 0:
        raise BookError(f"cash: {cash!r} must be a number of 0 or more")
    params, sizing = params or DoubleDownParams(), sizing or SizingParams()
    position = _position(rows.iloc[0])
    checks = [
        position,
        _forecast(forecast, forecast_note, skill, event, params),
        _regime(float(regime_id)),
    ]
    if np.isfinite(rows.iloc[0]["market_value"]):
        checks.append(
            _caps(valued, ticker, amount, cash, regime_id=float(regime_id), sizing=sizing)
        )
    else:
        checks.append(Check("risk caps", False, f"{ticker} has no value to weigh"))
    return DoubleDownVerdict(ticker, float(amount), all(c.ok for c in checks), tuple(checks))

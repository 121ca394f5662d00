"""Scenario replays: crisis windows, and the seeds' pass criteria where they apply."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Scenario:
    name: str
    start: pd.Timestamp
    end: pd.Timestamp
    description: str
    max_drawdown_limit: float | None = None  # pass if the drawdown stays above -limit
    min_sharpe: float | None = None  # pass if the window's Sharpe is above this


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "2000 dot-com peak",
            pd.Timestamp("2000-03-01"),
            pd.Timestamp("2000-12-29"),
            "The Nasdaq's peak and the first leg down",
        ),
        Scenario(
            "2008-09 GFC",
            pd.Timestamp("2008-09-01"),
            pd.Timestamp("2009-03-31"),
            "Lehman to the March 2009 low",
        ),
        Scenario(
            "2011-08 downgrade",
            pd.Timestamp("2011-07-25"),
            pd.Timestamp("2011-10-31"),
            "US downgrade and the euro crisis",
        ),
        Scenario(
            "2015-08 devaluation",
            pd.Timestamp("2015-08-10"),
            pd.Timestamp("2015-10-30"),
            "Yuan devaluation and the August flash crash",
        ),
        Scenario(
            "2018-Q4",
            pd.Timestamp("2018-10-01"),
            pd.Timestamp("2018-12-31"),
            "Rate fears and the December sell-off",
        ),
        Scenario(
            "2020-02..04 COVID crash",
            pd.Timestamp("2020-02-03"),
            pd.Timestamp("2020-04-30"),
            "The fastest bear market on record",
            max_drawdown_limit=0.25,
        ),
        Scenario(
            "2022-01..06 rates",
            pd.Timestamp("2022-01-03"),
            pd.Timestamp("2022-06-30"),
            "Inflation and rate hikes",
            min_sharpe=0.3,
        ),
        Scenario(
            "2023 AI melt-up",
            pd.Timestamp("2023-01-03"),
            pd.Timestamp("2023-07-31"),
            "Mega-cap rally (needs live data)",
        ),
    )
}


def covered(first: pd.Timestamp, last: pd.Timestamp, history_years: int) -> list[Scenario]:
    """Scenarios whose whole window and ``history_years`` of training data before it lie
    inside [first, last]."""
    return [
        s
        for s in SCENARIOS.values()
        if s.start - pd.DateOffset(years=history_years) >= first and s.end <= last
    ]


def pass_criteria(scenario: Scenario, sharpe: float, max_drawdown: float) -> list[dict]:
    """The seeds' criteria that apply to ``scenario``, each with its verdict."""
    checks = []
    if scenario.max_drawdown_limit is not None:
        checks.append(
            {
                "criterion": f"drawdown under {scenario.max_drawdown_limit:.0%}",
                "value": f"{max_drawdown:.1%}",
                "passed": bool(max_drawdown > -scenario.max_drawdown_limit),
            }
        )
    if scenario.min_sharpe is not None:
        checks.append(
            {
                "criterion": f"Sharpe above {scenario.min_sharpe}",
                "value": f"{sharpe:.2f}",
                "passed": bool(sharpe > scenario.min_sharpe),
            }
        )
    return checks

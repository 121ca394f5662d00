"""A trading book's analysis (Backtest and Paper trading pages; stress on Portfolio): its
returns by regime and by sector, its tail risk and its stress tests."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.display.risk import plot_attribution, plot_risk_contributions


def _with_interval(table: pd.DataFrame, name: str, form: str) -> pd.Series:
    """ "estimate [low, high]" in ``form``; a blank where the part has too few days."""
    return pd.Series(
        [
            "" if pd.isna(e) else f"{e:{form}} [{lo:{form}}, {hi:{form}}]"
            for e, lo, hi in zip(
                table[name], table[f"{name}_low"], table[f"{name}_high"], strict=True
            )
        ],
        index=table.index,
    )


def render_breakdown(breakdown, key: str) -> None:
    """A ``BookBreakdown``'s two tables, side by side."""
    st.subheader("By regime and by sector")
    st.caption(
        "Each day's return filed under the regime known the session before, and each "
        "sector's contribution (its positions marked close to close; what fills and costs "
        "took is its own row). Intervals are 95%, Bonferroni-adjusted over the rows; a row "
        "of fewer than 105 days (five 21-day blocks) gets no figures."
    )
    for column, (title, table) in zip(
        st.columns(2),
        (("By regime", breakdown.by_regime), ("By sector", breakdown.by_sector)),
        strict=True,
    ):
        shown = pd.DataFrame(
            {
                title.removeprefix("By ").capitalize(): table["part"],
                "days": table["days"],
                "Sharpe": _with_interval(table, "sharpe", ".2f"),
                "hit rate": _with_interval(table, "hit_rate", ".1%"),
                "excess / year": _with_interval(table, "excess", ".1%"),
            }
        )
        column.markdown(f"**{title}**")
        column.dataframe(shown, hide_index=True, key=f"{key}.{title.split()[1]}")


def render_stress(stress, key: str) -> None:
    """A ``BookStress``: past crises replayed with the book's weights, index shocks, and
    its VaR / CVaR."""
    st.subheader(f"Stress tests of the book on {stress.as_of:%Y-%m-%d}")
    st.caption(
        "Today's weights held through each past window that ended by this date (a name "
        "without prices there moves as its beta times the index, and is named), and the "
        "index shocked with each name moving by its one-year beta."
    )
    left, right = st.columns([3, 2])
    replays = stress.replays.assign(
        start=lambda f: pd.to_datetime(f["start"]).dt.strftime("%Y-%m-%d"),
        end=lambda f: pd.to_datetime(f["end"]).dt.strftime("%Y-%m-%d"),
    )
    left.dataframe(replays, hide_index=True, key=f"{key}.replays")
    right.dataframe(stress.shocks, hide_index=True, key=f"{key}.shocks")
    if stress.unit_beta:
        right.caption(
            f"Beta 1 assumed (under 60 returns in the year): {', '.join(stress.unit_beta)}"
        )
    if stress.tail is not None:
        right.dataframe(stress.tail.table, hide_index=True, key=f"{key}.tail")
    if stress.factor_shocks is not None:
        shocks = stress.factor_shocks.assign(
            ended=lambda f: pd.to_datetime(f["ended"]).dt.strftime("%Y-%m-%d")
        )
        left.dataframe(shocks, hide_index=True, key=f"{key}.factor_shocks")
        left.caption(
            "Each style factor's worst 21-session move up to this date, times the book's "
            "exposure to it (a momentum crash: momentum's worst month)."
        )
    if stress.decomposition is not None:
        render_decomposition(stress.decomposition, stress.weights, stress.models, key)


def render_decomposition(decomposition, weights: pd.Series, models, key: str) -> None:
    """A ``RiskDecomposition``: each factor's and each held name's share of the book's
    volatility (Euler contributions, adding up to the whole), and its volatility under
    each risk model (``models``, or None)."""
    sigma = decomposition.volatility
    st.subheader(f"Risk decomposition: {decomposition.annual_volatility:.1%} a year")
    if sigma <= 0:
        st.caption("The book holds nothing the risk model prices.")
        return
    by_factor = decomposition.factor_contributions / sigma
    by_factor = by_factor[by_factor.abs() > 1e-6]
    by_factor["specific"] = decomposition.specific_contribution / sigma
    held = weights[weights != 0].index
    by_name = (decomposition.name_contributions.reindex(held) / sigma).rename("share")
    left, right = st.columns(2)
    left.plotly_chart(
        plot_risk_contributions(by_factor, "Share of volatility by factor"),
        key=f"{key}.risk_factors",
    )
    names = pd.DataFrame({"weight": weights.reindex(held), "share of volatility": by_name})
    right.dataframe(names.style.format("{:.1%}"), key=f"{key}.risk_names")
    if models is not None:
        right.dataframe(models.style.format({"annual_volatility": "{:.1%}"}), hide_index=True,
            key=f"{key}.risk_models")  # fmt: skip
    right.caption(
        "Euler contributions under the characteristic risk model as of this date (exposures "
        "and factor covariance from prices dated on or before it): the shares add up to "
        "100%. Below: the book's volatility under each model (time-series on the factor "
        "ETFs and the index where they have 60 sessions of prices; principal components)."
    )


def render_attribution(attribution, key: str) -> None:
    """An ``Attribution``: the cumulative parts through time and their final values."""
    st.subheader("Attribution to the risk factors")
    st.caption(
        "Each day's return split into each factor's part (the book's exposure at the close "
        "before, times the factor's return that day), the holdings' specific part and what "
        "trading and costs took; Carino-linked through time, the parts add up to the "
        "compounded return. A book whose return is mostly momentum or beta shows it here."
    )
    left, right = st.columns([3, 1])
    left.plotly_chart(plot_attribution(attribution.cumulative), key=f"{key}.attribution")
    final = attribution.cumulative.iloc[-1].rename("cumulative").to_frame()
    if attribution.intervals is not None:
        final = final.join(attribution.intervals.add_suffix(" / year"))
    right.dataframe(final.style.format("{:+.2%}"), key=f"{key}.attribution_table")
    right.caption("A year's mean of each daily part, 95% Bonferroni-adjusted over the parts.")


def render_book_analysis(breakdown, stress, attribution, key: str) -> None:
    """A backtest's or the paper account's book: by regime and sector, by factor, then
    its stress (the breakdown and attribution need two days or more: None before)."""
    if breakdown is not None:
        render_breakdown(breakdown, key)
    if attribution is not None and len(attribution.cumulative):
        render_attribution(attribution, key)
    render_stress(stress, key)

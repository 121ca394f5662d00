"""The Portfolio and Re-entry watch pages in AppTest, on the seeded sample store with no
active model."""

from __future__ import annotations

import datetime as dt

from streamlit.testing.v1 import AppTest

from engine import workflows
from tests.pages.test_app import metrics

AS_OF = dt.date(2022, 12, 28)


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def test_portfolio_without_holdings_says_so(app: AppTest) -> None:
    at = open_page(app, "views/portfolio.py")
    assert [t.value for t in at.title] == ["Portfolio"]
    assert "No holdings yet" in texts(at.info)


def test_the_example_is_marked_and_unpriced_tickers_say_so(app: AppTest) -> None:
    at = open_page(app, "views/portfolio.py")
    at.button(key="portfolio.example").click().run()
    assert not at.exception
    warnings = texts(at.warning)
    assert "are made up" in warnings
    for ticker in ("KDK", "HOOD", "BA"):
        assert f"no stored prices for {ticker}" in warnings


def test_valued_holdings_with_risk_and_no_model(app: AppTest, seeded_db) -> None:
    for ticker, shares, cost in (("AAPL", 10, 180.0), ("KO", 30, 50.0), ("JPM", 20, 120.0)):
        workflows.add_holding(seeded_db, ticker, shares, cost, "2021-01-04")
    at = open_page(app, "views/portfolio.py")
    shown = metrics(at)
    assert {"Market value", "P&L", "Annualized volatility", "Beta to ^GSPC"} <= set(shown)
    assert "no active model" in texts(at.info)
    table = next(d.value for d in at.dataframe if "market_value" in d.value.columns)
    assert table["market_value"].notna().all() and abs(table["weight"].sum() - 1) < 1e-9
    # the holdings stressed and their volatility decomposed under the risk model
    assert any(s.value.startswith("Risk decomposition: ") for s in at.subheader)
    replays = next(d.value for d in at.dataframe if "worst_drawdown" in d.value.columns)
    assert {"2008-09 GFC", "2020-02..04 COVID crash"} <= set(replays["scenario"])
    factors = next(d.value for d in at.dataframe if "worst_move" in d.value.columns)
    assert {"momentum", "beta"} <= set(factors["factor"])
    names = next(d.value for d in at.dataframe if "share of volatility" in d.value.columns)
    assert set(names.index) == {"AAPL", "KO", "JPM"}
    assert abs(names["share of volatility"].sum() - 1) < 1e-9
    models = next(d.value for d in at.dataframe if "annual_volatility" in d.value.columns)
    assert models["model"].tolist() == ["characteristics", "time_series", "statistical"]
    assert models["annual_volatility"].between(0.02, 1.0).all()
    parts = next(d.value for d in at.dataframe if "cumulative" in d.value.columns)
    assert {"momentum", "beta", "specific", "total"} <= set(parts.index)
    assert abs(parts.drop("total")["cumulative"].sum() - parts.at["total", "cumulative"]) < 1e-9
    at.button(key="FormSubmitter:portfolio.double_down-Check double-down").click().run()
    assert not at.exception
    assert "Not now: the forecast, regime, risk caps checks say no." in texts(at.warning)
    assert "no forecast: no active model" in texts(at.markdown)


def test_add_holding_through_the_form(app: AppTest) -> None:
    at = open_page(app, "views/portfolio.py")
    at.text_input(key="portfolio.ticker").input("ko")
    at.number_input(key="portfolio.shares").set_value(10.0)
    at.number_input(key="portfolio.cost").set_value(55.0)
    at.date_input(key="portfolio.opened").set_value(dt.date(2022, 3, 1))
    at.button(key="FormSubmitter:portfolio.add-Add holding").click().run()
    assert not at.exception
    assert "Stored 10 shares of KO" in texts(at.success)
    table = next(d.value for d in at.dataframe if "market_value" in d.value.columns)
    assert table["ticker"].tolist() == ["KO"]


def test_reentry_condition_saved_and_refused(app: AppTest) -> None:
    at = open_page(app, "views/reentry.py")
    assert "No re-entry conditions yet" in texts(at.info)
    at.text_input(key="reentry.ticker").input("AAPL")
    at.button(key="FormSubmitter:reentry.form-Save condition").click().run()
    assert "set at least one condition" in texts(at.error)
    at.number_input(key="reentry.pullback").set_value(0.05)
    at.button(key="FormSubmitter:reentry.form-Save condition").click().run()
    assert not at.exception
    summary = next(d.value for d in at.dataframe if "all conditions" in d.value.columns)
    assert summary["ticker"].tolist() == ["AAPL"]
    assert summary["all conditions"].iloc[0] in ("met", "not met")


def test_a_holdings_csv_with_a_field_over_the_limit_is_refused_on_the_page(
    app: AppTest, seeded_db
) -> None:
    at = open_page(app, "views/portfolio.py")
    huge = b"ticker,shares,cost_basis,opened,note\nAAPL,1,1,2021-01-04,ok\n"
    huge += b'MSFT,1,10,2021-01-04,"' + b"x" * 140_000 + b'"\n'
    at.file_uploader(key="portfolio.csv").set_value(("holdings.csv", huge, "text/csv")).run()
    at.button(key="portfolio.import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [
        "Nothing imported: Line 3: a field is over 131,072 characters, the most a CSV field "
        "may hold (a quote left open?)"
    ]
    assert workflows.load_holdings(seeded_db).empty

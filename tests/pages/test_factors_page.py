"""The Factors page in AppTest: without a model, and on a small trained run."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from engine.workflows.research.factors import factor_report
from tests.pages.test_model_pages import open_page

HEADLINES = {
    "Mean rank IC",
    "Rank ICIR",
    "Rank IC t-stat",
    "Top-minus-bottom spread",
    "Top-quantile turnover",
    "Top-5 hit rate",
    "Dates with differing forecasts",
}


def test_factors_page_without_a_model_says_so(app: AppTest) -> None:
    at = open_page(app, "factors")
    assert [t.value for t in at.title] == ["Factors"]
    assert any("No trained model yet" in i.value for i in at.info)


def test_factors_page_shows_the_tear_sheet_and_the_feature_table(trained_app, trained_db) -> None:
    app, record = trained_app
    seeded_db, _ = trained_db
    at = open_page(app, "factors")
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) >= HEADLINES
    assert len(at.get("plotly_chart")) >= 5
    table = next(d.value for d in at.dataframe if "feature" in d.value.columns)
    assert {"feature", "family", "mean_rank_ic", "low", "high", "note"} <= set(table.columns)
    assert len(table) >= 60
    market_wide = table[table["note"] != ""]
    assert len(market_wide) and market_wide["mean_rank_ic"].isna().all()
    assert record.run_id in " ".join(c.value for c in at.caption)
    sheet = factor_report(seeded_db, record.run_id).sheet  # what the page must conclude
    no_skill = any("no skill out of sample" in w.value for w in at.warning)
    assert no_skill == (not sheet.shows_skill and not sheet.rank_ic.high < 0)
    same = any("same for every stock" in i.value for i in at.info)
    assert same == (sheet.differing_share < 0.5)
    neutral = next(d.value for d in at.dataframe if "neutral_to" in d.value.columns)
    assert neutral["neutral_to"].iloc[0] == "nothing (raw)"
    assert {"momentum", "beta", "all styles", "sectors", "styles and sectors"} <= set(
        neutral["neutral_to"]
    )
    if sheet.differing_share == 0:  # a market-timing model: nothing to rank
        assert metrics["Mean rank IC"] == "n/a" and no_skill
        assert neutral["rank_ic"].isna().all()  # nor anything left once neutralized
    at.multiselect(key="factors.families").set_value(["technical"]).run()
    assert not at.exception
    features = next(d.value for d in at.dataframe if "feature" in d.value.columns)
    assert set(features["family"]) == {"technical"}
    at.selectbox(key="factors.quantiles").set_value(3).run()
    assert not at.exception and not at.error

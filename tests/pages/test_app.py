"""The app in Streamlit's AppTest on a temporary store seeded from the offline sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engine import workflows
from tests.conftest import ROOT, TIMEOUT


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first dataframe on the page that has ``column``."""
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no dataframe with a {column!r} column"
    return frames[0]


def open_data_page(at: AppTest) -> AppTest:
    at.switch_page("views/data.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_review_is_the_landing_page_and_shows_the_universe(app: AppTest) -> None:
    assert [t.value for t in app.title] == ["Daily review"]
    shown = metrics(app)
    assert {k: shown[k] for k in ("Tickers", "Fresh", "Stale", "No data")} == {
        "Tickers": "20",
        "Fresh": "20",
        "Stale": "0",
        "No data": "0",
    }
    assert shown["Market regime"] == "High vol · strong breadth · ATR contracting"
    assert app.sidebar.selectbox(key="global.watchlist").value == "Sample universe"
    assert str(app.sidebar.date_input(key="global.as_of").value) == "2022-12-28"
    universe = frame_with(app, "ret_20d")
    assert len(universe) == 20 and universe["last_close"].notna().all()
    assert not app.error


def test_review_warns_about_tickers_without_data(app: AppTest) -> None:
    app.sidebar.selectbox(key="global.watchlist").set_value("Seed portfolio").run()
    assert metrics(app)["No data"] == "3"
    assert any("KDK, HOOD, BA" in w.value for w in app.warning)


def test_data_page_renders_every_tab(app: AppTest) -> None:
    at = open_data_page(app)
    assert [t.label for t in at.tabs] == [
        "Refresh",
        "Import CSV",
        "Freshness",
        "Watchlists",
        "Price chart",
        "Ingestion log",
    ]
    assert frame_with(at, "sessions_behind")["status"].eq("fresh").all()
    assert len(at.get("plotly_chart")) == 1
    log = frame_with(at, "fetched_at_utc")
    assert log["source"].tolist() == ["sample"]
    assert not at.error


def test_refresh_from_the_data_page_reports_per_ticker(app: AppTest) -> None:
    at = open_data_page(app)
    at.text_input(key="data.refresh.tickers").set_value("KO, HOOD")
    at.button(key="data.refresh.run").click().run()
    assert not at.exception
    assert any("Stored 8,313 rows for 1 ticker(s)" in w.value for w in at.warning)
    assert frame_with(at, "fetched_at_utc")["status"].tolist()[0] == "partial"


def test_refresh_with_a_hostile_ticker_shows_the_rule(app: AppTest, seeded_db: Path) -> None:
    at = open_data_page(app)
    at.text_input(key="data.refresh.tickers").set_value("AAPL;rm -rf /")
    at.button(key="data.refresh.run").click().run()
    assert any(
        "Invalid ticker 'AAPL;rm' " in e.value or "Invalid ticker" in e.value for e in at.error
    )
    assert len(workflows.load_ingestion_log(seeded_db)) == 1


def test_watchlist_editor_validates_and_saves(app: AppTest, seeded_db: Path) -> None:
    at = open_data_page(app)
    at.text_input(key="data.lists.name.(new watchlist)").set_value("Banks")
    at.text_area(key="data.lists.tickers.(new watchlist)").set_value("jpm, ../x")
    at.button(key="data.lists.save").click().run()
    assert any("Invalid ticker '../x'" in e.value for e in at.error)
    assert "Banks" not in workflows.load_watchlists(seeded_db)["name"].tolist()
    at.text_area(key="data.lists.tickers.(new watchlist)").set_value("jpm, bac")
    at.button(key="data.lists.save").click().run()
    assert workflows.load_watchlist(seeded_db, "Banks") == ["JPM", "BAC"]


def test_csv_upload_previews_files_imports_the_good_and_refuses_the_bad(
    app: AppTest, seeded_db: Path
) -> None:
    at = open_data_page(app)
    bad = b"Date,Close\n2022-12-01,1\n2022-12-02,oops\n"
    yahoo = (
        b"Date,Open,High,Low,Close,Adj Close,Volume\n"
        b"2022-12-01,10,11,9,10,5,100\n2022-12-02,20,22,18,21,10.5,200\n"
    )
    uploads = [("zzz.csv", bad, "text/csv"), ("YYY_daily.csv", yahoo, "text/csv")]
    at.file_uploader(key="data.csv.files").set_value(uploads).run()
    assert not at.exception, [e.value for e in at.exception]
    preview = at.data_editor(key="data.csv.preview").value
    assert preview["ticker"].tolist() == ["ZZZ", "YYY"]
    assert "line 3: 'oops'" in preview["problems"].iloc[0]
    assert preview["adjusted"].iloc[1] and preview["layout"].iloc[1].startswith("Yahoo")
    assert at.selectbox(key="data.csv.map.adj_close").value == "(none)"  # the first file's
    at.button(key="data.csv.import").click().run()
    assert any("Imported 1 of 2 file(s)" in w.value for w in at.warning)
    assert any(e.value.startswith("zzz.csv: Nothing stored") for e in at.error)
    assert frame_with(at, "outcome")["outcome"].tolist() == ["refused", "stored"]
    stored = workflows.load_prices(seeded_db, ["YYY"])
    assert stored["close"].tolist() == [5.0, 10.5]
    assert stored["open"].tolist() == pytest.approx([5.0, 10.0], rel=1e-12)
    assert workflows.load_prices(seeded_db, ["ZZZ"]).empty


def test_the_column_form_remaps_a_file_that_names_its_columns_otherwise(
    app: AppTest, seeded_db: Path
) -> None:
    at = open_data_page(app)
    data = b"Wann;Kurs\n01.12.2022;1.234,5\n02.12.2022;1.240,25\n"
    at.file_uploader(key="data.csv.files").set_value(("QQQ.csv", data, "text/csv")).run()
    preview = at.data_editor(key="data.csv.preview").value
    assert preview["problems"].iloc[0].startswith("No column for 'date'")
    at.selectbox(key="data.csv.map.date").set_value("Wann")
    at.selectbox(key="data.csv.map.close").set_value("Kurs").run()
    preview = at.data_editor(key="data.csv.preview").value
    assert preview["problems"].iloc[0] == "" and "decimal comma" in preview["layout"].iloc[0]
    at.button(key="data.csv.import").click().run()
    assert any("Imported 1 of 1 file(s), 2 rows stored" in s.value for s in at.success)
    assert workflows.load_prices(seeded_db, ["QQQ"])["close"].tolist() == [1234.5, 1240.25]


def test_a_bookmarked_page_opens_through_the_router(
    seeded_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session whose first request names a page (a bookmark of /data) runs app.py, which
    draws the sidebar and then the page: no page runs on its own."""
    monkeypatch.setenv("WORKBENCH_DB", str(seeded_db))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("views/data.py").run()  # before any other run of the session
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Data"]
    assert at.sidebar.selectbox(key="global.watchlist").value == "Sample universe"


def test_as_of_date_reaches_back_to_the_first_stored_day(app: AppTest) -> None:
    as_of = app.sidebar.date_input(key="global.as_of")
    assert str(as_of.min) == "1990-01-02"
    as_of.set_value(pd.Timestamp("2008-10-10").date()).run()
    universe = frame_with(app, "ret_20d")
    assert (universe["last_date"] == pd.Timestamp("2008-10-10")).all()
    assert metrics(app)["Fresh"] == "20"


def test_watchlists_show_their_history_and_record_a_dated_removal(
    app: AppTest, seeded_db: Path
) -> None:
    at = open_data_page(app)
    at.selectbox(key="data.lists.pick").set_value("Seed portfolio").run()
    at.text_input(key="data.lists.change.ticker").set_value("wmt")
    at.date_input(key="data.lists.change.date").set_value(pd.Timestamp("2022-06-01").date())
    next(b for b in at.button if b.label == "Record that it left").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("WMT left 'Seed portfolio' on 2022-06-01" in s.value for s in at.success)
    history = frame_with(at, "removed").set_index("ticker")
    assert history.loc["WMT", "removed"] == "2022-06-01"
    assert history.loc["KDK", "added"] == "since its data starts"
    # the default training window: five years to the as-of date 2022-12-28
    assert any(
        "0 added, 1 removed between 2017-12-29 and 2022-12-28; 4 tickers were members at some "
        "point of it, 3 are members today" in c.value
        for c in at.caption
    )
    assert workflows.load_watchlist(seeded_db, "Seed portfolio") == ["KDK", "HOOD", "BA"]
    at.text_input(key="data.lists.change.ticker").set_value("wmt")
    at.date_input(key="data.lists.change.date").set_value(pd.Timestamp("2022-01-03").date())
    next(b for b in at.button if b.label == "Record that it joined").click().run()
    assert any("until 2022-06-01" in e.value for e in at.error)


def test_training_page_counts_the_window_members_and_today(app: AppTest, seeded_db) -> None:
    workflows.remove_from_watchlist(seeded_db, "Sample universe", "GE", "2020-03-02")
    app.switch_page("views/training.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(
        "Watchlist **Sample universe**: 0 added, 1 removed between 2017-12-29 and 2022-12-28; "
        "20 tickers were members at some point of it, 19 are members today" in m.value
        for m in app.markdown
    )

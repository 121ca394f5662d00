"""The Macro & sentiment page: how to configure a key, refreshing with one, results shown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engine import workflows


def open_page(at: AppTest) -> AppTest:
    at.switch_page("views/sources.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_without_keys_the_page_says_how_to_configure_them(app: AppTest) -> None:
    at = open_page(app)
    assert [t.value for t in at.title] == ["Macro & sentiment"]
    assert [t.label for t in at.tabs] == ["Macro (FRED)", "News and insider filings (Finnhub)"]
    infos = " ".join(i.value for i in at.info)
    assert "`FRED_API_KEY`" in infos and "`FINNHUB_API_KEY`" in infos
    assert at.button(key="sources.macro.run").disabled
    assert at.button(key="sources.news.run").disabled
    assert any("No macro series stored yet" in c.value for c in at.caption)


def test_a_key_from_the_environment_or_secrets_enables_refreshing(
    app: AppTest, secrets_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FRED's key in both places (the environment wins, as everywhere), Finnhub's in the
    file only."""
    calls = []

    def fake_refresh(db_path, key, progress=None, *, include_btc=True):
        calls.append((key, include_btc))
        outcomes = pd.DataFrame(
            [("DGS10", "stored", 11, "")], columns=["name", "outcome", "rows", "reason"]
        )
        message = "Stored 11 new or revised values"
        return workflows.SourceRefresh("ok", "FRED", 11, message, outcomes)

    monkeypatch.setenv(workflows.FRED_KEY_ENV, "abc")
    monkeypatch.setattr(workflows, "refresh_macro", fake_refresh)
    secrets_file.write_text('FRED_API_KEY = "from-the-file"\nFINNHUB_API_KEY = "from-the-file"\n')
    at = open_page(app)
    assert not at.button(key="sources.macro.run").disabled
    assert not at.button(key="sources.news.run").disabled  # the key came from the file
    at.checkbox(key="sources.macro.btc").uncheck()
    at.button(key="sources.macro.run").click().run()
    assert calls == [("abc", False)]
    assert any("Stored 11 new or revised values" in s.value for s in at.success)

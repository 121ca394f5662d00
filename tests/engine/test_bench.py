"""The benchmark entry point runs and reports what it measured (no timing asserted)."""

import json

from engine.bench.__main__ import main


def test_store_benchmark_prints_its_figures(capsys) -> None:
    result = main(["store", "--tickers", "6", "--days", "100", "--repeats", "3"])
    printed = json.loads(capsys.readouterr().out)
    assert printed == result
    assert result["benchmark"] == "store"
    assert result["rows"] == result["read_all_rows"] == 600
    assert result["read_one_rows"] == 100
    for key in ("ingest_s", "read_one_ms", "read_all_s", "peer_ingest_s", "ingest_ratio_vs_peer"):
        assert result[key] > 0
    assert result["machine"]["cpus"] >= 1

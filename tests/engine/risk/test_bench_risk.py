"""The risk benchmark runs through the entry point and reports what it measured."""

from __future__ import annotations

import json

from engine.bench.__main__ import BENCHMARKS, main


def test_risk_benchmark_reports_its_timings_and_exact_sums(capsys) -> None:
    result = main(["risk", "--tickers", "30", "--days", "300"])
    assert json.loads(capsys.readouterr().out) == result
    assert result["benchmark"] == "risk" and result["tickers"] == 30
    assert result["factors"] == 11 + 6 and result["attribution_sessions"] == 299
    for key in BENCHMARKS["risk"][2]:
        assert key in result
    for key in ("exposures_s", "factor_returns_s", "as_of_model_s", "from_prices_s"):
        assert result[key] > 0
    for key in ("time_series_model_s", "statistical_model_s", "attribution_s"):
        assert result[key] > 0
    assert result["from_prices_s"] >= result["as_of_model_s"]
    assert result["attribution_gap"] < 1e-10 and result["euler_gap"] < 1e-10

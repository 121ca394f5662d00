"""Dates out of range, non-finite numbers and other hostile input: 422 naming the field and
what is allowed, never a 500; far-future and non-session dates cost one computation."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from api.app import create_app
from engine import workflows
from engine.data.calendar import check_as_of
from tests.api.conftest import TestClient

TODAY = dt.date.today()
TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()
BAD_DATES = {  # as sent -> as read
    "0001-01-01": "0001-01-01",
    "1677-09-21": "1677-09-21",  # before pandas' first Timestamp
    "1900-01-01": "1900-01-01",
    "1990-01-01": "1990-01-01",  # a holiday before XNYS' first session, 1990-01-02
    TOMORROW: TOMORROW,
    "2262-04-12": "2262-04-12",  # after pandas' last Timestamp
    "9999-12-31": "9999-12-31",
}
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e309", "-1e309"]
# hostile query values and path segments, tried on every route (see test_fuzz_every_route)
HOSTILE = [
    "", " ", "-1", "-5", "0", "9" * 30, "1e309", "NaN", "Infinity", "-Infinity", "%00",
    "\x00", "😀", "Ä" * 100, "' OR 1=1 --", "../../etc/passwd", "A," * 300, ",,,",
    "2019-03-01T25:00", "+002019-03-01", "-2019-03-01", "99999999999", "\u202e",
    "a\nb", "x" * 5000,
]  # fmt: skip


@pytest.fixture(scope="module")
def shared(_trained_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """One copy of the store and a client whose key never reaches its limit, for the tests
    that change nothing stored."""
    path = tmp_path_factory.mktemp("hostile") / "trained.db"
    shutil.copy(_trained_template, path)
    key = workflows.create_api_key(path, "hostile", 10_000_000)[1]
    return path, TestClient(create_app(path), headers={"X-API-Key": key})


def date_message(sent: str) -> str:
    return f"and {TODAY} (today), not {BAD_DATES[sent]}"


@pytest.mark.parametrize("route", ["/forecast/AAPL", "/forecasts"])
@pytest.mark.parametrize("sent", list(BAD_DATES))
def test_as_of_out_of_range_is_422_naming_the_range(shared, route, sent) -> None:
    response = shared[1].get(route, params={"as_of": sent})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("as_of must be a date between 1990-01-02 (the calendar's first")
    assert detail.endswith(date_message(sent))


@pytest.mark.parametrize("sent", ["0", "999993600", "20240205", "2024-2-5", "2024-02-05T00:00"])
def test_dates_are_read_by_the_one_rule_not_as_unix_times(shared, sent) -> None:
    # pydantic read "0" as 1970-01-01 and 999993600 as 2001-09-09 (a Unix time); the
    # project's rule (engine.data.calendar.parse_date) reads YYYY-MM-DD text only
    message = f"{sent!r} is not a date (YYYY-MM-DD)"
    response = shared[1].get("/forecasts", params={"as_of": sent})
    assert response.status_code == 422 and message in response.json()["detail"]
    response = shared[1].post("/retrain", json={"start": sent})
    assert response.status_code == 422 and message in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("field", ["as_of", "start"])
@pytest.mark.parametrize("sent", list(BAD_DATES))
def test_retrain_dates_out_of_range_are_422(shared, field, sent) -> None:
    response = shared[1].post("/retrain", json={field: sent})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert f"{field} must be a date between 1990-01-02" in error["msg"]
    assert error["msg"].endswith(date_message(sent))
    assert workflows.training_status(shared[0]) is None


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ('{"n_boot": %s}', ["body", "n_boot"], "Input should be a finite number"),
        ('{"train_months": %s}', ["body", "train_months"], "Input should be a finite number"),
        ('{"test_months": %s}', ["body", "test_months"], "Input should be a finite number"),
        ('{"tickers": ["AAPL", %s]}', ["body", "tickers", 1], "Input should be a valid string"),
        # dates are read by the project's rule (parse_date), which names the field
        ('{"as_of": %s}', ["body", "as_of"], "Value error, as_of: "),
        ('{"start": %s}', ["body", "start"], "Value error, start: "),
        ('{"unknown": %s}', ["body", "unknown"], "Extra inputs are not permitted"),
        ("%s", ["body"], "Input should be a valid dictionary"),
    ],
)
def test_non_finite_numbers_in_the_body_are_422(shared, value, body, loc, message) -> None:
    raw = (body % value).encode()
    response = shared[1].post("/retrain", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == loc and error["msg"].startswith(message)
    assert workflows.training_status(shared[0]) is None


HOSTILE_BODIES = {  # body -> status: 422 for what JSON can say, 400 for what it cannot parse
    b"[]": 422,
    b'"x"': 422,
    b"1": 422,
    b"true": 422,
    b"\xff\xfe": 422,
    b'{"n_boot": 1' + b"0" * 400 + b"}": 422,
    b'{"n_boot": -1}': 422,
    b'{"n_boot": 50, "n_boot": "x"}': 422,
    b'{"train_months": 1.5}': 422,
    b'{"tickers": []}': 422,
    b'{"tickers": [""]}': 422,
    b'{"tickers": ["\\u0000"]}': 422,
    b'{"tickers": ["\xf0\x9f\x98\x80"]}': 422,
    b'{"as_of": 1e10}': 422,  # a Unix time: 2286-11-20
    b'{"as_of": -1e12}': 422,
    b'{"n_boot": ' + b"9" * 5000 + b"}": 400,  # over Python's 4,300 digits
    b"[" * 5000 + b"]" * 5000: 400,  # nested deeper than the parser recurses
}


def test_hostile_bodies_never_start_a_job(shared) -> None:
    statuses = {
        body: shared[1]
        .post("/retrain", content=body, headers={"Content-Type": "application/json"})
        .status_code
        for body in HOSTILE_BODIES
    }
    assert statuses == HOSTILE_BODIES
    assert workflows.training_status(shared[0]) is None


def test_start_after_as_of_is_422(shared) -> None:
    response = shared[1].post("/retrain", json={"start": "2019-01-01", "as_of": "2018-01-01"})
    assert response.status_code == 422
    assert response.json()["detail"] == "start (2019-01-01) must be before as_of (2018-01-01)"
    assert workflows.training_status(shared[0]) is None


def test_check_as_of_bounds() -> None:
    today = dt.date(2024, 5, 17)
    assert check_as_of(dt.date(1990, 1, 2), today=today) == dt.date(1990, 1, 2)
    assert check_as_of(today, "start", today=today) == today
    for day in (dt.date(1, 1, 1), dt.date(1990, 1, 1), dt.date(2024, 5, 18)):
        with pytest.raises(ValueError, match=f"start must be .* and 2024-05-17 .*not {day}"):
            check_as_of(day, "start", today=today)


def test_dates_are_cached_by_the_session_they_resolve_to(client, monkeypatch) -> None:
    """A weekend and a holiday resolve to the session before them: one computation per
    session; far-future dates are refused before any computation."""
    calls = []
    compute = workflows.sized_forecasts

    def spy(path, tickers, as_of, **kwargs):
        calls.append(as_of)
        return compute(path, tickers, as_of, **kwargs)

    monkeypatch.setattr(workflows, "sized_forecasts", spy)
    sessions = {}
    for sent in ("2019-03-01", "2019-03-02", "2019-03-03", "2019-02-16", "2019-02-18"):
        response = client.get("/forecast/KO", params={"as_of": sent})
        assert response.status_code == 200, response.text
        sessions[sent] = response.json()["as_of"]
    assert sessions == {
        "2019-03-01": "2019-03-01",
        "2019-03-02": "2019-03-01",  # Saturday
        "2019-03-03": "2019-03-01",  # Sunday
        "2019-02-16": "2019-02-15",  # Saturday
        "2019-02-18": "2019-02-15",  # Presidents' Day
    }
    assert [f"{day:%Y-%m-%d}" for day in calls] == ["2019-03-01", "2019-02-15"]
    for year in range(2100, 2110):  # ten far-future dates
        assert client.get("/forecast/KO", params={"as_of": f"{year}-06-01"}).status_code == 422
    assert len(calls) == 2


def fuzz_requests() -> list[tuple[str, str, dict]]:
    """(route template, URL, query) for every hostile value on every GET route."""
    out = []
    for value in HOSTILE:
        segment = quote(value, safe="")
        out += [
            ("/forecast/{ticker}", f"/forecast/{segment}", {}),
            ("/forecast/{ticker}", "/forecast/AAPL", {"as_of": value}),
            ("/forecasts", "/forecasts", {"as_of": value}),
            ("/forecasts", "/forecasts", {"tickers": value}),
            ("/forecasts", "/forecasts", {"watchlist": value}),
            ("/forecasts", "/forecasts", {"top_n": value, "limit": value, "n": value}),
            ("/jobs/{job_id}", f"/jobs/{segment}", {}),
            ("/portfolio/status", "/portfolio/status", {"x": value}),
            ("/metrics", "/metrics", {"x": value}),
            ("/health", "/health", {"x": value}),
        ]
    return out


def test_fuzz_every_route(shared) -> None:
    """Each route answers every hostile value with a status it documents, never a 5xx."""
    allowed = {
        "/forecast/{ticker}": {200, 404, 422},
        "/forecasts": {200, 404, 422},  # top_n and the like are ignored
        "/jobs/{job_id}": {404, 422},
        "/portfolio/status": {404},  # no paper account yet
        "/metrics": {200},
        "/health": {200},
    }
    seen = {}
    for route, url, query in fuzz_requests():
        status = shared[1].get(url, params=query).status_code
        seen.setdefault(route, []).append(status)
        assert status in allowed[route], (url[:60], str(query)[:60], status)
    assert {route: len(statuses) for route, statuses in seen.items()} == {
        "/forecast/{ticker}": 2 * len(HOSTILE),
        "/forecasts": 4 * len(HOSTILE),
        "/jobs/{job_id}": len(HOSTILE),
        "/portfolio/status": len(HOSTILE),
        "/metrics": len(HOSTILE),
        "/health": len(HOSTILE),
    }

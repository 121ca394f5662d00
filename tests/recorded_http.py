"""A mocked HTTP layer: a ``requests`` session that serves recorded answers, never the network.

Routes match on the URL path and a subset of the query parameters; each route holds a
queue of (status, fixture file) answers, the last one repeating. Every request is kept in
``requests`` so tests can check what was asked (and that the key travelled as a parameter).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class RecordedAdapter(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.routes: list[tuple[str, dict[str, str], list[tuple[int, Path]]]] = []
        self.requests: list[dict[str, str]] = []

    def add(self, path: str, answers: list[tuple[int, str]], **params: str) -> None:
        """Answer GETs of ``path`` whose query has ``params`` with ``answers`` in turn."""
        self.routes.append((path, params, [(status, FIXTURES / name) for status, name in answers]))

    def send(self, request, **kwargs) -> requests.Response:
        url = urlsplit(request.url)
        query = dict(parse_qsl(url.query))
        self.requests.append({"path": url.path, **query})
        for path, params, answers in self.routes:
            if url.path == path and _matches(query, params):
                status, file = answers.pop(0) if len(answers) > 1 else answers[0]
                response = requests.Response()
                response.status_code = status
                response._content = file.read_bytes()
                response.headers["Content-Type"] = "application/json"
                response.url = request.url
                response.request = request
                return response
        raise AssertionError(f"no recorded answer for {url.path} {query}")

    def close(self) -> None:
        pass


def _matches(query: Mapping[str, str], params: Mapping[str, str]) -> bool:
    return all(query.get(k) == v for k, v in params.items())


def recorded_session() -> tuple[requests.Session, RecordedAdapter]:
    """A session whose every https:// request goes to a new ``RecordedAdapter``."""
    session = requests.Session()
    adapter = RecordedAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter

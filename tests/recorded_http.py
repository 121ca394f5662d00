"""A mocked HTTP layer: a ``requests`` session that serves recorded answers, never the network.

Routes match on the method, the URL path and a subset of the query parameters; each route
holds a queue of answers, the last one repeating: a (status, fixture file) pair, or an
exception to raise (a connection refused, a timeout). Every request is kept in
``requests`` so tests can check what was asked (and that the key travelled as a
parameter), every request body in ``bodies`` (method, path, JSON body) in order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class RecordedAdapter(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.routes: list[tuple[str, str, dict[str, str], list]] = []
        self.requests: list[dict[str, str]] = []
        self.bodies: list[tuple[str, str, object]] = []

    def add(
        self,
        path: str,
        answers: list[tuple[int, str] | BaseException],
        method: str = "GET",
        **params: str,
    ) -> None:
        """Answer ``method`` requests of ``path`` whose query has ``params`` with
        ``answers`` in turn."""
        queue = [a if isinstance(a, BaseException) else (a[0], FIXTURES / a[1]) for a in answers]
        self.routes.append((method, path, params, queue))

    def send(self, request, **kwargs) -> requests.Response:
        url = urlsplit(request.url)
        query = dict(parse_qsl(url.query))
        self.requests.append({"path": url.path, **query})
        self.bodies.append((request.method, url.path, request.body and json.loads(request.body)))
        for method, path, params, answers in self.routes:
            if request.method == method and url.path == path and _matches(query, params):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if isinstance(answer, BaseException):
                    raise answer
                status, file = answer
                response = requests.Response()
                response.status_code = status
                response._content = file.read_bytes()
                response.headers["Content-Type"] = "application/json"
                response.url = request.url
                response.request = request
                return response
        raise AssertionError(f"no recorded answer for {request.method} {url.path} {query}")

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

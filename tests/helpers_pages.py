"""Helpers for the page tests (TestClient, no browser): log in, read the CSRF token, post forms."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "the page has no CSRF field"
    return m.group(1)


def login(client: TestClient, email: str, password: str) -> Response:
    page = client.get("/logga-in")
    assert page.status_code == 200, page.text
    return client.post("/logga-in", data={"email": email, "password": password,
                                          "csrf_token": csrf_of(page.text), "next": "/"},
                       follow_redirects=False)


def post_form(client: TestClient, form_page: str, action: str, data: dict[str, Any],
              **kw: Any) -> Response:
    """GET the page holding the form (for its token), then POST the form."""
    page = client.get(form_page)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": csrf_of(page.text)},
                       follow_redirects=False, **kw)

"""The page session: a signed cookie (Starlette's SessionMiddleware) holding who is logged in,
when the login expires, the CSRF token and one-shot flash messages."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from starlette.requests import Request

from matchning.storage.tables import UserRow

USER = "uid"
STAMP = "pw"
EXPIRES = "exp"
CSRF = "csrf"
FLASH = "flash"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (also before login: the login form has one)."""
    token = request.session.get(CSRF)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF] = token
    return token


def csrf_ok(request: Request, sent: str | None) -> bool:
    expected = request.session.get(CSRF)
    return bool(expected and sent) and hmac.compare_digest(expected, sent or "")


def begin(request: Request, user: UserRow, stamp: str, hours: float) -> None:
    # A new session id space on login: the old CSRF token (seen before login) is not reused.
    request.session.clear()
    request.session.update({USER: user.id, STAMP: stamp, EXPIRES: time.time() + hours * 3600,
                            CSRF: secrets.token_urlsafe(32)})


def end(request: Request) -> None:
    request.session.clear()


def current(request: Request) -> tuple[int, str] | None:
    """(user id, password stamp) of a live login, or None."""
    uid, stamp, expires = (request.session.get(k) for k in (USER, STAMP, EXPIRES))
    if not isinstance(uid, int) or not isinstance(stamp, str) or not expires:
        return None
    if time.time() > float(expires):
        request.session.clear()
        return None
    return uid, stamp


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session.setdefault(FLASH, []).append({"text": message, "kind": kind})


def pop_flashes(request: Request) -> list[dict[str, Any]]:
    return request.session.pop(FLASH, None) or []

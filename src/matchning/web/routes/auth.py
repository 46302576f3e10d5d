"""Log in with e-mail and password, log out, change one's password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from matchning.api.deps import SessionDep, SettingsDep
from matchning.errors import InvalidInput, TooManyAttempts, Unauthenticated
from matchning.services import users
from matchning.web import forms
from matchning.web import session as web_session
from matchning.web.deps import Csrf, PageCtx
from matchning.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: an open redirect would help phishing.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/logga-in")
def login_form(request: Request, nasta: str | None = None) -> Response:
    if web_session.current(request):
        return RedirectResponse(_safe_next(nasta), status_code=303)
    return render(request, "login.html", {"next": _safe_next(nasta), "email": ""})


@router.post("/logga-in", dependencies=[Csrf])
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    form = await request.form()
    email = forms.text(form, "email") or ""
    target = _safe_next(forms.text(form, "next"))
    try:
        user = users.guarded_check(session, email, str(form.get("password") or ""),
                                   request.app.state.login_guard,
                                   request.client.host if request.client else None)
    except (Unauthenticated, TooManyAttempts) as exc:
        return render(request, "login.html", {"next": target, "email": email,
                                              "error": exc.message},
                      status=429 if isinstance(exc, TooManyAttempts) else 401)
    web_session.begin(request, user, users.password_stamp(user), settings.session_hours)
    return RedirectResponse(target, status_code=303)


@router.post("/logga-ut", dependencies=[Csrf])
def logout(request: Request) -> Response:
    web_session.end(request)
    web_session.flash(request, "Du är utloggad.")
    return RedirectResponse("/logga-in", status_code=303)


@router.get("/konto/losenord")
def password_form(request: Request, ctx: PageCtx) -> Response:
    return render(request, "password.html", {"errors": {}})


@router.post("/konto/losenord", dependencies=[Csrf])
async def change_password(request: Request, ctx: PageCtx, settings: SettingsDep) -> Response:
    form = await request.form()
    current, new, again = (str(form.get(k) or "") for k in ("current", "new", "again"))
    errors: dict[str, str] = {}
    if new != again:
        errors["again"] = "Lösenorden är inte likadana."
    else:
        try:
            user = users.change_own_password(ctx, current, new)
        except InvalidInput as exc:
            errors = {("new" if k == "password" else k): v
                      for k, v in forms.field_errors(exc).items()}
    if errors:
        return render(request, "password.html", {"errors": errors}, status=422)
    # The session continues with the new stamp; other sessions of the user end.
    web_session.begin(request, user, users.password_stamp(user), settings.session_hours)
    web_session.flash(request, "Ditt lösenord är bytt.")
    return RedirectResponse("/", status_code=303)

"""Unit admin pages: the unit's users (create, deactivate, passwords, API tokens) and the unit's
rule settings. System admins use them too, for every unit and for employer users."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from matchning.api.routes.bodies import TokenIn
from matchning.errors import Conflict, InvalidInput
from matchning.services import employers, unit_settings, units, users
from matchning.services.context import Context
from matchning.services.users import UserData
from matchning.storage.tables import UserRow
from matchning.web import admin_forms, forms
from matchning.web import session as web_session
from matchning.web.deps import Csrf, PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/enhet", include_in_schema=False)
PAGE = 50
CHOICES = 1000  # units and employers offered in the system admin's selects


def _unit_names(ctx: Context) -> dict[int, str]:
    rows, _ = units.list_units(ctx, CHOICES, 0)
    return {u.id: u.name for u in rows}


def _employer_names(ctx: Context, ids: set[int]) -> dict[int, str]:
    return {i: employers.get(ctx, i).name for i in sorted(ids)}


# --- the list and the new-user form ----------------------------------------------------------

@router.get("/anvandare")
def users_page(request: Request, ctx: PageCtx, roll: str | None = None,
               offset: int = 0) -> Response:
    allowed = dict(admin_forms.filter_roles(ctx.principal))
    role = roll if roll in allowed else None
    offset = max(offset, 0)
    rows, total = users.list_users(ctx, PAGE, offset, role)
    return render(request, "admin/users.html", {
        "rows": rows, "total": total, "offset": offset, "limit": PAGE, "role": role,
        "roles": list(allowed.items()), "base": "/enhet/anvandare?" + urlencode(
            {"roll": role} if role else {}),
        "unit_names": _unit_names(ctx),
        "employer_names": _employer_names(ctx, {r.employer_id for r in rows
                                                if r.employer_id is not None}),
    })


def _new_form(request: Request, ctx: PageCtx, values: dict[str, Any], errors: dict[str, str],
              status: int = 200) -> Response:
    p = ctx.principal
    employer_choices: list[tuple[int, str]] = []
    unit_choices: list[tuple[int, str]] = []
    if p.is_system_admin:
        unit_choices = sorted(_unit_names(ctx).items(), key=lambda kv: kv[1])
        rows, _ = employers.list_employers(ctx, CHOICES, 0)
        employer_choices = sorted(((e.id, e.name) for e in rows), key=lambda kv: kv[1])
    return render(request, "admin/user_new.html", {
        "v": values, "errors": errors, "roles": admin_forms.role_choices(p),
        "unit_choices": unit_choices, "employer_choices": employer_choices,
    }, status=status)


@router.get("/anvandare/ny")
def new_user_form(request: Request, ctx: PageCtx) -> Response:
    users.list_users(ctx, 1, 0)  # the same check as the list: admins only
    return _new_form(request, ctx, {"role": "consultant"}, {})


@router.post("/anvandare/ny", dependencies=[Csrf])
async def create_user(request: Request, ctx: PageCtx) -> Response:
    users.list_users(ctx, 1, 0)  # admins only, before the form says anything
    form = await request.form()
    values, errors = admin_forms.parse_user(form, ctx.principal)
    status = 422
    if not errors:
        try:
            row = users.create(ctx, UserData.model_validate(values))
        except (InvalidInput, ValidationError) as exc:
            ctx.session.rollback()
            errors = forms.field_errors(exc)
        except Conflict as exc:
            ctx.session.rollback()
            errors, status = {"email": exc.message}, 409
        else:
            web_session.flash(request, f"Användaren {row.email} är skapad.")
            return RedirectResponse(f"/enhet/anvandare/{row.id}", status_code=303)
    return _new_form(request, ctx, admin_forms.echo_user(form), errors, status)


# --- one user: active, password, tokens ------------------------------------------------------

def _user_page(request: Request, ctx: PageCtx, user_id: int, *, status: int = 200,
               **extra: Any) -> Response:
    row = users.get(ctx, user_id)
    now = ctx.now()
    tokens = [(t, admin_forms.token_state(t, now)) for t in users.tokens(ctx, user_id)]
    unit = _unit_names(ctx).get(row.unit_id) if row.unit_id is not None else None
    employer = employers.get(ctx, row.employer_id).name if row.employer_id is not None \
        else None
    return render(request, "admin/user.html", {
        "u": row, "own": row.id == ctx.principal.user_id, "tokens": tokens,
        "unit_name": unit, "employer_name": employer,
        "token_days": ctx.settings.token_ttl_days,
        **{"errors": {}, "secret": None, "top_error": None, "tv": {}, **extra},
    }, status=status)


@router.get("/anvandare/{user_id}")
def user_page(request: Request, user_id: int, ctx: PageCtx) -> Response:
    return _user_page(request, ctx, user_id)


@router.post("/anvandare/{user_id}/aktiv", dependencies=[Csrf])
async def set_active(request: Request, user_id: int, ctx: PageCtx) -> Response:
    form = await request.form()
    active = forms.text(form, "active") == "ja"
    try:
        row: UserRow = users.update(ctx, user_id, active=active)
    except Conflict as exc:
        ctx.session.rollback()
        return _user_page(request, ctx, user_id, status=409, top_error=exc.message)
    web_session.flash(request, f"{row.email} är {'aktiverad' if active else 'inaktiverad'}."
                      + ("" if active else " Användaren kan inte logga in och dess tokens "
                                           "fungerar inte längre."))
    return RedirectResponse(f"/enhet/anvandare/{user_id}", status_code=303)


@router.post("/anvandare/{user_id}/losenord", dependencies=[Csrf])
async def reset_password(request: Request, user_id: int, ctx: PageCtx) -> Response:
    form = await request.form()
    generate = forms.text(form, "generate") == "ja"
    new, again = (str(form.get(k) or "") for k in ("new_password", "new_password_again"))
    errors: dict[str, str] = {}
    if generate:
        new = admin_forms.generate_password()
    elif not new:
        errors["new_password"] = "Skriv ett nytt lösenord, eller låt systemet skapa ett."
    elif len(new) > admin_forms.PASSWORD_MAX:
        errors["new_password"] = f"Lösenordet får ha högst {admin_forms.PASSWORD_MAX} tecken."
    elif new != again:
        errors["new_password_again"] = "Lösenorden är inte likadana."
    if not errors:
        try:
            row = users.update(ctx, user_id, password=new)
        except InvalidInput as exc:
            ctx.session.rollback()
            errors = {"new_password": next(iter(forms.field_errors(exc).values()))}
        else:
            if generate:  # shown once, in this response only; never in the session cookie
                return _user_page(request, ctx, user_id, secret={
                    "kind": "password", "value": new,
                    "title": f"Nytt lösenord för {row.email}"})
            web_session.flash(request, f"Lösenordet för {row.email} är bytt. Användaren "
                                       "loggas ut från webben där den är inloggad.")
            return RedirectResponse(f"/enhet/anvandare/{user_id}", status_code=303)
    return _user_page(request, ctx, user_id, status=422, errors=errors)


@router.post("/anvandare/{user_id}/token", dependencies=[Csrf])
async def issue_token(request: Request, user_id: int, ctx: PageCtx) -> Response:
    form = await request.form()
    typed = {"token_name": forms.text(form, "token_name") or "",
             "ttl_days": forms.text(form, "ttl_days") or ""}
    try:
        body = TokenIn.model_validate({"name": typed["token_name"],
                                       "ttl_days": typed["ttl_days"] or None})
    except ValidationError as exc:
        errors = {("token_name" if k == "name" else k): v
                  for k, v in forms.field_errors(exc).items()}
        return _user_page(request, ctx, user_id, status=422, errors=errors, tv=typed)
    try:
        issued = users.issue_token(ctx, user_id, body.name, body.ttl_days)
    except Conflict as exc:
        ctx.session.rollback()
        return _user_page(request, ctx, user_id, status=409,
                          errors={"token_name": exc.message}, tv=typed)
    return _user_page(request, ctx, user_id, secret={
        "kind": "token", "value": issued.token, "expires": issued.row.expires_at,
        "title": f"Ny API-token{': ' + body.name if body.name else ''}"})


@router.post("/anvandare/{user_id}/token/{token_id}/aterkalla", dependencies=[Csrf])
def revoke_token(request: Request, user_id: int, token_id: int, ctx: PageCtx) -> Response:
    row = users.revoke_token(ctx, user_id, token_id)
    web_session.flash(request, f"Token {row.name or row.id} är återkallad och fungerar inte "
                               "längre.")
    return RedirectResponse(f"/enhet/anvandare/{user_id}", status_code=303)


# --- the unit's settings ---------------------------------------------------------------------

def _unit_of(ctx: Context, enhet: int | None) -> int | None:
    """The unit the page is about: the admin's own, or the one a system admin picked."""
    p = ctx.principal
    if p.is_system_admin:
        return enhet if enhet is not None else next(iter(_unit_names(ctx)), None)
    return p.unit_id


def _plain(value: Any) -> Any:
    """30.0 as "30" and 30.5 as "30,5", as a Swede types them."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value).replace(".", ",")
    return value


def _settings_page(request: Request, ctx: PageCtx, unit_id: int | None,
                   values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                   status: int = 200) -> Response:
    if unit_id is None:
        unit_settings.require_any_editor(ctx)
        return render(request, "admin/settings.html", {"unit": None, "units": []})
    unit, current = unit_settings.current(ctx, unit_id)
    shown = {k: _plain(v) for k, v in current.items()}
    return render(request, "admin/settings.html", {
        "unit": unit, "v": values or shown, "errors": errors or {},
        "fields": admin_forms.SETTING_FIELDS,
        "units": sorted(_unit_names(ctx).items(), key=lambda kv: kv[1])
        if ctx.principal.is_system_admin else [],
        "same_kommun_km": ctx.settings.same_kommun_distance_km,
    }, status=status)


@router.get("/installningar")
def settings_page(request: Request, ctx: PageCtx, enhet: int | None = None) -> Response:
    return _settings_page(request, ctx, _unit_of(ctx, enhet))


@router.post("/installningar", dependencies=[Csrf])
async def save_settings(request: Request, ctx: PageCtx) -> Response:
    form = await request.form()
    picked = forms.text(form, "enhet")
    unit_id = _unit_of(ctx, int(picked) if picked and picked.isdigit() else None)
    values, errors = admin_forms.parse_settings(form)
    if unit_id is None:
        unit_settings.require_any_editor(ctx)
        return RedirectResponse("/enhet/installningar", status_code=303)
    try:
        if errors:  # the other fields' problems too, all at once
            unit_settings.check({k: v for k, v in values.items() if k not in errors})
        else:
            unit_settings.update(ctx, unit_id, values)
    except InvalidInput as exc:
        ctx.session.rollback()
        errors = {**forms.field_errors(exc), **errors}
    if not errors:
        web_session.flash(request, "Inställningarna är sparade. De gäller från nästa "
                                   "förslag.")
        query = f"?enhet={unit_id}" if ctx.principal.is_system_admin else ""
        return RedirectResponse(f"/enhet/installningar{query}", status_code=303)
    typed = {f.key: forms.text(form, f.key) or "" for f in admin_forms.SETTING_FIELDS}
    return _settings_page(request, ctx, unit_id, typed, errors, 422)

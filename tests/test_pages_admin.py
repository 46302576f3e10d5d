"""The admin pages: the unit's users and settings (unit admin), the models, retraining and the
run history (system admin). TestClient, no browser.

One world per backend (module scope): two units, an employer, a few users with passwords and
three saved model versions. The versions hold a small stand-in object instead of a fitted
model (the pages only list, promote and roll back; `registry.load` checks the checksum and the
library versions, not the object), so the module needs no demo world and no training. The
retrain button runs the real begin / lock / background thread / execute path with the
learning step replaced by a quick stand-in that writes its progress, saves a version and
finishes the run the way `retraining._cycle` does (the real cycle is tested in
test_lifecycle_api). Writes are committed (the background job needs its own connections);
tests create their own users with unique addresses, and the model tests start from the same
state: version A active, no runs or activations but the fixture's.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.vocab import Role
from matchning.ml import registry
from matchning.ml.registry import METADATA
from matchning.services import retraining, unit_settings, units
from matchning.services.retrain_lock import RetrainLock
from matchning.storage.db import make_session_factory, unit_of_work
from matchning.storage.repositories import audit, models
from matchning.storage.repositories import users as users_repo
from matchning.storage.tables import (
    ActiveModelRow,
    ApiTokenRow,
    AuditRow,
    ModelActivationRow,
    RetrainRunRow,
    UnitRow,
    UserRow,
)
from matchning.web import model_views, plots
from tests.conftest import backend_engine
from tests.factories import World
from tests.helpers_api import API, quick_user
from tests.helpers_pages import csrf_of, login, post_form

PASSWORD = "Admin-lösen-2026"
PNG = b"\x89PNG\r\n\x1a\n"
_seq = itertools.count(1)

A_META = {
    "training_window": {"from": "2025-05-01", "to": "2026-10-31"},
    "rows": {"rows": 2857, "positives": 261, "placements": 571, "feedback": 91,
             "sampled_negatives": 1200},
    "estimator": "gradient_boosting+sigmoid",
    "validation": {"gradient_boosting+sigmoid": {"auc": 0.7031, "log_loss": 0.5467,
                                                 "brier": 0.1839},
                   "logistic_regression+sigmoid": {"auc": 0.6852, "log_loss": 0.5545,
                                                   "brier": 0.1879}},
    "features": ["occupation_match", "distance_km"],
}


def _evaluated(model: float, popularity: float, promote: bool, reason: str) -> dict[str, Any]:
    return {**A_META,
            "evaluation": {
                "split": {"test_from": "2026-07-10", "test_to": "2026-10-31",
                          "test_placements": 113},
                "systems": [
                    {"system": "model", "ndcg@10": model, "recall@10": 0.56, "mrr": 0.28,
                     "coverage": 0.77, "rule_violations": 0, "ece": 0.0712},
                    {"system": "random_feasible", "ndcg@10": 0.2114, "recall@10": 0.46,
                     "mrr": 0.16, "coverage": 0.91, "rule_violations": 0},
                    {"system": "employer_popularity", "ndcg@10": popularity,
                     "recall@10": 0.6, "mrr": 0.32, "coverage": 0.63, "rule_violations": 0}],
                "calibration": {"ece": 0.0712}},
            "gate": {"promote": promote, "reason": reason, "active_version": None,
                     "active_metrics": {}}}


@dataclass
class Admin:
    app: Any
    engine: Engine
    factory: sessionmaker[Session]
    settings: Settings
    world: World
    unit_a: int
    unit_b: int
    employer: int
    emails: dict[str, str]
    ids: dict[str, int]
    browsers: dict[str, TestClient]
    versions: tuple[str, str, str]
    baseline: dict[str, int]

    def as_(self, role: str) -> TestClient:
        return self.browsers[role]

    def user(self, email: str) -> UserRow | None:
        with self.factory() as session:
            return users_repo.user_by_email(session, email)

    def active(self) -> str | None:
        with self.factory() as session:
            row = models.active_model(session)
            return row.version if row else None

    def unit_settings(self, unit_id: int) -> dict[str, Any]:
        with self.factory() as session:
            row = session.get(UnitRow, unit_id)
            assert row is not None
            return dict(row.settings)

    def count(self, table: Any) -> int:
        with self.factory() as session:
            return session.scalar(select(func.count()).select_from(table)) or 0

    def reset_models(self) -> None:
        """Version A active; no activations, runs or audit rows but the fixture's."""
        with unit_of_work(self.factory) as session:
            for table in (ModelActivationRow, RetrainRunRow, AuditRow):
                session.execute(delete(table).where(
                    table.id > self.baseline[table.__tablename__]))
            row = session.get(ActiveModelRow, models.NAME)
            assert row is not None
            row.version = self.versions[0]

    def new_target(self, role: Role = Role.consultant, unit: str = "a") -> tuple[int, str]:
        """A user to act on, without a password (no argon2): (id, e-mail)."""
        email = f"mal{next(_seq)}@exempel.se"
        actor = quick_user(self.world, role, unit_id=self.unit_a if unit == "a"
                           else self.unit_b, email=email)
        return actor.user_id, email


def _save_version(models_dir: Path, meta: dict[str, Any]) -> str:
    return registry.save({"stand_in": True}, models_dir, meta)


def _max_ids(session: Session) -> dict[str, int]:
    return {t.__tablename__: session.scalar(select(func.max(t.id))) or 0
            for t in (ModelActivationRow, RetrainRunRow, AuditRow)}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def admin(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          own_retrain_lock_key: None) -> Iterator[Admin]:
    tmp = tmp_path_factory.mktemp("admin_pages")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        factory = make_session_factory(engine)
        world = World(factory, settings)
        unit_a = world.unit(name="Arbetsmarknadsenheten Gävle", kommuner=["2180"])
        unit_b = world.unit(name="Arbetsmarknadsenheten Umeå", kommuner=["2480"])
        employer = world.employer(name="Åkes Bageri AB")
        emails = {"unit_admin": "enhetsadmin@exempel.se", "system_admin": "sysadmin@exempel.se",
                  "consultant": "konsulent@exempel.se", "employer": "arbetsgivare@exempel.se",
                  "other_unit": "umea@exempel.se"}
        ids = {
            "unit_admin": world.user(Role.unit_admin, unit_id=unit_a, password=PASSWORD,
                                     email=emails["unit_admin"]).user_id,
            "system_admin": world.user(Role.system_admin, password=PASSWORD,
                                       email=emails["system_admin"]).user_id,
            "consultant": world.user(Role.consultant, unit_id=unit_a, password=PASSWORD,
                                     email=emails["consultant"]).user_id,
            "employer": world.user(Role.employer, employer_id=employer, password=PASSWORD,
                                   email=emails["employer"]).user_id,
            "other_unit": quick_user(world, Role.consultant, unit_id=unit_b,
                                     email=emails["other_unit"]).user_id,
        }
        models_dir = settings.models_dir
        a = _save_version(models_dir, A_META)
        b = _save_version(models_dir, _evaluated(
            0.3311, 0.3692, True, "ingen aktiv modell att jämföra med; "
                                  "rimlighetskontrollerna godkända"))
        c = _save_version(models_dir, _evaluated(
            0.3003, 0.3512, False, "sämre än den aktiva modellen: NDCG@10 0.300 mot 0.331 "
                                   "(tolerans 0.01)"))
        with unit_of_work(factory) as session:
            models.activate(session, a, at=retraining.now(), by=None, action="train")
        with factory() as session:
            baseline = _max_ids(session)
        app = create_app(settings=settings, engine=engine)
        with TestClient(app) as main:
            # One client (cookie jar) per role over the same app; only `main` runs the lifespan.
            browsers = {"anon": main}
            for role in ("unit_admin", "system_admin", "consultant", "employer"):
                client = TestClient(app)
                r = login(client, emails[role], PASSWORD)
                assert r.status_code == 303, r.text
                browsers[role] = client
            yield Admin(app, engine, factory, settings, world, unit_a, unit_b, employer,
                        emails, ids, browsers, (a, b, c), baseline)


@pytest.fixture
def adm(admin: Admin) -> Iterator[Admin]:
    admin.reset_models()
    yield admin
    admin.reset_models()


def field_error(html: str, field: str) -> str:
    """The error shown next to the field (its id is `<field>-fel`)."""
    m = re.search(rf'<p class="field-error" id="{re.escape(field)}-fel">([^<]*)</p>', html)
    assert m, f"no error next to {field!r}"
    return m.group(1)


def follow(client: TestClient, r: Response) -> Response:
    assert r.status_code == 303, r.text
    return client.get(r.headers["location"])


def user_form(**kw: Any) -> dict[str, Any]:
    return {"email": f"ny{next(_seq)}@exempel.se", "display_name": "Örjan Ek",
            "role": "consultant", "password": "", "password_again": "", **kw}


# --- who may see what ------------------------------------------------------------------------

ADMIN_PAGES = ["/enhet/anvandare", "/enhet/anvandare/ny", "/enhet/installningar"]
SYSTEM_PAGES = ["/admin/modeller", "/admin/modeller/diagram.png", "/admin/korningar"]


def test_pages_refuse_roles_that_may_not_use_them(adm: Admin) -> None:
    for url in ADMIN_PAGES + SYSTEM_PAGES:
        r = adm.as_("anon").get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/logga-in"), url
    for role in ("consultant", "employer"):
        for url in ADMIN_PAGES + SYSTEM_PAGES:
            r = adm.as_(role).get(url)
            assert r.status_code == 403, (role, url, r.status_code)
            assert "Du har inte behörighet" in r.text
    for url in [*SYSTEM_PAGES, f"/admin/modeller/{adm.versions[1]}"]:
        assert adm.as_("unit_admin").get(url).status_code == 403, url
    # another unit's user does not exist for a unit admin; system admins see everyone
    r = adm.as_("unit_admin").get(f"/enhet/anvandare/{adm.ids['other_unit']}")
    assert r.status_code == 404 and "Sidan finns inte" in r.text
    assert adm.as_("system_admin").get(
        f"/enhet/anvandare/{adm.ids['other_unit']}").status_code == 200
    # a refused write changes nothing
    r = post_form(adm.as_("consultant"), "/deltagare", "/admin/omtraning", {})
    assert r.status_code == 403
    r = post_form(adm.as_("unit_admin"), "/enhet/anvandare", "/admin/omtraning", {})
    assert r.status_code == 403
    r = post_form(adm.as_("unit_admin"), "/enhet/anvandare",
                  f"/admin/modeller/{adm.versions[1]}/aktivera", {})
    assert r.status_code == 403
    assert adm.count(RetrainRunRow) == adm.baseline["retrain_runs"]
    assert adm.active() == adm.versions[0]


def test_post_without_csrf_token_is_refused(adm: Admin) -> None:
    sysadmin, unit_admin = adm.as_("system_admin"), adm.as_("unit_admin")
    email = f"utan-token{next(_seq)}@exempel.se"
    r = unit_admin.post("/enhet/anvandare/ny", data=user_form(email=email))
    assert r.status_code == 403 and "Formuläret har gått ut" in r.text
    assert adm.user(email) is None
    before = adm.unit_settings(adm.unit_a)
    r = unit_admin.post("/enhet/installningar", data={"start_horizon_days": "7"})
    assert r.status_code == 403 and adm.unit_settings(adm.unit_a) == before
    target, _ = adm.new_target()
    r = unit_admin.post(f"/enhet/anvandare/{target}/aktiv", data={"active": "nej",
                                                                   "csrf_token": "fel"})
    assert r.status_code == 403
    assert sysadmin.post("/admin/omtraning").status_code == 403
    assert sysadmin.post(f"/admin/modeller/{adm.versions[1]}/aktivera").status_code == 403
    assert sysadmin.post("/admin/modeller/aterga").status_code == 403
    assert adm.count(RetrainRunRow) == adm.baseline["retrain_runs"]
    assert adm.active() == adm.versions[0]
    with adm.factory() as session:
        assert session.get(UserRow, target).active is True


# --- users -----------------------------------------------------------------------------------

def test_unit_admin_sees_the_units_users(adm: Admin) -> None:
    page = adm.as_("unit_admin").get("/enhet/anvandare")
    assert page.status_code == 200
    assert "<h1>Användare</h1>" in page.text
    assert adm.emails["consultant"] in page.text and adm.emails["unit_admin"] in page.text
    assert adm.emails["other_unit"] not in page.text  # another unit
    assert adm.emails["employer"] not in page.text    # employers belong to no unit
    assert "Arbetsmarknadsenheten Gävle" in page.text
    only_admins = adm.as_("unit_admin").get("/enhet/anvandare", params={"roll": "unit_admin"})
    assert adm.emails["unit_admin"] in only_admins.text
    assert adm.emails["consultant"] not in only_admins.text

    every = adm.as_("system_admin").get("/enhet/anvandare")
    assert every.status_code == 200
    for key in ("consultant", "employer", "other_unit", "system_admin"):
        assert adm.emails[key] in every.text, key
    assert "Åkes Bageri AB" in every.text


def test_unit_admin_creates_a_consultant_who_can_log_in(adm: Admin) -> None:
    client = adm.as_("unit_admin")
    form = client.get("/enhet/anvandare/ny")
    assert form.status_code == 200
    assert 'value="employer"' not in form.text  # only system admins create employer users
    assert 'name="unit_id"' not in form.text    # a unit admin's users join its own unit
    email = f"Ny.Konsulent{next(_seq)}@Exempel.se"
    r = post_form(client, "/enhet/anvandare/ny", "/enhet/anvandare/ny", user_form(
        email=email, password="Första-lösen-1", password_again="Första-lösen-1"))
    page = follow(client, r)
    assert page.status_code == 200 and f"Användaren {email.lower()} är skapad." in page.text
    row = adm.user(email.lower())
    assert row is not None and row.role == "consultant" and row.unit_id == adm.unit_a
    assert row.active and row.password_hash
    assert login(TestClient(adm.app), email, "Första-lösen-1").status_code == 303

    # without a password: created, and told it cannot log in yet
    email = f"utanlosen{next(_seq)}@exempel.se"
    r = post_form(client, "/enhet/anvandare/ny", "/enhet/anvandare/ny",
                  user_form(email=email, role="unit_admin"))
    page = follow(client, r)
    assert "Inget ännu" in page.text
    row = adm.user(email)
    assert row is not None and row.role == "unit_admin" and row.password_hash is None


def test_create_user_shows_errors_next_to_the_fields(adm: Admin) -> None:
    client = adm.as_("unit_admin")
    users_before = adm.count(UserRow)
    cases = [
        (user_form(email="inte-en-adress"), "email", "Ogiltig e-postadress", 422),
        (user_form(password="kort", password_again="kort"), "password", "minst 10 tecken",
         422),
        (user_form(password="Långt-lösen-1", password_again="Annat-lösen-1"),
         "password_again", "inte likadana", 422),
        (user_form(email=adm.emails["consultant"].upper()), "email", "finns redan", 409),
    ]
    for data, field, words, status in cases:
        r = post_form(client, "/enhet/anvandare/ny", "/enhet/anvandare/ny", data)
        assert r.status_code == status, (field, r.status_code)
        assert words in field_error(r.text, field), field
        assert 'class="error-summary"' in r.text
        if field != "email":  # what was typed comes back, never the password
            assert data["email"] in r.text
        if data["password"]:
            assert f'value="{data["password"]}"' not in r.text
    assert adm.count(UserRow) == users_before
    # a role the unit admin may not give: refused, nothing stored
    email = f"arbetsgivare{next(_seq)}@exempel.se"
    r = post_form(client, "/enhet/anvandare/ny", "/enhet/anvandare/ny",
                  user_form(email=email, role="employer"))
    assert r.status_code == 403 and adm.user(email) is None


def test_system_admin_creates_an_employer_user(adm: Admin) -> None:
    client = adm.as_("system_admin")
    form = client.get("/enhet/anvandare/ny")
    assert 'value="employer"' in form.text and "Åkes Bageri AB" in form.text
    email = f"bageri{next(_seq)}@exempel.se"
    r = post_form(client, "/enhet/anvandare/ny", "/enhet/anvandare/ny",
                  user_form(email=email, role="employer"))
    assert r.status_code == 422
    assert "befintlig arbetsgivare" in field_error(r.text, "employer_id")
    assert adm.user(email) is None
    r = post_form(client, "/enhet/anvandare/ny", "/enhet/anvandare/ny", user_form(
        email=email, role="employer", employer_id=str(adm.employer),
        unit_id=str(adm.unit_a)))  # the unit select is ignored for an employer user
    assert "Åkes Bageri AB" in follow(client, r).text
    row = adm.user(email)
    assert row is not None and row.employer_id == adm.employer and row.unit_id is None
    # a consultant needs a unit
    r = post_form(client, "/enhet/anvandare/ny", "/enhet/anvandare/ny",
                  user_form(role="consultant"))
    assert r.status_code == 422 and "befintlig enhet" in field_error(r.text, "unit_id")


def test_deactivate_and_activate_a_user(adm: Admin) -> None:
    client = adm.as_("unit_admin")
    target, email = adm.new_target()
    page = client.get(f"/enhet/anvandare/{target}")
    assert page.status_code == 200 and "Inaktivera användaren" in page.text
    assert 'data-confirm="Inaktivera' in page.text
    r = post_form(client, f"/enhet/anvandare/{target}", f"/enhet/anvandare/{target}/aktiv",
                  {"active": "nej"})
    assert f"{email} är inaktiverad." in follow(client, r).text
    assert adm.user(email).active is False  # type: ignore[union-attr]
    assert email in client.get("/enhet/anvandare").text
    r = post_form(client, f"/enhet/anvandare/{target}", f"/enhet/anvandare/{target}/aktiv",
                  {"active": "ja"})
    assert f"{email} är aktiverad." in follow(client, r).text
    assert adm.user(email).active is True  # type: ignore[union-attr]

    # one's own account: no such buttons, and the service refuses it
    own = adm.ids["unit_admin"]
    page = client.get(f"/enhet/anvandare/{own}")
    assert "Inaktivera användaren" not in page.text and "/konto/losenord" in page.text
    r = client.post(f"/enhet/anvandare/{own}/aktiv",
                    data={"active": "nej", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 409 and "ditt eget konto" in r.text
    assert adm.user(adm.emails["unit_admin"]).active is True  # type: ignore[union-attr]


def test_reset_a_password_typed_twice_or_generated(adm: Admin) -> None:
    client = adm.as_("unit_admin")
    target, email = adm.new_target()
    url = f"/enhet/anvandare/{target}"
    r = post_form(client, url, f"{url}/losenord", {"new_password": "Nytt-lösen-123",
                                                   "new_password_again": "Nytt-lösen-12"})
    assert r.status_code == 422
    assert "inte likadana" in field_error(r.text, "new_password_again")
    r = post_form(client, url, f"{url}/losenord", {"new_password": "kort",
                                                   "new_password_again": "kort"})
    assert r.status_code == 422 and "minst 10" in field_error(r.text, "new_password")
    assert adm.user(email).password_hash is None  # type: ignore[union-attr]

    r = post_form(client, url, f"{url}/losenord", {"new_password": "Nytt-lösen-123",
                                                   "new_password_again": "Nytt-lösen-123"})
    assert f"Lösenordet för {email} är bytt" in follow(client, r).text
    assert login(TestClient(adm.app), email, "Nytt-lösen-123").status_code == 303

    r = post_form(client, url, f"{url}/losenord", {"generate": "ja"})
    assert r.status_code == 200
    generated = re.search(r'id="hemlighet"[^>]*>([^<]+)</textarea>', r.text)
    assert generated, "the generated password is shown"
    password = generated.group(1)
    assert len(password) >= 15 and "visas bara den här gången" in r.text
    assert password not in r.headers.get("set-cookie", "")  # never in the session cookie
    assert password not in client.get(url).text              # shown once
    assert login(TestClient(adm.app), email, "Nytt-lösen-123").status_code == 401
    assert login(TestClient(adm.app), email, password).status_code == 303


def test_issue_and_revoke_an_api_token(adm: Admin) -> None:
    client = adm.as_("unit_admin")
    target, email = adm.new_target()
    url = f"/enhet/anvandare/{target}"
    tokens_before = adm.count(ApiTokenRow)
    r = post_form(client, url, f"{url}/token", {"token_name": "Verksamhetssystemet",
                                                "ttl_days": "0"})
    assert r.status_code == 422 and "minst 1" in field_error(r.text, "ttl_days")
    assert "Verksamhetssystemet" in r.text  # what was typed comes back
    assert adm.count(ApiTokenRow) == tokens_before

    r = post_form(client, url, f"{url}/token", {"token_name": "Verksamhetssystemet",
                                                "ttl_days": "30"})
    assert r.status_code == 200
    found = re.search(r'id="hemlighet"[^>]*>(mt_[^<]+)</textarea>', r.text)
    assert found and "Kopiera token nu" in r.text
    token = found.group(1)
    assert adm.count(ApiTokenRow) == tokens_before + 1
    api = TestClient(adm.app)
    me = api.get(f"{API}/users/{target}", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == email
    page = client.get(url)
    assert token not in page.text and "Verksamhetssystemet" in page.text

    with adm.factory() as session:
        token_id = session.scalars(select(ApiTokenRow.id).where(
            ApiTokenRow.user_id == target, ApiTokenRow.name == "Verksamhetssystemet")).one()
    r = post_form(client, url, f"{url}/token/{token_id}/aterkalla", {})
    assert "är återkallad" in follow(client, r).text
    assert api.get(f"{API}/users/{target}",
                   headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # another unit's user's tokens are out of reach
    other = adm.ids["other_unit"]
    r = post_form(client, url, f"/enhet/anvandare/{other}/token", {"token_name": "x"})
    assert r.status_code == 404


# --- settings --------------------------------------------------------------------------------

def test_unit_settings_cover_every_default() -> None:
    assert set(unit_settings.UnitSettings.model_fields) == set(units.DEFAULT_UNIT_SETTINGS)
    assert unit_settings.UnitSettings().model_dump() == units.DEFAULT_UNIT_SETTINGS


def _settings_form(**kw: str) -> dict[str, str]:
    return {"start_horizon_days": "45", "reduced_hours_max": "25,5", "rejection_days": "60",
            "recent_abort_days": "0", "default_max_commute_km": "40", **kw}


def test_unit_admin_changes_the_rule_settings(adm: Admin) -> None:
    client = adm.as_("unit_admin")
    page = client.get("/enhet/installningar")
    assert page.status_code == 200
    assert "Arbetsmarknadsenheten Gävle" in page.text
    assert "startar inom så här många dagar" in page.text  # hints say what each does
    assert 'id="start_horizon_days"' in page.text and 'for="start_horizon_days"' in page.text
    assert "5,0 km" in page.text  # the installation's same-kommun distance, read only

    r = post_form(client, "/enhet/installningar", "/enhet/installningar", _settings_form())
    assert "Inställningarna är sparade" in follow(client, r).text
    assert adm.unit_settings(adm.unit_a) == {
        "start_horizon_days": 45, "reduced_hours_max": 25.5, "rejection_days": 60,
        "recent_abort_days": 0, "default_max_commute_km": 40}
    assert 'value="25,5"' in client.get("/enhet/installningar").text

    saved = adm.unit_settings(adm.unit_a)
    r = post_form(client, "/enhet/installningar", "/enhet/installningar", _settings_form(
        start_horizon_days="två veckor", reduced_hours_max="99", rejection_days=""))
    assert r.status_code == 422
    assert "heltal" in field_error(r.text, "start_horizon_days")
    assert "Fyll i" in field_error(r.text, "rejection_days")
    assert 'value="två veckor"' in r.text  # what was typed comes back
    assert adm.unit_settings(adm.unit_a) == saved
    r = post_form(client, "/enhet/installningar", "/enhet/installningar",
                  _settings_form(reduced_hours_max="99", recent_abort_days="-1"))
    assert r.status_code == 422
    assert "högst 40" in field_error(r.text, "reduced_hours_max")
    assert "minst 0" in field_error(r.text, "recent_abort_days")
    assert adm.unit_settings(adm.unit_a) == saved


def test_system_admin_edits_any_units_settings(adm: Admin) -> None:
    client = adm.as_("system_admin")
    page = client.get("/enhet/installningar", params={"enhet": adm.unit_b})
    assert page.status_code == 200 and "Inställningar för Arbetsmarknadsenheten Umeå" in page.text
    r = post_form(client, f"/enhet/installningar?enhet={adm.unit_b}", "/enhet/installningar",
                  {**_settings_form(start_horizon_days="90"), "enhet": str(adm.unit_b)})
    assert r.headers["location"] == f"/enhet/installningar?enhet={adm.unit_b}"
    assert adm.unit_settings(adm.unit_b)["start_horizon_days"] == 90
    assert client.get("/enhet/installningar", params={"enhet": 987654}).status_code == 404


# --- models ----------------------------------------------------------------------------------

def test_models_page_shows_versions_metrics_and_the_plot(adm: Admin) -> None:
    a, b, c = adm.versions
    page = adm.as_("system_admin").get("/admin/modeller")
    assert page.status_code == 200
    html = page.text
    assert html.index(c) < html.index(b)  # newest first (after the active-model summary)
    assert f'<a href="/admin/modeller/{a}"><strong>{a}</strong></a>' in html  # the active one
    assert html.count("tag-active") == 1
    for words in ("0,331", "0,300", "0,703", "0,547", "0,071", "bästa jämförelse 0,369",
                  "Inte godkänd: sämre än den aktiva modellen", "Tränad direkt, utan kontroll",
                  "2025-05-01 – 2026-10-31", "571 placeringar"):
        assert words in html, words
    # promote each saved version but the active one, with a confirmation; roll back; retrain
    assert f'action="/admin/modeller/{b}/aktivera"' in html
    assert f'action="/admin/modeller/{a}/aktivera"' not in html
    assert 'action="/admin/modeller/aterga"' in html and "Återgå till föregående" in html
    assert html.count("data-confirm=") == 3
    assert 'action="/admin/omtraning"' in html and "Starta omträning" in html
    # the figure with a text alternative, and the same numbers in a table
    img = re.search(r'<img class="plot" src="/admin/modeller/diagram.png"[^>]*alt="([^"]+)"',
                    html)
    assert img and "NDCG@10" in img.group(1) and "0,300" in img.group(1)
    assert "Arbetsgivarens resultat" in html and "0,351" in html and "0,211" in html

    png = adm.as_("system_admin").get("/admin/modeller/diagram.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(PNG)


def test_plot_is_a_png_with_or_without_data() -> None:
    names = model_views.SYSTEM_NAMES
    assert plots.ndcg_chart([], names).startswith(PNG)
    points = [("2026-11-01 02:30", {"model": 0.3, "random_feasible": 0.2,
                                    "lightfm_hybrid": None}),
              ("2026-11-02 02:30", {"model": 0.35, "random_feasible": float("nan")})]
    assert plots.ndcg_chart(points, names).startswith(PNG)
    assert "2 senaste" in model_views.chart_text(points)


def test_version_page_shows_the_model_against_its_baselines(adm: Admin) -> None:
    b = adm.versions[1]
    page = adm.as_("system_admin").get(f"/admin/modeller/{b}")
    assert page.status_code == 200
    for words in (f"Version {b}", "Slumpvis bland möjliga", "0,211", "0,369", "Godkänd",
                  "logistic_regression+sigmoid", "113 placeringar"):
        assert words in page.text, words
    assert adm.as_("system_admin").get(
        "/admin/modeller/20200101T000000Z-000000").status_code == 404


def test_promote_and_roll_back(adm: Admin) -> None:
    a, b, c = adm.versions
    client = adm.as_("system_admin")
    r = post_form(client, "/admin/modeller", f"/admin/modeller/{b}/aktivera", {})
    assert f"Version {b} är aktiv nu" in follow(client, r).text
    assert adm.active() == b
    r = post_form(client, "/admin/modeller", f"/admin/modeller/{c}/aktivera", {})
    assert adm.active() == c
    r = post_form(client, "/admin/modeller", "/admin/modeller/aterga", {})
    assert f"Tillbaka på version {b}" in follow(client, r).text and adm.active() == b
    r = post_form(client, "/admin/modeller", "/admin/modeller/aterga", {})
    assert adm.active() == a
    # A's own activation has nothing before it: 409 on the page, nothing changed
    r = post_form(client, "/admin/modeller", "/admin/modeller/aterga", {})
    assert r.status_code == 409 and "ingen tidigare version" in r.text
    assert "<h1>Modeller</h1>" in r.text and adm.active() == a
    with adm.factory() as session:
        done = [(x.version, x.action, x.activated_by) for x in session.scalars(
            select(ModelActivationRow).where(
                ModelActivationRow.id > adm.baseline["model_activations"])
            .order_by(ModelActivationRow.id))]
    me = adm.ids["system_admin"]
    assert done == [(b, "promote", me), (c, "promote", me), (b, "rollback", me),
                    (a, "rollback", me)]


def test_a_version_that_does_not_load_is_not_promoted(adm: Admin) -> None:
    root = Path(adm.settings.models_dir)
    name = f"kopia-{next(_seq)}"
    shutil.copytree(root / adm.versions[2], root / name)
    meta = json.loads((root / name / METADATA).read_text(encoding="utf-8"))
    meta.update(version=name, libraries={"scikit-learn": "0.24.2", "numpy": "1.19.5"})
    (root / name / METADATA).write_text(json.dumps(meta), encoding="utf-8")
    try:
        r = post_form(adm.as_("system_admin"), "/admin/modeller",
                      f"/admin/modeller/{name}/aktivera", {})
        assert r.status_code == 409 and "Versionen kan inte aktiveras" in r.text
        assert adm.active() == adm.versions[0]
    finally:
        shutil.rmtree(root / name)


# --- retraining ------------------------------------------------------------------------------

def _quick_cycle(factory, settings: Settings, run_id: int, seed: int, hook):
    """`retraining._cycle` without the learning: the same progress writes, a saved version, and
    the run finished and the version activated in one transaction."""
    step = retraining._step
    step(factory, run_id, "läser historiken", hook)
    with factory() as session:
        active = models.active_model(session)
        active_version = active.version if active else None
    step(factory, run_id, "tränar på hela historiken", hook, data_rows=321)
    metrics = {"ndcg@10": 0.3456, "coverage": 0.8, "ece": 0.05, "rule_violations": 0,
               "test_placements": 113}
    reason = "ingen aktiv modell att jämföra med; rimlighetskontrollerna godkända"
    version = _save_version(settings.models_dir, _evaluated(0.3456, 0.3312, True, reason))
    step(factory, run_id, "beslutar", hook)
    with unit_of_work(factory) as session:
        models.activate(session, version, at=retraining.now(), by=None, action="retrain",
                        run_id=run_id)
        audit.record(session, user_id=None, action="model.retrain", subject_type="model",
                     subject_id=version, model_version=version, detail={"run_id": run_id})
        models.finish_run(session, run_id, status="promoted", at=retraining.now(),
                          reason=reason, candidate_version=version,
                          candidate_metrics={**metrics, "same_window": None},
                          active_metrics={"note": "ingen aktiv modell att jämföra med"},
                          active_version=active_version, progress="klar")
    return retraining.RetrainOutcome(run_id, "promoted", reason, version, metrics, {})


def _wait_until_done(adm: Admin, client: TestClient, run_id: int, timeout: float = 60) -> str:
    """The job page once the run has ended, and the lock free again."""
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(f"/admin/jobb/{run_id}")
        assert page.status_code == 200, page.text
        if "data-poll" not in page.text:
            break
        assert time.monotonic() < deadline, "the run did not finish: the job was blocked?"
        time.sleep(0.1)
    lock = RetrainLock(adm.engine, adm.settings)
    while not lock.try_acquire():  # released in execute()'s `finally`, just after
        assert time.monotonic() < deadline, "the retrain lock was not released"
        time.sleep(0.05)
    lock.release()
    return page.text


def test_retrain_button_runs_in_the_background_and_shows_progress(
        adm: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run waits after its first step until the test has seen the page say so and has
    been refused a second run; then it finishes, with the request's session long closed."""
    monkeypatch.setattr(retraining, "_cycle", _quick_cycle)
    reached, go_on = threading.Event(), threading.Event()
    execute = retraining.execute

    def held(*args: Any, **kw: Any) -> retraining.RetrainOutcome:
        def hook(step: str) -> None:
            if not reached.is_set():
                reached.set()
                go_on.wait(30)
        return execute(*args, hook=hook, **kw)

    monkeypatch.setattr(retraining, "execute", held)
    client = adm.as_("system_admin")
    try:
        r = post_form(client, "/admin/modeller", "/admin/omtraning", {})
        assert r.status_code == 303, r.text
        job = r.headers["location"]
        run_id = int(job.rsplit("/", 1)[1])
        assert reached.wait(30)
        page = client.get(job)
        assert page.status_code == 200
        assert 'data-poll="3"' in page.text and "Pågår" in page.text
        assert "läser historiken" in page.text and "<meta http-equiv" not in page.text

        again = post_form(client, "/admin/modeller", "/admin/omtraning", {})
        assert again.status_code == 409
        assert "En omträning pågår redan" in again.text
        assert f'href="/admin/jobb/{run_id}"' in again.text
        history = client.get("/admin/korningar")
        assert f"Körning {run_id}" in history.text and "Pågår" in history.text
    finally:
        go_on.set()

    done = _wait_until_done(adm, client, run_id)
    assert "Klar – aktiverad" in done and "0,346" in done and "321" in done
    with adm.factory() as session:
        run = models.run(session, run_id)
        assert run is not None and run.status == "promoted" and run.trigger == "api"
        assert run.requested_by == adm.ids["system_admin"]
        new = run.candidate_version
        assert session.scalar(select(func.count()).select_from(RetrainRunRow).where(
            RetrainRunRow.id > adm.baseline["retrain_runs"])) == 1  # the refused one left none
    assert new and f'href="/admin/modeller/{new}"' in done
    assert adm.active() == new
    models_page = client.get("/admin/modeller").text
    assert f"<strong>{new}</strong>" in models_page and "0,346" in models_page


def test_run_history_is_paged(adm: Admin) -> None:
    with unit_of_work(adm.factory) as session:
        for i in range(27):
            row = models.start_run(session, trigger="scheduler", by=None, host="test", pid=1,
                                   at=retraining.now(), active_version=adm.versions[0])
            models.finish_run(session, row.id, status="rejected" if i % 2 else "failed",
                              at=retraining.now(), reason=f"skäl nummer {i}")
    client = adm.as_("system_admin")
    first = client.get("/admin/korningar")
    assert first.status_code == 200 and "27 omträningar" in first.text
    assert "skäl nummer 26" in first.text and "skäl nummer 0<" not in first.text
    assert "Schemat" in first.text and "Misslyckades" in first.text
    assert 'href="/admin/korningar?&offset=25"' in first.text
    second = client.get("/admin/korningar", params={"offset": 25})
    assert "skäl nummer 0<" in second.text and "skäl nummer 26" not in second.text
    one = re.search(r'href="/admin/jobb/(\d+)"', second.text)
    assert one
    job = client.get(f"/admin/jobb/{one.group(1)}")
    assert job.status_code == 200 and "data-poll" not in job.text
    assert client.get("/admin/jobb/987654").status_code == 404

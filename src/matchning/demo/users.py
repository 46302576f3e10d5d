"""Units, users and the API tokens of the demo logins."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from matchning.demo.config import EMAIL_DOMAIN, PASSWORDS, TOKEN_DAYS, UNIT_ID
from matchning.demo.names import ORIGIN_KEYS, pick_names
from matchning.demo.places import Geography
from matchning.security import hash_password, new_token, token_hash


@dataclass
class Staff:
    """User rows in id order, with where each kind starts (0-based positions)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    consultant_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    team_size: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    employer_user: dict[int, int] = field(default_factory=dict)  # employer index -> position
    login_positions: dict[str, int] = field(default_factory=dict)


def unit_rows(geo: Geography, ids: dict[str, int], created: datetime) -> list[dict[str, Any]]:
    return [{
        "id": ids["units"] + u.number, "external_id": UNIT_ID.format(u.number),
        "name": u.name, "kommuner": [geo.codes[k] for k in u.kommuner],
        "settings": {"demo": True}, "created_at": created, "updated_at": created,
    } for u in geo.units]


def make_staff(rng: np.random.Generator, geo: Geography, team_size: np.ndarray,
               employer_users: np.ndarray, created: datetime) -> Staff:
    """System admin, one unit admin per unit, consultants, and users of some employers.
    Users of one role share one password hash (argon2 is slow on purpose; hashing it once per
    role keeps huge worlds fast)."""
    hashes = {role: hash_password(pw) for role, pw in PASSWORDS.items()}
    n_staff = 1 + len(geo.units) + int(team_size.sum())
    names = pick_names(rng, rng.choice(len(ORIGIN_KEYS), n_staff + len(employer_users),
                                       p=_staff_origins()),
                       rng.random(n_staff + len(employer_users)) < 0.6)
    staff = Staff(team_size=team_size)

    def add(email: str, role: str, unit: int | None, employer: int | None) -> int:
        staff.rows.append({
            "email": email, "display_name": names[len(staff.rows)],
            "password_hash": hashes[role], "role": role, "unit": unit, "employer": employer,
            "active": True, "created_at": created, "updated_at": created,
        })
        return len(staff.rows) - 1

    staff.login_positions["system_admin"] = add(f"systemadmin@{EMAIL_DOMAIN}", "system_admin",
                                                None, None)
    for u in geo.units:
        pos = add(f"enhetsadmin{u.number}@{EMAIL_DOMAIN}", "unit_admin", u.number - 1, None)
        staff.login_positions.setdefault("unit_admin", pos)
    starts = []
    for u, size in zip(geo.units, team_size, strict=True):
        starts.append(len(staff.rows))
        for j in range(int(size)):
            add(f"konsulent{u.number}-{j + 1:03d}@{EMAIL_DOMAIN}", "consultant",
                u.number - 1, None)
    staff.consultant_start = np.array(starts, dtype=np.int64)
    staff.login_positions["consultant"] = starts[0]
    for e in employer_users:
        staff.employer_user[int(e)] = add(f"arbetsgivare-{int(e) + 1:06d}@{EMAIL_DOMAIN}",
                                          "employer", None, int(e))
    if len(employer_users):
        staff.login_positions["employer"] = staff.employer_user[int(employer_users[0])]
    return staff


def _staff_origins() -> np.ndarray:
    p = np.full(len(ORIGIN_KEYS), 0.2 / (len(ORIGIN_KEYS) - 1))
    p[0] = 0.8
    return p


def user_rows(staff: Staff, ids: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for pos, row in enumerate(staff.rows):
        r = {k: v for k, v in row.items() if k not in ("unit", "employer")}
        r["id"] = ids["users"] + pos + 1
        r["unit_id"] = None if row["unit"] is None else ids["units"] + row["unit"] + 1
        r["employer_id"] = (None if row["employer"] is None
                            else ids["employers"] + row["employer"] + 1)
        out.append(r)
    return out


def login_tokens(staff: Staff, ids: dict[str, int]
                 ) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """One login per role (password and a fresh API token) and the token rows to store."""
    now = datetime.now(UTC).replace(microsecond=0)
    logins, tokens = [], []
    for k, (role, pos) in enumerate(staff.login_positions.items()):
        token = new_token()
        logins.append({"role": role, "email": staff.rows[pos]["email"],
                       "password": PASSWORDS[role], "token": token})
        tokens.append({
            "id": ids["api_tokens"] + k + 1, "user_id": ids["users"] + pos + 1,
            "name": "demo", "token_hash": token_hash(token), "created_at": now,
            "expires_at": now + timedelta(days=TOKEN_DAYS), "revoked_at": None,
            "last_used_at": None,
        })
    return logins, tokens

"""A bearer token's last use is recorded coarsely, and never makes a request wait for
another request that is recording it (services.users.authenticate_token)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from matchning import security
from matchning.domain.vocab import Role
from matchning.errors import Unauthenticated
from matchning.services import users
from matchning.services.users import LAST_USED_RESOLUTION
from matchning.storage.db import unit_of_work
from matchning.storage.tables import ApiTokenRow
from tests.factories import World


def _last_used(world: World, token: str) -> datetime | None:
    with world.factory() as s:
        return s.scalar(select(ApiTokenRow.last_used_at)
                        .where(ApiTokenRow.token_hash == security.token_hash(token)))


def _auth(world: World, token: str, now: datetime):
    with unit_of_work(world.factory) as s:
        return users.authenticate_token(s, token, now)


def test_first_use_is_recorded_then_only_after_the_resolution(world: World) -> None:
    unit = world.unit()
    actor = world.user(Role.consultant, unit_id=unit)
    t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert _last_used(world, actor.token) is None

    p = _auth(world, actor.token, t0)
    assert (p.user_id, p.role, p.unit_id) == (actor.user_id, Role.consultant, unit)
    assert _last_used(world, actor.token).replace(tzinfo=UTC) == t0

    _auth(world, actor.token, t0 + LAST_USED_RESOLUTION - timedelta(seconds=1))
    assert _last_used(world, actor.token).replace(tzinfo=UTC) == t0  # too soon to write
    later = t0 + LAST_USED_RESOLUTION + timedelta(seconds=1)
    _auth(world, actor.token, later)
    assert _last_used(world, actor.token).replace(tzinfo=UTC) == later


def test_unknown_revoked_and_expired_tokens_are_refused(world: World) -> None:
    actor = world.user(Role.consultant, unit_id=world.unit())
    now = datetime.now(UTC)
    with pytest.raises(Unauthenticated):
        _auth(world, "mt_" + "x" * 40, now)
    with pytest.raises(Unauthenticated):
        _auth(world, actor.token, now + timedelta(days=10_000))  # past its expiry
    with world.factory.begin() as s:
        s.execute(ApiTokenRow.__table__.update().values(revoked_at=now))
    with pytest.raises(Unauthenticated):
        _auth(world, actor.token, now)


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_a_request_does_not_wait_for_another_recording_the_same_token(world: World) -> None:
    """PostgreSQL: while one transaction holds the token's row (recording its use), another
    request with the same token authenticates at once and leaves the row to that one."""
    actor = world.user(Role.consultant, unit_id=world.unit())
    holder = world.factory()
    holder.execute(text("SELECT id FROM api_tokens FOR UPDATE"))  # as a request mid-way
    done: list[object] = []
    try:
        t = threading.Thread(target=lambda: done.append(
            _auth(world, actor.token, datetime.now(UTC))))
        t.start()
        t.join(10)
        assert not t.is_alive(), "authentication waited for the other transaction's lock"
        assert done and done[0].user_id == actor.user_id
    finally:
        holder.rollback()
        holder.close()
    assert _last_used(world, actor.token) is None  # the holder's to write; it rolled back

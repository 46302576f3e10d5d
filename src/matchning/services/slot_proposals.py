"""How many proposals wait for an answer on each slot: a count, no participant data."""

from __future__ import annotations

from matchning.domain.vocab import Role
from matchning.services.context import Context
from matchning.storage.repositories import slot_proposals


def waiting(ctx: Context, slot_ids: list[int]) -> dict[int, int]:
    """{slot id: proposals waiting for the employer's answer}; an employer counts only on
    its own slots (another employer's slot counts 0)."""
    p = ctx.principal
    employer_id = None
    if p.role is Role.employer:
        if p.employer_id is None:
            return {}
        employer_id = p.employer_id
    return slot_proposals.waiting_counts(ctx.session, slot_ids, employer_id)

"""Who is acting: the authenticated user as the services see it (no HTTP, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass

from matchning.domain.vocab import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    email: str
    role: Role
    unit_id: int | None = None
    employer_id: int | None = None

    @property
    def is_system_admin(self) -> bool:
        return self.role is Role.system_admin

    @property
    def is_unit_staff(self) -> bool:
        """Consultant or unit admin: works with the unit's participants."""
        return self.role in (Role.consultant, Role.unit_admin)

    def in_unit(self, unit_id: int | None) -> bool:
        return self.is_unit_staff and unit_id is not None and self.unit_id == unit_id

    def owns_employer(self, employer_id: int | None) -> bool:
        return self.role is Role.employer and employer_id is not None and \
            self.employer_id == employer_id


# A system principal for the CLI and scheduled jobs: acts with system rights.
SYSTEM = Principal(user_id=0, email="system", role=Role.system_admin)

"""audit log: user and unit ids as wide as the ids they hold

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 08:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's INTEGER is already 64-bit; only PostgreSQL's columns were 32-bit while user and
# unit ids are BIGINT, so a query by a large user id failed there (found by schemathesis).
COLUMNS = ('user_id', 'unit_id')


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name in COLUMNS:
        op.alter_column('audit_log', name, type_=sa.BigInteger(), existing_type=sa.Integer(),
                        existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name in COLUMNS:
        op.alter_column('audit_log', name, type_=sa.Integer(), existing_type=sa.BigInteger(),
                        existing_nullable=True)

"""change counters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 22:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table('change_counters',
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_change_counters'))
    )
    op.bulk_insert(table, [{"name": "slots", "value": 0}])


def downgrade() -> None:
    op.drop_table('change_counters')

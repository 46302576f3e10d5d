"""active model

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('active_model',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_by', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_active_model'))
    )


def downgrade() -> None:
    op.drop_table('active_model')

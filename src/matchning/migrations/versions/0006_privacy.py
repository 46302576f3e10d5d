"""privacy: the unit of each audit row

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_log_unit_id'), ['unit_id'], unique=False)
    # Rows written before this revision: the unit of the participant they are about.
    op.execute(
        "UPDATE audit_log SET unit_id = (SELECT participants.unit_id FROM participants "
        "WHERE CAST(participants.id AS VARCHAR(64)) = audit_log.subject_id) "
        "WHERE subject_type = 'participant'")


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_unit_id'))
        batch_op.drop_column('unit_id')

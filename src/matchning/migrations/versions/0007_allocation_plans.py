"""allocation plans and their pairs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 07:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('allocation_plans',
    sa.Column('id', ID, nullable=False),
    sa.Column('unit_id', ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', ID, nullable=True),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('options', JSON, nullable=False),
    sa.Column('inputs', JSON, nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_allocation_plans_unit_id_units')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_allocation_plans_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_plans'))
    )
    op.create_index(op.f('ix_allocation_plans_unit_id'), 'allocation_plans', ['unit_id'], unique=False)
    op.create_table('allocation_pairs',
    sa.Column('id', ID, nullable=False),
    sa.Column('plan_id', ID, nullable=False),
    sa.Column('participant_id', ID, nullable=False),
    sa.Column('slot_id', ID, nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('override_reason', sa.String(length=1000), nullable=True),
    sa.Column('placement_id', ID, nullable=True),
    sa.Column('decided_by', ID, nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['allocation_plans.id'], name=op.f('fk_allocation_pairs_plan_id_allocation_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_allocation_pairs_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], name=op.f('fk_allocation_pairs_slot_id_slots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.id'], name=op.f('fk_allocation_pairs_placement_id_placements')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_allocation_pairs_decided_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_pairs')),
    sa.UniqueConstraint('plan_id', 'participant_id', name=op.f('uq_allocation_pairs_plan_id'))
    )
    op.create_index(op.f('ix_allocation_pairs_plan_id'), 'allocation_pairs', ['plan_id'], unique=False)
    op.create_index(op.f('ix_allocation_pairs_participant_id'), 'allocation_pairs', ['participant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_allocation_pairs_participant_id'), table_name='allocation_pairs')
    op.drop_index(op.f('ix_allocation_pairs_plan_id'), table_name='allocation_pairs')
    op.drop_table('allocation_pairs')
    op.drop_index(op.f('ix_allocation_plans_unit_id'), table_name='allocation_plans')
    op.drop_table('allocation_plans')

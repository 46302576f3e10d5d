"""precomputed suggestions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('precomputed_suggestions',
    sa.Column('id', ID, nullable=False),
    sa.Column('unit_id', ID, nullable=False),
    sa.Column('participant_id', ID, nullable=False),
    sa.Column('slot_id', ID, nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('distance_km', sa.Float(), nullable=True),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_precomputed_suggestions_unit_id_units')),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_precomputed_suggestions_participant_id_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], name=op.f('fk_precomputed_suggestions_slot_id_slots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_precomputed_suggestions')),
    sa.UniqueConstraint('participant_id', 'rank', name=op.f('uq_precomputed_suggestions_participant_id'))
    )
    op.create_index(op.f('ix_precomputed_suggestions_unit_id'), 'precomputed_suggestions', ['unit_id'], unique=False)
    op.create_index('ix_precomputed_suggestions_slot_rank', 'precomputed_suggestions', ['slot_id', 'rank'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_precomputed_suggestions_slot_rank', table_name='precomputed_suggestions')
    op.drop_index(op.f('ix_precomputed_suggestions_unit_id'), table_name='precomputed_suggestions')
    op.drop_table('precomputed_suggestions')

"""model lifecycle: activation history and retrain runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 21:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('model_activations',
    sa.Column('id', ID, nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('previous', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_by', sa.Integer(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_activations'))
    )
    op.create_table('retrain_runs',
    sa.Column('id', ID, nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('trigger', sa.String(length=12), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress', sa.String(length=200), nullable=False),
    sa.Column('data_rows', sa.Integer(), nullable=True),
    sa.Column('candidate_version', sa.String(length=64), nullable=True),
    sa.Column('active_version', sa.String(length=64), nullable=True),
    sa.Column('candidate_metrics', JSON, nullable=False),
    sa.Column('active_metrics', JSON, nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retrain_runs'))
    )
    op.create_index(op.f('ix_retrain_runs_status'), 'retrain_runs', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_retrain_runs_status'), table_name='retrain_runs')
    op.drop_table('retrain_runs')
    op.drop_table('model_activations')

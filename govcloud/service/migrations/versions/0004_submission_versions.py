"""Submissions carry an optimistic version and a claim: revise, withdraw, approve, reject and apply
are one state machine whose transitions check the version in the UPDATE's WHERE, and a transition
that writes the workspace claims the row first (docs/service-approvals.md).

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        # Existing rows start at version 1, as SQLAlchemy's counter does for a new row.
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('claim', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=63), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('claim')
        batch_op.drop_column('version')

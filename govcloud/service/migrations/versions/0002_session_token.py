"""Sessions remember the access token they were opened with, so that revoking the token ends them.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_sessions_token_id'), ['token_id'], unique=False)
    # Sessions opened with a token before this migration do not know their token, so revoking it
    # could not end them: they end now (their users sign in again).
    op.execute("DELETE FROM sessions WHERE authentication = 'token'")


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_token_id'))
        batch_op.drop_column('token_id')

"""identity checks: the conversation that made them, and conversation lockouts

Revision ID: 5b7e2c9d1f40
Revises: 16a181dee514
Create Date: 2026-12-04 03:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5b7e2c9d1f40'
down_revision: str | None = '16a181dee514'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('identity_conversation_lockouts',
    sa.Column('conversation_id', sa.String(length=200), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_identity_conversation_lockouts'))
    )
    with op.batch_alter_table('identity_checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conversation_id', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_identity_checks_conversation_id'), ['conversation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('identity_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_checks_conversation_id'))
        batch_op.drop_column('conversation_id')
    op.drop_table('identity_conversation_lockouts')

"""employers and workplaces members named that the data team has not yet checked

Revision ID: aa8cfd4d35a5
Revises: 33f8099c4e4e
Create Date: 2026-12-03 08:37:35.968634

A name a member gives that is not on the register is kept but counts for no ballot until the
data team has checked it; everything already on the register was put there by staff.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'aa8cfd4d35a5'
down_revision: str | None = '33f8099c4e4e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('employers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_review', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('workplaces', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_review', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('workplaces', schema=None) as batch_op:
        batch_op.drop_column('needs_review')

    with op.batch_alter_table('employers', schema=None) as batch_op:
        batch_op.drop_column('needs_review')


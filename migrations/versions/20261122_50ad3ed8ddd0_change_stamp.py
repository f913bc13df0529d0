"""Change stamps: a row per area of data (1 other, 2 plans, 3 results, 4 actions), replaced
by a new random value by every commit that writes in it; caches of rendered pages key on them

Revision ID: 50ad3ed8ddd0
Revises: f742a580377c
Create Date: 2026-11-22 20:59:12.387330

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '50ad3ed8ddd0'
down_revision = 'f742a580377c'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('change_stamp',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_stamp'))
    )
    op.bulk_insert(table, [{'id': area, 'value': secrets.randbits(62)} for area in (1, 2, 3, 4)])


def downgrade():
    op.drop_table('change_stamp')

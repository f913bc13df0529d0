"""The index on action.deleted_at holds deleted actions only (a partial index): the index of
every action's deleted_at led SQLite's planner to read every action through it for the
board's "deleted_at IS NULL", instead of the unit's actions through unit_id

Revision ID: c3d9a6e1f284
Revises: b7e3f05a1c62
Create Date: 2026-12-04 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d9a6e1f284'
down_revision = 'b7e3f05a1c62'
branch_labels = None
depends_on = None

DELETED = sa.text("deleted_at IS NOT NULL")


def upgrade():
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index('ix_action_deleted_at')
        batch_op.create_index(
            'ix_action_deleted_at',
            ['deleted_at'],
            unique=False,
            sqlite_where=DELETED,
            postgresql_where=DELETED,
        )


def downgrade():
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index('ix_action_deleted_at')
        batch_op.create_index('ix_action_deleted_at', ['deleted_at'], unique=False)

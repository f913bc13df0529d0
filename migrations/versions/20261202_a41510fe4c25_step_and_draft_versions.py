"""A version on each follow-up step and each annual-report draft (follow_up_step.version,
report_draft.version), as actions have one: a save made from an older version is refused,
so no one's saved text is overwritten unseen

Revision ID: a41510fe4c25
Revises: 9403ab1f16f3
Create Date: 2026-12-02 13:27:28.177868

Existing rows get version 1 (the column's server default, kept for rows written outside the
app); SQLAlchemy counts it up from there on every change.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a41510fe4c25'
down_revision = '9403ab1f16f3'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('follow_up_step', 'report_draft'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('version', sa.Integer(), nullable=False, server_default='1')
            )


def downgrade():
    for table in ('report_draft', 'follow_up_step'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')

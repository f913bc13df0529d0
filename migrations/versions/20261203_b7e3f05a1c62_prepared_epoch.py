"""The organisation counts its releases of prepared sections (organisation.prepared_epoch):
a section is kept under the count it was rendered at, so one rendered from a release that
another process replaced meanwhile is never read after it

Revision ID: b7e3f05a1c62
Revises: 5c1d7e2a9b40
Create Date: 2026-12-03 10:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3f05a1c62'
down_revision = '5c1d7e2a9b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('prepared_epoch', sa.Integer(), server_default='0', nullable=False)
        )
    # Sections kept before carry no count: made again at their first view.
    op.execute("DELETE FROM prepared_section")


def downgrade():
    op.execute("DELETE FROM prepared_section")
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('prepared_epoch')

"""Results sections prepared from the release and kept in the database (prepared_section);
the change stamps and the page caches keyed on them are gone (change_stamp dropped)

Revision ID: 9403ab1f16f3
Revises: 3ec86a3654e8
Create Date: 2026-12-02 12:57:07.665976

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9403ab1f16f3'
down_revision = '3ec86a3654e8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('prepared_section',
    sa.Column('measurement_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['measurement_id'], ['measurement.id'], name=op.f('fk_prepared_section_measurement_id_measurement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_prepared_section_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('measurement_id', 'unit_id', 'locale', name=op.f('pk_prepared_section'))
    )
    with op.batch_alter_table('prepared_section', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prepared_section_unit_id'), ['unit_id'], unique=False)

    op.drop_table('change_stamp')


def downgrade():
    table = op.create_table('change_stamp',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('value', sa.BIGINT(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_stamp'))
    )
    op.bulk_insert(table, [{'id': area, 'value': secrets.randbits(62)} for area in (1, 2, 3, 4)])
    with op.batch_alter_table('prepared_section', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prepared_section_unit_id'))

    op.drop_table('prepared_section')

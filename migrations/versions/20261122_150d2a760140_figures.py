"""Computed figures per unit (after anonymity) and traffic-light cut-offs per measurement

Revision ID: 150d2a760140
Revises: 804a840cfd9b
Create Date: 2026-11-22 16:45:41.834730

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '150d2a760140'
down_revision = '804a840cfd9b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('unit_figures',
    sa.Column('measurement_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('parent_unit_id', sa.Integer(), nullable=True),
    sa.Column('shown', sa.Boolean(), nullable=False),
    sa.Column('hidden_reason', sa.String(length=30), nullable=True),
    sa.Column('respondents', sa.Integer(), nullable=True),
    sa.Column('invited', sa.Integer(), nullable=True),
    sa.Column('overall_score', sa.Float(), nullable=True),
    sa.Column('colour', sa.String(length=10), nullable=True),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('zero_tolerance_hits', sa.Integer(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('hidden_questions', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['measurement_id'], ['measurement.id'], name=op.f('fk_unit_figures_measurement_id_measurement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_unit_id'], ['unit.id'], name=op.f('fk_unit_figures_parent_unit_id_unit'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_unit_figures_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('measurement_id', 'unit_id', name=op.f('pk_unit_figures'))
    )
    with op.batch_alter_table('unit_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_figures_unit_id'), ['unit_id'], unique=False)

    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('yellow_from', sa.Float(), server_default='55', nullable=False))
        batch_op.add_column(sa.Column('green_from', sa.Float(), server_default='65', nullable=False))
        batch_op.add_column(sa.Column('figures_computed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('anonymity_ok', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('anonymity_problems', sa.JSON(), server_default='[]', nullable=False))



def downgrade():
    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.drop_column('anonymity_problems')
        batch_op.drop_column('anonymity_ok')
        batch_op.drop_column('figures_computed_at')
        batch_op.drop_column('green_from')
        batch_op.drop_column('yellow_from')

    with op.batch_alter_table('unit_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_figures_unit_id'))

    op.drop_table('unit_figures')

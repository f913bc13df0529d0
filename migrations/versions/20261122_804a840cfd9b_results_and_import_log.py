"""Imported results (unit and question counts), the import log and staged uploads

Revision ID: 804a840cfd9b
Revises: 2e3cf945ae7f
Create Date: 2026-11-22 16:31:05.598827

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '804a840cfd9b'
down_revision = '2e3cf945ae7f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('measurement_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_format', sa.String(length=10), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('questions', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('replaced_earlier', sa.Boolean(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['measurement_id'], ['measurement.id'], name=op.f('fk_import_log_measurement_id_measurement'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_import_log_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_log'))
    )
    with op.batch_alter_table('import_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_log_measurement_id'), ['measurement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_log_user_id'), ['user_id'], unique=False)

    op.create_table('question_result',
    sa.Column('measurement_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('counts', sa.String(length=120), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('mean', sa.Float(), nullable=True),
    sa.Column('dont_know', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['measurement_id'], ['measurement.id'], name=op.f('fk_question_result_measurement_id_measurement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_question_result_question_id_question'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_question_result_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('measurement_id', 'unit_id', 'question_id', name=op.f('pk_question_result'))
    )
    op.create_table('staged_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('measurement_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('preview', sa.JSON(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['measurement_id'], ['measurement.id'], name=op.f('fk_staged_import_measurement_id_measurement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_staged_import_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_import')),
    sa.UniqueConstraint('token', name=op.f('uq_staged_import_token'))
    )
    op.create_table('unit_result',
    sa.Column('measurement_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('parent_unit_id', sa.Integer(), nullable=True),
    sa.Column('respondents', sa.Integer(), nullable=True),
    sa.Column('invited', sa.Integer(), nullable=True),
    sa.Column('has_own_rows', sa.Boolean(), nullable=False),
    sa.Column('previous_codes', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['measurement_id'], ['measurement.id'], name=op.f('fk_unit_result_measurement_id_measurement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_unit_id'], ['unit.id'], name=op.f('fk_unit_result_parent_unit_id_unit'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_unit_result_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('measurement_id', 'unit_id', name=op.f('pk_unit_result'))
    )


def downgrade():
    op.drop_table('unit_result')
    op.drop_table('staged_import')
    op.drop_table('question_result')
    with op.batch_alter_table('import_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_log_user_id'))
        batch_op.drop_index(batch_op.f('ix_import_log_measurement_id'))
        batch_op.drop_index(batch_op.f('ix_import_log_at'))

    op.drop_table('import_log')

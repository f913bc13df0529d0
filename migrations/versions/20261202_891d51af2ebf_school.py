"""The school (issue 19): results released by management (measurement.released_at,
organisation.hold_results_until_released), reference figures (reference_figure), a question's
wording per measurement (measurement_question_text), a named approval before issuing to the
board (report_draft.approver_id ...), withdrawn reports (report_withdrawal), the indicator
display and whether a purge deletes issued reports (organisation)

Revision ID: 891d51af2ebf
Revises: 2b4adce6e712
Create Date: 2026-12-02 16:15:57.639160

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '891d51af2ebf'
down_revision = '2b4adce6e712'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reference_figure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_code', sa.String(length=50), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('indicator', sa.String(length=200), nullable=False),
    sa.Column('question_code', sa.String(length=50), nullable=False),
    sa.Column('average', sa.Float(), nullable=True),
    sa.Column('share', sa.Float(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_figure')),
    sa.UniqueConstraint('questionnaire_code', 'year', 'source', 'label', 'indicator', 'question_code', name=op.f('uq_reference_figure_questionnaire_code'))
    )
    with op.batch_alter_table('reference_figure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reference_figure_year'), ['year'], unique=False)

    op.create_table('measurement_question_text',
    sa.Column('measurement_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['measurement_id'], ['measurement.id'], name=op.f('fk_measurement_question_text_measurement_id_measurement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_measurement_question_text_question_id_question'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('measurement_id', 'question_id', name=op.f('pk_measurement_question_text'))
    )
    op.create_table('report_withdrawal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('by_name', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name=op.f('fk_report_withdrawal_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['issued_report.id'], name=op.f('fk_report_withdrawal_report_id_issued_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_withdrawal')),
    sa.UniqueConstraint('report_id', name=op.f('uq_report_withdrawal_report_id'))
    )
    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('released_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_measurement_released_by_id_user_account'), 'user_account', ['released_by_id'], ['id'], ondelete='SET NULL')
    # Measurements already there were seen by everyone from their import: released then.
    op.execute("UPDATE measurement SET released_at = created_at")

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purge_issued_reports', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('hold_results_until_released', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('indicator_display', sa.String(length=10), server_default='score', nullable=False))

    with op.batch_alter_table('report_draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approver_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approval_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approved_by_name', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('approved_version', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_report_draft_approver_id_user_account'), 'user_account', ['approver_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('report_draft', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_report_draft_approver_id_user_account'), type_='foreignkey')
        batch_op.drop_column('approved_version')
        batch_op.drop_column('approved_by_name')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approval_requested_at')
        batch_op.drop_column('approver_id')

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('indicator_display')
        batch_op.drop_column('hold_results_until_released')
        batch_op.drop_column('purge_issued_reports')

    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_measurement_released_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('released_by_id')
        batch_op.drop_column('released_at')

    op.drop_table('report_withdrawal')
    op.drop_table('measurement_question_text')
    with op.batch_alter_table('reference_figure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reference_figure_year'))

    op.drop_table('reference_figure')

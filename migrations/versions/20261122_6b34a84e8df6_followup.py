"""Follow-up: five steps per unit, action plan themes and actions, zero-tolerance alerts

Revision ID: 6b34a84e8df6
Revises: 150d2a760140
Create Date: 2026-11-22 17:05:21.223535

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6b34a84e8df6'
down_revision = '150d2a760140'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measurement_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('uses_parent_figures', sa.Boolean(), nullable=False),
    sa.Column('colour', sa.String(length=10), nullable=True),
    sa.Column('route', sa.Enum('unit', 'department', 'department_hr', name='route', native_enum=False, length=20), nullable=False),
    sa.Column('department_unit_id', sa.Integer(), nullable=True),
    sa.Column('remeasure', sa.Boolean(), nullable=False),
    sa.Column('remeasure_by', sa.Date(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_body', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user_account.id'], name=op.f('fk_follow_up_approved_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_unit_id'], ['unit.id'], name=op.f('fk_follow_up_department_unit_id_unit'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['measurement_id'], ['measurement.id'], name=op.f('fk_follow_up_measurement_id_measurement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_follow_up_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up')),
    sa.UniqueConstraint('measurement_id', 'unit_id', name=op.f('uq_follow_up_measurement_id'))
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_measurement_id'), ['measurement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_unit_id'), ['unit_id'], unique=False)

    op.create_table('zero_tolerance_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measurement_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('reaction', sa.Text(), nullable=False),
    sa.Column('reaction_on', sa.Date(), nullable=True),
    sa.Column('involved', sa.Text(), nullable=False),
    sa.Column('reacted_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['measurement_id'], ['measurement.id'], name=op.f('fk_zero_tolerance_alert_measurement_id_measurement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_zero_tolerance_alert_question_id_question'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reacted_by_id'], ['user_account.id'], name=op.f('fk_zero_tolerance_alert_reacted_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_zero_tolerance_alert_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zero_tolerance_alert')),
    sa.UniqueConstraint('measurement_id', 'unit_id', 'question_id', name=op.f('uq_zero_tolerance_alert_measurement_id'))
    )
    with op.batch_alter_table('zero_tolerance_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zero_tolerance_alert_measurement_id'), ['measurement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zero_tolerance_alert_unit_id'), ['unit_id'], unique=False)

    op.create_table('follow_up_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('follow_up_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('analysis', 'preparation', 'dialogue', 'plan', 'evaluation', name='step', native_enum=False, length=20), nullable=False),
    sa.Column('state', sa.Enum('not_started', 'in_progress', 'done', name='stepstate', native_enum=False, length=20), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_up.id'], name=op.f('fk_follow_up_step_follow_up_id_follow_up'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_follow_up_step_updated_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_step')),
    sa.UniqueConstraint('follow_up_id', 'step', name=op.f('uq_follow_up_step_follow_up_id'))
    )
    op.create_table('plan_theme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('follow_up_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('current_score', sa.Float(), nullable=True),
    sa.Column('target_score', sa.Float(), nullable=True),
    sa.Column('goal', sa.Text(), nullable=False),
    sa.Column('approach', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_up.id'], name=op.f('fk_plan_theme_follow_up_id_follow_up'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_theme'))
    )
    with op.batch_alter_table('plan_theme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_theme_follow_up_id'), ['follow_up_id'], unique=False)

    op.create_table('action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('follow_up_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_name', sa.String(length=200), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('escalated_to_unit_id', sa.Integer(), nullable=True),
    sa.Column('escalated_to_function', sa.String(length=100), nullable=False),
    sa.Column('effect_rating', sa.Integer(), nullable=True),
    sa.Column('carry_over', sa.Boolean(), nullable=False),
    sa.Column('last_comment', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['escalated_to_unit_id'], ['unit.id'], name=op.f('fk_action_escalated_to_unit_id_unit'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_up.id'], name=op.f('fk_action_follow_up_id_follow_up'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['user_account.id'], name=op.f('fk_action_owner_user_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['theme_id'], ['plan_theme.id'], name=op.f('fk_action_theme_id_plan_theme'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_action_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action'))
    )
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_escalated_to_unit_id'), ['escalated_to_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_follow_up_id'), ['follow_up_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_owner_user_id'), ['owner_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_theme_id'), ['theme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_unit_id'), ['unit_id'], unique=False)

    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('zero_tolerance_days', sa.Integer(), server_default='30', nullable=False))
        batch_op.add_column(sa.Column('psychological_safety_cutoff', sa.Float(), server_default='55', nullable=False))
        batch_op.add_column(sa.Column('remeasure_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('remeasure_of_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_measurement_remeasure_of_id_measurement'), 'measurement', ['remeasure_of_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_measurement_remeasure_of_id_measurement'), type_='foreignkey')
        batch_op.drop_column('remeasure_of_id')
        batch_op.drop_column('remeasure_on')
        batch_op.drop_column('psychological_safety_cutoff')
        batch_op.drop_column('zero_tolerance_days')

    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_unit_id'))
        batch_op.drop_index(batch_op.f('ix_action_theme_id'))
        batch_op.drop_index(batch_op.f('ix_action_owner_user_id'))
        batch_op.drop_index(batch_op.f('ix_action_follow_up_id'))
        batch_op.drop_index(batch_op.f('ix_action_escalated_to_unit_id'))
        batch_op.drop_index(batch_op.f('ix_action_deadline'))

    op.drop_table('action')
    with op.batch_alter_table('plan_theme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_theme_follow_up_id'))

    op.drop_table('plan_theme')
    op.drop_table('follow_up_step')
    with op.batch_alter_table('zero_tolerance_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zero_tolerance_alert_unit_id'))
        batch_op.drop_index(batch_op.f('ix_zero_tolerance_alert_measurement_id'))

    op.drop_table('zero_tolerance_alert')
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_unit_id'))
        batch_op.drop_index(batch_op.f('ix_follow_up_measurement_id'))

    op.drop_table('follow_up')

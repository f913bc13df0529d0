"""People and plans (issue 18): partners who own a unit's follow-up with its leader
(unit_partner), rounds of plan approval by named approvers (plan_approval), actions and users
deleted with an undo (deleted_at), invitation e-mails (user_account.invited_at), and imported
files kept for a restore (import_log.stored_file, restored_at)

Revision ID: e7b0410d7f47
Revises: a41510fe4c25
Create Date: 2026-12-02 15:17:20.579244

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7b0410d7f47'
down_revision = 'a41510fe4c25'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('unit_partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('function', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_unit_partner_unit_id_unit'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_unit_partner_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_partner')),
    sa.UniqueConstraint('unit_id', 'user_id', name=op.f('uq_unit_partner_unit_id'))
    )
    with op.batch_alter_table('unit_partner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_partner_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_partner_user_id'), ['user_id'], unique=False)

    op.create_table('plan_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('follow_up_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=True),
    sa.Column('approver_name', sa.String(length=200), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['approver_id'], ['user_account.id'], name=op.f('fk_plan_approval_approver_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_up.id'], name=op.f('fk_plan_approval_follow_up_id_follow_up'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_plan_approval_requested_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_approval'))
    )
    with op.batch_alter_table('plan_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_approval_approver_id'), ['approver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_approval_follow_up_id'), ['follow_up_id'], unique=False)

    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_action_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_action_deleted_by_id_user_account'), 'user_account', ['deleted_by_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('import_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stored_file', sa.String(length=255), server_default='', nullable=False))
        batch_op.add_column(sa.Column('restored_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invited_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('invited_at')

    with op.batch_alter_table('import_log', schema=None) as batch_op:
        batch_op.drop_column('restored_at')
        batch_op.drop_column('stored_file')

    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_action_deleted_by_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_action_deleted_at'))
        batch_op.drop_column('deleted_by_id')
        batch_op.drop_column('deleted_at')

    with op.batch_alter_table('plan_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_approval_follow_up_id'))
        batch_op.drop_index(batch_op.f('ix_plan_approval_approver_id'))

    op.drop_table('plan_approval')
    with op.batch_alter_table('unit_partner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_partner_user_id'))
        batch_op.drop_index(batch_op.f('ix_unit_partner_unit_id'))

    op.drop_table('unit_partner')

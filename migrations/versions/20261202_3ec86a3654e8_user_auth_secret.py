"""Accounts, not ids: user_account.auth_secret (every session and set-password link carries it;
a new one ends them all) and, on SQLite, AUTOINCREMENT so that no id passes to another account

Revision ID: 3ec86a3654e8
Revises: 50ad3ed8ddd0
Create Date: 2026-12-02 12:29:05.917001

Sessions made before this upgrade hold only an id: they end, and everyone signs in again.
Set-password links made before it stop working too.

On SQLite the table is rebuilt (AUTOINCREMENT is part of CREATE TABLE). Dropping the old table
with foreign keys on would cascade to every table that points at users (roles would be
deleted), so foreign keys are switched off around the rebuild, as SQLite prescribes, and
checked before they are switched on again.
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3ec86a3654e8'
down_revision = '50ad3ed8ddd0'
branch_labels = None
depends_on = None


def _fill_secrets():
    connection = op.get_bind()
    users = sa.table('user_account', sa.column('id', sa.Integer), sa.column('auth_secret'))
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(auth_secret=secrets.token_urlsafe(32))
        )


def _rebuild_on_sqlite(autoincrement, change):
    """Rebuild user_account on SQLite with foreign keys off (see the module's note)."""
    context = op.get_context()
    with context.autocommit_block():
        op.execute('PRAGMA foreign_keys=OFF')
    with op.batch_alter_table(
        'user_account',
        recreate='always',
        table_kwargs={'sqlite_autoincrement': autoincrement},
    ) as batch_op:
        change(batch_op)
    problems = op.get_bind().exec_driver_sql('PRAGMA foreign_key_check').all()
    if problems:
        raise RuntimeError(f'foreign keys broken by the rebuild of user_account: {problems}')
    with context.autocommit_block():
        op.execute('PRAGMA foreign_keys=ON')


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_secret', sa.String(length=64), nullable=True))
    _fill_secrets()
    if op.get_bind().dialect.name != 'sqlite':
        with op.batch_alter_table('user_account', schema=None) as batch_op:
            batch_op.alter_column('auth_secret', existing_type=sa.String(length=64), nullable=False)
        return

    def not_null(batch_op):
        batch_op.alter_column('auth_secret', existing_type=sa.String(length=64), nullable=False)

    _rebuild_on_sqlite(True, not_null)
    # Ids of users deleted before this upgrade are not given out again either: the audit log
    # remembers every user ever made.
    op.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'user_account', 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'user_account')"
    )
    op.execute(
        "UPDATE sqlite_sequence SET seq = max(seq, "
        "(SELECT coalesce(max(object_id), 0) FROM audit_event WHERE object_type = 'user')) "
        "WHERE name = 'user_account'"
    )


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        with op.batch_alter_table('user_account', schema=None) as batch_op:
            batch_op.drop_column('auth_secret')
        return

    def drop(batch_op):
        batch_op.drop_column('auth_secret')

    _rebuild_on_sqlite(False, drop)

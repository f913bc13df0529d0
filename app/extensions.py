"""Every Flask extension object, created once and bound to the app in create_app()."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# A naming convention keeps constraint names stable, so migrations never churn over them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# Marks a connection (`Connection.info`) whose transaction may have written: a request's
# transaction without it ends with COMMIT, not ROLLBACK (app/read_transactions.py, whose
# listener sets it for every statement SQLAlchemy sends). Code that writes past SQLAlchemy's
# cursor sets it itself (the import's COPY, app/services/bulk.py).
MAY_HAVE_WRITTEN = "kompas_may_have_written"


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    """SQLite ignores foreign keys unless asked; Kompas relies on them as PostgreSQL does."""
    if type(dbapi_connection).__module__ == "sqlite3":
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Readers never wait for a writer (an import job writing its results): without it a
        # page read during an import's write waits, and fails as "database is locked".
        # In-memory databases (tests) keep their own journal.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


class LazyMigrate:
    """Flask-Migrate, imported when a migration is asked for, not at every app start.

    Flask-Migrate imports Alembic, a sixth of a second of every process's start (the import
    command's, a worker's) that only `flask db ...` and code calling its functions use. This
    registers the same `db` command, which loads Flask-Migrate when it is run (its options
    and subcommands are Flask-Migrate's own), and puts a stand-in at
    ``app.extensions["migrate"]`` that loads it at its first use (``flask_migrate.upgrade()``,
    migrations/env.py). Loading calls ``Migrate().init_app`` with the same arguments, which
    puts the real configuration and command in place of the stand-ins."""

    def init_app(self, app: Flask, db: Any, **options: Any) -> None:
        loaded: list[Any] = []

        def load() -> Any:
            if not loaded:
                from flask_migrate import Migrate

                Migrate().init_app(app, db, **options)
                loaded.append(app.extensions["migrate"])
            return loaded[0]

        app.extensions["migrate"] = _LoadedOnFirstUse(load)
        app.cli.add_command(_DbCommand(load), name="db")


class _LoadedOnFirstUse:
    def __init__(self, load: Any) -> None:
        self._load = load

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)


class _DbCommand(click.Command):
    """`flask db`: Flask-Migrate's command group, loaded when the command is run."""

    def __init__(self, load: Any) -> None:
        super().__init__("db", help="Perform database migrations.")
        self._load = load

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        self._load()
        from flask_migrate.cli import db as group

        return group.make_context(info_name, args, parent=parent, **extra)


migrate = LazyMigrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

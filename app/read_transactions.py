"""A request whose transaction only read ends it with COMMIT, not ROLLBACK.

For a transaction that changed nothing both end it alike. The difference is psycopg's: a
ROLLBACK empties the connection's cache of prepared statements (it cannot tell what a rolled
back transaction did to the schema), so while every request ended with Flask-SQLAlchemy's
rollback no query ever reached psycopg's prepare threshold, and PostgreSQL parsed and planned
each of a page's five or six queries again on every request (0.4-1.3 ms each on the
benchmark machine; bound to a prepared statement, 0.1 ms).

A transaction ends with a rollback, as before, when any statement in it may have written,
when its session holds changes not yet flushed, or when the request failed. "May have
written": every statement SQLAlchemy sends is seen here (`before_cursor_execute`) and counts
as a write unless it is a compiled SELECT; a textual statement counts as a write, whatever it
says. The mark lives on the connection and is cleared at its commit or rollback; code that
writes past SQLAlchemy's cursor (the import's COPY, app/services/bulk.py) sets it itself
(app.extensions.MAY_HAVE_WRITTEN). A test holds each of these cases.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import CompoundSelect, Select
from sqlalchemy.sql.compiler import SQLCompiler

from app.extensions import MAY_HAVE_WRITTEN, db

WROTE = MAY_HAVE_WRITTEN
log = logging.getLogger(__name__)


def _reads_only(context: Any) -> bool:
    compiled = getattr(context, "compiled", None)
    if not isinstance(compiled, SQLCompiler):
        return False  # textual SQL, DDL: counted as a write
    if context.isinsert or context.isupdate or context.isdelete:
        return False
    return isinstance(compiled.statement, Select | CompoundSelect)


def _note_statement(
    conn: Connection,
    _cursor: Any,
    _statement: str,
    _parameters: Any,
    context: Any,
    _executemany: bool,
) -> None:
    if not _reads_only(context):
        conn.info[WROTE] = True


def _forget(conn: Connection) -> None:
    conn.info.pop(WROTE, None)


def watch(engine: Engine) -> None:
    """Mark the engine's connections that may have written in their transaction."""
    if not event.contains(engine, "before_cursor_execute", _note_statement):
        event.listen(engine, "before_cursor_execute", _note_statement)
        event.listen(engine, "commit", _forget)
        event.listen(engine, "rollback", _forget)


def init_app(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            watch(engine)

    @app.teardown_request
    def commit_what_only_read(error: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's teardown (the app context's), which closes the
        # session: with a rollback where this did not commit.
        session = db.session()
        if error is not None or not session.in_transaction():
            return
        if session.new or session.dirty or session.deleted:
            return
        if session.connection().info.get(WROTE):  # the transaction's own connection
            return
        try:
            session.commit()
        except SQLAlchemyError:  # the connection failed: the response has gone already
            log.warning("ending a read-only transaction failed", exc_info=True)

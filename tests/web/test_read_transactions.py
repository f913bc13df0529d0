"""A request that only read ends its transaction with COMMIT (psycopg keeps its prepared
statements); one that may have written anything, holds unflushed changes or failed ends it
with a rollback, and nothing it did without committing is kept (app/read_transactions.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event, select, text

from app import create_app
from app.extensions import db
from app.models import Unit
from app.models.base import utcnow
from app.read_transactions import WROTE
from app.services import bulk


@pytest.fixture
def probe(app: Flask, tmp_path: Path) -> Iterator[tuple[Flask, list[str]]]:
    """An app of its own (routes are added before its first request) on the suite's
    database (PostgreSQL with TEST_DATABASE_URL, else a SQLite file), with one unit, and the
    list of how each transaction ended ("commit", "rollback")."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'probe.db'}"
    probe_app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    probe_app.config["PROPAGATE_EXCEPTIONS"] = False  # a failing route answers 500
    ended: list[str] = []

    @probe_app.get("/probe/read")
    def read() -> str:
        return str(len(db.session.scalars(select(Unit)).all()))

    @probe_app.get("/probe/flushed")
    def flushed() -> str:
        db.session.add(Unit(code="NEW", name="Flushed, never committed"))
        db.session.flush()
        return "flushed"

    @probe_app.get("/probe/dirty")
    def dirty() -> str:
        unit = db.session.scalars(select(Unit).where(Unit.code == "U")).one()
        unit.name = "Changed, never flushed"
        return "dirty"

    @probe_app.get("/probe/textual")
    def textual() -> str:
        db.session.execute(text("UPDATE unit SET name = 'Textual write' WHERE code = 'U'"))
        return "textual"

    @probe_app.get("/probe/bulk")
    def bulk_written() -> str:
        # The import's bulk writer: on PostgreSQL a COPY on the driver's own cursor, past
        # SQLAlchemy's statement events.
        bulk.insert_rows(
            db.session,
            Unit.__table__,
            ("code", "name", "unit_type", "active", "created_at"),
            [("BULK", "Copied, never committed", "", True, utcnow())],
        )
        return "bulk"

    @probe_app.get("/probe/failed")
    def failed() -> str:
        db.session.add(Unit(code="NEW", name="Flushed, then the request failed"))
        db.session.flush()
        raise RuntimeError("the route failed")

    with probe_app.app_context():
        db.create_all()
        db.session.add(Unit(code="U", name="Original"))
        db.session.commit()
        engine = db.engine
        event.listen(engine, "commit", lambda _conn: ended.append("commit"))
        event.listen(engine, "rollback", lambda _conn: ended.append("rollback"))
    yield probe_app, ended
    with probe_app.app_context():
        db.session.remove()
        db.engine.dispose()


def _units(probe_app: Flask) -> dict[str, str]:
    with probe_app.app_context():
        units = {unit.code: unit.name for unit in db.session.scalars(select(Unit))}
        db.session.remove()
        return units


def test_a_request_that_only_read_commits(probe: tuple[Flask, list[str]]) -> None:
    probe_app, ended = probe
    ended.clear()
    response = probe_app.test_client().get("/probe/read")
    assert response.status_code == 200
    assert response.text == "1"
    assert ended == ["commit"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/probe/flushed", 200),
        ("/probe/dirty", 200),
        ("/probe/textual", 200),
        ("/probe/bulk", 200),
        ("/probe/failed", 500),
    ],  # fmt: skip
)
def test_a_request_that_may_have_written_rolls_back_and_keeps_nothing(
    probe: tuple[Flask, list[str]], path: str, status: int
) -> None:
    probe_app, ended = probe
    ended.clear()
    assert probe_app.test_client().get(path).status_code == status
    assert "commit" not in ended
    assert _units(probe_app) == {"U": "Original"}


def test_the_mark_of_a_write_ends_with_its_transaction(probe: tuple[Flask, list[str]]) -> None:
    """A connection that wrote and rolled back serves the next read-only request as one
    that only read (the mark is cleared at the rollback, not carried over)."""
    probe_app, ended = probe
    client = probe_app.test_client()
    client.get("/probe/flushed")
    ended.clear()
    client.get("/probe/read")
    assert ended == ["commit"]


def test_psycopg_keeps_its_prepared_statements_across_requests(
    probe: tuple[Flask, list[str]],
) -> None:
    """The reason for all this: after a rollback psycopg forgets every prepared statement,
    so a query asked once per request never reached its prepare threshold."""
    probe_app, _ended = probe
    with probe_app.app_context():
        if db.engine.dialect.driver != "psycopg":
            pytest.skip("prepared statements are psycopg's (PostgreSQL)")
    client = probe_app.test_client()
    for _ in range(8):  # psycopg prepares a query at its 5th run on a connection
        assert client.get("/probe/read").status_code == 200
    with probe_app.app_context():
        raw = db.session.connection().connection.dbapi_connection
        prepared = raw._prepared._names  # type: ignore[union-attr]  # noqa: SLF001
        assert any(b"FROM unit" in key[0] for key in prepared)
        assert db.session.connection().info.get(WROTE) is None
        db.session.remove()

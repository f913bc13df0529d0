"""Shared fixtures: one app per test session, every test starting from empty tables.

Set TEST_DATABASE_URL to run the whole suite on PostgreSQL; the default is in-memory SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text

from app import create_app
from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, Unit, User
from app.services import passwords
from app.services.users import assign_role, create_user

PASSWORD = "correct horse battery"  # noqa: S105 - test fixture

# Cheap argon2 parameters for speed; the hash format (and so verification) is the same.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last. The session's Chromium (playwright) keeps a thread running
    from the first of them to the end of the run, and the tests of work done in a forked
    child (tests/services/test_other_core.py; a job on an RQ worker, tests/ops/test_redis.py)
    need a process of one thread, as app/services/other_core.py forks only there."""
    items.sort(key=lambda item: item.nodeid.replace("\\", "/").startswith("tests/browser/"))


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    app = create_app("testing")
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that used the app, empty every table (fast on both databases)."""
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            db.session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            db.session.execute(text("UPDATE unit SET parent_id = NULL"))  # RESTRICT on parents
            for name in tables:
                db.session.execute(text(f'DELETE FROM "{name}"'))
        db.session.commit()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context for tests that work with the database directly."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    def make(
        email: str,
        roles: list[tuple[Role, str]] = (),
        *,
        active: bool = True,
        name: str | None = None,
    ) -> User:
        with app.app_context():
            user = create_user(
                db.session, None, email=email, name=name or email.split("@")[0], password=PASSWORD
            )
            user.active = active
            for role, code in roles:
                unit = db.session.query(Unit).filter_by(code=code).one()
                assign_role(db.session, None, user, unit, role)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/auth/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.data[:500]


@pytest.fixture
def org(app: Flask) -> dict[str, str]:
    """A small tree:   R ── A ── A1          (codes as keys and values)
    │    └─ A2
    └─ B ── B1
    """
    with app.app_context():
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        units: dict[str, Unit] = {}
        for code, parent in [
            ("R", None),
            ("A", "R"),
            ("A1", "A"),
            ("A2", "A"),
            ("B", "R"),
            ("B1", "B"),
        ]:
            units[code] = Unit(
                code=code,
                name=f"Enhed {code}",
                unit_type="team",
                parent=units[parent] if parent else None,
            )
            db.session.add(units[code])
        db.session.commit()
    return {code: code for code in ("R", "A", "A1", "A2", "B", "B1")}


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], AbstractContextManager[list[str]]]:
    """`with count_queries() as statements:` collects every statement sent to the database
    while the block runs (the shared guard against a query per row)."""

    @contextmanager
    def counting() -> Iterator[list[str]]:
        statements: list[str] = []
        with app.app_context():
            engine = db.engine

        def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001 - event signature
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", count)

    return counting


class Inbox(list):  # type: ignore[type-arg]
    """The messages a loopback SMTP server received, in order."""

    def wait_for(self, count: int, timeout: float = 5.0) -> Inbox:
        import time

        deadline = time.time() + timeout
        while len(self) < count and time.time() < deadline:
            time.sleep(0.05)
        return self

    def to(self, address: str) -> list:  # type: ignore[type-arg]
        return [message for message in self if address in message["To"]]

    @staticmethod
    def subject(message) -> str:  # noqa: ANN001 - email.message.Message
        from email.header import decode_header, make_header

        return str(make_header(decode_header(message["Subject"])))

    @staticmethod
    def body(message) -> str:  # noqa: ANN001
        payload = message.get_payload(decode=True)
        return payload.decode() if payload else ""


@pytest.fixture
def smtp_server(request: pytest.FixtureRequest) -> Iterator[Inbox]:
    """A real SMTP server on loopback (aiosmtpd); the test's app (and the browser tests'
    live app, if the test uses it) send to it for the length of the test."""
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    inbox = Inbox()

    class Collect(Message):
        def handle_message(self, message) -> None:  # noqa: ANN001
            inbox.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    apps = [
        request.getfixturevalue(name)
        for name in ("app", "live_app")
        if name in request.fixturenames
    ]
    saved = [
        (a, {k: a.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_FROM")}) for a in apps
    ]
    for a in apps:
        a.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), MAIL_FROM="kompas@x.dk")
    try:
        yield inbox
    finally:
        for a, old in saved:
            a.config.update(old)
        controller.stop()

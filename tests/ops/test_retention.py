"""Retention by law: purge, a person's data, backup and restore."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.models import (
    Action,
    ActionUpdate,
    AuditEvent,
    FollowUp,
    Measurement,
    Organisation,
    Role,
    Unit,
    UnitFigures,
    UnitResult,
    User,
    ZeroToleranceAlert,
)
from app.services import followup, retention, users
from tests.conftest import login
from tests.followup_data import measure


@pytest.fixture
def two_years(app: Flask, org) -> tuple[int, int]:
    with app.app_context():
        old = measure(name="APV 2020", year=2020)
        new = measure(name="APV 2026", year=2026)
        a1 = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        for measurement in (old, new):
            follow_up = followup.start(db.session, None, measurement, a1)
            followup.add_action(db.session, None, follow_up, title=f"Handling {measurement.year}")
        db.session.commit()
        return old.id, new.id


def count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def test_purge_deletes_old_measurements_with_everything_on_them(app: Flask, two_years) -> None:
    old, new = two_years
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["kompas", "purge", "--dry-run"])
    assert "would delete APV 2020 (2020)" in dry.output and "APV 2026" not in dry.output
    with app.app_context():
        assert db.session.get(Measurement, old) is not None  # the dry run deleted nothing
    result = runner.invoke(args=["kompas", "purge"])
    assert result.exit_code == 0 and "deleted APV 2020 (2020)" in result.output
    with app.app_context():
        assert db.session.get(Measurement, old) is None
        for model in (UnitResult, UnitFigures, FollowUp, ZeroToleranceAlert):
            assert count(model, measurement_id=old) == 0, model
            assert count(model, measurement_id=new) > 0, model
        assert db.session.scalars(select(Action.title)).all() == ["Handling 2026"]
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "measurement.purged")
        ).all()
        assert [(e.object_id, e.details["year"]) for e in events] == [(old, 2020)]


def test_export_and_delete_a_user(app: Flask, client: FlaskClient, two_years, make_user) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    lise = make_user("lise@x.dk", [(Role.MEMBER, "A1")], name="Lise Lund")
    with app.app_context():
        action = db.session.scalar(select(Action).where(Action.title == "Handling 2026"))
        action.owner_user_id = lise.id
        user = db.session.get(User, lise.id)
        followup.set_status(db.session, user, action, 1, "Lise Lund tager den")
        db.session.commit()
        action_id = action.id
    login(client, "hr@x.dk")
    exported = client.get(f"/admin/users/{lise.id}/export.json")
    data = json.loads(exported.data)
    assert data["user"]["email"] == "lise@x.dk"
    assert [a["title"] for a in data["actions_owned"]] == ["Handling 2026"]
    assert data["status_updates"][0]["comment"] == "Lise Lund tager den"
    assert client.post(f"/admin/users/{lise.id}/delete").status_code == 302
    with app.app_context():  # undoable for 30 days; then the purge deletes for good
        assert db.session.get(User, lise.id).deleted_at is not None
        later = datetime.now(UTC) + timedelta(days=users.UNDO_DAYS + 1)
        assert users.purge_deleted(db.session, None, later) == 1
        db.session.commit()
        assert db.session.get(User, lise.id) is None
        action = db.session.get(Action, action_id)
        assert action.owner_user_id is None and action.owner_name == retention.FORMER_USER
        # What was written stays as written (issue 17: free text is never rewritten); the
        # references to the person are gone.
        assert action.last_comment == "Lise Lund tager den"
        update = db.session.scalar(select(ActionUpdate))
        assert update.user_id is None and update.comment == "Lise Lund tager den"
    client.get("/admin/users")  # shows (and so clears) the confirmation with the old name
    page = client.get(f"/board/actions/{action_id}").get_data(as_text=True)
    assert "tidligere bruger" in page  # the owner, from the reference


def _snapshot(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            return {
                name: sorted(
                    map(tuple, connection.execute(text(f'SELECT * FROM "{name}"')).all()),
                    key=repr,  # noqa: S608
                )
                for name in tables
                if name != "alembic_version"
            }
    finally:
        engine.dispose()


def test_backup_and_restore_round_trip(app: Flask, tmp_path: Path) -> None:
    """Back up a database with the demo in it, change it, restore: every table is as it was."""
    base = os.environ.get("TEST_DATABASE_URL")
    admin_engine = None
    if base:
        name = f"kompas_backup_{uuid.uuid4().hex[:8]}"
        admin_engine = create_engine(
            make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin_engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'live.db'}"
    try:
        live = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        from app.demo import build_demo

        with live.app_context():
            db.create_all()
            build_demo(db.session, password="demo-password-1")
            db.session.commit()
        before = _snapshot(url)
        runner = live.test_cli_runner()
        file = tmp_path / "kompas.backup"
        result = runner.invoke(args=["kompas", "backup", str(file)])
        assert result.exit_code == 0, result.output
        with live.app_context():
            db.session.execute(text("DELETE FROM action_update"))
            db.session.execute(text("UPDATE user_account SET name = 'changed'"))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        assert _snapshot(url) != before
        result = runner.invoke(args=["kompas", "restore", str(file), "--yes"])
        assert result.exit_code == 0, result.output
        with live.app_context():
            db.engine.dispose()
        after = _snapshot(url)
        assert after.keys() == before.keys()
        for table in before:
            assert after[table] == before[table], table
    finally:
        if admin_engine is not None:
            with admin_engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin_engine.dispose()


def test_purge_keeps_everything_within_the_period(app: Flask, two_years) -> None:
    with app.app_context():
        db.session.scalar(select(Organisation)).retention_years = 10
        db.session.commit()
        assert retention.purge(db.session, None, date(2026, 11, 22)) == []

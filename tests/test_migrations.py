"""`flask db upgrade` on an empty database gives exactly the schema of the models."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.models import UnitResult
from app.services import imports
from app.services.measurements import find_or_prepare_measurement
from tests.mapping_files import GENERATOR


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    """A new, empty database of the kind the suite runs on."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"kompas_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_gives_the_models_schema_and_downgrade_empties_it(empty_database_url) -> None:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(directory="migrations")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            drift = compare_metadata(context, db.metadata)
        assert drift == [], f"models and migrations differ: {drift}"
        downgrade(directory="migrations", revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()


def test_sqlite_tables_that_never_reuse_ids_get_autoincrement(empty_database_url) -> None:
    """compare_metadata does not see AUTOINCREMENT: look at the table SQLite made."""
    if not empty_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL never reuses an id")
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(directory="migrations")
        wanted = {t.name for t in db.metadata.sorted_tables if t.kwargs.get("sqlite_autoincrement")}
        assert "user_account" in wanted
        with db.engine.connect() as connection:
            for name in wanted:
                sql = connection.execute(
                    text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
                    {"name": name},
                ).scalar_one()
                assert "AUTOINCREMENT" in sql, sql
        db.engine.dispose()


def test_auth_secret_upgrade_keeps_users_and_roles(empty_database_url) -> None:
    """The upgrade rebuilds user_account on SQLite: roles (ON DELETE CASCADE) must survive,
    every user gets an own secret, and ids of users deleted earlier are not given out again."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(directory="migrations", revision="50ad3ed8ddd0")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO unit (code, name, unit_type, active, created_at) "
                    "VALUES ('R', 'Rod', 'team', true, CURRENT_TIMESTAMP)"
                )
            )
            for email in ("a@x.dk", "b@x.dk"):
                connection.execute(
                    text(
                        "INSERT INTO user_account (email, name, active, language, created_at, "
                        "reminders_enabled) VALUES (:email, :email, true, 'da', "
                        "CURRENT_TIMESTAMP, true)"
                    ),
                    {"email": email},
                )
            connection.execute(
                text(
                    "INSERT INTO role_assignment (user_id, unit_id, role) "
                    "SELECT u.id, unit.id, 'member' FROM user_account u, unit"
                )
            )
            deleted = connection.execute(text("SELECT max(id) FROM user_account")).scalar() + 5
            connection.execute(
                text(
                    "INSERT INTO audit_event (at, action, object_type, object_id, details) "
                    "VALUES (CURRENT_TIMESTAMP, 'user.deleted', 'user', :id, '{}')"
                ),
                {"id": deleted},
            )
        upgrade(directory="migrations")
        with db.engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM role_assignment")).scalar() == 2
            secrets = connection.execute(text("SELECT auth_secret FROM user_account")).scalars()
            secrets = list(secrets)
            assert len(secrets) == 2 and len(set(secrets)) == 2 and all(secrets)
            if db.engine.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
                new_id = connection.execute(
                    text(
                        "INSERT INTO user_account (email, name, active, language, created_at, "
                        "reminders_enabled, auth_secret) VALUES ('c@x.dk', 'c', true, 'da', "
                        "CURRENT_TIMESTAMP, true, 's') RETURNING id"
                    )
                ).scalar()
                assert new_id > deleted
        db.engine.dispose()


def test_answer_counts_keep_through_the_move_to_one_document_per_unit(
    empty_database_url, tmp_path
) -> None:
    """The counts were a question_result row per unit and question; they are one document per
    unit now. Down to the rows and up again, every count, n, mean and "don't know" stays."""
    from tests.stored_counts import stored_answers

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    path = tmp_path / "apv.csv"
    subprocess.run(
        [sys.executable, str(GENERATOR), "apv", "--seed", "5", "-o", str(path)],
        check=True,
        timeout=60,
    )
    with app.app_context():
        upgrade(directory="migrations")
        measurement = find_or_prepare_measurement(
            db.session, name="APV", year=2025, template_code="apv"
        )
        checked = imports.check(
            db.session, path, file_name=path.name, year=2025,
            questionnaire=measurement.questionnaire,
        )  # fmt: skip
        assert checked.ok, checked.result.errors[:3]
        imports.apply(db.session, None, checked, measurement)
        # One answer given as n and mean only (a survey tool without distributions).
        row = db.session.scalars(select(UnitResult).where(UnitResult.has_own_rows)).first()
        question_id = next(iter(row.question_counts))
        row.question_counts = {
            **row.question_counts,
            question_id: {"n": 12, "mean": 3.25, "dont_know": 1},
        }
        db.session.commit()
        before = stored_answers()
        assert len(before) == len(checked.result.results) > 1000
        db.session.remove()

        downgrade(directory="migrations", revision="f941ce1ba857")
        with db.engine.begin() as connection:
            rows = connection.execute(
                text("SELECT count(*), count(counts), sum(n) FROM question_result")
            ).one()
            assert rows[0] == len(before) and rows[1] == len(before) - 1
            assert rows[2] == sum(a.n if a.counts is None else sum(a.counts) for a in before)
        upgrade(directory="migrations")
        assert stored_answers() == before
        db.session.remove()
        db.engine.dispose()

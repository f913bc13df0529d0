"""The migration to one zero-tolerance alert per unit and measurement merges the old
per-question alerts without losing a reaction, and its downgrade splits them again."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.test_migrations import empty_database_url  # noqa: F401 - the fixture

BEFORE = "e7b0410d7f47"
AFTER = "2b4adce6e712"


def _insert(connection, sql: str, **params) -> int:
    return connection.execute(text(sql + " RETURNING id"), params).scalar_one()


def test_per_question_alerts_merge_into_one_per_unit(empty_database_url) -> None:  # noqa: F811
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(directory="migrations", revision=BEFORE)
        with db.engine.begin() as c:
            qn = _insert(
                c,
                "INSERT INTO questionnaire (code, name, is_template, created_at) "
                "VALUES ('Q', 'Q', false, CURRENT_TIMESTAMP)",
            )
            questions = [
                _insert(
                    c,
                    "INSERT INTO question (questionnaire_id, code, text, theme, scale, direction,"
                    " zero_tolerance, position) VALUES (:qn, :code, :text, '', '[]',"
                    " 'higher_better', true, :pos)",
                    qn=qn,
                    code=f"zt{i}",
                    text=f"Question {i}",
                    pos=i,
                )
                for i in range(3)
            ]
            m = _insert(
                c,
                "INSERT INTO measurement (questionnaire_id, name, year, threshold,"
                " sensitive_threshold, yellow_from, green_from, zero_tolerance_days, created_at)"
                " VALUES (:qn, 'M', 2026, 5, 10, 50, 75, 14, CURRENT_TIMESTAMP)",
                qn=qn,
            )
            units = [
                _insert(
                    c,
                    "INSERT INTO unit (code, name, unit_type, active, created_at) "
                    "VALUES (:code, :code, 'team', true, CURRENT_TIMESTAMP)",
                    code=code,
                )
                for code in ("A", "B")
            ]
            rows = [
                # unit A: two answered, one open -> one open alert keeping both reactions
                (units[0], questions[0], "2026-03-05", "2026-03-19", "Talk", "2026-03-10"),
                (units[0], questions[1], "2026-03-02", "2026-03-16", "Meeting", "2026-03-11"),
                (units[0], questions[2], "2026-03-04", "2026-03-18", "", None),
                # unit B: both answered -> one closed alert
                (units[1], questions[0], "2026-03-02", "2026-03-16", "Done", "2026-03-12"),
                (units[1], questions[2], "2026-03-02", "2026-03-16", "Done", "2026-03-14"),
            ]
            for unit, question, opened, due, reaction, reaction_on in rows:
                c.execute(
                    text(
                        "INSERT INTO zero_tolerance_alert (measurement_id, unit_id, question_id,"
                        " opened_on, due_on, reaction, reaction_on, involved, closed_at)"
                        " VALUES (:m, :u, :q, :o, :d, :r, :ro, 'leader', :closed)"
                    ),
                    {
                        "m": m, "u": unit, "q": question, "o": opened, "d": due, "r": reaction,
                        "ro": reaction_on, "closed": "2026-03-20 10:00:00+00" if reaction else None,
                    },
                )  # fmt: skip
        upgrade(directory="migrations", revision=AFTER)
        with db.engine.begin() as c:
            alerts = c.execute(
                text(
                    "SELECT id, unit_id, opened_on, due_on, reaction, reaction_on, closed_at,"
                    " closed_reason FROM zero_tolerance_alert ORDER BY unit_id"
                )
            ).all()
            assert len(alerts) == 2
            a, b = alerts
            assert str(a.opened_on) == "2026-03-02" and str(a.due_on) == "2026-03-16"
            assert "Talk" in a.reaction and "Meeting" in a.reaction
            assert a.closed_at is None and a.closed_reason == ""
            assert b.closed_at is not None and b.closed_reason == "reacted"
            assert b.reaction == "Done" and str(b.reaction_on) == "2026-03-14"
            links = c.execute(
                text(
                    "SELECT alert_id, question_id FROM zero_tolerance_alert_question"
                    " ORDER BY alert_id, question_id"
                )
            ).all()
            assert [tuple(r) for r in links] == [
                (a.id, questions[0]), (a.id, questions[1]), (a.id, questions[2]),
                (b.id, questions[0]), (b.id, questions[2]),
            ]  # fmt: skip
        downgrade(directory="migrations", revision=BEFORE)
        with db.engine.begin() as c:
            back = c.execute(
                text("SELECT unit_id, question_id FROM zero_tolerance_alert ORDER BY 1, 2")
            ).all()
            assert [tuple(r) for r in back] == [
                (units[0], questions[0]), (units[0], questions[1]), (units[0], questions[2]),
                (units[1], questions[0]), (units[1], questions[2]),
            ]  # fmt: skip
        db.engine.dispose()

"""Roles that match the ministry's guide, and results released per audience (issue 19).

The school's tree is the `org` fixture's with the follow-up file measured in it:
R (institution) ── A (department) ── A1, A2 (classes)
                └─ B (department) ── B1, C1 (classes)
A class is a unit below the institution with no unit below it (app.policy).
"""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    Action,
    AuditEvent,
    FollowUp,
    Measurement,
    Organisation,
    OrganisationKind,
    Role,
    Unit,
    ZeroToleranceAlert,
)
from tests.conftest import login
from tests.followup_data import measure

NOT_RELEASED = "Resultaterne er endnu ikke frigivet af ledelsen"


def _measure(app: Flask, *, school: bool) -> int:
    with app.app_context():
        db.session.execute(
            update(Organisation).values(
                kind=OrganisationKind.SCHOOL if school else OrganisationKind.MUNICIPALITY,
                hold_results_until_released=school,
            )
        )
        db.session.commit()
        return measure().id


@pytest.fixture
def school(app: Flask, org) -> int:
    """A gymnasium that holds results until management releases them; the measurement id."""
    return _measure(app, school=True)


@pytest.fixture
def municipality(app: Flask, org) -> int:
    return _measure(app, school=False)


def _client(app: Flask, make_user, email: str, roles: list[tuple[Role, str]]) -> FlaskClient:
    make_user(email, roles)
    client = app.test_client()
    login(client, email)
    return client


def _release(app: Flask, measurement_id: int) -> None:
    with app.app_context():
        measurement = db.session.get(Measurement, measurement_id)
        measurement.released_at = db.func.now()
        db.session.commit()


def _text(response) -> str:  # noqa: ANN001 - a test response
    return response.get_data(as_text=True)


def _plan_action(client: FlaskClient, measurement_id: int, code: str, title: str) -> int:
    return client.post(
        f"/followup/{measurement_id}/{code}/plan/actions",
        data={"action-title": title, "action-theme_id": "0", "action-owner_user_id": "0"},
    ).status_code


def _alert(app: Flask, measurement_id: int, code: str) -> int:
    with app.app_context():
        alert = ZeroToleranceAlert(
            measurement_id=measurement_id,
            unit_id=db.session.scalar(select(Unit.id).where(Unit.code == code)),
            opened_on=db.func.current_date(),
            due_on=db.func.current_date(),
        )
        db.session.add(alert)
        db.session.commit()
        return alert.id


# --- the class team ---


def test_the_class_team_runs_its_own_class_but_not_another_and_never_issues(
    app: Flask, school: int, make_user
) -> None:
    _release(app, school)
    team = _client(app, make_user, "laerer@x.dk", [(Role.MEMBER, "A1")])
    assert team.post(f"/followup/{school}/A1/start").status_code == 302
    assert _plan_action(team, school, "A1", "Klassens time om fællesskab") == 302
    with app.app_context():
        action_id = db.session.scalar(select(Action.id))
    moved = team.post(
        f"/followup/{school}/A1/actions/{action_id}/status", data={"status": "2", "comment": "Godt"}
    )
    assert moved.status_code == 302
    evaluated = team.post(
        f"/followup/{school}/A1/evaluation",
        data={"acted": "Ja, klassens time hver fredag", "effect": "Færre fravær", "state": "done"},
    )
    assert evaluated.status_code == 302
    with app.app_context():
        follow_up = db.session.scalar(select(FollowUp))
        assert follow_up is not None and follow_up.unit_id == db.session.scalar(
            select(Unit.id).where(Unit.code == "A1")
        )

    # Another class: neither started nor planned by this team.
    assert team.post(f"/followup/{school}/A2/start").status_code == 404
    assert _plan_action(team, school, "A2", "Fremmed plan") == 404
    # Never issues to the board, not even its own class's report.
    assert team.get("/reports/annual/A1/2026/issue").status_code == 404
    assert team.post("/reports/annual/A1/2026/issue", data={"version": "0"}).status_code == 404


def test_a_member_of_a_department_is_no_class_team(app: Flask, school: int, make_user) -> None:
    _release(app, school)
    member = _client(app, make_user, "ansat@x.dk", [(Role.MEMBER, "A")])
    assert member.post(f"/followup/{school}/A/start").status_code == 404


def test_the_evaluation_asks_the_guides_four_questions(app: Flask, school: int, make_user) -> None:
    _release(app, school)
    team = _client(app, make_user, "laerer@x.dk", [(Role.MEMBER, "A1")])
    team.post(f"/followup/{school}/A1/start")
    page = _text(team.get(f"/followup/{school}/A1/evaluation"))
    for question in (
        "Har I igangsat det, I ville, på baggrund af resultaterne fra trivselsmålingen?",
        "Har I opnået de ønskede resultater – og hvor ser I effekten?",
        "Har I justeret indsatserne undervejs?",
        "Hvordan justerer I, hvis indsatserne ikke virker som ønsket?",
    ):
        assert question in page


def test_only_management_issues_to_the_board(app: Flask, school: int, make_user) -> None:
    _release(app, school)
    management = _client(app, make_user, "rektor@x.dk", [(Role.LEADER, "R")])
    department = _client(app, make_user, "afd@x.dk", [(Role.LEADER, "A")])
    assert management.get("/reports/annual/R/2026/issue").status_code == 200
    assert management.get("/reports/annual/A/2026/issue").status_code == 200
    assert department.get("/reports/annual/A/2026/issue").status_code == 404
    annual = _text(department.get("/reports/annual/A/2026"))
    assert 'value="issue"' not in annual  # no button that leads to a 404
    assert 'value="issue"' in _text(management.get("/reports/annual/A/2026"))


# --- the student council ---


def test_the_student_council_sees_institution_and_departments_never_a_class(
    app: Flask, school: int, make_user
) -> None:
    _release(app, school)
    council = _client(app, make_user, "elevraad@x.dk", [(Role.COMMITTEE, "R")])
    department = _text(council.get("/units/A"))
    assert 'id="results"' in department
    assert "/units/A1" not in department  # the classes are not even listed
    for url in (
        "/units/A1",
        f"/followup/{school}/A1/",
        f"/reports/unit/{school}/A1",
        "/results/?root=A1",
    ):
        assert council.get(url).status_code == 404, url

    csv = _text(council.get(f"/results/export.csv?m={school}"))
    assert "Enhed A;" in csv or "Enhed A," in csv
    assert "A1" not in csv and "B1" not in csv
    document = json.loads(council.get(f"/api/v1/measurements/{school}/results").data)
    codes = {entry["unit"] for entry in document}
    assert {"R", "A", "B"} <= codes
    assert not codes & {"A1", "A2", "B1", "C1"}

    with app.app_context():
        class_ids = list(
            db.session.scalars(select(Unit.id).where(Unit.code.in_(["A1", "A2", "B1", "C1"])))
        )
        db.session.add(
            ZeroToleranceAlert(
                measurement_id=school,
                unit_id=class_ids[0],
                opened_on=db.func.current_date(),
                due_on=db.func.current_date(),
            )
        )
        db.session.commit()
        class_alerts = list(
            db.session.scalars(
                select(ZeroToleranceAlert.id).where(ZeroToleranceAlert.unit_id.in_(class_ids))
            )
        )
    assert class_alerts
    listed = _text(council.get("/followup/alerts?state=all"))
    for alert_id in class_alerts:
        assert f"/followup/alerts/{alert_id}" not in listed
        assert council.get(f"/followup/alerts/{alert_id}").status_code == 404


# --- release per audience ---


@pytest.mark.parametrize(
    ("role", "held_on", "unit"),
    [(Role.MEMBER, "A1", "A1"), (Role.COMMITTEE, "R", "A"), (Role.BOARD, "R", "R")],
)
def test_before_the_release_only_management_sees_results_then_one_click_releases(
    app: Flask, school: int, make_user, role: Role, held_on: str, unit: str
) -> None:
    audience = _client(app, make_user, "publikum@x.dk", [(role, held_on)])
    leader = _client(app, make_user, "afd@x.dk", [(Role.LEADER, "A")])
    admin = _client(app, make_user, "ejer@x.dk", [(Role.ADMIN, "R")])
    alert_id = _alert(app, school, unit)

    # Management and the survey owner see the results at once.
    assert 'id="results"' in _text(leader.get("/units/A1"))
    assert leader.get(f"/results/export.csv?m={school}").status_code == 200
    # The audience: not a number, anywhere.
    page = audience.get(f"/units/{unit}")
    if role != Role.BOARD:
        assert NOT_RELEASED in _text(page)
        assert 'id="results"' not in _text(page)
        overview = _text(audience.get(f"/results/?m={school}"))
        assert NOT_RELEASED in overview and "Enhed A1" not in overview
    else:
        assert page.status_code == 404  # the board sees issued reports only
    for url in (
        f"/results/export.csv?m={school}",
        f"/results/export.xlsx?m={school}",
        f"/api/v1/measurements/{school}/results",
        f"/reports/unit/{school}/{unit}",
        f"/followup/{school}/{unit}/",
    ):
        assert audience.get(url).status_code == 404, url
    assert "Enhed A1" in _text(leader.get(f"/followup/overview?m={school}"))
    followed = _text(audience.get(f"/followup/overview?m={school}"))
    assert "Enhed A1" not in followed  # no traffic lights either
    assert f"/followup/alerts/{alert_id}" in _text(admin.get("/followup/alerts?state=all"))
    assert f"/followup/alerts/{alert_id}" not in _text(audience.get("/followup/alerts?state=all"))
    assert audience.get(f"/followup/alerts/{alert_id}").status_code == 404
    # Nor can the audience release.
    assert audience.post(f"/results/measurements/{school}/release").status_code == 404
    assert leader.get(f"/results/measurements/{school}/release").status_code == 404  # not root

    # The one click, asked first.
    asked = _text(admin.get(f"/results/measurements/{school}/release"))
    assert "Frigiv resultaterne" in asked
    with app.app_context():
        assert db.session.get(Measurement, school).released_at is None  # asking changes nothing
    done = admin.post(f"/results/measurements/{school}/release")
    assert done.status_code == 302
    with app.app_context():
        measurement = db.session.get(Measurement, school)
        assert measurement.released_at is not None and measurement.released_by_id is not None
        assert db.session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "measurement.release_results")
        )

    if role == Role.BOARD:
        assert audience.get(f"/units/{unit}").status_code == 404  # still reports only
        return
    page = _text(audience.get(f"/units/{unit}"))
    assert 'id="results"' in page
    assert NOT_RELEASED not in page
    assert "Frigivet" in page and "ejer" in page  # the date and who, for everyone
    assert audience.get(f"/results/export.csv?m={school}").status_code == 200
    assert audience.get(f"/api/v1/measurements/{school}/results").status_code == 200
    assert audience.get(f"/reports/unit/{school}/{unit}").status_code == 200
    if role == Role.MEMBER:  # the class team reacts to its class's alert once released
        listed = _text(audience.get("/followup/alerts?state=all"))
        assert f"/followup/alerts/{alert_id}" in listed


def test_a_release_is_done_once(app: Flask, school: int, make_user) -> None:
    management = _client(app, make_user, "rektor@x.dk", [(Role.LEADER, "R")])
    assert management.post(f"/results/measurements/{school}/release").status_code == 302
    with app.app_context():
        first = db.session.get(Measurement, school).released_at
    assert management.post(f"/results/measurements/{school}/release").status_code == 302
    with app.app_context():
        assert db.session.get(Measurement, school).released_at == first
        assert (
            len(
                db.session.scalars(
                    select(AuditEvent.id).where(AuditEvent.action == "measurement.release_results")
                ).all()
            )
            == 1
        )


# --- a municipality keeps today's rules ---


def test_a_municipality_is_unchanged(app: Flask, municipality: int, make_user) -> None:
    committee = _client(app, make_user, "med@x.dk", [(Role.COMMITTEE, "R")])
    member = _client(app, make_user, "ansat@x.dk", [(Role.MEMBER, "A1")])
    leader = _client(app, make_user, "leder@x.dk", [(Role.LEADER, "A")])
    assert 'id="results"' in _text(committee.get("/units/A1"))  # results shown at once
    assert NOT_RELEASED not in _text(member.get("/units/A1"))
    assert 'id="results"' in _text(member.get("/units/A1"))
    assert member.post(f"/followup/{municipality}/A1/start").status_code == 404
    assert leader.get("/reports/annual/A/2026/issue").status_code == 200
    assert committee.get(f"/results/measurements/{municipality}/release").status_code == 404

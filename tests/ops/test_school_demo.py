"""The school demo (`flask --app wsgi kompas demo --school`): a gymnasium built on an empty
database, every school role signs in to a home page in the school's words."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.demo_school import COLLEAGUES, SCHOOL_DOMAIN, newest_year, school_logins
from app.extensions import db
from app.models import (
    Action,
    FollowUp,
    IssuedReport,
    Measurement,
    Organisation,
    OrganisationKind,
    PlanApproval,
    ReferenceFigure,
    ReportDraft,
    Role,
    RoleAssignment,
    Step,
    StepState,
    Unit,
    UnitPartner,
    User,
    ZeroToleranceAlert,
)
from tests.conftest import login

NEWEST = newest_year(date.today())
# Words of a municipality's staff survey that a gymnasium's pages must never say. "MED" and
# "APV" as words in capitals ("med" is Danish for "with").
MUNICIPAL_WORDS = re.compile(r"trio|\bMED\b|\bAPV\b|HR-afdeling|arbejdsmiljø", re.IGNORECASE)
CASE_SENSITIVE = {"MED", "APV"}


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """An empty database, and the demo built in it by the command line as an operator would;
    the password is read from what the command printed."""
    base = os.environ.get("TEST_DATABASE_URL")
    admin = None
    if base:
        name = f"kompas_school_{uuid.uuid4().hex[:8]}"
        admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('school') / 'school.db'}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "REPORT_JOBS": "inline"})
    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=["kompas", "demo", "--school"])
    assert result.exit_code == 0, result.output
    found = re.search(r"Password for all demo users \(shown only now\): (\S+)", result.output)
    assert found, result.output
    for login_ in school_logins(NEWEST):
        assert login_.email in result.output
    try:
        yield app, found.group(1)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_the_demo_refuses_a_database_with_data(school: tuple[Flask, str]) -> None:
    app, _password = school
    result = app.test_cli_runner().invoke(args=["kompas", "demo", "--school"])
    assert result.exit_code != 0
    assert "--reset" in result.output


def test_a_gymnasium_with_classes_named_as_the_guide_says(school: tuple[Flask, str]) -> None:
    app, _password = school
    with app.app_context():
        organisation = db.session.scalar(select(Organisation))
        assert organisation is not None
        assert organisation.kind == OrganisationKind.SCHOOL
        assert organisation.hold_results_until_released is True
        assert organisation.retention_years == 4
        classes = db.session.scalars(
            select(Unit.code).where(Unit.unit_type == "klasse", Unit.active.is_(True))
        ).all()
        assert 30 <= len(classes) <= 40
        assert all(re.fullmatch(r"20\d\d(stx|hhx|hf)[A-E]", code) for code in classes)
        assert {re.sub(r"^\d+|[A-E]$", "", code) for code in classes} == {"stx", "hhx", "hf"}
        educations = db.session.scalars(select(Unit.name).where(Unit.unit_type == "uddannelse"))
        assert sorted(educations) == ["hf", "hhx", "stx"]
        # Two years of the gymnasium survey, both released by management; the newer is newest.
        measurements = db.session.scalars(select(Measurement).order_by(Measurement.year)).all()
        assert [m.year for m in measurements] == [NEWEST - 1, NEWEST]
        management = db.session.scalar(select(User).where(User.email == f"rektor@{SCHOOL_DOMAIN}"))
        assert management is not None
        for measurement in measurements:
            assert measurement.questionnaire.code == "gym"
            assert measurement.anonymity_ok is True
            assert measurement.released_at is not None
            assert measurement.released_by_id == management.id


def test_follow_ups_in_every_state_with_alerts_goals_references_and_a_board_report(
    school: tuple[Flask, str],
) -> None:
    app, _password = school
    with app.app_context():
        newest = db.session.scalar(select(Measurement).where(Measurement.year == NEWEST))
        assert newest is not None
        management = db.session.scalar(select(User).where(User.email == f"rektor@{SCHOOL_DOMAIN}"))
        assert management is not None
        follow_ups = db.session.scalars(
            select(FollowUp).where(FollowUp.measurement_id == newest.id)
        ).all()
        reached = set()
        for follow_up in follow_ups:
            states = {record.step: record.state for record in follow_up.steps}
            open_steps = [s for s in Step if states[s] != StepState.DONE]
            reached.add(open_steps[0] if open_steps else "evaluated")
        assert {Step.ANALYSIS, Step.DIALOGUE, Step.PLAN, "evaluated"} <= reached
        # Classes not started: most of them.
        class_ids = select(Unit.id).where(Unit.unit_type == "klasse", Unit.active.is_(True))
        started = {f.unit_id for f in follow_ups}
        not_started = db.session.scalar(
            select(func.count())
            .select_from(Unit)
            .where(Unit.id.in_(class_ids), ~Unit.id.in_(started))
        )
        assert not_started and not_started > 20
        # Plans waiting for approval and approved.
        decisions = db.session.scalars(select(PlanApproval.decision)).all()
        assert "" in decisions and "approved" in decisions
        # Actions in every status.
        statuses = set(db.session.scalars(select(Action.status)))
        assert statuses == {0, 1, 2, 3, 4}
        # Bullying: this year one alert answered, one open; they are on classes.
        alerts = db.session.scalars(
            select(ZeroToleranceAlert).where(ZeroToleranceAlert.measurement_id == newest.id)
        ).all()
        assert sorted(a.closed_at is None for a in alerts) == [False, True]
        assert {a.unit.unit_type for a in alerts} == {"klasse"}
        # The class team: teachers who are members of their class and named as its partners.
        teacher = db.session.scalar(select(User).where(User.email == f"laerer@{SCHOOL_DOMAIN}"))
        assert teacher is not None
        partners = db.session.scalars(
            select(UnitPartner).where(UnitPartner.user_id == teacher.id)
        ).all()
        assert len(partners) == 2 and {p.function for p in partners} == {"teacher"}
        for partner in partners:
            assert db.session.scalar(
                select(RoleAssignment.id).where(
                    RoleAssignment.user_id == teacher.id,
                    RoleAssignment.unit_id == partner.unit_id,
                    RoleAssignment.role == Role.MEMBER,
                )
            )
        # Reference figures: national and stx, per indicator, for both years.
        for year in (NEWEST - 1, NEWEST):
            labels = set(
                db.session.execute(
                    select(ReferenceFigure.source, ReferenceFigure.label).where(
                        ReferenceFigure.year == year, ReferenceFigure.indicator != ""
                    )
                ).tuples()
            )
            assert labels == {("national", "Landsplan"), ("sector", "stx")}
        # Local goals and the follow-up plan, approved by name, and issued to the board.
        draft = db.session.scalar(select(ReportDraft).where(ReportDraft.year == NEWEST))
        assert draft is not None and draft.goals and draft.followup_plan
        assert draft.approved_by_name and draft.approved_version == draft.version
        issued = db.session.scalar(select(IssuedReport))
        assert issued is not None
        assert (issued.kind, issued.year, issued.unit.code) == ("annual", NEWEST, "FG")
        assert issued.issued_by_name == management.name


@pytest.mark.parametrize(
    "email",
    [x.email for x in school_logins(NEWEST)] + [f"{COLLEAGUES[0][0]}@{SCHOOL_DOMAIN}"],
)
def test_every_role_signs_in_to_a_home_in_the_schools_words(
    school: tuple[Flask, str], email: str
) -> None:
    app, password = school
    client = app.test_client()
    login(client, email, password)
    home = client.get("/", headers={"Accept-Language": "da"})
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    words = {
        m.group(0)
        for m in MUNICIPAL_WORDS.finditer(re.sub(r"<[^>]+>", " ", page))
        if m.group(0).upper() not in CASE_SENSITIVE or m.group(0).isupper()
    }
    assert not words, f"{email}'s home says {sorted(words)}"

"""Issue 19, the board package: the annual report holds the joint action plan itself (actions
with owner and status), last year's evaluation, the local goals of several years and the
national level; it is issued only after a named approval of the draft as it stands (e-mails
both ways); an issued report can be withdrawn with a reason and stays in the archive; in a
school only management issues.

On the demo organisation (a municipality), built once for the module in
tests/web/test_reports_web.py; the tests add to it and put back what they switch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    FollowUp,
    FollowUpStep,
    IssuedReport,
    Measurement,
    Organisation,
    OrganisationKind,
    ReferenceFigure,
    ReportDraft,
    ReportWithdrawal,
    Step,
    StepState,
    Unit,
)
from tests.conftest import Inbox
from tests.services.test_reports import pdf_text
from tests.web import test_reports_issue18, test_reports_web
from tests.web.test_reports_web import (
    BOARD,
    COMMITTEE,
    HEAD,
    HR,
    MEMBER,
    approve_current,
    client_for,
    run_job,
)

demo = test_reports_web.demo
inbox = test_reports_issue18.inbox

VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')


def _version(page: str, form_id: str = "") -> str:
    """The version a form on the page carries (the one with the id, if given)."""
    if form_id:
        found = re.search(
            rf'id="{form_id}"[^>]*value="(\d+)"|value="(\d+)"[^>]*id="{form_id}"', page
        )
        assert found, form_id
        return found.group(1) or found.group(2)
    found = VERSION.search(page)
    assert found
    return found.group(1)


def _issued(app: Flask, code: str, year: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(IssuedReport.id))
            .join(Unit, Unit.id == IssuedReport.unit_id)
            .where(Unit.code == code, IssuedReport.year == year)
        )


def _issue(client: FlaskClient, code: str, year: int) -> bytes:
    url = f"/reports/annual/{code}/{year}/issue"
    page = client.get(url).get_data(as_text=True)
    return run_job(client, url, {"version": _version(page), "confirm": "y"})


def _user_id(app: Flask, email: str) -> int:
    from app.models import User

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def test_issuing_needs_a_named_approval_of_the_current_version(demo: Flask, inbox: Inbox) -> None:
    head, hr = client_for(demo, HEAD), client_for(demo, HR)
    annual = "/reports/annual/AK-BF-001/2025"
    form = head.get(annual).get_data(as_text=True)
    head.post(annual, data={"followup_plan": "Plan til godkendelse.", "version": _version(form)})
    before = _issued(demo, "AK-BF-001", 2025)

    # Not approved: the issue page says so and offers no issue button; a POST issues nothing.
    page = head.get(f"{annual}/issue").get_data(as_text=True)
    assert "Rapporten skal godkendes først" in page and "Udsend version" not in page
    current = _version(head.get(annual).get_data(as_text=True), "draft-version")
    refused = head.post(f"{annual}/issue", data={"version": current, "confirm": "y"})
    assert refused.status_code == 409 and _issued(demo, "AK-BF-001", 2025) == before

    # Bo asks Hanne (HR) by name; she is e-mailed a link to the report.
    page = head.get(annual).get_data(as_text=True)
    assert "Hanne Rasmussen" in page and "Godkendelse før udsendelse" in page
    asked = head.post(
        f"{annual}/approval",
        data={"approver": _user_id(demo, HR), "version": _version(page, "approval-version")},
    )
    assert asked.status_code == 302
    inbox.wait_for(1)
    to_hr = inbox.to(HR)
    assert len(to_hr) == 1
    assert "Godkend venligst" in Inbox.subject(to_hr[0])
    assert "http://localhost/reports/annual/AK-BF-001/2025" in Inbox.body(to_hr[0])
    # Someone else than the one asked cannot approve.
    assert head.post(f"{annual}/approve", data={"version": "1"}).status_code == 404

    # Hanne approves what she read; Bo is e-mailed and may issue.
    page = hr.get(annual).get_data(as_text=True)
    assert "Du er bedt om at godkende" in page
    approved = hr.post(f"{annual}/approve", data={"version": _version(page, "approve-version")})
    assert approved.status_code == 302
    inbox.wait_for(2)
    to_head = inbox.to(HEAD)
    assert len(to_head) == 1 and "Godkendt" in Inbox.subject(to_head[0])
    assert "http://localhost/reports/annual/AK-BF-001/2025/issue" in Inbox.body(to_head[0])

    # Saving the same text again keeps the approval ("Issue …" saves the form first).
    page = head.get(annual).get_data(as_text=True)
    head.post(annual, data={"followup_plan": "Plan til godkendelse.", "version": _version(page)})
    text = pdf_text(_issue(head, "AK-BF-001", 2025))
    assert _issued(demo, "AK-BF-001", 2025) == before + 1
    assert "Godkendt af" in text and "Hanne Rasmussen" in text

    # A later edit needs approving again.
    page = head.get(annual).get_data(as_text=True)
    head.post(annual, data={"followup_plan": "Ændret plan.", "version": _version(page)})
    page = head.get(f"{annual}/issue").get_data(as_text=True)
    assert "Rapporten skal godkendes først" in page
    current = _version(head.get(annual).get_data(as_text=True), "draft-version")
    refused = head.post(f"{annual}/issue", data={"version": current, "confirm": "y"})
    assert refused.status_code == 409 and _issued(demo, "AK-BF-001", 2025) == before + 1


@pytest.fixture
def package_data(demo: Flask) -> Iterator[None]:
    """Last year's evaluation at AK-BF, goals for 2025 and 2026, and a national figure."""
    with demo.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "AK-BF"))
        m2025 = db.session.scalar(
            select(Measurement).where(
                Measurement.year == 2025, Measurement.remeasure_of_id.is_(None)
            )
        )
        follow_up = db.session.scalar(
            select(FollowUp).where(FollowUp.measurement_id == m2025.id, FollowUp.unit_id == unit.id)
        )
        if follow_up is None:
            follow_up = FollowUp(measurement_id=m2025.id, unit_id=unit.id)
            db.session.add(follow_up)
            db.session.flush()
        step = db.session.scalar(
            select(FollowUpStep).where(
                FollowUpStep.follow_up_id == follow_up.id, FollowUpStep.step == Step.EVALUATION
            )
        )
        if step is None:
            step = FollowUpStep(follow_up_id=follow_up.id, step=Step.EVALUATION)
            db.session.add(step)
        step.state = StepState.DONE
        step.updated_at = datetime.now(UTC)
        step.data = {
            "acted": "Vi indførte trivselsrunder.",
            "effect": "Trivselsrunderne gav færre konflikter.",
            "adjust": "Runderne flyttes til mandag.",
            "process_review": "Processen var god.",
        }
        themes = test_reports_web._themes(demo)
        theme = themes[0]
        for year, criterion in ((2025, "Mål fra 2025"), (2026, "Mål fra 2026")):
            draft = db.session.scalar(
                select(ReportDraft).where(ReportDraft.unit_id == unit.id, ReportDraft.year == year)
            )
            if draft is None:
                draft = ReportDraft(unit_id=unit.id, year=year, followup_plan="", goals={})
                db.session.add(draft)
            draft.goals = {theme: {"target": 60.0, "criterion": criterion}}
        if not db.session.scalar(select(func.count(ReferenceFigure.id))):
            db.session.add(
            ReferenceFigure(
                questionnaire_code=m2025.questionnaire.code, year=2026, source="national",
                label="Landsplan",
                indicator=theme, average=3.6, share=None, count=1000,
            )
        )  # fmt: skip
        db.session.commit()
    yield


def test_the_board_package_holds_plan_evaluation_goals_and_the_national_level(
    demo: Flask, package_data: None
) -> None:
    head = client_for(demo, HEAD)
    approve_current(demo, "AK-BF", 2026)
    text = pdf_text(_issue(head, "AK-BF", 2026))
    flat = " ".join(text.split())
    # The joint action plan itself: actions with owner and status, not only counts.
    assert "Den fælles handleplan" in flat
    assert "Spilleregler for teammøder" in flat and "Karen Holm" in flat
    assert "Kursus i svære samtaler" in flat and "Startet" in flat and "Færdig" in flat
    # Last year's evaluation, as written.
    assert "Sidste års evaluering" in flat
    assert "Trivselsrunderne gav færre konflikter." in flat and "Processen var god." in flat
    # Local goals of several years.
    assert "Mål fra 2025" in flat and "Mål fra 2026" in flat
    # The national level, marked with its source.
    assert "Landsplan" in flat and "3,6" in flat
    # In the guide's order: results, goals, the plan, evaluation, the management's plan.
    order = [
        flat.rfind("Indikatorernes score år for år"),
        flat.rfind("Lokale mål og succeskriterier over årene"),
        flat.rfind("Den fælles handleplan"),
        flat.rfind("Sidste års evaluering"),
        flat.rfind("Ledelsens opfølgningsplan"),
    ]
    assert -1 not in order and order == sorted(order), order
    # The same on screen.
    preview = head.get("/reports/annual/AK-BF/2026/preview").get_data(as_text=True)
    assert "Spilleregler for teammøder" in preview and "Mål fra 2025" in preview


def test_local_goals_are_shown_read_only_to_the_class_team(demo: Flask, package_data: None) -> None:
    member = client_for(demo, MEMBER)
    page = member.get("/reports/goals/AK-BF-001-T001")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert (
        "Mål fra 2025" in text
        and "Mål fra 2026" in text
        and "<textarea" not in text
        and 'name="target_' not in text
    )
    # Only for units whose follow-up the person may see.
    assert member.get("/reports/goals/AK-SO").status_code == 404


def test_a_withdrawn_report_stays_in_the_archive_with_who_when_and_why(demo: Flask) -> None:
    head = client_for(demo, HEAD)
    approve_current(demo, "AK-BF-001", 2026)
    pdf = _issue(head, "AK-BF-001", 2026)
    with demo.app_context():
        issued = db.session.scalars(select(IssuedReport).order_by(IssuedReport.id.desc())).first()
        report_id = issued.id
    url = f"/reports/archive/{report_id}/withdraw"
    # Asks first: without a reason, or without the tick, nothing happens.
    page = head.get(url).get_data(as_text=True)
    assert "Træk rapporten tilbage" in page
    assert head.post(url, data={"reason": "", "confirm": "y"}).status_code == 400
    assert head.post(url, data={"reason": "Forkerte tal"}).status_code == 400
    assert head.post(url, data={"reason": "x" * 2001, "confirm": "y"}).status_code == 400
    with demo.app_context():
        assert db.session.scalar(select(func.count(ReportWithdrawal.id))) == 0
    # Those who may not issue there cannot withdraw.
    assert (
        client_for(demo, COMMITTEE).post(url, data={"reason": "x", "confirm": "y"}).status_code
        == 404
    )
    assert client_for(demo, BOARD).get(url).status_code == 404

    done = head.post(url, data={"reason": "Tallene for 2026 var forkerte.", "confirm": "y"})
    assert done.status_code == 302
    with demo.app_context():
        withdrawal = db.session.scalar(select(ReportWithdrawal))
        assert withdrawal.report_id == report_id and withdrawal.by_name == "Bo Frederiksen"
        assert db.session.get(IssuedReport, report_id).pdf == pdf  # unchanged
    # Withdrawn once: a second try changes nothing.
    assert head.post(url, data={"reason": "igen", "confirm": "y"}).status_code == 200
    with demo.app_context():
        assert db.session.scalar(select(func.count(ReportWithdrawal.id))) == 1
    # The board's list marks it, with who and why; the PDF is still there for the record.
    board = client_for(demo, BOARD)
    archive = board.get("/reports/").get_data(as_text=True)
    assert "Trukket tilbage" in archive and "Tallene for 2026 var forkerte." in archive
    assert "Bo Frederiksen" in archive
    assert board.get(f"/reports/archive/{report_id}/download").data == pdf
    annual = head.get("/reports/annual/AK-BF-001/2026").get_data(as_text=True)
    assert "Trukket tilbage" in annual


def test_in_a_school_only_management_issues(demo: Flask) -> None:
    with demo.app_context():
        organisation = db.session.scalars(select(Organisation)).first()
        organisation.kind = OrganisationKind.SCHOOL
        db.session.commit()
    try:
        # A department leader (not management of the institution) issues nothing.
        head = client_for(demo, HEAD)
        assert head.get("/reports/annual/AK-BF/2026/issue").status_code == 404
        annual = head.get("/reports/annual/AK-BF/2026").get_data(as_text=True)
        assert "Spørg om godkendelse" not in annual
        assert (
            head.post(
                "/reports/annual/AK-BF/2026/approval",
                data={"approver": _user_id(demo, HR), "version": "0"},
            ).status_code
            == 404
        )
        # The class team (a member on a class) neither.
        member = client_for(demo, MEMBER)
        assert member.get("/reports/annual/AK-BF-001-T001/2026/issue").status_code == 404
        # Management (the survey owner here) does, after approval.
        hr = client_for(demo, HR)
        assert hr.get("/reports/annual/AK/2026/issue").status_code == 200
        assert "Spørg om godkendelse" in hr.get("/reports/annual/AK/2026").get_data(as_text=True)
    finally:
        with demo.app_context():
            organisation = db.session.scalars(select(Organisation)).first()
            organisation.kind = OrganisationKind.MUNICIPALITY
            db.session.commit()

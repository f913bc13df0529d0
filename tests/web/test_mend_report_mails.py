"""The board's e-mails about the annual report are part of the report's own code path:

- issuing is a report job, and the job itself e-mails the board once the issue is committed,
  whichever backend runs it (in the request, in a thread of the app server, in an RQ worker
  that never loads the reports pages);
- withdrawing an issued report e-mails the same board members, with who withdrew it and why,
  naming the board as the organisation does (a municipality's political committee, a school's
  board).

On a small organisation in a database file (or the PostgreSQL test database), which the job's
thread shares with the test:   R ── A ── A1, A2   and   R ── B ── B1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import create_app
from app.extensions import db
from app.models import (
    IssuedReport,
    Organisation,
    OrganisationKind,
    ReportDraft,
    ReportJob,
    Role,
    Unit,
    User,
)
from app.services import report_archive, report_jobs
from app.services.users import assign_role, create_user
from tests.conftest import PASSWORD, Inbox, login
from tests.followup_data import measure

LEADER, APPROVER, BOARD, OTHER_BOARD, COMMITTEE = (
    "leder@x.dk", "hr@x.dk", "bestyrelse@x.dk", "bestyrelse.b@x.dk", "med@x.dk",
)  # fmt: skip


@pytest.fixture
def live_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The app the tests issue from, on a database a report job's thread can share (named
    `live_app`, so conftest's `smtp_server` sends its e-mails to the test's inbox). It asks for
    `app` too, so PostgreSQL's tables are emptied after the test."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'reports.db'}"
    made = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with made.app_context():
        db.create_all()
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        units: dict[str, Unit] = {}
        for code, parent in [("R", None), ("A", "R"), ("A1", "A"), ("A2", "A"), ("B", "R"),
                             ("B1", "B")]:  # fmt: skip
            units[code] = Unit(
                code=code, name=f"Enhed {code}", unit_type="team", parent=units.get(parent or "")
            )
            db.session.add(units[code])
        db.session.flush()
        for email, name, role, code in [
            (LEADER, "Lars Leder", Role.LEADER, "R"),
            (APPROVER, "Hanne HR", Role.ADMIN, "R"),
            (BOARD, "Birte Bestyrelse", Role.BOARD, "R"),
            (OTHER_BOARD, "Bent B", Role.BOARD, "B"),  # not above A: not told about A
            (COMMITTEE, "Mette MED", Role.COMMITTEE, "R"),
        ]:
            user = create_user(db.session, None, email=email, name=name, password=PASSWORD)
            assign_role(db.session, None, user, units[code], role)
        db.session.commit()
        measure()
    try:
        yield made
    finally:
        with made.app_context():
            db.session.remove()
            db.engine.dispose()


def _approved_draft(app: Flask, code: str = "A", year: int = 2026) -> None:
    """A draft of the unit's annual report, approved as it stands (issuing needs that)."""
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        approver = db.session.scalar(select(User).where(User.email == APPROVER))
        draft = report_archive.save_draft(
            db.session, approver, unit, year, followup_plan="Trivselsrunder hver måned."
        )
        db.session.execute(
            update(ReportDraft)
            .where(ReportDraft.id == draft.id)
            .values(approver_id=approver.id, approved_at=datetime.now(UTC),
                    approved_by_name=approver.name, approved_version=draft.version)
        )  # fmt: skip
        db.session.commit()


def _client(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


def _issue_by_http(client: FlaskClient, code: str = "A", year: int = 2026) -> int:
    """Confirm the issue page; the id of the job it started."""
    url = f"/reports/annual/{code}/{year}/issue"
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page)
    assert version, page[:2000]
    started = client.post(url, data={"version": version.group(1), "confirm": "y"})
    assert started.status_code == 302 and "/reports/jobs/" in started.headers["Location"]
    token = started.headers["Location"].rsplit("/", 1)[1]
    with client.application.app_context():
        return db.session.scalar(select(ReportJob.id).where(ReportJob.token == token))


def _issued(app: Flask) -> tuple[int, str]:
    with app.app_context():
        issued = db.session.scalars(select(IssuedReport).order_by(IssuedReport.id.desc())).first()
        assert issued is not None, "nothing was issued"
        return issued.id, issued.title


def _assert_board_told_of_issue(app: Flask, inbox: Inbox) -> None:
    report_id, title = _issued(app)
    inbox.wait_for(1)
    (mail,) = inbox.to(BOARD)
    assert Inbox.subject(mail) == f"Udsendt til det politiske udvalg: {title}"
    body = Inbox.body(mail)
    assert "Kære Birte Bestyrelse" in body and "Lars Leder har udsendt" in body
    assert f"http://localhost/reports/archive/{report_id}/download" in body
    # Only the board above the unit: not the board of B, not the MED committee, not the issuer.
    assert [m["To"] for m in inbox] == [BOARD]


@pytest.mark.parametrize("backend", ["inline", "thread"])
def test_an_issue_emails_the_board_whichever_backend_runs_the_job(
    live_app: Flask, smtp_server: Inbox, backend: str
) -> None:
    live_app.config["REPORT_JOBS"] = backend
    _approved_draft(live_app)
    leader = _client(live_app, LEADER)
    job_id = _issue_by_http(leader)
    report_jobs.wait(job_id, timeout=120)  # the thread's job; an inline one is done already
    with live_app.app_context():
        assert db.session.get(ReportJob, job_id).state == "done"
    _assert_board_told_of_issue(live_app, smtp_server)


def test_a_job_run_by_a_worker_emails_the_board_without_the_reports_pages(
    live_app: Flask, smtp_server: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An RQ worker runs the job as app.worker does; no hook of the reports pages is needed
    (one that had been registered is gone)."""
    monkeypatch.setattr(report_jobs, "issued_listeners", [], raising=False)
    _approved_draft(live_app)
    with live_app.app_context():
        leader = db.session.scalar(select(User).where(User.email == LEADER))
        unit = db.session.scalar(select(Unit).where(Unit.code == "A"))
        job = report_jobs.create(
            db.session, leader, "annual",
            {"unit_id": unit.id, "year": 2026, "language": "da", "base_url": "http://localhost/"},
            issue=True,
        )  # fmt: skip
        db.session.commit()
        job_id = job.id
    report_jobs.run_in_app(live_app, job_id)  # what app.worker.run_report does
    with live_app.app_context():
        assert db.session.get(ReportJob, job_id).state == "done"
    _assert_board_told_of_issue(live_app, smtp_server)


def test_a_failing_mail_server_leaves_the_issue_done(live_app: Flask) -> None:
    """The e-mail comes after the commit: a mail server that cannot be reached leaves the
    report issued and the job done."""
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT="1")  # nothing listens there
    _approved_draft(live_app)
    job_id = _issue_by_http(_client(live_app, LEADER))
    with live_app.app_context():
        assert db.session.get(ReportJob, job_id).state == "done"
    _issued(live_app)


def _issued_report(app: Flask) -> int:
    """An annual report of A issued to the board (as the job does it, in a request context for
    the PDF's words), its id."""
    _approved_draft(app)
    with app.test_request_context("/"):
        leader = db.session.scalar(select(User).where(User.email == LEADER))
        unit = db.session.scalar(select(Unit).where(Unit.code == "A"))
        issued = report_archive.issue_annual(db.session, leader, unit, 2026)
        db.session.commit()
        return issued.id


@pytest.mark.parametrize(
    ("kind", "board"),
    [
        (OrganisationKind.MUNICIPALITY, "det politiske udvalg"),
        (OrganisationKind.SCHOOL, "bestyrelsen"),
    ],
)
def test_a_withdrawal_emails_the_board_with_the_reason(
    live_app: Flask, smtp_server: Inbox, kind: OrganisationKind, board: str
) -> None:
    report_id = _issued_report(live_app)
    with live_app.app_context():
        db.session.execute(update(Organisation).values(kind=kind))
        db.session.commit()
    _, title = _issued(live_app)
    leader = _client(live_app, LEADER)
    url = f"/reports/archive/{report_id}/withdraw"
    reason = "Tallene for Enhed A2 var fra den forkerte fil."
    # Without the tick nothing is withdrawn and nobody is told.
    assert leader.post(url, data={"reason": reason}).status_code == 400
    assert smtp_server.wait_for(1, timeout=0.5) == []
    done = leader.post(url, data={"reason": reason, "confirm": "y"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    smtp_server.wait_for(1)
    (mail,) = smtp_server.to(BOARD)
    assert Inbox.subject(mail) == f"Trukket tilbage: {title}"
    body = Inbox.body(mail)
    assert "Kære Birte Bestyrelse" in body
    assert f"Lars Leder har trukket »{title}« (version 1) tilbage." in body
    assert f"Den blev udsendt til {board} den " in body
    assert f"Begrundelse: {reason}" in body
    assert "markeret som trukket tilbage: http://localhost/reports/#archive-heading" in body
    # The same people as on issue: not the board of B, not the MED committee, not the leader.
    assert [m["To"] for m in smtp_server] == [BOARD]
    # Withdrawing again changes nothing and tells nobody again.
    assert leader.post(url, data={"reason": "igen", "confirm": "y"}).status_code == 200
    smtp_server.wait_for(2, timeout=0.5)
    assert len(smtp_server) == 1


def test_a_board_member_who_chose_english_reads_the_withdrawal_in_english(
    live_app: Flask, smtp_server: Inbox
) -> None:
    report_id = _issued_report(live_app)
    with live_app.app_context():
        db.session.execute(update(User).where(User.email == BOARD).values(language="en"))
        db.session.commit()
    leader = _client(live_app, LEADER)
    done = leader.post(
        f"/reports/archive/{report_id}/withdraw", data={"reason": "Forkert fil.", "confirm": "y"}
    )
    assert done.status_code == 302
    smtp_server.wait_for(1)
    body = Inbox.body(smtp_server.to(BOARD)[0])
    assert "Lars Leder has withdrawn" in body and "issued to the political committee on" in body
    assert "The reason: Forkert fil." in body

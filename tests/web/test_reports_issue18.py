"""Issue 18, reports: nothing typed is lost (the annual report's draft saves itself; issuing
saves what is typed, shows what will be sent and asks to confirm), the board is e-mailed
when a report is issued, a municipality's report speaks of its political committee, and the
PDF's cover carries no checksum.

On the demo organisation (a municipality), built once for this module (see
tests/web/test_reports_web.py); the tests add drafts and issued versions to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import IssuedReport, Organisation, OrganisationKind, ReportDraft, Unit
from tests.conftest import Inbox
from tests.services.test_reports import pdf_text
from tests.web import test_reports_web
from tests.web.test_reports_web import (
    BOARD,
    COMMITTEE,
    HEAD,
    HR,
    approve_current,
    client_for,
    run_job,
)

demo = test_reports_web.demo  # the demo organisation, built once for this module

VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')
ISSUE_URL = "/reports/annual/{code}/{year}/issue"


@pytest.fixture
def inbox(demo: Flask) -> Iterator[Inbox]:
    """A real SMTP server on loopback that the demo app sends to (as conftest's `smtp_server`
    does for the `app` fixture, whose tables are emptied after each test)."""
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = Inbox()

    class Collect(Message):
        def handle_message(self, message) -> None:  # noqa: ANN001
            received.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    keys = ("MAIL_SERVER", "MAIL_PORT", "MAIL_FROM")
    saved = {key: demo.config.get(key) for key in keys}
    demo.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port), MAIL_FROM="kompas@x.dk")
    try:
        yield received
    finally:
        demo.config.update(saved)
        controller.stop()


def issued_count(app: Flask, code: str, year: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(IssuedReport.id))
            .join(Unit, Unit.id == IssuedReport.unit_id)
            .where(Unit.code == code, IssuedReport.year == year)
        )


def draft_of(app: Flask, code: str, year: int) -> ReportDraft | None:
    with app.app_context():
        draft = db.session.scalar(
            select(ReportDraft).join(Unit).where(Unit.code == code, ReportDraft.year == year)
        )
        if draft is not None:
            db.session.expunge(draft)
        return draft


def shown_version(page: str) -> str:
    found = VERSION.search(page)
    assert found, "the form names the version it shows"
    return found.group(1)


def confirm_issue(client: FlaskClient, code: str, year: int) -> str:
    """Open the issue page, tick the box and issue; the job's address."""
    url = ISSUE_URL.format(code=code, year=year)
    approve_current(client.application, code, year)  # issuing needs an approval (issue 19)
    page = client.get(url)
    assert page.status_code == 200
    version = shown_version(page.get_data(as_text=True))
    started = client.post(url, data={"version": version, "confirm": "y"})
    assert started.status_code == 302, started.status_code
    assert "/reports/jobs/" in started.headers["Location"]
    return started.headers["Location"]


def test_issuing_asks_to_confirm_and_saves_what_was_typed_first(demo: Flask) -> None:
    head = client_for(demo, HEAD)
    before = issued_count(demo, "AK-BF", 2026)
    # Typed but not saved, then "Issue …": the text is saved and the issue page shows it.
    form = head.get("/reports/annual/AK-BF/2026").get_data(as_text=True)
    assert 'name="next" value="issue"' in form and 'form="draft-form"' in form
    typed = head.post(
        "/reports/annual/AK-BF/2026",
        data={"followup_plan": "Trivselsrunder hver måned.", "version": shown_version(form),
              "next": "issue"},
    )  # fmt: skip
    assert typed.status_code == 302
    assert typed.headers["Location"] == "/reports/annual/AK-BF/2026/issue"
    assert draft_of(demo, "AK-BF", 2026).followup_plan == "Trivselsrunder hver måned."
    assert issued_count(demo, "AK-BF", 2026) == before  # saving is not issuing
    approve_current(demo, "AK-BF", 2026)  # issuing needs an approval (issue 19)

    page = head.get(typed.headers["Location"]).get_data(as_text=True)
    assert "Trivselsrunder hver måned." in page  # the plan as saved
    assert "Årlig opfølgningsrapport 2026 – Børn &amp; Familie" in page  # the title
    assert "Ulla Vestergaard" in page  # the political committee member who is e-mailed
    assert "Udsend til det politiske udvalg" in page and "bestyrelse" not in page.lower()

    # Without the tick nothing is issued, and the page says why.
    version = shown_version(page)
    refused = head.post(ISSUE_URL.format(code="AK-BF", year=2026), data={"version": version})
    assert refused.status_code == 400
    assert "Sæt kryds for at bekræfte" in refused.get_data(as_text=True)
    assert issued_count(demo, "AK-BF", 2026) == before
    # A bare POST (the old one-click issue) issues nothing either.
    assert head.post(ISSUE_URL.format(code="AK-BF", year=2026)).status_code == 400
    assert issued_count(demo, "AK-BF", 2026) == before

    confirm_issue(head, "AK-BF", 2026)
    assert issued_count(demo, "AK-BF", 2026) == before + 1
    with demo.app_context():
        issued = db.session.scalars(
            select(IssuedReport).order_by(IssuedReport.id.desc()).limit(1)
        ).one()
        assert issued.followup_plan == "Trivselsrunder hver måned."


def test_a_plan_changed_after_the_issue_page_was_shown_is_not_issued(demo: Flask) -> None:
    head, hr = client_for(demo, HEAD), client_for(demo, HR)
    url = ISSUE_URL.format(code="AK-BF", year=2025)
    approve_current(demo, "AK-BF", 2025)
    shown = shown_version(head.get(url).get_data(as_text=True))
    # HR changes the plan while Bo reads the issue page.
    form = hr.get("/reports/annual/AK-BF/2025").get_data(as_text=True)
    saved = hr.post(
        "/reports/annual/AK-BF/2025",
        data={"followup_plan": "HR's nye plan", "version": shown_version(form)},
    )
    assert saved.status_code == 302
    before = issued_count(demo, "AK-BF", 2025)
    stale = head.post(url, data={"version": shown, "confirm": "y"})
    page = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert issued_count(demo, "AK-BF", 2025) == before
    assert "HR&#39;s nye plan" in page and "Intet blev udsendt" in page
    # The changed plan needs approving again before anything can be confirmed (issue 19).
    assert "Rapporten skal godkendes først" in page
    approve_current(demo, "AK-BF", 2025)
    assert shown_version(head.get(url).get_data(as_text=True)) != shown


def test_the_board_is_emailed_with_the_archive_link(demo: Flask, inbox: Inbox) -> None:
    head = client_for(demo, HEAD)
    job_url = confirm_issue(head, "AK-BF-001", 2026)
    assert head.get(job_url).status_code == 200
    inbox.wait_for(1)
    with demo.app_context():
        issued = db.session.scalars(
            select(IssuedReport).order_by(IssuedReport.id.desc()).limit(1)
        ).one()
        issued_id, title = issued.id, issued.title
    to_board = inbox.to(BOARD)
    assert len(to_board) == 1, [m["To"] for m in inbox]
    subject, body = Inbox.subject(to_board[0]), Inbox.body(to_board[0])
    assert subject == f"Udsendt til det politiske udvalg: {title}"
    assert "Bo Frederiksen har udsendt" in body and "Kære Ulla Vestergaard" in body
    assert f"http://localhost/reports/archive/{issued_id}/download" in body
    assert "http://localhost/reports/" in body
    # Only the board is e-mailed: not the MED committee, not the issuer.
    assert not inbox.to(COMMITTEE) and not inbox.to(HEAD)
    # The board sees it in the archive, and the "no report yet" sentence is gone.
    archive = client_for(demo, BOARD).get("/reports/").get_data(as_text=True)
    assert f"/reports/archive/{issued_id}/download" in archive
    assert "Rapporter udsendt til det politiske udvalg" in archive
    assert "Der er endnu ikke udsendt nogen rapport" not in archive


def test_the_issued_pdf_speaks_municipal_and_has_no_checksum_on_the_cover(demo: Flask) -> None:
    head = client_for(demo, HEAD)
    confirm_issue(head, "AK-BF", 2026)
    with demo.app_context():
        issued = db.session.scalars(
            select(IssuedReport).order_by(IssuedReport.id.desc()).limit(1)
        ).one()
        text, checksum = pdf_text(issued.pdf), issued.data_sha256
    assert "Udsendt til det politiske udvalg" in text
    assert "bestyrelse" not in text.lower()
    assert checksum not in text.replace(" ", "") and "SHA-256" not in text
    # The checksum stays in the archive.
    archive = head.get("/reports/").get_data(as_text=True)
    assert checksum in archive


def test_a_school_says_the_board(demo: Flask) -> None:
    with demo.app_context():
        organisation = db.session.scalars(select(Organisation)).first()
        organisation.kind = OrganisationKind.SCHOOL
        db.session.commit()
    try:
        # In a school only management issues (issue 19): the survey owner here.
        page = client_for(demo, HR).get(ISSUE_URL.format(code="AK-BF", year=2026))
        text = page.get_data(as_text=True)
        assert "Udsend til bestyrelsen" in text and "politiske udvalg" not in text
    finally:
        with demo.app_context():
            organisation = db.session.scalars(select(Organisation)).first()
            organisation.kind = OrganisationKind.MUNICIPALITY
            db.session.commit()


def test_the_draft_autosaves_and_refuses_an_old_version(demo: Flask) -> None:
    head = client_for(demo, HEAD)
    url = "/reports/annual/AK-BF-001/2026"
    form = head.get(url).get_data(as_text=True)
    assert 'hx-post="/reports/annual/AK-BF-001/2026"' in form
    assert 'hx-trigger="input delay:1500ms"' in form
    loaded = shown_version(form)
    htmx = {"HX-Request": "true"}
    saved = head.post(url, data={"followup_plan": "Skrevet lidt", "version": loaded}, headers=htmx)
    fragment = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "<html" not in fragment
    assert "Gemt" in fragment and 'hx-swap-oob="true"' in fragment
    draft = draft_of(demo, "AK-BF-001", 2026)
    assert draft.followup_plan == "Skrevet lidt"
    assert f'value="{draft.version}"' in fragment and str(draft.version) != loaded

    # Typing on from the new version saves again; a tab still at the old one is refused.
    again = head.post(
        url, data={"followup_plan": "Skrevet mere", "version": draft.version}, headers=htmx
    )
    assert again.status_code == 200
    stale = head.post(url, data={"followup_plan": "Gammel fane", "version": loaded}, headers=htmx)
    assert stale.status_code == 409
    assert "Ikke gemt" in stale.get_data(as_text=True)
    assert draft_of(demo, "AK-BF-001", 2026).followup_plan == "Skrevet mere"
    # Too long: not saved, one line back.
    too_long = head.post(
        url, data={"followup_plan": "x" * 20001, "version": draft.version + 1}, headers=htmx
    )
    assert too_long.status_code == 400 and "Ikke gemt" in too_long.get_data(as_text=True)
    assert draft_of(demo, "AK-BF-001", 2026).followup_plan == "Skrevet mere"


def test_the_mail_goes_to_the_board_above_in_each_ones_language(demo: Flask, inbox: Inbox) -> None:
    """Board members on the unit or above are told, each in their own language; one on a
    unit beside it, and one no longer active, are not."""
    from app.models import Role
    from app.services.users import assign_role, create_user

    with demo.app_context():
        units = {u.code: u for u in db.session.scalars(select(Unit))}
        people = {}
        for email, name, code, language, active in (
            ("board.en@x.dk", "Emma English", "AK-BF", "en", True),
            ("board.so@x.dk", "Søren Side", "AK-SO", "da", True),
            ("board.gone@x.dk", "Gone Gunnar", "AK-BF", "da", False),
        ):
            user = create_user(
                db.session, None, email=email, name=name, password="correct horse battery staple"
            )
            user.language, user.active = language, active
            assign_role(db.session, None, user, units[code], Role.BOARD)
            people[email] = user
        db.session.commit()

    page = client_for(demo, HEAD).get(ISSUE_URL.format(code="AK-BF-001", year=2026))
    text = page.get_data(as_text=True)
    assert "Emma English" in text and "Ulla Vestergaard" in text  # who will be told
    assert "Søren Side" not in text and "Gone Gunnar" not in text

    confirm_issue(client_for(demo, HEAD), "AK-BF-001", 2026)
    inbox.wait_for(2)
    assert sorted(m["To"] for m in inbox) == ["board.en@x.dk", BOARD]
    english = inbox.to("board.en@x.dk")[0]
    assert Inbox.subject(english).startswith("Issued to the political committee: ")
    body = Inbox.body(english)
    assert "Dear Emma English" in body and "has issued" in body
    assert "Read the report (PDF): http://localhost/reports/archive/" in body


def test_a_draft_pdf_holds_what_was_just_typed(demo: Flask) -> None:
    head = client_for(demo, HEAD)
    url = "/reports/annual/AK-BF-001/2025"
    form = head.get(url).get_data(as_text=True)
    assert 'form="draft-form" name="next" value="pdf"' in form
    typed = {"followup_plan": "Lige skrevet, ikke gemt.", "version": shown_version(form)}
    pdf = run_job(head, url, {**typed, "next": "pdf"})
    assert "Lige skrevet, ikke gemt." in pdf_text(pdf)
    assert draft_of(demo, "AK-BF-001", 2025).followup_plan == "Lige skrevet, ikke gemt."

"""The approval round trip in a real browser, with the e-mails on a loopback SMTP server: the
leader sends the action plan to the department head, who sends it back with a comment from
his queue; the leader sends it again and he approves it. And the trio: the leader names an
employee as safety rep, who then edits a step, until HR takes the member role away.

Every page is checked with axe-core and must fit a 390-px phone.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select

from app.extensions import db
from app.models import (
    FollowUp,
    Organisation,
    OrganisationKind,
    Role,
    RoleAssignment,
    Unit,
    User,
)
from app.services import followup as followup_service
from app.services.users import assign_role, create_user
from tests.browser.conftest import AxePage, look
from tests.browser.conftest import sign_in as sign_in_afresh
from tests.conftest import Inbox
from tests.followup_data import measure

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def measured(live_app: Flask) -> dict[str, int]:
    """Lise leads Enhed A1 (green: its plan goes to the department head), Bo leads Enhed A
    above it, Mads works in A1."""
    ids = {}
    with live_app.app_context():
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        ids["measurement"] = measure().id
        for email, name, code, role in [
            ("lise@testby.dk", "Lise Dahl", "A1", Role.LEADER),
            ("bo@testby.dk", "Bo Holm", "A", Role.LEADER),
            ("mads@testby.dk", "Mads Berg", "A1", Role.MEMBER),
        ]:
            user = create_user(db.session, None, email=email, name=name, password=PASSWORD)
            unit = db.session.query(Unit).filter_by(code=code).one()
            assign_role(db.session, None, user, unit, role)
            db.session.flush()
            ids[email.split("@")[0]] = user.id
        db.session.commit()
    return ids


def sign_in(tab: Page, email: str) -> None:
    sign_in_afresh(tab, email, PASSWORD)


def flash(tab: Page, text: str):  # noqa: ANN201 - a Playwright locator
    return tab.get_by_role("status").filter(has_text=text)


def link_in(message) -> str:  # noqa: ANN001 - email.message.Message
    found = re.search(r"http://\S+", Inbox.body(message))
    assert found, Inbox.body(message)
    return found.group(0)


def test_the_department_head_sends_back_then_approves(
    page: AxePage,
    browser,
    live_server: str,
    live_app: Flask,
    measured: dict[str, int],
    smtp_server: Inbox,
) -> None:
    m = measured["measurement"]
    lise = page.page
    sign_in(lise, "lise@testby.dk")
    lise.goto(f"/followup/{m}/A1/")
    lise.get_by_role("button", name="Start opfølgningen").click()
    lise.wait_for_url(f"**/followup/{m}/A1/analysis")
    with live_app.app_context():  # the plan itself is made as in test_followup_flow.py
        plan = db.session.scalars(select(FollowUp)).one()
        followup_service.add_action(
            db.session, db.session.get(User, measured["lise"]), plan, title="Fast fredagsmøde"
        )
        db.session.commit()
    lise.goto(f"/followup/{m}/A1/plan")
    approval = lise.locator("#approval")
    page.check_accessibility()

    # The leader sends the plan; the department head is chosen for her.
    approval.get_by_role("link", name="Send til godkendelse").click()
    lise.wait_for_url(f"**/followup/{m}/A1/plan/send")
    expect(lise.get_by_label("Afdelingschef")).to_have_value(str(measured["bo"]))
    look(lise, "approval-1-send")
    page.check_accessibility()
    lise.get_by_label("Besked til godkenderen").fill("Vi vil gerne i gang inden sommer.")
    lise.get_by_role("button", name="Send til godkendelse").click()
    expect(flash(lise, "Handleplanen er sendt til godkendelse hos Bo Holm.")).to_be_visible()
    expect(approval).to_contain_text("Afventer godkendelse fra Bo Holm siden")
    page.check_accessibility()

    # His e-mail arrives, with the link to the plan's approval.
    (to_bo,) = smtp_server.wait_for(1).to("bo@testby.dk")
    assert Inbox.subject(to_bo) == "Handleplan til godkendelse: Enhed A1"
    assert "Vi vil gerne i gang inden sommer." in Inbox.body(to_bo)
    first_link = link_in(to_bo)

    # He signs in, opens his queue and sends the plan back; the comment is required.
    context = browser.new_context(locale="da-DK", base_url=live_server)
    bo_page = AxePage(context.new_page())
    bo = bo_page.page
    try:
        sign_in(bo, "bo@testby.dk")
        bo.goto("/followup/approvals")
        expect(bo.get_by_text("1 handleplan venter på din godkendelse.")).to_be_visible()
        look(bo, "approval-2-queue")
        bo_page.check_accessibility()
        bo.get_by_role("link", name="Enhed A1").click()
        assert bo.url == first_link
        expect(bo.get_by_text("Vi vil gerne i gang inden sommer.")).to_be_visible()
        bo_page.check_accessibility()
        bo.get_by_role("button", name="Send tilbage med kommentaren").click()
        expect(bo.locator(".form-error-message")).to_contain_text("Skriv, hvad der skal ændres")
        bo_page.check_accessibility()
        bo.get_by_label("Kommentar").fill("Sæt en deadline på hver handling.")
        bo.get_by_role("button", name="Send tilbage med kommentaren").click()
        bo.wait_for_url("**/followup/approvals")
        expect(flash(bo, "Handleplanen er sendt tilbage med din kommentar.")).to_be_visible()
        expect(bo.get_by_text("0 handleplaner venter på din godkendelse.")).to_be_visible()
        bo_page.check_accessibility()

        # The leader's e-mail says why; her plan shows it, and she sends it again.
        (returned,) = smtp_server.wait_for(2).to("lise@testby.dk")
        assert Inbox.subject(returned) == "Handleplanen er sendt tilbage: Enhed A1"
        assert "Sæt en deadline på hver handling." in Inbox.body(returned)
        lise.goto(link_in(returned))
        expect(approval).to_contain_text("Sendt tilbage af Bo Holm den")
        expect(approval).to_contain_text("Sæt en deadline på hver handling.")
        page.check_accessibility()
        approval.get_by_role("link", name="Send igen til godkendelse").click()
        lise.get_by_role("button", name="Send til godkendelse").click()
        expect(approval).to_contain_text("Afventer godkendelse fra Bo Holm siden")

        # He approves from the new e-mail's link.
        smtp_server.wait_for(3)
        second = smtp_server.to("bo@testby.dk")[-1]
        assert link_in(second) != first_link  # a new round
        bo.goto(link_in(second))
        bo.get_by_role("button", name="Godkend planen").click()
        expect(flash(bo, "Du har godkendt handleplanen.")).to_be_visible()
        bo_page.check_accessibility()
    finally:
        context.close()

    # The leader's e-mail arrives, and the plan says who approved it and when.
    approved = smtp_server.wait_for(4).to("lise@testby.dk")[-1]
    assert Inbox.subject(approved) == "Handleplanen er godkendt: Enhed A1"
    lise.reload()
    expect(approval).to_contain_text(re.compile(r"Godkendt af Bo Holm den \d+\. \w+ \d{4}\."))
    expect(approval.get_by_role("link", name=re.compile("Send"))).to_have_count(0)
    look(lise, "approval-3-approved")
    page.check_accessibility()
    lise.get_by_role("link", name="Opfølgning · APV 2026").click()
    expect(lise.locator("#approval")).to_contain_text("Godkendt af Bo Holm den")
    page.check_accessibility()
    assert len(page.checked) == 6 and len(bo_page.checked) == 5


def test_a_partner_edits_the_steps_until_the_member_role_is_gone(
    page: AxePage, browser, live_server: str, live_app: Flask, measured: dict[str, int]
) -> None:
    m = measured["measurement"]
    lise = page.page
    sign_in(lise, "lise@testby.dk")
    lise.goto(f"/followup/{m}/A1/")
    lise.get_by_role("button", name="Start opfølgningen").click()
    lise.goto(f"/followup/{m}/A1/")
    trio = lise.get_by_role("region", name="Trio")
    trio.get_by_label("Person", exact=True).select_option(label="Mads Berg")
    trio.get_by_label("Funktion").select_option(label="Arbejdsmiljørepræsentant (AMR)")
    trio.get_by_role("button", name="Tilføj").click()
    expect(flash(lise, "Personen er tilføjet")).to_be_visible()
    expect(trio).to_contain_text("Mads Berg — Arbejdsmiljørepræsentant (AMR)")
    look(lise, "partners-hub")
    page.check_accessibility()

    context = browser.new_context(locale="da-DK", base_url=live_server)
    mads_page = AxePage(context.new_page())
    mads = mads_page.page
    try:
        sign_in(mads, "mads@testby.dk")
        mads.goto(f"/followup/{m}/A1/analysis")
        mads.get_by_label("Noter").fill("AMR: tempoet er for højt i perioder.")
        mads.get_by_label("Status for dette trin").select_option(label="I gang")
        mads.get_by_role("button", name="Gem", exact=True).click()
        expect(flash(mads, "Gemt.")).to_be_visible()
        mads_page.check_accessibility()

        # HR takes the member role away: the step is no longer his to open.
        with live_app.app_context():
            db.session.execute(
                delete(RoleAssignment).where(RoleAssignment.user_id == measured["mads"])
            )
            db.session.commit()
        response = mads.goto(f"/followup/{m}/A1/analysis")
        assert response is not None and response.status == 404
    finally:
        context.close()

    # The leader removes the partner; she is asked first.
    trio.get_by_role("link", name=re.compile("^Fjern")).click()
    expect(lise.get_by_role("heading", name="Fjern Mads Berg?")).to_be_visible()
    page.check_accessibility()
    lise.get_by_role("button", name="Ja, fjern").click()
    expect(flash(lise, "Personen er fjernet.")).to_be_visible()
    expect(trio).to_contain_text("Der er ikke udpeget nogen endnu.")

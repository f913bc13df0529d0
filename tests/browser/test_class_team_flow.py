"""A class team runs its class's follow-up in a real browser (issue 19): a teacher with the
member role on a gymnasium's class signs in, starts the class's follow-up, writes the plan
with an action, moves the action on the status arrow and writes the evaluation with the
guide's four questions. Every page is in Danish, checked with axe-core and must fit a 390-px
phone (KOMPAS_SCREENSHOTS keeps desktop and phone screenshots)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, Unit
from app.models.base import utcnow
from app.services.users import assign_role, create_user
from tests.browser.conftest import AxePage, look
from tests.browser.conftest import sign_in as sign_in_afresh
from tests.followup_data import measure

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
GUIDE = (
    "Har I igangsat det, I ville, på baggrund af resultaterne fra trivselsmålingen?",
    "Har I opnået de ønskede resultater – og hvor ser I effekten?",
    "Har I justeret indsatserne undervejs?",
    "Hvordan justerer I, hvis indsatserne ikke virker som ønsket?",
)


@pytest.fixture
def measured(live_app: Flask) -> int:
    """A gymnasium measured and released by management; Sofie teaches class A1 (a unit with
    no unit below it) as a member there: the class team."""
    with live_app.app_context():
        db.session.add(
            Organisation(
                name="Fjordby Gymnasium",
                kind=OrganisationKind.SCHOOL,
                hold_results_until_released=True,
            )
        )
        measurement = measure(name="Trivselsmåling 2026")
        measurement.released_at = utcnow()
        user = create_user(
            db.session, None, email="sofie@fjordby.dk", name="Sofie Lund", password=PASSWORD
        )
        unit = db.session.query(Unit).filter_by(code="A1").one()
        assign_role(db.session, None, user, unit, Role.MEMBER)
        db.session.commit()
        return measurement.id


def sign_in(tab: Page, email: str) -> None:
    sign_in_afresh(tab, email, PASSWORD)


def flash(tab: Page, text: str) -> Locator:
    return tab.get_by_role("status").filter(has_text=text)


def action_row(tab: Page, title: str) -> Locator:
    return tab.get_by_role("row").filter(has=tab.get_by_role("rowheader", name=title))


def checked(page: AxePage, name: str) -> None:
    look(page.page, name)
    page.check_accessibility()


def test_a_class_team_plans_and_evaluates_its_class(page, measured: int) -> None:
    tab = page.page
    tab.set_viewport_size({"width": 1280, "height": 900})
    sign_in(tab, "sofie@fjordby.dk")
    assert tab.locator("html").get_attribute("lang") == "da"
    checked(page, "class-0-home")

    # The class's page: its results, released by management, and its follow-up.
    tab.goto("/units/A1")
    expect(tab.get_by_text(re.compile(r"^Frigivet \d"))).to_be_visible()
    checked(page, "class-1-unit")
    tab.get_by_role("link", name="Åbn opfølgningen").click()
    tab.wait_for_url(f"**/followup/{measured}/A1/")
    checked(page, "class-2-hub")

    # The class team starts the follow-up itself (no "your leader starts it").
    tab.get_by_role("button", name="Start opfølgningen").click()
    tab.wait_for_url(f"**/followup/{measured}/A1/analysis")
    checked(page, "class-3-analysis")

    # The plan: one action.
    tab.goto(f"/followup/{measured}/A1/plan")
    form = tab.get_by_role("form", name="Tilføj en handling")
    form.get_by_label("Aktivitet").fill("Klassens time om fællesskab hver fredag")
    form.get_by_role("button", name="Tilføj handling").click()
    expect(flash(tab, "Handlingen er tilføjet.")).to_be_visible()
    row = action_row(tab, "Klassens time om fællesskab hver fredag")
    expect(row).to_be_visible()
    checked(page, "class-4-plan")

    # The status arrow: halfway, with a comment.
    row.get_by_label("Hvor langt er vi").select_option(label="Halvvejs")
    row.get_by_label("Kommentar").fill("Tre fredage holdt")
    row.get_by_role("button", name=re.compile(r"^Opdatér")).click()
    expect(flash(tab, "Handlingen er opdateret.")).to_be_visible()
    row = action_row(tab, "Klassens time om fællesskab hver fredag")
    expect(row.get_by_label("Hvor langt er vi")).to_have_value("2")
    checked(page, "class-5-arrow")

    # The evaluation, with the guide's four questions.
    tab.goto(f"/followup/{measured}/A1/evaluation")
    for question in GUIDE:
        expect(tab.get_by_label(question)).to_be_visible()
    answers = (
        "Ja, klassens time er i gang.",
        "Færre melder sig syge før fremlæggelser.",
        "Vi flyttede timen fra mandag til fredag.",
        "Vi spørger elevrådet og prøver makkerpar.",
    )
    for question, answer in zip(GUIDE, answers, strict=True):
        tab.get_by_label(question).fill(answer)
    tab.get_by_label("Status for dette trin").select_option(label="Færdig")
    tab.get_by_role("button", name="Gem", exact=True).click()
    tab.wait_for_load_state()
    tab.goto(f"/followup/{measured}/A1/evaluation")
    for question, answer in zip(GUIDE, answers, strict=True):
        expect(tab.get_by_label(question)).to_have_value(answer)
    checked(page, "class-6-evaluation")

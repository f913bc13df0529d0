"""The action plan in one place, in a real browser (issue 18): a leader edits a theme and an
action where they stand, deletes an action and a theme (each asks first) and brings them back
with "Fortryd", and opens the printable plan. Every state is checked with axe-core and must
fit a 390-px phone (KOMPAS_SCREENSHOTS keeps screenshots)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect

from app.extensions import db
from app.models import Measurement, Organisation, OrganisationKind, Role, Unit
from app.services import followup
from app.services.users import assign_role, create_user
from tests.browser.conftest import look
from tests.browser.conftest import sign_in as sign_in_afresh
from tests.followup_data import measure

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def plan_url(live_app: Flask) -> str:
    """Enhed A2's plan: a theme with two actions owned by Mads; Lise leads the unit."""
    with live_app.app_context():
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        measurement_id = measure().id
        people = {}
        for email, name, code, role in [
            ("leder@testby.dk", "Lise Dahl", "A2", Role.LEADER),
            ("mads@testby.dk", "Mads Berg", "A2", Role.MEMBER),
        ]:
            user = create_user(db.session, None, email=email, name=name, password=PASSWORD)
            assign_role(
                db.session, None, user, db.session.query(Unit).filter_by(code=code).one(), role
            )
            people[email] = user
        unit = db.session.query(Unit).filter_by(code="A2").one()
        leader, mads = people["leder@testby.dk"], people["mads@testby.dk"]
        follow_up = followup.start(
            db.session, leader, db.session.get(Measurement, measurement_id), unit
        )
        theme = followup.add_theme(
            db.session, leader, follow_up, title="Arbejdsmængde", current_score=48,
            target_score=60, goal="Færre overtimer", approach="Fast planlægning",
        )  # fmt: skip
        for title, deadline in (("Fast fredagsmøde", date(2027, 1, 29)),
                                ("Ny vagtplan", date(2027, 3, 1))):  # fmt: skip
            followup.add_action(
                db.session, leader, follow_up, title=title, theme=theme, owner=mads,
                deadline=deadline,
            )  # fmt: skip
        db.session.commit()
    return f"/followup/{measurement_id}/A2/plan"


def sign_in(tab: Page, email: str) -> None:
    sign_in_afresh(tab, email, PASSWORD)


def action_row(tab: Page, title: str) -> Locator:
    return tab.get_by_role("row").filter(has=tab.get_by_role("rowheader", name=title))


def test_leader_corrects_the_plan_where_it_is_made(page, plan_url: str) -> None:
    tab = page.page
    page.expect_console_error("status of 400")
    sign_in(tab, "leder@testby.dk")
    tab.goto(plan_url)
    tab.evaluate("window.notReloaded = true")
    look(tab, "plan-0")
    page.check_accessibility()

    # The theme, edited in place (htmx): no page load, the new words where the old were.
    theme = tab.locator("article.kompas-theme").first
    theme.get_by_role("link", name=re.compile(r"^Redigér temaet")).click()
    form = tab.get_by_role("form", name=re.compile(r"^Redigér temaet"))
    expect(form.get_by_label("Tema")).to_have_value("Arbejdsmængde")
    page.check_accessibility()
    form.get_by_label("Målscore (0–100)").fill("500")
    form.get_by_role("button", name="Gem").click()
    form = tab.get_by_role("form", name=re.compile(r"^Redigér temaet"))
    expect(form.get_by_label("Målscore (0–100)")).to_have_attribute("aria-invalid", "true")
    page.check_accessibility()
    form.get_by_label("Målscore (0–100)").fill("65")
    form.get_by_label("Mål: hvor vil vi hen?").fill("Højst to overtimer om ugen")
    form.get_by_role("button", name="Gem").click()
    expect(tab.get_by_role("status").filter(has_text="Temaet er gemt.")).to_be_visible()
    expect(tab.locator("article.kompas-theme").first).to_contain_text(
        "65 — Højst to overtimer om ugen"
    )
    assert tab.evaluate("window.notReloaded") is True
    page.check_accessibility()

    # An action, edited in its row.
    action_row(tab, "Ny vagtplan").get_by_role("link", name=re.compile(r"^Redigér")).click()
    form = tab.get_by_role("form", name=re.compile(r"^Redigér handlingen"))
    form.get_by_label("Aktivitet").fill("Ny vagtplan for weekenderne")
    form.get_by_label("Deadline").fill("2027-04-01")
    look(tab, "plan-1-edit-action")
    page.check_accessibility()
    form.get_by_role("button", name="Gem").click()
    row = action_row(tab, "Ny vagtplan for weekenderne")
    expect(row).to_contain_text("1. apr. 2027")
    expect(row).to_contain_text("Handlingen er gemt.")
    page.check_accessibility()

    # Deleting an action asks first; then "Fortryd" stands where it was.
    action_row(tab, "Fast fredagsmøde").get_by_role("link", name=re.compile(r"^Slet")).click()
    expect(tab.get_by_text("Slet “Fast fredagsmøde”?")).to_be_visible()
    page.check_accessibility()
    tab.get_by_role("link", name="Nej, behold den").click()
    expect(action_row(tab, "Fast fredagsmøde")).to_be_visible()
    action_row(tab, "Fast fredagsmøde").get_by_role("link", name=re.compile(r"^Slet")).click()
    tab.get_by_role("button", name="Ja, slet handlingen").click()
    expect(tab.get_by_text("“Fast fredagsmøde” er slettet.")).to_be_visible()
    look(tab, "plan-2-deleted-action")
    page.check_accessibility()
    tab.get_by_role("button", name=re.compile(r"^Fortryd")).click()
    expect(action_row(tab, "Fast fredagsmøde")).to_contain_text("Handlingen er tilbage.")
    assert tab.evaluate("window.notReloaded") is True
    page.check_accessibility()

    # Deleting the theme names the actions that go with it; the undo brings all back.
    tab.locator("article.kompas-theme").first.get_by_role(
        "link", name=re.compile(r"^Slet temaet")
    ).click()
    question = tab.get_by_role("alert").filter(has_text="Slet temaet “Arbejdsmængde”?")
    expect(question).to_contain_text("Fast fredagsmøde")
    expect(question).to_contain_text("Ny vagtplan for weekenderne")
    page.check_accessibility()
    tab.get_by_role("button", name="Ja, slet temaet").click()
    expect(
        tab.get_by_text("Temaet “Arbejdsmængde” og dets 2 handlinger er slettet.")
    ).to_be_visible()
    # Reloaded, the plan lists it under what can be undone.
    tab.goto(plan_url)
    deleted = tab.get_by_role("region", name=re.compile(r"^Slettet inden for"))
    expect(deleted).to_contain_text("Arbejdsmængde")
    expect(tab.get_by_role("rowheader", name="Fast fredagsmøde")).to_have_count(0)
    look(tab, "plan-3-deleted-theme")
    page.check_accessibility()
    deleted.get_by_role("button", name=re.compile(r"^Fortryd")).click()
    expect(tab.get_by_role("status").filter(has_text="er tilbage")).to_be_visible()
    expect(action_row(tab, "Fast fredagsmøde")).to_be_visible()
    expect(tab.locator("article.kompas-theme").first).to_contain_text("Højst to overtimer")
    page.check_accessibility()

    # The plan to print, for the notice board.
    tab.get_by_role("link", name="Handleplan til udskrift").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Handleplan: Enhed A2")
    expect(action_row(tab, "Fast fredagsmøde")).to_contain_text("Mads Berg")
    expect(action_row(tab, "Fast fredagsmøde")).to_contain_text("Ikke startet")
    look(tab, "plan-4-print")
    page.check_accessibility()

    # The same delete as a page of its own (a link opened in a new tab, or no JavaScript):
    # it asks, deletes with an ordinary post, and the plan lists it with "Fortryd".
    tab.goto(plan_url)
    row_id = action_row(tab, "Ny vagtplan for weekenderne").get_attribute("id")
    tab.goto(f"{plan_url}/actions/{row_id.removeprefix('action-')}/delete")
    expect(tab.get_by_text("Slet “Ny vagtplan for weekenderne”?")).to_be_visible()
    look(tab, "plan-5-delete-page")
    page.check_accessibility()
    tab.get_by_role("button", name="Ja, slet handlingen").click()
    tab.wait_for_url(f"**{plan_url}#deleted")
    deleted = tab.get_by_role("region", name=re.compile(r"^Slettet inden for"))
    expect(deleted).to_contain_text("Ny vagtplan for weekenderne")
    expect(tab.get_by_role("rowheader", name="Ny vagtplan for weekenderne")).to_have_count(0)
    page.check_accessibility()
    deleted.get_by_role("button", name=re.compile(r"^Fortryd")).click()
    expect(tab.get_by_role("status").filter(has_text="er tilbage i planen")).to_be_visible()
    expect(action_row(tab, "Ny vagtplan for weekenderne")).to_be_visible()

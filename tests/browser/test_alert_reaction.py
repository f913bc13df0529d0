"""A leader closes a zero-tolerance alert with one documented reaction in a real browser: from
the follow-up's hub to the alert, a form sent back with an error that keeps what was typed,
then the closed alert. Every page is checked with axe-core and must fit a 390-px phone."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, Unit
from app.services.users import assign_role, create_user
from tests.browser.conftest import AxePage, look
from tests.followup_data import measure

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def measured(live_app: Flask) -> int:
    """The small measured organisation: the hits of C1 (too small to show) raise one alert at
    Enhed B, which Berit leads."""
    with live_app.app_context():
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        measurement_id = measure().id
        user = create_user(
            db.session, None, email="berit@testby.dk", name="Berit Lund", password=PASSWORD
        )
        assign_role(
            db.session, None, user, db.session.query(Unit).filter_by(code="B").one(), Role.LEADER
        )
        db.session.commit()
    return measurement_id


def test_one_reaction_closes_the_alert(page: AxePage, measured: int) -> None:
    tab = page.page
    tab.goto("/auth/login")
    tab.get_by_label("E-mail").fill("berit@testby.dk")
    tab.get_by_label("Adgangskode").fill(PASSWORD)
    tab.get_by_role("button", name="Log ind").click()
    tab.wait_for_url("**/")

    tab.goto(f"/followup/{measured}/B/")
    page.check_accessibility()
    tab.get_by_role("link", name="Advarsel om 1 spørgsmål").click()
    expect(tab.get_by_role("heading", name="Nultoleranceadvarsel")).to_be_visible()
    expect(tab.get_by_text("Færre end 3 har svaret andet end “nej”.")).to_be_visible()
    page.check_accessibility()
    look(tab, "alert-open")

    # Sent without the dates: refused, and what was typed is still there.
    page.expect_console_error("400")
    tab.get_by_label("Hvad blev der gjort").fill("Samtale i enheden om at sige fra.")
    tab.get_by_label("Hvem var involveret").fill("Leder, AMR")
    tab.get_by_role("button", name="Registrér og luk advarslen").click()
    expect(tab.get_by_role("alert").filter(has_text="Ret venligst følgende")).to_be_visible()
    expect(tab.get_by_label("Hvad blev der gjort")).to_have_value(
        "Samtale i enheden om at sige fra."
    )
    expect(tab.get_by_label("Hvem var involveret")).to_have_value("Leder, AMR")
    page.check_accessibility()
    look(tab, "alert-error")

    tab.get_by_label("Hvornår").fill("2026-03-20")
    tab.get_by_label("Opfølgningsdato").fill("2026-06-20")
    tab.get_by_role("button", name="Registrér og luk advarslen").click()
    expect(tab.get_by_role("status").filter(has_text="Reaktionen er registreret")).to_be_visible()
    expect(tab.get_by_text("Reaktion registreret")).to_be_visible()
    page.check_accessibility()

    tab.get_by_role("link", name="Advarsel om 1 spørgsmål").click()
    expect(tab.get_by_text("Samtale i enheden om at sige fra.")).to_be_visible()
    expect(tab.get_by_text("20. juni 2026")).to_be_visible()
    expect(tab.get_by_role("button", name="Registrér og luk advarslen")).to_have_count(0)
    page.check_accessibility()
    look(tab, "alert-closed")

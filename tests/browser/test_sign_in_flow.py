"""A leader signs in, sees their unit, switches the language and signs out — in a real
browser, every page checked with axe-core."""

from __future__ import annotations

import pytest
from flask import Flask

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, Unit
from app.services.users import assign_role, create_user

pytestmark = pytest.mark.browser


@pytest.fixture
def leader(live_app: Flask) -> tuple[str, str]:
    with live_app.app_context():
        db.session.add(Organisation(name="Åby Kommune", kind=OrganisationKind.MUNICIPALITY))
        root = Unit(code="AK", name="Åby Kommune", unit_type="kommune")
        department = Unit(code="AK-BF", name="Børn & Familie", unit_type="forvaltning", parent=root)
        Unit(code="AK-BF-001", name="Dagplejen Nord", unit_type="arbejdsplads", parent=department)
        db.session.add(root)
        db.session.flush()
        user = create_user(
            db.session,
            None,
            email="leder@aaby.dk",
            name="Lise Dahl",
            password="correct horse battery",
        )
        assign_role(db.session, None, user, department, Role.LEADER)
        db.session.commit()
    return "leder@aaby.dk", "correct horse battery"


def test_leader_signs_in_sees_unit_switches_language_signs_out(page, leader) -> None:
    tab = page.page
    email, password = leader
    tab.goto("/")
    assert tab.url.endswith("/auth/login?next=%2F")
    assert tab.locator("h1").inner_text() == "Log ind i Kompas"
    page.check_accessibility()

    # A wrong password first: the message is shown, the e-mail is kept.
    tab.get_by_label("E-mail").fill(email)
    tab.get_by_label("Adgangskode").fill("wrong")
    tab.get_by_role("button", name="Log ind").click()
    assert tab.get_by_text("Forkert e-mail eller adgangskode.").is_visible()
    assert tab.get_by_label("E-mail").input_value() == email
    page.check_accessibility()

    tab.get_by_label("Adgangskode").fill(password)
    tab.get_by_role("button", name="Log ind").click()
    tab.wait_for_url("**/")
    assert tab.locator("h1").inner_text() == "Velkommen, Lise Dahl"
    page.check_accessibility()

    tab.get_by_role("link", name="Børn & Familie").first.click()
    tab.wait_for_url("**/units/AK-BF")
    assert tab.locator("h1").inner_text() == "Børn & Familie"
    assert tab.get_by_role("link", name="Dagplejen Nord").is_visible()
    page.check_accessibility()

    tab.get_by_role("button", name="English").click()
    tab.wait_for_url("**/units/AK-BF")
    assert tab.locator("html").get_attribute("lang") == "en"
    assert tab.get_by_role("heading", name="Units under Børn & Familie").is_visible()
    page.check_accessibility()

    tab.get_by_role("button", name="Sign out").click()
    tab.wait_for_url("**/auth/login")
    assert tab.get_by_text("You are signed out.").is_visible()
    page.check_accessibility()

    tab.goto("/units/AK-BF")
    assert "/auth/login" in tab.url  # signed out means signed out
    assert len(page.checked) == 6

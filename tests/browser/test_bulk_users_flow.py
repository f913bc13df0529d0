"""HR imports users and roles from a CSV file with one bad row: the preview names the row's
error, confirming imports the good rows and invites the new users — in Danish, in a real
browser, every page checked with axe-core and at phone width."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, RoleAssignment, Unit, User
from app.services.users import assign_role, create_user
from tests.browser.conftest import look
from tests.conftest import Inbox

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"  # noqa: S105 - test fixture
CSV = (
    "navn;e-mail;enhed;rolle\n"
    "Anna Holm;anna.holm@aaby.dk;AK-BF-001;Medarbejder\n"
    "Bo Berg;bo.berg@aaby.dk;AK-XX-999;Medarbejder\n"
    "Carl Dahl;carl.dahl@aaby.dk;AK-BF;Leder\n"
)


@pytest.fixture
def hr(live_app: Flask) -> str:
    with live_app.app_context():
        db.session.add(Organisation(name="Åby Kommune", kind=OrganisationKind.MUNICIPALITY))
        root = Unit(code="AK", name="Åby Kommune", unit_type="kommune")
        department = Unit(code="AK-BF", name="Børn & Familie", unit_type="forvaltning", parent=root)
        Unit(code="AK-BF-001", name="Dagplejen Nord", unit_type="arbejdsplads", parent=department)
        db.session.add(root)
        db.session.flush()
        user = create_user(db.session, None, email="hr@aaby.dk", name="Hanne HR", password=PASSWORD)
        assign_role(db.session, None, user, root, Role.ADMIN)
        db.session.commit()
    return "hr@aaby.dk"


def test_hr_imports_users_with_one_bad_row(
    page, hr: str, live_app: Flask, smtp_server: Inbox, tmp_path: Path
) -> None:
    tab = page.page
    tab.goto("/auth/login")
    tab.get_by_label("E-mail").fill(hr)
    tab.get_by_label("Adgangskode").fill(PASSWORD)
    tab.get_by_role("button", name="Log ind").click()
    tab.wait_for_url("**/")

    tab.goto("/admin/users")
    page.check_accessibility()
    tab.get_by_role("link", name="Indlæs brugere og roller fra en fil").click()
    tab.wait_for_url("**/admin/users/import")
    assert tab.locator("h1").inner_text() == "Indlæs brugere og roller"
    page.check_accessibility()
    # On a phone the example table scrolls sideways: a keyboard must reach it (axe).
    size = tab.viewport_size
    tab.set_viewport_size({"width": 390, "height": 844})
    page.check_accessibility()
    tab.set_viewport_size(size)

    file = tmp_path / "medarbejdere.csv"
    file.write_text(CSV, encoding="utf-8")
    tab.get_by_label("Fil (CSV eller XLSX)").set_input_files(file)
    tab.get_by_role("button", name="Kontrollér filen").click()
    tab.wait_for_url("**/admin/users/import")
    assert tab.locator("h1").inner_text() == "Tjek indlæsningen af brugere"
    assert tab.get_by_text("Linje 3: Der findes ingen enhed med dette id.").is_visible()
    assert tab.get_by_text("2 nye brugere").is_visible()
    page.check_accessibility()
    look(tab, "bulk-users-preview")
    with live_app.app_context():  # the preview imports nothing
        assert db.session.scalar(select(User).where(User.email == "anna.holm@aaby.dk")) is None

    invite = tab.get_by_label("Send en invitation på e-mail til hver ny bruger", exact=False)
    assert invite.is_checked()
    tab.get_by_role("button", name="Indlæs 2 rækker").click()
    tab.wait_for_url("**/admin/users")
    assert tab.get_by_text("Indlæst: 2 nye brugere, 2 roller tilføjet, 1 rækker udeladt.",
                           exact=False).is_visible()  # fmt: skip
    page.check_accessibility()

    with live_app.app_context():
        held = set(
            db.session.execute(
                select(User.email, Unit.code, RoleAssignment.role)
                .join(RoleAssignment, RoleAssignment.user_id == User.id)
                .join(Unit, Unit.id == RoleAssignment.unit_id)
            ).all()
        )
    assert ("anna.holm@aaby.dk", "AK-BF-001", Role.MEMBER) in held
    assert ("carl.dahl@aaby.dk", "AK-BF", Role.LEADER) in held
    assert not any(email == "bo.berg@aaby.dk" for email, _, _ in held)
    invited = smtp_server.wait_for(2)
    assert sorted(m["To"] for m in invited) == ["anna.holm@aaby.dk", "carl.dahl@aaby.dk"]
    assert len(page.checked) == 5  # the upload page twice: laptop and phone width

"""Issue 19, the board package in a real browser (Danish, axe-checked, 1280 and 390 px): a
department head asks HR by name to approve the annual report, HR approves it, the head
issues it and withdraws it with a reason; the archive marks it withdrawn; the local goals
page reads without forms. Report jobs run inline (no thread to wait for).
"""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect

from app.demo import DEMO_DOMAIN, build_demo
from app.extensions import db
from tests.browser.conftest import AxePage, look
from tests.browser.conftest import sign_in as sign_in_afresh

pytestmark = pytest.mark.browser

PASSWORD = "demo password 1"  # noqa: S105 - test fixture


@pytest.fixture
def demo(live_app: Flask) -> None:
    live_app.config["REPORT_JOBS"] = "inline"
    with live_app.app_context():
        build_demo(db.session, password=PASSWORD)
        db.session.commit()


def sign_in(tab, who: str) -> None:
    sign_in_afresh(tab, f"{who}@{DEMO_DOMAIN}", PASSWORD)


def test_approve_issue_and_withdraw_the_annual_report(page: AxePage, demo: None) -> None:
    tab = page.page
    tab.set_viewport_size({"width": 1280, "height": 900})
    sign_in(tab, "chef.bf")
    tab.goto("/reports/annual/AK-BF/2026")
    tab.locator("#followup_plan").fill("Trivselsrunder hver måned.")
    tab.locator("#draft-form").get_by_role("button", name="Gem", exact=True).click()
    tab.wait_for_url("**/reports/annual/AK-BF/2026")
    tab.get_by_label("Hvem godkender rapporten").select_option(label="Hanne Rasmussen")
    tab.get_by_role("button", name="Spørg om godkendelse").click()
    expect(tab.get_by_text("Venter på, at Hanne Rasmussen godkender")).to_be_visible()
    page.check_accessibility()
    look(tab, "board-approval-asked")
    # Not approved yet: the issue page says so, and has no issue button.
    tab.goto("/reports/annual/AK-BF/2026/issue")
    expect(tab.get_by_text("Rapporten skal godkendes først")).to_be_visible()
    expect(tab.get_by_role("button", name="Udsend version 1 nu")).to_have_count(0)
    page.check_accessibility()

    sign_in(tab, "hr")
    tab.goto("/reports/annual/AK-BF/2026")
    expect(tab.get_by_text("Du er bedt om at godkende denne rapport")).to_be_visible()
    page.check_accessibility()
    tab.get_by_role("button", name="Godkend rapporten").click()
    expect(tab.get_by_text("Godkendt af Hanne Rasmussen")).to_be_visible()

    sign_in(tab, "chef.bf")
    tab.goto("/reports/annual/AK-BF/2026/issue")
    tab.get_by_label("Jeg har læst rapportens tekst ovenfor", exact=False).check()
    page.check_accessibility()
    tab.get_by_role("button", name="Udsend version 1 nu").click()
    tab.wait_for_url("**/reports/jobs/**")

    tab.goto("/reports/")
    tab.get_by_role("link", name="Træk tilbage …", exact=False).first.click()
    tab.wait_for_url("**/withdraw")
    page.check_accessibility()
    look(tab, "board-withdraw")
    page.expect_console_error("400")
    tab.get_by_role("button", name="Træk rapporten tilbage").click()  # no reason: refused
    expect(tab.get_by_text("Skriv, hvorfor rapporten trækkes tilbage.").first).to_be_visible()
    page.check_accessibility()
    tab.get_by_label("Hvorfor trækkes rapporten tilbage?").fill("Tallene var forkerte.")
    tab.get_by_label("Jeg vil trække rapporten tilbage", exact=False).check()
    tab.get_by_role("button", name="Træk rapporten tilbage").click()
    tab.wait_for_url("**/reports/#archive-heading")
    expect(tab.get_by_text("Tallene var forkerte.", exact=False)).to_be_visible()
    page.check_accessibility()
    look(tab, "board-archive-withdrawn")

    sign_in(tab, "medarbejder")
    tab.goto("/reports/goals/AK-BF-001-T001")
    expect(tab.get_by_role("heading", name="Lokale mål", level=1)).to_be_visible()
    page.check_accessibility()
    look(tab, "board-goals")

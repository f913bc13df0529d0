"""Issue 18, "board- and phone-ready", in a real browser at a 390-px phone width on the demo
organisation: the annual report's preview and the main pages never scroll sideways (tables
and charts scroll inside their own box), the charts keep a legible size, and the menu folds
into a "Menu" button that opens by touch and by keyboard. Every page is checked with axe.
"""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect

from app.demo import DEMO_DOMAIN, build_demo
from app.extensions import db
from app.models import Measurement
from tests.browser.conftest import AxePage
from tests.browser.conftest import sign_in as sign_in_afresh

pytestmark = pytest.mark.browser

PASSWORD = "demo password 1"  # noqa: S105 - test fixture
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo(live_app: Flask) -> int:
    """The demo organisation in the live app's database; the 2026 measurement's id."""
    with live_app.app_context():
        build_demo(db.session, password=PASSWORD)
        db.session.commit()
        return db.session.scalars(
            db.select(Measurement.id).where(
                Measurement.year == 2026, Measurement.remeasure_of_id.is_(None)
            )
        ).one()


def sign_in(tab, who: str) -> None:
    sign_in_afresh(tab, f"{who}@{DEMO_DOMAIN}", PASSWORD)


def fits_the_phone(page: AxePage, url: str) -> None:
    """The page at `url` has no sideways page scroll at 390 px, and passes axe."""
    tab = page.page
    tab.goto(url)
    tab.wait_for_load_state("networkidle")
    widths = tab.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth, document.body.scrollWidth]"
    )
    assert widths[0] <= widths[1] and widths[2] <= widths[1], f"{url}: {widths}"
    page.check_accessibility()


def test_the_annual_preview_and_main_pages_fit_a_phone(page: AxePage, demo: int) -> None:
    tab = page.page
    tab.set_viewport_size(PHONE)
    sign_in(tab, "hr")
    fits_the_phone(page, "/reports/annual/AK/2026/preview")
    # Its tables scroll in their own focusable, named box; its charts keep a legible size
    # (drawn at least at their own width: 10-11 px labels) and scroll in theirs.
    boxes = tab.locator(".report-scroll")
    assert boxes.count() >= 5
    first = boxes.first
    assert first.get_attribute("tabindex") == "0" and first.get_attribute("aria-label")
    overflowing = tab.evaluate(
        "[...document.querySelectorAll('.report-scroll')]"
        ".filter(b => b.scrollWidth > b.clientWidth).length"
    )
    assert overflowing >= 1  # a wide table scrolls inside its box, not the page
    chart_widths = tab.evaluate(
        "[...document.querySelectorAll('.report-chart__svg')]"
        ".map(s => s.getBoundingClientRect().width / s.viewBox.baseVal.width)"
    )
    assert chart_widths and min(chart_widths) >= 0.95, chart_widths

    for url in (
        "/",
        "/units/AK-BF-001",
        "/results/",
        "/followup/overview",
        "/reports/",
        "/reports/annual/AK/2026",
        "/reports/annual/AK/2026/issue",
        f"/reports/unit/{demo}/AK-BF-001",
    ):
        fits_the_phone(page, url)


def test_the_menu_folds_into_a_button_on_a_phone(page: AxePage, demo: int) -> None:
    tab = page.page
    tab.set_viewport_size(PHONE)
    sign_in(tab, "chef.bf")
    menu_button = tab.locator("summary", has_text="Menu")
    expect(menu_button).to_be_visible()
    reports = tab.get_by_role("link", name="Rapporter", exact=True)
    expect(reports).to_be_hidden()  # the desktop menu bar is folded away
    page.check_accessibility()

    menu_button.click()
    expect(reports).to_be_visible()
    page.check_accessibility()  # open, too
    reports.click()
    tab.wait_for_url("**/reports/")
    expect(tab.get_by_role("heading", name="Rapporter", level=1)).to_be_visible()

    # By keyboard: Tab to the button, Enter opens it, the links follow in order.
    menu_button = tab.locator("summary", has_text="Menu")
    menu_button.focus()
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("link", name="Forside", exact=True)).to_be_visible()
    current = tab.locator(".kompas-phone-menu a[aria-current='page']")
    expect(current).to_have_text("Rapporter")
    tab.keyboard.press("Tab")
    expect(tab.get_by_role("link", name="Forside", exact=True)).to_be_focused()

    # At desktop width the menu bar shows and the button does not.
    tab.set_viewport_size({"width": 1280, "height": 900})
    expect(tab.locator("summary", has_text="Menu")).to_be_hidden()
    expect(tab.locator(".navigation-menu").get_by_role("link", name="Rapporter")).to_be_visible()
    page.check_accessibility()

"""A live Kompas server in a thread and headless Debian Chromium driven by Playwright.

Every page a browser test visits is checked with axe-core for WCAG 2.1 A/AA violations.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db

CHROMIUM = "/usr/bin/chromium"
AXE = next((Path(__file__).parent.parent / "vendor").glob("axe-core-*/axe.min.js"))
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_app(app: Flask, tmp_path: Path) -> Flask:
    """An app the server thread can share: a file database on SQLite, the test one on
    PostgreSQL (emptied after the test like every other)."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'browser.db'}"
    live = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": True})
    with live.app_context():
        db.create_all()
    return live


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class AxePage:
    """A page wrapper that runs axe-core after every navigation it is asked to check."""

    def __init__(self, page) -> None:
        self.page = page
        self.checked: list[str] = []
        self.expected_console_errors: list[str] = []

    def expect_console_error(self, text: str) -> None:
        """Allow console errors containing `text`, such as Chromium reporting the 400 of a
        form sent back with its errors; any other console error still fails the test."""
        self.expected_console_errors.append(text)

    def check_accessibility(self) -> None:
        page = self.page
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            # evaluate is not subject to the page's CSP, unlike an injected <script>.
            page.evaluate(AXE.read_text(encoding="utf-8"))
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
        )
        violations = [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
            for v in result["violations"]
        ]
        assert violations == [], f"axe-core on {page.url}:\n" + "\n".join(violations)
        self.checked.append(page.url)


@pytest.fixture
def page(browser, live_server) -> Iterator[AxePage]:
    context = browser.new_context(locale="da-DK", base_url=live_server)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    wrapper = AxePage(tab)
    yield wrapper
    context.close()
    unexpected = [e for e in errors if not any(t in e for t in wrapper.expected_console_errors)]
    assert unexpected == [], f"console errors: {unexpected}"


def look(tab: Any, name: str) -> None:
    """The page fits a 390-px phone without sideways scrolling; with KOMPAS_SCREENSHOTS set,
    full-page screenshots on a desktop and on the phone are kept there too."""
    folder = os.environ.get("KOMPAS_SCREENSHOTS")
    size = tab.viewport_size
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=f"{folder}/{name}-desktop.png", full_page=True)
    tab.set_viewport_size({"width": 390, "height": 844})
    if folder:
        tab.screenshot(path=f"{folder}/{name}-phone.png", full_page=True)
    width = tab.evaluate("document.documentElement.scrollWidth")
    tab.set_viewport_size(size)
    assert width <= 390, f"{name}: {width} px wide on a 390-px phone"


def sign_in(tab: Any, email: str, password: str) -> None:
    """Sign in afresh on the Danish login page and wait for the home page.

    The page before is left first and then the cookies are cleared: a response still on its
    way (a stylesheet, a font) carries the earlier person's refreshed session cookie and, landing
    after the clear, signed that person in again, so the login page redirected home (CI flake
    in the board package flow)."""
    tab.goto("about:blank")
    tab.context.clear_cookies()
    tab.goto("/auth/login")
    tab.get_by_label("E-mail").fill(email)
    tab.get_by_label("Adgangskode").fill(password)
    tab.get_by_role("button", name="Log ind").click()
    tab.wait_for_url("**/")


def upload_results(tab: Any, path: Path, measurement: str | None = None) -> None:
    """On the import page: choose the measurement (its label, "APV 2026 (2026)") if given and
    the file, and send it to be checked ("Kontrollér filen")."""
    if measurement is not None:
        tab.get_by_label("Måling").select_option(label=measurement)
    tab.get_by_label("Resultatfil").set_input_files(path)
    tab.get_by_role("button", name="Kontrollér filen").click()


def add_survey_owner(
    live_app: Flask,
    *,
    kind: str,
    organisation: str,
    root: tuple[str, str, str],
    owner: tuple[str, str],
    password: str,
    measurement: tuple[str, int, str],
) -> tuple[str, str]:
    """An organisation with its root unit (code, name, type), one survey owner (e-mail, name)
    and a measurement on a template (name, year, template code): what an import test starts
    from. Returns the owner's e-mail and password."""
    from app.models import Organisation, OrganisationKind, Role, Unit
    from app.services.measurements import find_or_prepare_measurement
    from app.services.users import assign_role, create_user

    with live_app.app_context():
        db.session.add(Organisation(name=organisation, kind=OrganisationKind(kind)))
        unit = Unit(code=root[0], name=root[1], unit_type=root[2])
        db.session.add(unit)
        db.session.flush()
        user = create_user(db.session, None, email=owner[0], name=owner[1], password=password)
        assign_role(db.session, None, user, unit, Role.ADMIN)
        name, year, template = measurement
        find_or_prepare_measurement(db.session, name=name, year=year, template_code=template)
        db.session.commit()
    return owner[0], password

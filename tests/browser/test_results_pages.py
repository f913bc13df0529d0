"""A leader reads the results in a real browser: the overview (htmx search and order), a
unit page with indicators and distribution bars, a unit hidden for too few answers, and the
same in English — every page state checked with axe-core."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import expect

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, Unit
from app.services import imports
from app.services.measurements import find_or_prepare_measurement
from app.services.users import assign_role, create_user
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
HEADER = (
    "unit_id;unit_name;parent_id;unit_type;invited;question_id;n_1;n_2;n_3;n_4;n_5;n_dont_know\n"
)


def team(code: str, name: str, parent: str, invited: int, *counts: tuple[int, ...]) -> str:
    """The rows of one team: PT-1, PT-2 (psychological safety) and MT-1 (motivation)."""
    return "".join(
        f"{code};{name};{parent};team;{invited};{question};{';'.join(map(str, c))};0\n"
        for question, c in zip(("PT-1", "PT-2", "MT-1"), counts, strict=True)
    )


# Familiehuset has 3 respondents (under the threshold of 5); Vuggestuen Bien, the next
# smallest, is hidden with it so that nobody can subtract; Sundhed is not the leader's.
RESULTS = (
    HEADER
    + "AK;Åby Kommune;;kommune;;;;;;;;\n"
    + "AK-BF;Børn & Familie;AK;forvaltning;;;;;;;;\n"
    + "AK-SU;Sundhed;AK;forvaltning;;;;;;;;\n"
    + team("AK-BF-01", "Dagplejen Nord", "AK-BF", 9,
           (0, 0, 1, 4, 3), (0, 1, 1, 3, 3), (0, 0, 2, 3, 3))
    + team("AK-BF-02", "Dagplejen Syd", "AK-BF", 8,
           (1, 2, 2, 1, 1), (2, 2, 1, 1, 1), (1, 1, 2, 2, 1))
    + team("AK-BF-03", "Vuggestuen Bien", "AK-BF", 6,
           (0, 1, 1, 2, 2), (0, 0, 2, 2, 2), (0, 1, 2, 2, 1))
    + team("AK-BF-04", "Familiehuset", "AK-BF", 4,
           (0, 0, 1, 1, 1), (0, 1, 0, 1, 1), (0, 0, 1, 1, 1))
    + team("AK-SU-01", "Hjemmeplejen", "AK-SU", 12,
           (1, 1, 3, 3, 2), (1, 2, 2, 3, 2), (0, 2, 3, 3, 2))
)  # fmt: skip


@pytest.fixture
def leader(live_app: Flask) -> tuple[str, str]:
    with live_app.app_context():
        db.session.add(Organisation(name="Åby Kommune", kind=OrganisationKind.MUNICIPALITY))
        measurement = find_or_prepare_measurement(
            db.session, name="APV 2026", year=2026, template_code="apv"
        )
        checked = imports.check(
            db.session,
            RESULTS.encode(),
            file_name="apv-2026.csv",
            year=measurement.year,
            questionnaire=measurement.questionnaire,
            threshold=measurement.threshold,
        )
        assert checked.ok, checked.result.errors[:3]
        imports.apply(db.session, None, checked, measurement)
        user = create_user(
            db.session, None, email="leder@aaby.dk", name="Lise Dahl", password=PASSWORD
        )
        department = db.session.query(Unit).filter_by(code="AK-BF").one()
        assign_role(db.session, None, user, department, Role.LEADER)
        db.session.commit()
    return "leder@aaby.dk", PASSWORD


def cells(row) -> list[str]:
    return [c.strip() for c in row.locator("th, td").all_inner_texts()]


def overview_units(tab) -> list[str]:
    table = tab.get_by_role("table", name="Resultater pr. enhed, APV 2026")
    return [name.strip() for name in table.locator("tbody th > a:first-child").all_inner_texts()]


def test_leader_searches_orders_and_opens_units(page, leader) -> None:
    tab = page.page
    sign_in(tab, *leader)

    tab.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Resultater").click()
    tab.wait_for_url("**/results/")
    assert tab.locator("h1").inner_text() == "Resultatoversigt"
    assert overview_units(tab) == [
        "Børn & Familie", "Dagplejen Nord", "Dagplejen Syd", "Familiehuset", "Vuggestuen Bien"
    ]  # fmt: skip
    assert tab.get_by_role("link", name="Sundhed").count() == 0  # not the leader's
    page.check_accessibility()

    # Typing filters the table in place (htmx, after a pause), and the URL follows.
    table = tab.get_by_role("table", name="Resultater pr. enhed, APV 2026")
    tab.get_by_label("Find en enhed").press_sequentially("dagpl")
    expect(table.locator("tbody tr")).to_have_count(2)
    assert overview_units(tab) == ["Dagplejen Nord", "Dagplejen Syd"]
    expect(tab).to_have_url(re.compile(r"q=dagpl"))
    assert tab.locator("#overview-table").get_by_text("2 enheder").is_visible()
    assert tab.locator("#overview-table").count() == 1  # replaced, not nested
    assert tab.get_by_role("status").inner_text() == "2 enheder"  # read out
    expect(tab.get_by_label("Find en enhed")).to_be_focused()  # typing goes on undisturbed
    page.check_accessibility()

    # Another order, over every unit again: hidden units last.
    tab.get_by_label("Find en enhed").fill("")
    expect(table.locator("tbody tr")).to_have_count(5)
    tab.get_by_label("Rækkefølge").select_option(label="Samlet score, højeste først")
    expect(tab).to_have_url(re.compile(r"sort=overall"))
    expect(table.locator("tbody tr").first).to_contain_text("Dagplejen Nord")
    assert overview_units(tab) == [
        "Dagplejen Nord", "Børn & Familie", "Dagplejen Syd", "Familiehuset", "Vuggestuen Bien"
    ]  # fmt: skip
    page.check_accessibility()

    # Back and forward go through the pushed states, the page whole each time.
    tab.go_back()
    expect(tab).not_to_have_url(re.compile(r"sort=overall"))
    expect(table.locator("tbody tr").first).to_contain_text("Børn & Familie")
    assert tab.locator("h1").inner_text() == "Resultatoversigt"
    tab.go_forward()
    expect(tab).to_have_url(re.compile(r"sort=overall"))
    expect(table.locator("tbody tr").first).to_contain_text("Dagplejen Nord")
    assert tab.locator("#overview-table").count() == 1

    # A unit page: the figures, the indicators and every question with its distribution.
    table.get_by_role("link", name="Dagplejen Nord").click()
    tab.wait_for_url("**/units/AK-BF-01?m=*")
    assert tab.locator("h1").inner_text() == "Dagplejen Nord"
    assert tab.get_by_text("8 af 9 inviterede").is_visible()
    indicators = tab.get_by_role("table", name="Indikatorscorer med sammenligninger")
    assert cells(indicators.locator("tbody tr").first) == [
        "Min enhed – psykologisk tryghed", "78 Grøn", "66", "64", "–", "–"
    ]  # fmt: skip
    questions = tab.get_by_role("table", name="Min enhed – psykologisk tryghed")
    first = questions.locator("tbody tr").first
    assert first.locator("th").inner_text() == (
        "Hvis man begår en fejl i min enhed, bliver det ikke holdt imod en"
    )
    # The bar is drawn for the eye and told in words to a screen reader; the mean in Danish.
    assert first.locator("svg.kompas-bar rect").count() == 5
    assert first.locator("svg.kompas-bar").get_attribute("aria-hidden") == "true"
    assert first.locator(".sr-only").inner_text() == (
        "Helt uenig: 0, Uenig: 0, Hverken enig eller uenig: 1, Enig: 4, Helt enig: 3"
    )
    answers, *figures = cells(first)[1:]
    assert answers.endswith("n = 8") and figures == ["4,2", "81", "–"]
    assert tab.locator("svg.kompas-bar").count() == 3  # PT-1, PT-2, MT-1
    page.check_accessibility()

    # Up to the department, down to the team with too few answers: nothing but the notice,
    # the same for every hidden unit whatever the reason (issue 15).
    breadcrumbs = tab.get_by_role("navigation", name="Brødkrumme")
    breadcrumbs.get_by_role("link", name="Børn & Familie").click()
    tab.wait_for_url("**/units/AK-BF")
    assert tab.get_by_role("link", name="Åby Kommune").count() == 0  # above the leader
    page.check_accessibility()
    tab.get_by_role("link", name="Familiehuset").click()
    tab.wait_for_url("**/units/AK-BF-04")
    notice = tab.get_by_role("status").filter(has_text="Vises ikke")
    expect(notice).to_contain_text("Resultaterne vises ikke af hensyn til anonymiteten.")
    expect(notice).not_to_contain_text("Færre end 5")
    assert tab.get_by_role("table").count() == 0
    assert tab.locator("svg.kompas-bar").count() == 0
    page.check_accessibility()

    tab.get_by_role("button", name="English").click()
    tab.wait_for_url("**/units/AK-BF-04")
    assert tab.locator("html").get_attribute("lang") == "en"
    notice = tab.get_by_role("status").filter(has_text="Not shown")
    expect(notice).to_contain_text("The results are not shown, to protect anonymity.")
    expect(notice).not_to_contain_text("Fewer than 5")
    page.check_accessibility()

    # The overview in English too.
    tab.get_by_role("navigation", name="Main menu").get_by_role("link", name="Results").click()
    tab.wait_for_url("**/results/")
    assert tab.locator("h1").inner_text() == "Results overview"
    table = tab.get_by_role("table", name="Results per unit, APV 2026")
    expect(table.locator("tbody tr").filter(has_text="Familiehuset")).to_contain_text("Not shown")
    page.check_accessibility()
    assert len(page.checked) == 8

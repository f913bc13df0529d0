"""Numbers that say what they are (issue 18), in a real browser at laptop and phone width: a
re-measurement's overview and unit page say what they are and show no figure above the units
measured again; the answer bars have a key in words; every page state checked with axe."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, Unit
from app.services import imports
from app.services.measurements import find_or_prepare_measurement
from app.services.users import assign_role, create_user
from tests.browser.conftest import look
from tests.browser.conftest import sign_in as sign_in_afresh
from tests.followup_data import CSV, HEADER, _rows

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"  # noqa: S105 - test fixture
TREE = [("R", None), ("A", "R"), ("A1", "A"), ("A2", "A"), ("B", "R"), ("B1", "B"), ("C1", "B")]
AGAIN = HEADER + "R;Enhed R;;;;;;;;;\nA;Enhed A;R;;;;;;;;\n" + _rows("A2", "A", 6, 3)


@pytest.fixture
def measured(live_app: Flask) -> dict[str, int]:
    """The follow-up tests' small organisation measured, A2 measured again; HR signs in."""
    with live_app.app_context():
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        units: dict[str, Unit] = {}
        for code, parent in TREE:
            units[code] = Unit(code=code, name=f"Enhed {code}", unit_type="team",
                               parent=units[parent] if parent else None)  # fmt: skip
            db.session.add(units[code])
        db.session.flush()
        ids = {}
        for name, content, first in (("APV 2026", CSV, None), ("Genmåling 2026", AGAIN, "APV")):
            measurement = find_or_prepare_measurement(
                db.session, name=name, year=2026, template_code="apv"
            )
            if first:
                measurement.remeasure_of_id = ids["first"]
            checked = imports.check(
                db.session, content.encode(), file_name=f"{name}.csv", year=2026,
                questionnaire=measurement.questionnaire,
            )  # fmt: skip
            assert checked.ok, checked.result.errors[:3]
            imports.apply(db.session, None, checked, measurement)
            ids["again" if first else "first"] = measurement.id
        user = create_user(db.session, None, email="hr@x.dk", name="Hanne", password=PASSWORD)
        assign_role(db.session, None, user, units["R"], Role.ADMIN)
        db.session.commit()
        return ids


def sign_in(tab) -> None:
    sign_in_afresh(tab, "hr@x.dk", PASSWORD)


def test_a_remeasurement_says_what_it_is_and_the_bars_have_a_key(page, measured) -> None:
    tab = page.page
    tab.set_viewport_size({"width": 1280, "height": 900})
    sign_in(tab)

    tab.goto(f"/results/?m={measured['again']}")
    note = tab.get_by_role("note")
    expect(note).to_contain_text("En genmåling")
    expect(note).to_contain_text("hver sammenlignet med sin egen første måling, APV 2026")
    table = tab.get_by_role("table", name="Resultater pr. enhed, Genmåling 2026")
    expect(table.locator("tbody tr")).to_have_count(1)  # A2 only: no R, no A
    expect(table.locator("tbody th")).to_have_text("Enhed A2")
    expect(table.get_by_role("columnheader", name="Ændring siden første måling")).to_be_visible()
    page.check_accessibility()
    look(tab, "remeasurement-overview")

    tab.goto(f"/units/A2?m={measured['again']}")
    expect(tab.get_by_role("note")).to_contain_text("En genmåling")
    indicators = tab.get_by_role("table", name="Indikatorscorer med sammenligninger")
    headers = [h.strip() for h in indicators.locator("thead th").all_inner_texts()]
    assert headers == ["Indikator", "Enhed A2", "Første måling", "Ændring"]
    page.check_accessibility()

    # The key: every answer in words, in the bars' order, with its swatch.
    legend = tab.locator(".kompas-legend").first
    expect(legend).to_contain_text("fra venstre mod højre")
    items = legend.locator("li")
    assert items.count() >= 4
    assert all(text.strip() for text in items.all_inner_texts())
    assert legend.locator("svg rect").count() == items.count()
    look(tab, "remeasurement-unit")  # fits a 390-px phone too

    tab.set_viewport_size({"width": 390, "height": 844})
    tab.goto(f"/units/R?m={measured['again']}")
    expect(tab.get_by_text("Enheden er ikke målt igen i Genmåling 2026.")).to_be_visible()
    expect(tab.get_by_text("Samlet score")).to_have_count(0)
    page.check_accessibility()
    tab.goto(f"/units/A1?m={measured['first']}")
    expect(tab.locator(".kompas-legend").first).to_be_visible()
    page.check_accessibility()

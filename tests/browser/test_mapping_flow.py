"""HR imports a survey tool's wide percentages file in a real browser (issue 20): the mapping
screen shows what Kompas recognised, a wrong column comes back named with every choice kept,
the mapping is saved as a profile and the file checked; the next upload of the same layout
offers the profile pre-selected and one click applies it. Every state axe-checked at 1280 and
390 px."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect

from app.extensions import db
from app.models import ImportProfile
from tests.browser.conftest import add_survey_owner, look
from tests.web.test_mapping_web import wide_percent_csv

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
STAGED = re.compile(r"/imports/staged/[^/]+$")  # the check's page, not the mapping's
UNITS = {
    "AK-01": ("AK", 7, {"PT-1": (0, 1, 2, 3, 1), "PT-2": (1, 1, 2, 2, 1)}),
    "AK-02": ("AK", 5, {"PT-1": (1, 1, 1, 1, 1), "PT-2": (0, 0, 1, 2, 2)}),
}


@pytest.fixture
def hr(live_app: Flask) -> tuple[str, str]:
    return add_survey_owner(
        live_app, kind="municipality", organisation="Åby Kommune",
        root=("AK", "Åby Kommune", "kommune"), owner=("hr@aaby.dk", "Hanne Rask"),
        password=PASSWORD, measurement=("APV 2026", 2026, "apv"),
    )  # fmt: skip


def both_widths(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """axe-core at 1280 px and at 390 px; the page fits the phone without sideways scroll."""
    tab = page.page
    page.check_accessibility()
    tab.set_viewport_size({"width": 390, "height": 844})
    page.check_accessibility()
    tab.set_viewport_size({"width": 1280, "height": 900})
    look(tab, name)


def upload(tab, path: Path) -> None:  # type: ignore[no-untyped-def]
    tab.goto("/imports/")
    tab.get_by_label("Måling").select_option(label="APV 2026 (2026)")
    tab.get_by_label("Resultatfil").set_input_files(path)
    tab.get_by_role("button", name="Kontrollér filen").click()
    tab.wait_for_url("**/mapping")


def test_hr_maps_a_wide_percentages_file_saves_a_profile_and_reuses_it(
    page, hr, live_app: Flask, tmp_path: Path
) -> None:
    tab = page.page
    tab.set_viewport_size({"width": 1280, "height": 900})
    tab.goto("/auth/login")
    tab.get_by_label("E-mail").fill(hr[0])
    tab.get_by_label("Adgangskode").fill(hr[1])
    tab.get_by_role("button", name="Log ind").click()
    tab.wait_for_url("**/")

    defgo = tmp_path / "defgo-2026.csv"
    defgo.write_bytes(wide_percent_csv(UNITS))
    upload(tab, defgo)
    expect(tab.get_by_role("heading", name="Kortlæg defgo-2026.csv")).to_be_visible()
    recognised = tab.locator("dl.kompas-facts")
    expect(recognised).to_contain_text("Procenter, med antallet af besvarelser")
    expect(tab.get_by_role("table", name="Filens første rækker")).to_contain_text("42,9 %")
    expect(tab.get_by_label("Enheds-id")).to_have_value("Enhed")
    both_widths(page, "mapping")
    # Playwright's screenshots leave style="" on inputs, which htmx would copy when the form
    # comes back (a CSP error no user sees): the form is loaded afresh before it is sent.
    tab.reload()

    # A column the file does not have: named at the field, every other choice kept.
    page.expect_console_error("status of 400")
    tab.get_by_label("Række 2, svarmulighed 3").fill("PT-2 Måske")
    tab.get_by_label("Gem kortlægningen som profil til næste gang").check()
    tab.get_by_label("Profilens navn").fill("Defgo, bred")
    tab.get_by_role("button", name="Kontrollér filen med denne kortlægning").click()
    expect(tab.get_by_text("Filen har ingen kolonne “PT-2 Måske”.")).to_be_visible()
    expect(tab.get_by_label("Række 2, svarmulighed 3")).to_have_attribute("aria-invalid", "true")
    expect(tab.get_by_label("Profilens navn")).to_have_value("Defgo, bred")
    expect(tab.get_by_label("Gem kortlægningen som profil til næste gang")).to_be_checked()
    assert tab.url.endswith("/mapping")
    both_widths(page, "mapping-error")

    tab.get_by_label("Række 2, svarmulighed 3").fill("PT-2 Hverken eller")
    tab.get_by_role("button", name="Kontrollér filen med denne kortlægning").click()
    tab.wait_for_url(STAGED)
    expect(tab.get_by_role("status").filter(has_text="Filen er gyldig.")).to_be_visible()
    expect(tab.get_by_text("2 (2 nye, 0 ændrede, 0 uændrede)")).to_be_visible()
    both_widths(page, "mapping-checked")
    with live_app.app_context():
        assert [p.name for p in db.session.query(ImportProfile)] == ["Defgo, bred"]

    # Next time: the same layout, the profile offered pre-selected, applied with one click.
    again = tmp_path / "defgo-2026-igen.csv"
    again.write_bytes(wide_percent_csv(UNITS) + b"\n")
    upload(tab, again)
    offer = tab.get_by_role("region", name="En gemt profil passer til filen")
    expect(offer.get_by_label("Defgo, bred")).to_be_checked()
    both_widths(page, "mapping-offered")
    offer.get_by_role("button", name="Brug profilen, og kontrollér filen").click()
    tab.wait_for_url(STAGED)
    expect(tab.get_by_role("status").filter(has_text="Filen er gyldig.")).to_be_visible()

    # The profiles on the import page: rename, and delete only after asking.
    tab.goto("/imports/")
    profiles = tab.get_by_role("table", name="Gemte kortlægningsprofiler")
    expect(profiles).to_contain_text("Defgo, bred")
    both_widths(page, "mapping-profiles")
    profiles.get_by_role("link", name="Slet Defgo, bred").click()
    expect(tab.get_by_role("heading", name="Slet profilen Defgo, bred?")).to_be_visible()
    both_widths(page, "mapping-profile-delete")
    tab.get_by_role("button", name="Slet profilen").click()
    tab.wait_for_url("**/imports/#profiles")
    expect(tab.get_by_text("Profilen “Defgo, bred” er slettet.")).to_be_visible()
    with live_app.app_context():
        assert db.session.query(ImportProfile).count() == 0


@pytest.fixture
def school_hr(live_app: Flask) -> tuple[str, str]:
    return add_survey_owner(
        live_app, kind="school", organisation="Åby Gymnasium",
        root=("AG", "Åby Gymnasium", "institution"), owner=("ejer@aaby-gym.dk", "Eva Ejer"),
        password=PASSWORD, measurement=("Trivsel 2025", 2025, "gym"),
    )  # fmt: skip


def test_reference_figures_with_unknown_columns_are_mapped_then_imported(
    page, school_hr, live_app: Flask, tmp_path: Path
) -> None:
    from app.models import ReferenceFigure
    from tests.web.test_references_mapping import MINISTRY

    tab = page.page
    tab.set_viewport_size({"width": 1280, "height": 900})
    tab.goto("/auth/login")
    tab.get_by_label("E-mail").fill(school_hr[0])
    tab.get_by_label("Adgangskode").fill(school_hr[1])
    tab.get_by_role("button", name="Log ind").click()
    tab.wait_for_url("**/")

    ministry = tmp_path / "noegletal-ministeriet.csv"
    ministry.write_bytes(MINISTRY)
    tab.goto("/imports/references")
    tab.get_by_label("Fil med sammenligningstal").set_input_files(ministry)
    tab.get_by_role("button", name="Kontrollér filen").click()
    expect(tab.get_by_role("heading", name="Kortlæg sammenligningstallene")).to_be_visible()
    both_widths(page, "references-mapping")

    # The year is missing: asked for, with the choices kept.
    tab.get_by_label("Niveau (Landsplan, en sektor eller en kommune)").select_option("Institution")
    tab.get_by_label("Indikator").select_option("Indikatornavn")
    tab.get_by_label("Gennemsnit (1–5)").select_option("Score")
    page.expect_console_error("status of 400")
    tab.get_by_role("button", name="Kontrollér filen").click()
    expect(tab.get_by_text("Filen har ingen kolonne med år: angiv året")).to_be_visible()
    expect(tab.get_by_label("Gennemsnit (1–5)")).to_have_value("Score")
    both_widths(page, "references-mapping-error")

    tab.get_by_label("År (valgfri)").fill("2025")
    tab.get_by_role("button", name="Kontrollér filen").click()
    expect(tab.get_by_role("table", name="Hvad filen indeholder")).to_contain_text("Landsplan 2025")
    both_widths(page, "references-mapped-preview")
    tab.get_by_role("button", name="Indlæs").click()
    tab.wait_for_url("**/imports/references")
    with live_app.app_context():
        assert db.session.query(ReferenceFigure).count() >= 2

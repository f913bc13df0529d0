"""HR re-imports a measurement that already has results, in a real browser and in Danish:
the warning as soon as the measurement is chosen, the changes in words on the check, the
measurement's name typed to confirm (a wrong one refused), then "Gendan" of the earlier import
— every page state checked with axe-core and at phone width."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, Unit
from app.services import followup, imports
from app.services.measurements import find_or_prepare_measurement
from app.services.users import assign_role, create_user
from tests.browser.conftest import look, sign_in, upload_results

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
HEADER = (
    "unit_id;unit_name;parent_id;unit_type;invited;question_id;n_1;n_2;n_3;n_4;n_5;n_dont_know\n"
)
FIRST = (
    HEADER
    + "AK-BF;Børn & Familie;AK;forvaltning;;;;;;;;\n"
    + "AK-BF-01;Dagplejen Nord;AK-BF;team;9;PT-1;0;1;2;3;1;0\n"
    + "AK-BF-01;Dagplejen Nord;AK-BF;team;9;PT-2;1;1;2;2;1;0\n"
    + "AK-BF-02;Dagplejen Syd;AK-BF;team;8;PT-1;1;1;2;1;1;0\n"
    + "AK-BF-02;Dagplejen Syd;AK-BF;team;8;PT-2;0;2;2;1;1;0\n"
    + "AK-KU;Kultur;AK;forvaltning;;;;;;;;\n"
    + "AK-KU-01;Biblioteket;AK-KU;team;8;PT-1;1;1;2;1;1;0\n"
)
# Next year's file: Dagplejen Nord renamed and moved to Kultur, Dagplejen Syd gone.
SECOND = (
    HEADER
    + "AK-BF;Børn & Familie;AK;forvaltning;;;;;;;;\n"
    + "AK-KU;Kultur;AK;forvaltning;;;;;;;;\n"
    + "AK-BF-01;Dagplejen Centrum;AK-KU;team;9;PT-1;3;3;1;1;1;0\n"
    + "AK-KU-01;Biblioteket;AK-KU;team;8;PT-1;1;1;2;1;1;0\n"
    + "AK-BF-03;Dagplejen Vest;AK-BF;team;7;PT-1;1;1;1;1;2;0\n"
)


@pytest.fixture
def hr(live_app: Flask, tmp_path: Path) -> tuple[str, str]:
    """Åby Kommune with APV 2026 imported by HR (a follow-up and an action on Dagplejen Syd),
    and an empty APV 2025."""
    live_app.config["IMPORT_FILES_DIR"] = str(tmp_path / "files")
    with live_app.app_context():
        db.session.add(Organisation(name="Åby Kommune", kind=OrganisationKind.MUNICIPALITY))
        root = Unit(code="AK", name="Åby Kommune", unit_type="kommune")
        db.session.add(root)
        db.session.flush()
        user = create_user(
            db.session, None, email="hr@aaby.dk", name="Hanne Rask", password=PASSWORD
        )
        assign_role(db.session, None, user, root, Role.ADMIN)
        find_or_prepare_measurement(db.session, name="APV 2025", year=2025, template_code="apv")
        measurement = find_or_prepare_measurement(
            db.session, name="APV 2026", year=2026, template_code="apv"
        )
        checked = imports.check(
            db.session,
            FIRST.encode(),
            file_name="apv-2026.csv",
            year=2026,
            questionnaire=measurement.questionnaire,
            measurement=measurement,
        )
        imports.apply(db.session, user, checked, measurement, file_area=tmp_path / "files")
        south = db.session.scalar(select(Unit).where(Unit.code == "AK-BF-02"))
        follow_up = followup.start(db.session, user, measurement, south)
        followup.add_action(db.session, user, follow_up, title="Fælles morgenmøde")
        db.session.commit()
    return "hr@aaby.dk", PASSWORD


def test_hr_is_warned_confirms_by_name_and_restores_the_earlier_import(
    page, hr, live_app: Flask, tmp_path: Path
) -> None:
    tab = page.page
    sign_in(tab, *hr)
    tab.goto("/imports/")

    # APV 2026 (the newest) stands chosen: the warning is there before any file is chosen.
    warning = tab.locator("#existing-results")
    expect(warning).to_contain_text("APV 2026 har allerede resultater. En ny fil erstatter dem.")
    expect(warning).to_contain_text("af Hanne Rask fra filen apv-2026.csv")
    expect(warning).to_contain_text("1 opfølgning")
    expect(warning).to_contain_text("1 handling")
    page.check_accessibility()
    look(tab, "reimport-upload")

    # Another measurement: no warning; back to APV 2026: the warning again (htmx).
    tab.get_by_label("Måling").select_option(label="APV 2025 (2025)")
    expect(warning).not_to_contain_text("har allerede resultater")
    tab.get_by_label("Måling").select_option(label="APV 2026 (2026)")
    expect(warning).to_contain_text("APV 2026 har allerede resultater")
    page.check_accessibility()

    # The check: the warning again, and what changes in words.
    second = tmp_path / "apv-2027.csv"
    second.write_text(SECOND, encoding="utf-8")
    upload_results(tab, second)
    tab.get_by_role("heading", name="Kontrol af apv-2027.csv").wait_for()
    expect(tab.locator("#existing-results")).to_contain_text("APV 2026 har allerede resultater")
    expect(tab.get_by_text("Dagplejen Nord omdøbes til Dagplejen Centrum")).to_be_visible()
    expect(
        tab.get_by_text("Dagplejen Centrum flyttes fra Børn & Familie til Kultur")
    ).to_be_visible()
    expect(tab.get_by_text("1 enhed mangler i filen")).to_be_visible()
    expect(tab.locator("li").filter(has_text="Dagplejen Syd")).to_contain_text(
        "dens opfølgning og dens 1 handling bevares"
    )
    page.check_accessibility()
    look(tab, "reimport-check")

    # A wrong name: refused, with what was typed still there; nothing imported.
    page.expect_console_error("status of 400")
    name = tab.get_by_label("Skriv målingens navn for at erstatte dens resultater")
    name.fill("APV 2025")
    tab.get_by_role("button", name="Erstat resultaterne").click()
    expect(tab.get_by_role("alert").filter(has_text="Ret venligst følgende")).to_contain_text(
        "Skriv målingens navn, APV 2026, for at erstatte dens resultater."
    )
    name = tab.get_by_label("Skriv målingens navn for at erstatte dens resultater")
    expect(name).to_have_value("APV 2025")
    page.check_accessibility()

    # The right name: replaced, and the way back is offered.
    name.fill("APV 2026")
    tab.get_by_role("button", name="Erstat resultaterne").click()
    tab.wait_for_url("**/imports/staged/*")
    expect(
        tab.get_by_role("status").filter(has_text="Resultaterne for APV 2026 er erstattet")
    ).to_contain_text("Den tidligere indlæsning kan gendannes i 30 dage")
    page.check_accessibility()

    # The measurement's import history: "Gendan" asks first, then brings the names back.
    tab.get_by_role("link", name="Importhistorik for APV 2026").click()
    tab.wait_for_url("**/imports/measurements/*")
    expect(tab.locator("h1")).to_have_text("Importhistorik for APV 2026")
    page.check_accessibility()
    look(tab, "reimport-history")
    tab.get_by_role("link", name="Gendan apv-2026.csv").click()
    tab.wait_for_url("**/restore")
    expect(tab.get_by_text("Dagplejen Centrum omdøbes til Dagplejen Nord")).to_be_visible()
    page.check_accessibility()
    look(tab, "reimport-restore")
    tab.get_by_role("button", name="Gendan", exact=True).click()
    tab.wait_for_url("**/imports/staged/*")
    expect(tab.get_by_role("status").filter(has_text="blev gendannet")).to_contain_text(
        "Indlæsningen af apv-2026.csv blev gendannet. Opfølgninger og planer blev bevaret."
    )
    page.check_accessibility()
    with live_app.app_context():
        names = dict(db.session.execute(select(Unit.code, Unit.name)).tuples().all())
    assert names["AK-BF-01"] == "Dagplejen Nord"
    assert len(page.checked) == 8

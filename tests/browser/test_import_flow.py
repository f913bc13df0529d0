"""HR imports results in a real browser: a broken file first (every error in a sortable
table, swapped in by htmx), then a valid one (preview, "Indlæs", the import log) — every
page state checked with axe-core."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from app.services import imports
from tests.browser.conftest import add_survey_owner, look, sign_in, upload_results

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
HEADER = (
    "unit_id;unit_name;parent_id;unit_type;invited;question_id;n_1;n_2;n_3;n_4;n_5;n_dont_know\n"
)
VALID = (
    HEADER
    + "AK-BF;Børn & Familie;AK;forvaltning;;;;;;;;\n"
    + "AK-BF-01;Dagplejen Nord;AK-BF;team;9;PT-1;0;1;2;3;1;0\n"
    + "AK-BF-01;Dagplejen Nord;AK-BF;team;9;PT-2;1;1;2;2;1;0\n"
    + "AK-BF-02;Dagplejen Syd;AK-BF;team;8;PT-1;1;1;2;1;1;0\n"
    + "AK-BF-02;Dagplejen Syd;AK-BF;team;8;PT-2;0;2;2;1;1;0\n"
)
# Row 2: a parent that is neither in the file nor in Kompas; row 5: a negative count.
BROKEN = (
    VALID.replace("AK-BF;Børn & Familie;AK;", "AK-BF;Børn & Familie;AK-XX;")
    .replace("AK-BF-02;Dagplejen Syd;AK-BF;team;8;PT-1;1;1;2;1;1;0",
             "AK-BF-02;Dagplejen Syd;AK-BF;team;8;PT-1;1;-1;2;1;1;0")
)  # fmt: skip


@pytest.fixture
def hr(live_app: Flask) -> tuple[str, str]:
    return add_survey_owner(
        live_app, kind="municipality", organisation="Åby Kommune",
        root=("AK", "Åby Kommune", "kommune"), owner=("hr@aaby.dk", "Hanne Rask"),
        password=PASSWORD, measurement=("APV 2026", 2026, "apv"),
    )  # fmt: skip


def error_rows(tab) -> list[list[str]]:
    rows = tab.get_by_role("table", name="Fejl i filen").locator("tbody tr")
    return [[cell.strip() for cell in row.locator("td").all_inner_texts()] for row in rows.all()]


def log_rows(tab) -> list[list[str]]:
    rows = tab.get_by_role("table", name="Importlog").locator("tbody tr")
    return [[cell.strip() for cell in row.locator("td").all_inner_texts()] for row in rows.all()]


def test_hr_uploads_a_broken_file_then_a_valid_one_and_imports_it(page, hr, tmp_path: Path) -> None:
    tab = page.page
    sign_in(tab, *hr)

    tab.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Indlæs").click()
    tab.wait_for_url("**/imports/")
    assert tab.locator("h1").inner_text() == "Indlæs resultater"
    assert tab.get_by_text("Der er endnu ikke indlæst nogen filer.").is_visible()
    page.check_accessibility()

    # No file chosen: the form comes back (status 400, swapped in all the same) with the
    # error summary focused and the field marked.
    page.expect_console_error("status of 400")
    tab.get_by_role("button", name="Kontrollér filen").click()
    summary = tab.get_by_role("alert").filter(has_text="Ret venligst følgende")
    summary.wait_for()
    missing = summary.get_by_role("link", name="Resultatfil: Vælg filen med resultaterne.")
    assert missing.is_visible()
    expect(summary).to_be_focused()
    assert tab.get_by_label("Resultatfil").get_attribute("aria-invalid") == "true"
    assert tab.url.endswith("/imports/")
    page.check_accessibility()

    # The broken file: the check replaces the form in place (htmx), with its own URL and title.
    broken = tmp_path / "apv-2026.csv"
    broken.write_text(BROKEN, encoding="utf-8")
    upload_results(tab, broken, "APV 2026 (2026)")
    table = tab.get_by_role("table", name="Fejl i filen")
    table.wait_for()
    assert "/imports/staged/" in tab.url
    assert tab.title() == "Kontrol af apv-2026.csv – Kompas"
    # Focus is not lost with the swapped-out button: it moves to the new heading.
    expect(tab.get_by_role("heading", name="Kontrol af apv-2026.csv")).to_be_focused()
    expect(
        tab.get_by_role("alert").filter(has_text="Filen har 2 fejl. Intet blev indlæst.")
    ).to_be_visible()
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert headers == ["Række\n(sorteret)", "Kolonne", "Fundet værdi", "Hvad er galt"]
    assert error_rows(tab) == [
        ["2", "parent_id", "AK-XX",
         'parent_id "AK-XX" er hverken en enhed i filen eller i organisationen.'],
        ["5", "n_2", "-1", 'Forventede et helt tal, 0 eller derover, men fandt "-1".'],
    ]  # fmt: skip
    sorted_by = table.locator("th[aria-sort=ascending]").get_by_role("link")
    assert sorted_by.inner_text() == "Række\n(sorteret)"
    # The log further down refreshes itself: the refused file is in it.
    tab.get_by_role("table", name="Importlog").wait_for()
    assert [(r[2], r[3].split(" (")[0], r[6]) for r in log_rows(tab)] == [
        ("APV 2026", "apv-2026.csv", "Afvist")
    ]
    assert tab.title() == "Kontrol af apv-2026.csv – Kompas"
    page.check_accessibility()

    # Sorted by column: n_2 before parent_id.
    table.get_by_role("link", name="Kolonne").click()
    tab.wait_for_url("**?sort=column")
    assert [r[1] for r in error_rows(tab)] == ["n_2", "parent_id"]
    assert table.get_by_role("link", name="Kolonne (sorteret)").is_visible()
    assert table.locator("th[aria-sort]").count() == 1
    page.check_accessibility()

    # Back to the form: the refused file is in the log.
    tab.get_by_role("link", name="Indlæs en anden fil").click()
    tab.wait_for_url("**/imports/")
    assert [(r[2], r[3].split(" (")[0], r[6]) for r in log_rows(tab)] == [
        ("APV 2026", "apv-2026.csv", "Afvist")
    ]
    page.check_accessibility()

    # The valid file: a preview, and nothing is written before "Indlæs".
    valid = tmp_path / "apv-2026-rettet.csv"
    valid.write_text(VALID, encoding="utf-8")
    upload_results(tab, valid, "APV 2026 (2026)")
    preview = tab.get_by_role("status").filter(has_text="Filen er gyldig.")
    preview.wait_for()
    expect(tab.get_by_role("heading", name="Kontrol af apv-2026-rettet.csv")).to_be_focused()
    assert tab.get_by_text("3 (3 nye, 0 ændrede, 0 uændrede)").is_visible()
    assert tab.get_by_text("Enheder under anonymitetsgrænsen").is_visible()
    page.check_accessibility()

    tab.get_by_role("button", name="Indlæs", exact=True).click()
    tab.wait_for_url("**/imports/staged/*")
    expect(
        tab.get_by_role("status").filter(has_text="Resultaterne for APV 2026 er indlæst.")
    ).to_be_visible()
    assert tab.title() == "Indlæsning af apv-2026-rettet.csv – Kompas"
    page.check_accessibility()
    tab.get_by_role("link", name="Indlæs en anden fil").click()
    tab.wait_for_url("**/imports/")
    rows = log_rows(tab)
    assert [(r[2], r[3].split(" (")[0], r[4], r[5], r[6]) for r in rows] == [
        ("APV 2026", "apv-2026-rettet.csv", "5", "3", "Indlæst"),
        ("APV 2026", "apv-2026.csv", "5", "0", "Afvist"),
    ]
    assert rows[0][1] == "Hanne Rask"
    page.check_accessibility()

    # htmx swaps never set up the main menu again (DKFDS would add a "Mere" item each time).
    assert tab.locator(".navigation-menu .more-option").count() == 1
    assert len(page.checked) == 8


def slowed(real: Any) -> Any:
    """`imports.check`/`apply` that dwell on each step they report, so that the progress can
    be watched in a browser (a real import of this little file takes milliseconds)."""

    def run(*args: Any, progress: Any = None, **kwargs: Any) -> Any:
        def slow(phase: str, percent: int) -> None:
            if progress is not None:
                progress(phase, percent)
            time.sleep(0.6)

        return real(*args, progress=slow, **kwargs)

    return run


def test_hr_watches_the_check_and_the_import_run_in_the_background(
    page, hr, live_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IMPORT_JOBS=thread, as on a server: the upload and the confirm answer at once, the page
    shows the phase in words and a progress bar (htmx asks every second), then the outcome."""
    live_app.config["IMPORT_JOBS"] = "thread"
    live_app.config["IMPORT_FILES_DIR"] = str(tmp_path / "files")
    monkeypatch.setattr(imports, "check", slowed(imports.check))
    monkeypatch.setattr(imports, "apply", slowed(imports.apply))
    tab = page.page
    sign_in(tab, *hr)
    tab.goto("/imports/")
    valid = tmp_path / "apv-2026.csv"
    valid.write_text(VALID, encoding="utf-8")
    upload_results(tab, valid, "APV 2026 (2026)")

    # The check runs: the phase in words and a bar, in place of the form, at its own address.
    bar = tab.locator("progress#job-progress-bar")
    bar.wait_for()
    assert "/imports/staged/" in tab.url
    expect(tab.get_by_role("heading", name="Kontrol af apv-2026.csv")).to_be_focused()
    expect(tab.locator("#job-progress label")).to_have_text(re.compile("Læser filen|Kontrollerer"))
    expect(tab.get_by_role("link", name="Opdater")).to_be_visible()
    page.check_accessibility()
    look(tab, "import-checking")

    # Done: the preview takes its place and the polling stops.
    preview = tab.get_by_role("status").filter(has_text="Filen er gyldig.")
    preview.wait_for(timeout=20_000)
    expect(bar).to_have_count(0)
    expect(tab.get_by_role("heading", name="Kontrol af apv-2026.csv")).to_be_focused()
    # The import log further down has not changed (nothing refused, nothing imported yet).
    page.check_accessibility()

    # "Indlæs": the page of the import, its progress through the phases, then the outcome.
    tab.get_by_role("button", name="Indlæs", exact=True).click()
    tab.wait_for_url("**/imports/staged/*")
    expect(tab.locator("h1")).to_have_text("Indlæs resultater")
    label = tab.locator("#job-progress label")
    expect(label).to_have_text(
        re.compile("Læser filen|Kontrollerer|Skriver resultaterne|Beregner tal og anonymitet|"
                   "Åbner alarmer|Gør færdig")
    )  # fmt: skip
    assert tab.title() == "Indlæsning af apv-2026.csv – Kompas"
    page.check_accessibility()
    look(tab, "import-importing")
    seen = set()
    done = tab.get_by_role("status").filter(has_text="Resultaterne for APV 2026 er indlæst.")
    for _ in range(100):
        if done.count():
            break
        # Read without waiting: the label goes when the job ends (counting it first and then
        # reading it waited 30 s for a label already swapped out; a CI failure).
        seen.update(text.strip() for text in label.all_inner_texts())
        tab.wait_for_timeout(150)
    expect(done).to_be_visible()
    assert len(seen) >= 2, seen  # it moved on through the phases while we watched
    page.check_accessibility()
    look(tab, "import-done")
    assert tab.get_by_role("link", name="Se resultaterne").is_visible()
    tab.get_by_role("link", name="Importhistorik for APV 2026").click()
    tab.wait_for_url("**/imports/measurements/*")
    page.check_accessibility()

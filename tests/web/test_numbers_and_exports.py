"""Numbers that say what they are (issue 18): a re-measurement shows the units measured again,
each against its own first measurement, and never a figure of the organisation or a unit above
made of a few units; the answer bars have a key; exports use the page's words, the user's
decimal sign, names that tell them apart, and real numbers and dates in XLSX."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.http import parse_options_header

from app.domain.release import remeasured_units
from app.extensions import db
from app.models import Measurement, Question, Role, Unit, UnitFigures, User
from app.services import followup, imports
from app.services.measurements import find_or_prepare_measurement
from tests.conftest import login
from tests.followup_data import HEADER, _rows, measure

# A2 (6 people) measured again: its answers moved from the worst to the middle of the scale.
REMEASURED = HEADER + "R;Enhed R;;;;;;;;;\nA;Enhed A;R;;;;;;;;\n" + _rows("A2", "A", 6, 3)


@pytest.fixture
def measured(app: Flask, org, make_user) -> dict[str, int]:
    """The small organisation measured, A2 measured again; HR and A's leader."""
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    with app.app_context():
        first = measure()
        again = find_or_prepare_measurement(
            db.session, name="Genmåling 2026", year=2026, template_code="apv"
        )
        again.remeasure_of_id = first.id
        checked = imports.check(
            db.session, REMEASURED.encode(), file_name="genmaaling.csv", year=2026,
            questionnaire=again.questionnaire,
        )  # fmt: skip
        assert checked.ok, checked.result.errors
        imports.apply(db.session, None, checked, again)
        db.session.commit()
        return {"first": first.id, "again": again.id}


def _figures(app: Flask, measurement_id: int) -> dict[str, UnitFigures]:
    with app.app_context():
        rows = db.session.execute(
            select(Unit.code, UnitFigures)
            .join(UnitFigures, UnitFigures.unit_id == Unit.id)
            .where(UnitFigures.measurement_id == measurement_id)
        ).all()
        return {code: figures for code, figures in rows}


def _csv(response) -> list[list[str]]:  # noqa: ANN001 - a test response
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


def _file_name(response) -> str:  # noqa: ANN001 - a test response
    header = response.headers["Content-Disposition"]
    header.encode("ascii")
    return parse_options_header(header)[1]["filename"]


# --- re-measurements never roll up ----------------------------------------------------------


def test_a_unit_is_measured_again_whole_only_with_everything_below_it() -> None:
    first = {"R": None, "A": "R", "A1": "A", "A2": "A", "W": "A2", "B": "R", "B1": "B"}
    # A2 and its team, and the whole of B, again; the file names R and A as their parents.
    again = {"R": None, "A": "R", "A2": "A", "W": "A2", "B": "R", "B1": "B"}
    assert remeasured_units(again, first) == {"A2", "W", "B", "B1"}
    # Everything measured again: the organisation's figure is the organisation's again.
    assert remeasured_units(first, first) == set(first)
    # A unit new since the first measurement is measured whole.
    assert remeasured_units({"N": None}, first) == {"N"}


def test_remeasurement_overview_has_no_organisation_row_and_compares_with_the_first(
    app: Flask, client: FlaskClient, measured: dict[str, int]
) -> None:
    first, again = _figures(app, measured["first"]), _figures(app, measured["again"])
    # Only the unit measured again is stored: R and A would be A2's answers under their names.
    assert set(again) == {"A2"}
    change = again["A2"].overall_score - first["A2"].overall_score
    assert change > 40  # the worst answers became middling

    login(client, "hr@x.dk")
    page = client.get(f"/results/?m={measured['again']}").get_data(as_text=True)
    assert "En genmåling" in page and "APV 2026" in page  # what it is, and its first measurement
    assert "Ændring siden første måling" in page
    table = page[page.index("<tbody>") : page.index("</tbody>")]
    assert "Enhed A2" in table
    assert "Enhed R" not in table and "Enhed A<" not in table
    assert f"+{round(change)}" in table

    rows = _csv(client.get(f"/results/export.csv?m={measured['again']}"))
    assert [row[0] for row in rows[1:]] == ["A2"]
    header = rows[0]
    assert "Ændring siden første måling" in header
    a2 = dict(zip(header, rows[1], strict=False))
    assert a2["Ændring siden første måling"] == f"{change:.1f}".replace(".", ",")

    api = client.get(f"/api/v1/measurements/{measured['again']}/results").get_json()
    assert [entry["unit"] for entry in api] == ["A2"]

    # The unit page of a unit above: no figures, and it says why.
    above = client.get(f"/units/R?m={measured['again']}").get_data(as_text=True)
    assert "Enheden er ikke målt igen i Genmåling 2026." in above
    assert "Samlet score" not in above
    # A2's page: its first measurement, no organisation column.
    own = client.get(f"/units/A2?m={measured['again']}").get_data(as_text=True)
    section = own[own.index('id="results"') :]
    assert "Første måling" in section and "ændring siden første måling" in section
    assert ">Organisationen<" not in section and "Sidste år" not in section
    # HR's home says which measurement is a re-measurement, and of which.
    home = client.get("/").get_data(as_text=True)
    assert "En genmåling af APV 2026: kun de enheder, der er målt igen." in home
    # The report for the dialogue meeting names what it compares with, and nothing above.
    report = client.get(f"/reports/unit/{measured['again']}/A2").get_data(as_text=True)
    assert "ændring siden APV 2026" in report
    assert ">Organisationen<" not in report and "Sidste år" not in report


def test_an_ordinary_measurement_still_compares_with_last_year_and_the_organisation(
    client: FlaskClient, measured: dict[str, int]
) -> None:
    login(client, "hr@x.dk")
    page = client.get(f"/units/A2?m={measured['first']}").get_data(as_text=True)
    section = page[page.index('id="results"') :]
    assert ">Organisationen<" in section and "Sidste år" in section
    assert "En genmåling" not in section
    overview = client.get(f"/results/?m={measured['first']}").get_data(as_text=True)
    assert "Ændring siden sidste år" in overview and "Enhed R" in overview


# --- the answer bars' key -------------------------------------------------------------------


def test_answer_bars_have_a_legend_in_the_scale_order(
    app: Flask, client: FlaskClient, measured: dict[str, int]
) -> None:
    with app.app_context():
        scale = db.session.scalar(
            select(Question.scale)
            .join(Measurement, Measurement.questionnaire_id == Question.questionnaire_id)
            .where(Measurement.id == measured["first"], Question.code == "PT-1")
        )
    login(client, "hr@x.dk")
    page = client.get(f"/units/A1?m={measured['first']}").get_data(as_text=True)
    legend = page[page.index('class="kompas-legend"') :]
    legend = legend[: legend.index("</ol>")]
    assert "fra venstre mod højre" in legend
    items = re.findall(r'<li class="kompas-legend__item">.*?</svg>([^<]+)</li>', legend)
    assert items == list(scale)  # every answer, in the bar's order, in words
    # Each item has its colour swatch: the same classes as the bar's segments.
    assert legend.count("kompas-bar__part--") == len(scale)


# --- exports in the page's words ------------------------------------------------------------


def test_danish_csv_has_decimal_commas_and_the_pages_words(
    app: Flask, client: FlaskClient, measured: dict[str, int]
) -> None:
    with app.app_context():
        leader = db.session.scalar(select(User).where(User.email == "leder@x.dk"))
        a2 = db.session.scalar(select(Unit).where(Unit.code == "A2"))
        first = db.session.get(Measurement, measured["first"])
        followup.start(db.session, leader, first, a2)
        db.session.commit()
    login(client, "leder@x.dk")

    results = _csv(client.get(f"/results/export.csv?m={measured['first']}"))
    header = results[0]
    assert header[:6] == ["Enheds-id", "Enhed", "Besvarelser", "Svarprocent (%)",
                          "Samlet score", "Trafiklys"]  # fmt: skip
    by_code = {row[0]: dict(zip(header, row, strict=False)) for row in results[1:]}
    assert by_code["A2"]["Trafiklys"] == "Rød" and by_code["A1"]["Trafiklys"] == "Grøn"
    assert re.fullmatch(r"\d+,\d", by_code["A"]["Samlet score"])
    assert re.fullmatch(r"\d+,\d", by_code["A"]["Svarprocent (%)"])

    page = client.get(f"/followup/overview?m={measured['first']}").get_data(as_text=True)
    overview = _csv(client.get(f"/followup/overview.csv?m={measured['first']}"))
    header = overview[0]
    rows = {row[0]: dict(zip(header, row, strict=False)) for row in overview[1:]}
    # The page says "Ikke startet" where nothing was started, and the step's name elsewhere.
    assert rows["A1"]["Aktuelt trin"] == "Ikke startet" and "Ikke startet" in page
    assert rows["A2"]["Aktuelt trin"] == "Analyse" and "Analyse" in page
    assert rows["A2"]["Trafiklys"] == "Rød"
    for row in rows.values():
        assert "." not in row["Samlet score"]
        assert re.fullmatch(r"\d+,\d", row["Samlet score"]), row
    assert "Åbne advarsler" in header


def test_english_csv_has_decimal_points(
    app: Flask, client: FlaskClient, measured: dict[str, int]
) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "hr@x.dk"))
        user.language = "en"
        db.session.commit()
    login(client, "hr@x.dk")
    rows = _csv(client.get(f"/results/export.csv?m={measured['first']}"))
    assert rows[0][4] == "Overall score"
    assert re.fullmatch(r"\d+\.\d", rows[1][4])
    assert _file_name(client.get(f"/results/export.csv?m={measured['first']}")).startswith(
        "kompas-results-"
    )


def test_file_names_say_what_they_hold_and_differ_per_export(
    app: Flask, client: FlaskClient, measured: dict[str, int]
) -> None:
    login(client, "hr@x.dk")
    today = date.today().isoformat()
    first, again = measured["first"], measured["again"]
    names = [
        _file_name(client.get(url))
        for url in (
            f"/results/export.csv?m={first}",
            f"/results/export.xlsx?m={first}",
            f"/results/export.csv?m={again}",
            f"/results/export.csv?m={first}&root=A",
            f"/followup/overview.csv?m={first}",
            f"/followup/overview.xlsx?m={first}",
            "/board/export.csv?scope=subtree&unit=A",
            "/board/export.xlsx?scope=subtree&unit=B",
        )
    ]
    assert len(set(names)) == len(names), names
    assert all(name.startswith("kompas-") and today in name for name in names), names
    assert names[0] == f"kompas-resultater-apv-2026-R-{today}.csv"
    assert names[2] == f"kompas-resultater-genmåling-2026-A2-{today}.csv"
    assert names[3] == f"kompas-resultater-apv-2026-A-{today}.csv"
    assert names[4] == f"kompas-opfølgning-apv-2026-{today}.csv"
    assert names[6] == f"kompas-handlinger-A-{today}.csv"
    # The ASCII name beside the full one (RFC 6266): Danish letters as Danes write them.
    header = client.get(f"/followup/overview.csv?m={first}").headers["Content-Disposition"]
    assert f'filename="kompas-opfoelgning-apv-2026-{today}.csv"' in header
    assert "filename*=UTF-8''kompas-opf%C3%B8lgning" in header


# --- XLSX: frozen header, dates and numbers as cells ----------------------------------------


def test_xlsx_has_a_frozen_header_date_cells_and_numbers(
    app: Flask, client: FlaskClient, measured: dict[str, int]
) -> None:
    deadline = date.today() + timedelta(days=30)
    with app.app_context():
        leader = db.session.scalar(select(User).where(User.email == "leder@x.dk"))
        a1 = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        follow_up = followup.start(
            db.session, leader, db.session.get(Measurement, measured["first"]), a1
        )
        followup.add_action(db.session, leader, follow_up, title="=HYPERLINK(1)", deadline=deadline)
        db.session.commit()
    login(client, "leder@x.dk")

    board = load_workbook(io.BytesIO(client.get("/board/export.xlsx?scope=subtree&unit=A").data))
    sheet = board.worksheets[0]
    assert sheet.title == "Handlinger"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    header = [cell.value for cell in sheet[1]]
    row = {h: cell for h, cell in zip(header, sheet[2], strict=False)}
    assert row["Aktivitet"].value == "'=HYPERLINK(1)"  # still never a formula
    assert row["Aktivitet"].data_type == "s"
    assert isinstance(row["Deadline"].value, datetime) and row["Deadline"].is_date
    assert row["Deadline"].value.date() == deadline
    assert row["Hvor langt er vi"].value == "Ikke startet"
    assert isinstance(row["Id"].value, int)

    results = load_workbook(
        io.BytesIO(client.get(f"/results/export.xlsx?m={measured['first']}").data)
    ).worksheets[0]
    assert results.freeze_panes == "A2"
    header = [cell.value for cell in results[1]]
    by_code = {r[0].value: dict(zip(header, r, strict=False)) for r in results.iter_rows(min_row=2)}
    a = by_code["A"]
    assert isinstance(a["Samlet score"].value, float) and a["Samlet score"].data_type == "n"
    assert isinstance(a["Besvarelser"].value, int)
    assert a["Samlet score"].number_format == "0.0"
    assert a["Trafiklys"].value in ("Rød", "Gul", "Grøn")

    # The board's CSV writes the same deadline as a date Excel reads in any language.
    rows = _csv(client.get("/board/export.csv?scope=subtree&unit=A"))
    assert rows[1][rows[0].index("Deadline")] == deadline.isoformat()

"""Reference figures (issue 19): the ministry's key figures imported with Danish numbers and
suppressed cells, a preview that names bad rows, the figures beside the school's own marked
with their source and year, the ministry's 1-5 scale, and bullying as a share (or the
statement's words), never a score and never in the overall score."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import undefer

from app.extensions import db
from app.models import Organisation, OrganisationKind, ReferenceFigure, Role, Unit, UnitFigures
from app.services import references
from tests.conftest import login
from tests.services.test_figures import answers, declare, load

FT = "Faglig individuel trivsel"
REFERENCES = (
    "År;Niveau;Indikator;Gennemsnit;Andel (%);Antal\n"
    f"2025;Landsplan;{FT};3,9;62,5 %;12.345\n"
    f"2025;stx;{FT};4,1;-;\n"
    "2025;Landsplan;Mobning;;4,1 %;12.345\n"
    f"2025;Aarhus;{FT};-;-;-\n"
)


def setup_school(app: Flask, make_user, org) -> None:  # type: ignore[no-untyped-def]
    """R ── A ── A1 (12 students: 4 report bullying)
         └─ A2 (10: none)
    └─ B ── B1 (11: 1 reports it: "fewer than 3")"""
    with app.app_context():
        db.session.execute(update(Organisation).values(kind=OrganisationKind.SCHOOL))
        db.session.commit()
        load(
            [
                declare("R"),
                declare("A", "R"),
                answers("A1", "A", "FT-01", [0, 0, 0, 12, 0]),
                answers("A1", "A", "MO-01", [8, 3, 1]),
                answers("A2", "A", "FT-01", [0, 0, 0, 0, 10]),
                answers("A2", "A", "MO-01", [10, 0, 0]),
                declare("B", "R"),
                answers("B1", "B", "FT-01", [0, 0, 11, 0, 0]),
                answers("B1", "B", "MO-01", [10, 1, 0]),
            ],
            name="Trivsel 2025",
            template="gym",
        )
    make_user("hr@x.dk", [(Role.ADMIN, "R")])


def check(client: FlaskClient, content: bytes, name: str = "noegletal.csv"):  # type: ignore[no-untyped-def]
    return client.post(
        "/imports/references/check",
        data={"questionnaire": "gym", "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def import_file(client: FlaskClient, content: bytes) -> None:
    preview = check(client, content)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    page = preview.get_data(as_text=True)
    sha = re.search(r'name="sha256" type="hidden" value="([0-9a-f]{64})"', page)
    assert sha, page
    fields = {
        name: value
        for name, value in re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', page)
    }
    done = client.post("/imports/references/import", data=fields)
    assert done.status_code == 302


def unit_page(client: FlaskClient, code: str) -> str:
    response = client.get(f"/units/{code}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_import_with_danish_numbers_and_suppressed_cells(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    preview = check(client, REFERENCES.encode())
    page = preview.get_data(as_text=True)
    assert "Landsplan 2025" in page and "stx 2025" in page
    assert "Aarhus 2025" not in page  # every figure suppressed: nothing to import
    with app.app_context():
        assert db.session.scalar(select(ReferenceFigure.id)) is None  # not before "Import"
    import_file(client, REFERENCES.encode())
    with app.app_context():
        figures = {(f.label, f.indicator): f for f in db.session.scalars(select(ReferenceFigure))}
        assert set(figures) == {("Landsplan", FT), ("stx", FT), ("Landsplan", "Mobning")}
        national = figures[("Landsplan", FT)]
        assert (national.average, national.share, national.count) == (3.9, 62.5, 12345)
        stx = figures[("stx", FT)]
        assert stx.source == "sector" and stx.share is None and stx.count is None  # not 0
    # A second file for the same year and level replaces it; other levels stay.
    import_file(client, f"år;niveau;indikator;gennemsnit\n2025;Landsplan;{FT};3,7\n".encode())
    with app.app_context():
        lines = references.reference_rows(db.session, "gym", [2025])
        assert [(ln.title, ln.indicator, ln.average) for ln in lines] == [
            ("Landsplan 2025", FT, 3.7),
            ("stx 2025", FT, 4.1),
        ]
        assert references.reference_rows(db.session, "gym", [2024]) == []


def test_preview_names_bad_rows_and_imports_nothing(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    bad = (
        "år;niveau;indikator;gennemsnit;andel\n"
        f"2025;Landsplan;{FT};7,2;\n"
        "2025;Landsplan;Trivsel i klassen;3,1;\n"
        f"2025;stx;{FT};=1+2;\n"
    ).encode()
    response = check(client, bad)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Gennemsnittet “7,2” er ikke et tal fra 1 til 5." in page
    assert "Indikatoren “Trivsel i klassen” findes ikke i spørgeskemaet." in page
    assert "=1+2" in page  # named, as text: a formula is never evaluated
    assert 'name="sha256"' not in page  # no way to import it
    assert re.search(r"<td>2</td>\s*<td>Gennemsnittet", page)
    with app.app_context():
        assert db.session.scalar(select(ReferenceFigure.id)) is None
    # A forged confirmation of a file never checked imports nothing either.
    forged = client.post(
        "/imports/references/import",
        data={"sha256": "0" * 64, "questionnaire": "gym", "file_name": "x.csv"},
    )
    assert forged.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(ReferenceFigure.id)) is None


def test_only_the_survey_owner_imports(app: Flask, client: FlaskClient, org, make_user) -> None:
    setup_school(app, make_user, org)
    make_user("leder@x.dk", [(Role.LEADER, "R")])
    login(client, "leder@x.dk")
    assert client.get("/imports/references").status_code in (403, 404)
    assert check(client, REFERENCES.encode()).status_code in (403, 404)


def test_shown_beside_own_marked_with_source_and_year(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    before = unit_page(client, "A1")
    assert "Landsplan 2025" not in before
    import_file(client, REFERENCES.encode())
    page = unit_page(client, "A1")  # the prepared section is made again
    assert '<th scope="col">Landsplan 2025</th>' in page
    assert '<th scope="col">stx 2025</th>' in page
    # 3,9 on 1-5 is 72,5 on 0-100; the class's own 4,0 is 75.
    row = re.search(rf"<th scope=\"row\">{FT}</th>(.*?)</tr>", page, re.S)
    assert row
    assert re.search(r'data-title="Landsplan 2025">72<br>', row.group(1)), row.group(1)
    assert "høj trivsel: 62,5 %" in row.group(1)
    overview = client.get("/results/").get_data(as_text=True)
    assert "Landsplan 2025" in overview and "stx 2025" in overview
    assert "/imports/references" in client.get("/imports/").get_data(as_text=True)
    # The exports carry them too, marked the same way, on the indicator columns' 0-100 scale.
    exported = client.get("/results/export.csv").get_data(as_text=True)
    line = next(ln for ln in exported.splitlines() if "Landsplan 2025" in ln)
    assert "Landsplan 2025 (sammenligning)" in line and "72,5" in line


def test_the_ministrys_scale(app: Flask, client: FlaskClient, org, make_user) -> None:
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    import_file(client, REFERENCES.encode())
    assert (
        client.post("/imports/references/display", data={"display": "nonsense"}).status_code == 400
    )
    with app.app_context():
        assert references.indicator_display(db.session) == "score"
    assert client.post("/imports/references/display", data={"display": "scale"}).status_code == 302
    page = unit_page(client, "A1")
    row = re.search(rf"<th scope=\"row\">{FT}</th>(.*?)</tr>", page, re.S)
    assert row
    cells = row.group(1)
    assert re.search(r">4,0 <small[^>]*>\(75\)</small>", cells), cells  # own: average, score
    assert 'data-title="Landsplan 2025">3,9<br>' in cells
    assert "gennemsnit på skalaen 1–5" in page
    overview = client.get("/results/").get_data(as_text=True)
    assert re.search(r">4,0 <small[^>]*>\(75\)</small>", overview)


def test_bullying_is_a_share_or_the_statement_never_a_score(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    import_file(client, REFERENCES.encode())
    with app.app_context():
        stored = {
            code: figures
            for code, figures in db.session.execute(
                select(Unit.code, UnitFigures)
                .join(Unit, Unit.id == UnitFigures.unit_id)
                .options(undefer(UnitFigures.questions))
            )
        }
        a1 = stored["A1"]
        assert "Mobning" not in a1.indicators
        assert a1.overall_score == pytest.approx(a1.indicators[FT])  # bullying left out
        assert a1.questions["MO-01"]["score"] is None
    page = unit_page(client, "A1")
    # 4 of 12 answered other than "no": the exact count is published, so is the share.
    assert "4 har svaret andet end “nej”." in page
    assert "Andel: 33,3 %" in page
    mobning = re.search(r'<th scope="row">Mobning</th>(.*?)</tr>', page, re.S)
    assert mobning and "ikke en score" in mobning.group(1)
    assert 'data-title="Landsplan 2025">4,1 %' in mobning.group(1)
    # B1: 1 of 11, "fewer than 3": the statement's words, no share (1/11 would give it away).
    page = unit_page(client, "B1")
    assert "Færre end 3 har svaret andet end “nej”." in page
    assert "Andel:" not in page
    assert "9,1 %" not in page
    # A2: nobody: 0 %.
    assert "Andel: 0,0 %" in unit_page(client, "A2")


def test_the_command_line_import(app: Flask, org, make_user, tmp_path) -> None:  # type: ignore[no-untyped-def]
    setup_school(app, make_user, org)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"år;niveau;indikator;gennemsnit\n2025;Landsplan;{FT};9,9\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["kompas", "import-references", str(bad)])
    assert result.exit_code != 0
    assert "row 2: bad_average" in result.output
    good = tmp_path / "noegletal.csv"
    good.write_text(REFERENCES, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["kompas", "import-references", str(good)])
    assert result.exit_code == 0, result.output
    assert "Landsplan 2025: 2 figures" in result.output
    with app.app_context():
        assert len(references.reference_rows(db.session, "gym", [2025])) == 3

"""Reference figures through the mapping (issue 20): a file whose columns Kompas does not
recognise gets a mapping screen (with the year and level the file lacks), then the usual
preview and import; a recognised file goes straight to the preview; the CLI keeps working."""

from __future__ import annotations

import re

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import ImportProfile, ReferenceFigure
from app.services import import_profiles
from tests.conftest import login
from tests.web.test_reference_figures import FT, REFERENCES, check, setup_school

# The ministry's own words: no year, no "niveau", "Score" for the average.
MINISTRY = (
    "Institution;Indikatornavn;Score;Andel i pct.;Besvarelser\n"
    f"Landsplan;{FT};3,9;62,5 %;12.345\n"
    f"stx;{FT};4,1;-;\n"
    "Landsplan;Mobning;;4,1 %;12.345\n"
).encode()


def mapping_form(page: str, **changes: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    fields["csrf_token"] = fields.get("csrf_token", "")
    fields.update(
        {
            "col-level": "Institution",
            "col-indicator": "Indikatornavn",
            "col-average": "Score",
            "col-share": "Andel i pct.",
            "col-count": "Besvarelser",
            "const-year": "2025",
        }
    )
    fields.update(changes)
    return fields


def figures(app: Flask) -> list[tuple[int, str, str, float | None]]:
    with app.app_context():
        return sorted(
            (f.year, f.label, f.indicator, f.average)
            for f in db.session.scalars(select(ReferenceFigure))
        )


def test_unrecognised_columns_get_a_mapping_screen_then_preview_and_import(
    app: Flask, client: FlaskClient, make_user, org
) -> None:
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    screen = check(client, MINISTRY, "noegletal-ministeriet.csv")
    assert screen.status_code == 200
    page = screen.get_data(as_text=True)
    assert "Indikatornavn" in page and 'name="const-year"' in page
    assert figures(app) == []

    preview = client.post("/imports/references/mapping", data=mapping_form(page))
    assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
    shown = preview.get_data(as_text=True)
    assert "Landsplan 2025" in shown and "noegletal-ministeriet.csv" in shown
    fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', shown))
    done = client.post("/imports/references/import", data=fields)
    assert done.status_code == 302
    assert (2025, "Landsplan", FT, 3.9) in figures(app)
    assert (2025, "stx", FT, 4.1) in figures(app)


def test_a_bad_reference_mapping_keeps_the_choices(app: Flask, client: FlaskClient, make_user,
                                                   org) -> None:  # fmt: skip
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    page = check(client, MINISTRY).get_data(as_text=True)
    sent = mapping_form(page, **{"const-year": "1850", "col-count": "Antal"})
    response = client.post("/imports/references/mapping", data=sent)
    assert response.status_code == 400
    shown = response.get_data(as_text=True)
    assert "Filen har ingen kolonne “Antal”" in shown
    assert 'value="1850"' in shown  # kept as typed
    assert re.search(r'<option value="Score" selected>', shown)
    too_long = client.post(
        "/imports/references/mapping", data=mapping_form(page, **{"const-level": "x" * 500})
    )
    assert too_long.status_code == 400
    assert "x" * 500 not in too_long.get_data(as_text=True)
    assert figures(app) == []


def test_a_recognised_file_goes_straight_to_the_preview(app: Flask, client: FlaskClient,
                                                        make_user, org) -> None:  # fmt: skip
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    page = check(client, REFERENCES.encode()).get_data(as_text=True)
    assert 'name="const-year"' not in page and "Landsplan 2025" in page


def test_a_staged_reference_file_of_someone_elses_sha_is_refused(
    app: Flask, client: FlaskClient, make_user, org
) -> None:
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    response = client.post(
        "/imports/references/mapping",
        data={"sha256": "../" * 3 + "etc", "questionnaire": "gym", "col-level": "Institution"},
    )
    assert response.status_code == 400
    assert figures(app) == []


def test_cli_import_references_keeps_working(app: Flask, make_user, org, tmp_path) -> None:  # type: ignore[no-untyped-def]
    setup_school(app, make_user, org)
    path = tmp_path / "noegletal.csv"
    path.write_bytes(REFERENCES.encode())
    result: Result = app.test_cli_runner().invoke(
        args=["kompas", "import-references", str(path), "--questionnaire", "gym"]
    )
    assert result.exit_code == 0, result.output
    assert "Imported" in result.output
    assert (2025, "Landsplan", FT, 3.9) in figures(app)


def test_a_reference_mapping_saved_as_a_profile_fills_the_next_file(
    app: Flask, client: FlaskClient, make_user, org
) -> None:
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    page = check(client, MINISTRY).get_data(as_text=True)
    sent = mapping_form(page, save_profile="y", new_profile_name="Ministeriet, nøgletal")
    preview = client.post("/imports/references/mapping", data=sent)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
    with app.app_context():
        profiles = list(db.session.scalars(select(ImportProfile)))
        assert [(p.name, p.kind) for p in profiles] == [("Ministeriet, nøgletal", "references")]

    # Next year's file of the same layout: the form comes filled from the profile.
    next_year = MINISTRY.replace(b"3,9", b"3,8")
    page = check(client, next_year, "noegletal-2026.csv").get_data(as_text=True)
    assert "udfyldt fra den gemte profil “Ministeriet, nøgletal”" in page
    assert re.search(r'<option value="Score" selected>', page)
    assert 'name="const-year" value=""' in page  # last year's year is not offered again
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    for role in ("year", "level", "indicator", "question", "average", "share", "count"):
        chosen = re.search(rf'name="col-{role}".*?(?:<option value="([^"]*)" selected>|</select>)',
                           page, re.S)  # fmt: skip
        fields[f"col-{role}"] = (chosen.group(1) or "") if chosen else ""
    fields["const-year"], fields["const-level"] = "2026", ""
    preview = client.post("/imports/references/mapping", data=fields)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
    assert "Landsplan 2026" in preview.get_data(as_text=True)


def test_a_taken_profile_name_keeps_the_reference_mapping(
    app: Flask, client: FlaskClient, make_user, org
) -> None:
    setup_school(app, make_user, org)
    login(client, "hr@x.dk")
    with app.app_context():
        import_profiles.save(
            db.session, None, name="Ministeriet", signature="", mapping={}, kind="references"
        )
        db.session.commit()
    page = check(client, MINISTRY).get_data(as_text=True)
    sent = mapping_form(page, save_profile="y", new_profile_name="ministeriet")
    response = client.post("/imports/references/mapping", data=sent)
    assert response.status_code == 400
    shown = response.get_data(as_text=True)
    assert "Der er allerede en profil, der hedder “ministeriet”" in shown
    assert 'value="ministeriet"' in shown and 'value="2025"' in shown
    assert figures(app) == []

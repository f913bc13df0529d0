"""HR's import flow in the web app: upload, check, errors or preview, confirm."""

from __future__ import annotations

import io
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import ImportLog, Measurement, Role, StagedImport
from app.services.measurements import find_or_prepare_measurement
from tests.conftest import login
from tests.stored_counts import stored_answers

HEADER = "unit_id;unit_name;parent_id;invited;question_id;n_1;n_2;n_3;n_4;n_5;n_dont_know\n"
GOOD = (
    HEADER
    + "R;Testby;;;;;;;;;\n"
    + "A;Afdeling A;R;;;;;;;;\n"
    + "A1;Team 1;A;9;PT-1;0;1;2;3;1;0\n"
    + "A1;Team 1;A;9;PT-2;1;1;2;2;1;0\n"
    + "A2;Team 2;A;6;PT-1;1;1;1;1;1;0\n"
)


def upload(client: FlaskClient, measurement_id: int, content: bytes, name: str = "r.csv",
           **headers: str):  # fmt: skip
    return client.post(
        "/imports/check",
        data={"measurement_id": str(measurement_id), "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


def setup_admin(app: Flask, make_user, org) -> int:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    with app.app_context():
        measurement = find_or_prepare_measurement(
            db.session, name="APV 2026", year=2026, template_code="apv"
        )
        db.session.commit()
        return measurement.id


def result_count(app: Flask) -> int:
    with app.app_context():
        return len(stored_answers())


def test_upload_preview_confirm(app: Flask, client: FlaskClient, org, make_user) -> None:
    measurement_id = setup_admin(app, make_user, org)
    login(client, "hr@x.dk")
    response = upload(client, measurement_id, GOOD.encode())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Filen er gyldig" in page
    assert result_count(app) == 0  # nothing written before the confirmation
    token = response.headers["Location"].rsplit("/", 1)[1]
    confirmed = client.post(f"/imports/staged/{token}/confirm")
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"] == f"/imports/staged/{token}"
    assert result_count(app) == 3
    with app.app_context():
        staged = db.session.scalar(select(StagedImport))
        log = db.session.scalar(select(ImportLog))
        assert (staged.state, staged.progress, staged.import_log_id) == ("imported", 100, log.id)
        assert log.outcome == "imported"
    done = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "Resultaterne for APV 2026 er indlæst" in done
    assert "Se resultaterne" in done and f"/imports/measurements/{measurement_id}" in done


def test_broken_file_shows_every_error_and_changes_nothing(app: Flask, client: FlaskClient, org,
                                                            make_user) -> None:  # fmt: skip
    measurement_id = setup_admin(app, make_user, org)
    login(client, "hr@x.dk")
    broken = GOOD.replace("A2;Team 2;A;6;PT-1;1;1;1;1;1;0", "A2;Team 2;NOPE;6;PT-1;1;-1;1;1;1;0")
    response = upload(client, measurement_id, broken.encode(), HX_Request="true")
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"].startswith("/imports/staged/")
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment  # htmx gets the fragment, not the page
    assert fragment.count("<tr><td>6</td>") == 2  # both problems of row 6
    assert "parent_id" in fragment and "n_2" in fragment
    assert result_count(app) == 0
    csv_text = client.get(response.headers["HX-Push-Url"] + "/errors.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeff") and "NOPE" in csv_text
    token = response.headers["HX-Push-Url"].rsplit("/", 1)[1]
    assert client.post(f"/imports/staged/{token}/confirm").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ImportLog.outcome)) == "rejected"


def files_kept(app: Flask) -> list[str]:
    area = Path(app.config["IMPORT_FILES_DIR"])
    return sorted(p.name for p in area.iterdir()) if area.is_dir() else []


def test_not_a_results_file(app: Flask, client: FlaskClient, org, make_user,
                            tmp_path: Path) -> None:  # fmt: skip
    """Refused on the upload form (the measurement still chosen), in the log, not kept."""
    app.config["IMPORT_FILES_DIR"] = str(tmp_path / "files")
    measurement_id = setup_admin(app, make_user, org)
    login(client, "hr@x.dk")
    response = upload(client, measurement_id, b"%PDF-1.7\x00\x01binary", name="r.pdf")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "hverken en CSV-fil eller en Excel-fil" in page
    assert re.search(rf'<option selected value="{measurement_id}"', page)
    assert 'aria-invalid="true"' in page
    assert files_kept(app) == []
    with app.app_context():
        log = db.session.scalar(select(ImportLog))
        assert (log.outcome, log.file_name, log.summary["reason"]) == (
            "rejected", "r.pdf", "not_csv_or_xlsx",
        )  # fmt: skip
        assert db.session.scalar(select(func.count()).select_from(StagedImport)) == 0
    # htmx: the form comes back in place, with the problem.
    response = upload(client, measurement_id, b"", name="empty.csv", HX_Request="true")
    assert response.status_code == 400
    assert "<html" not in response.get_data(as_text=True)


def test_a_respondent_level_file_is_refused_and_not_kept(
    app: Flask, client: FlaskClient, org, make_user, tmp_path: Path
) -> None:
    app.config["IMPORT_FILES_DIR"] = str(tmp_path / "files")
    measurement_id = setup_admin(app, make_user, org)
    login(client, "hr@x.dk")
    answers = b"Respondent ID;Afdeling;PT-1;PT-2\n1;A1;4;5\n2;A1;3;4\n3;A2;5;5\n"
    response = upload(client, measurement_id, answers, name="svar.csv")
    assert response.status_code == 400
    page = " ".join(response.get_data(as_text=True).split())
    assert "enkeltpersoners svar" in page
    assert files_kept(app) == []
    assert result_count(app) == 0
    with app.app_context():
        log = db.session.scalar(select(ImportLog))
        assert (log.outcome, log.summary["reason"]) == ("rejected", "respondent_level")
        assert db.session.scalar(select(func.count()).select_from(StagedImport)) == 0


def test_a_file_in_another_layout_goes_to_the_mapping(
    app: Flask, client: FlaskClient, org, make_user, tmp_path: Path
) -> None:
    app.config["IMPORT_FILES_DIR"] = str(tmp_path / "files")
    measurement_id = setup_admin(app, make_user, org)
    login(client, "hr@x.dk")
    wide = (
        b"Enhed;Overordnet;Antal besvarelser;PT-1 Helt uenig;PT-1 Uenig;PT-1 Hverken eller;"
        b"PT-1 Enig;PT-1 Helt enig\n"
        b"A1;A;7;0;1;2;3;1\nA2;A;5;1;1;1;1;1\n"
    )
    response = upload(client, measurement_id, wide, name="defgo.csv")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/mapping")
    with app.app_context():
        staged = db.session.scalar(select(StagedImport))
        assert (staged.state, staged.mapping) == ("uploaded", None)
    assert files_kept(app) == [staged.sha256]
    # The staged page sends there too, until a mapping is chosen.
    page = client.get(f"/imports/staged/{staged.token}")
    assert page.status_code == 302 and page.headers["Location"].endswith("/mapping")
    # htmx: a full page load of the mapping screen.
    response = upload(client, measurement_id, wide, name="defgo.csv", HX_Request="true")
    assert response.headers["HX-Redirect"].endswith("/mapping")


def test_missing_file_keeps_the_chosen_measurement(app: Flask, client: FlaskClient, org,
                                                   make_user) -> None:  # fmt: skip
    measurement_id = setup_admin(app, make_user, org)
    login(client, "hr@x.dk")
    response = client.post("/imports/check", data={"measurement_id": str(measurement_id)})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Vælg filen med resultaterne." in page
    assert re.search(rf'<option selected value="{measurement_id}"', page)


def test_a_staged_upload_belongs_to_its_uploader(app: Flask, client: FlaskClient, org,
                                                 make_user) -> None:  # fmt: skip
    measurement_id = setup_admin(app, make_user, org)
    make_user("hr2@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    location = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    other = app.test_client()
    login(other, "hr2@x.dk")
    assert other.get(location).status_code == 404
    assert other.post(location + "/confirm").status_code == 404
    assert result_count(app) == 0


def test_windows_1252_file_imports_with_a_notice(app: Flask, client: FlaskClient, org,
                                                 make_user) -> None:  # fmt: skip
    measurement_id = setup_admin(app, make_user, org)
    login(client, "hr@x.dk")
    content = GOOD.replace("Team 1", "Første sal – Ærø").encode("cp1252")
    location = upload(client, measurement_id, content).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "Windows-1252" in page
    client.post(location + "/confirm")
    with app.app_context():
        from app.models import Unit

        assert db.session.scalar(select(Unit.name).where(Unit.code == "A1")) == "Første sal – Ærø"
        assert db.session.scalar(select(Measurement.name)) == "APV 2026"

"""Safe imports (issue 18): a measurement with results is announced before the check, the
check says in words what changes, a replacing import is confirmed by typing the measurement's
name, and an import replaced by mistake can be restored ("Gendan") for 30 days."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    FollowUp,
    ImportLog,
    Measurement,
    Role,
    StagedImport,
    Unit,
    UnitFigures,
)
from app.models.base import utcnow
from app.services import followup, imports, retention
from app.services.measurements import find_or_prepare_measurement
from tests.conftest import login
from tests.stored_counts import stored_answers

HEADER = "unit_id;unit_name;parent_id;invited;question_id;n_1;n_2;n_3;n_4;n_5;n_dont_know\n"
FIRST = (
    HEADER
    + "R;Testby;;;;;;;;;\n"
    + "A;Afdeling A;R;;;;;;;;\n"
    + "A1;Team 1;A;9;PT-1;0;1;2;3;1;0\n"
    + "A1;Team 1;A;9;PT-2;1;1;2;2;1;0\n"
    + "A2;Team 2;A;8;PT-1;1;1;2;1;1;0\n"
    + "A2;Team 2;A;8;PT-2;0;2;2;1;1;0\n"
    + "B;Afdeling B;R;;;;;;;;\n"
    + "B1;Team B1;B;8;PT-1;1;1;1;1;2;0\n"
)
# Next year's file uploaded by mistake: Team 1 renamed and moved to Afdeling B, Team 2 gone,
# Team 3 new.
SECOND = (
    HEADER
    + "R;Testby;;;;;;;;;\n"
    + "A;Afdeling A;R;;;;;;;;\n"
    + "B;Afdeling B;R;;;;;;;;\n"
    + "A1;Team Et;B;9;PT-1;3;3;1;1;1;0\n"
    + "A1;Team Et;B;9;PT-2;3;2;2;1;1;0\n"
    + "A3;Team 3;A;7;PT-1;1;1;1;1;2;0\n"
    + "B1;Team B1;B;8;PT-1;1;1;1;1;2;0\n"
)


@pytest.fixture
def measurement_id(app: Flask, make_user, org, tmp_path: Path) -> int:
    app.config["IMPORT_FILES_DIR"] = str(tmp_path / "files")
    make_user("hr@x.dk", [(Role.ADMIN, "R")], name="Hanne Rask")
    with app.app_context():
        measurement = find_or_prepare_measurement(
            db.session, name="APV 2026", year=2026, template_code="apv"
        )
        db.session.commit()
        return measurement.id


def text(response) -> str:  # noqa: ANN001 - a test response
    """The page with its whitespace collapsed, as a reader sees the words."""
    return " ".join(response.get_data(as_text=True).split())


def upload(client: FlaskClient, measurement_id: int, content: str, name: str) -> str:
    response = client.post(
        "/imports/check",
        data={"measurement_id": str(measurement_id), "file": (io.BytesIO(content.encode()), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    return response.headers["Location"]


def import_first(app: Flask, client: FlaskClient, measurement_id: int) -> None:
    """FIRST imported through the web, and a follow-up with an action on Team 2."""
    login(client, "hr@x.dk")
    location = upload(client, measurement_id, FIRST, "apv-2026.csv")
    assert client.post(location + "/confirm").status_code == 302
    with app.app_context():
        measurement = db.session.get(Measurement, measurement_id)
        team_2 = db.session.scalar(select(Unit).where(Unit.code == "A2"))
        follow_up = followup.start(db.session, None, measurement, team_2)
        followup.add_action(db.session, None, follow_up, title="Fælles morgenmøde")
        db.session.commit()


def state(app: Flask) -> dict[str, object]:
    """What a replacing import would change: names, results, logs, the staged file."""
    with app.app_context():
        code_of = dict(db.session.execute(select(Unit.id, Unit.code)).tuples().all())
        return {
            "names": dict(db.session.execute(select(Unit.code, Unit.name)).tuples().all()),
            "results": sorted(
                (code_of[answer.unit_id], answer.counts) for answer in stored_answers()
            ),
            "figures": sorted(
                db.session.scalars(
                    select(Unit.code).join(UnitFigures, UnitFigures.unit_id == Unit.id)
                )
            ),
            "logs": db.session.scalar(select(func.count()).select_from(ImportLog)),
            "staged": db.session.scalar(select(func.count()).select_from(StagedImport)),
        }


def test_a_measurement_with_results_is_announced_before_the_check(
    app: Flask, client: FlaskClient, measurement_id: int
) -> None:
    # Nothing to warn about before the first import.
    login(client, "hr@x.dk")
    assert "har allerede resultater" not in text(client.get("/imports/"))
    import_first(app, client, measurement_id)

    for page in (
        text(client.get(f"/imports/?measurement_id={measurement_id}")),
        text(client.get(f"/imports/existing?measurement_id={measurement_id}")),
    ):
        assert "APV 2026 har allerede resultater. En ny fil erstatter dem." in page
        assert "af Hanne Rask fra filen apv-2026.csv" in page
        assert "1 opfølgning" in page and "1 handling" in page
        assert "0 åbne advarsler" in page
        assert "De bevares" in page
        assert "Hvis det er en fejl, kan disse resultater gendannes i 30 dage" in page
    assert client.get("/imports/existing?measurement_id=999").status_code == 404

    # ... and again on the check, with what changes in words and names.
    page = text(client.get(upload(client, measurement_id, SECOND, "apv-2027.csv")))
    assert "APV 2026 har allerede resultater" in page
    assert "Team 1 omdøbes til Team Et" in page
    assert "Team Et flyttes fra Afdeling A til Afdeling B" in page
    assert "Team 3, under Afdeling A" in page
    assert "1 enhed mangler i filen" in page
    assert (
        "<strong>Team 2</strong> (under Afdeling A): den får ingen tal fra denne fil; "
        "dens opfølgning og dens 1 handling bevares."
    ) in page
    assert "Målingen hedder APV 2026." in page
    assert "Erstat resultaterne" in page


def test_a_wrong_name_is_refused_and_nothing_changes(
    app: Flask, client: FlaskClient, measurement_id: int
) -> None:
    import_first(app, client, measurement_id)
    location = upload(client, measurement_id, SECOND, "apv-2027.csv")
    before = state(app)
    for typed in ("", "APV 2025"):
        response = client.post(location + "/confirm", data={"measurement_name": typed})
        assert response.status_code == 400
        page = text(response)
        assert "Skriv målingens navn, APV 2026, for at erstatte dens resultater." in page
        assert f'value="{typed}"' in page  # what was typed is still there
        assert state(app) == before  # the staged file stays, nothing else moves
    assert client.get(location).status_code == 200

    # Case and spaces do not matter; the name does.
    response = client.post(location + "/confirm", data={"measurement_name": "  apv   2026 "})
    assert response.status_code == 302
    after = state(app)
    assert after["names"]["A1"] == "Team Et"
    assert "A2" not in after["figures"]
    # The import's page says what was done, and that it can be undone.
    assert response.headers["Location"] == location
    assert "Den tidligere indlæsning kan gendannes" in text(client.get(location))


def replace_by_mistake(app: Flask, client: FlaskClient, measurement_id: int) -> tuple[int, int]:
    import_first(app, client, measurement_id)
    location = upload(client, measurement_id, SECOND, "apv-2027.csv")
    client.post(location + "/confirm", data={"measurement_name": "APV 2026"})
    with app.app_context():
        first, second = db.session.scalars(select(ImportLog.id).order_by(ImportLog.id)).all()
    return first, second


def test_restore_brings_back_the_earlier_figures_and_names(
    app: Flask, client: FlaskClient, measurement_id: int
) -> None:
    import_first(app, client, measurement_id)
    original = state(app)
    location = upload(client, measurement_id, SECOND, "apv-2027.csv")
    client.post(location + "/confirm", data={"measurement_name": "APV 2026"})
    with app.app_context():
        first, second = db.session.scalars(select(ImportLog.id).order_by(ImportLog.id)).all()

    history = text(client.get(f"/imports/measurements/{measurement_id}"))
    assert f"/imports/logs/{first}/restore" in history
    assert f"/imports/logs/{second}/restore" not in history  # the current import

    # Asks first, saying what changes back.
    ask = text(client.get(f"/imports/logs/{first}/restore"))
    assert "Team Et omdøbes til Team 1" in ask
    assert "Team 1 flyttes fra Afdeling B til Afdeling A" in ask
    assert state(app)["names"]["A1"] == "Team Et"  # asking changed nothing

    response = client.post(f"/imports/logs/{first}/restore")
    assert response.status_code == 302
    restored = state(app)
    # Every unit has its earlier name back; Team 3 (only in the mistaken file) stays known,
    # without results: imports never delete units.
    assert {code: restored["names"][code] for code in original["names"]} == original["names"]
    assert restored["results"] == original["results"]
    assert restored["figures"] == original["figures"]
    with app.app_context():
        log = db.session.get(ImportLog, first)
        assert log.restored_at is not None
        newest = db.session.scalar(select(ImportLog).order_by(ImportLog.id.desc()).limit(1))
        assert newest.summary["restored_from"] == first
        assert newest.sha256 == log.sha256
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "results.restored"))
        assert event.details["import_log"] == first
        # The follow-up of Team 2 and its action were kept all along.
        assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 1
    # The restore ran as an import job; its page says what was done.
    assert response.headers["Location"].startswith("/imports/staged/")
    page = text(client.get(response.headers["Location"]))
    assert "Indlæsningen af apv-2026.csv blev gendannet" in page
    assert f"/imports/measurements/{measurement_id}" in page
    # Restoring the same file again makes no sense; undoing the restore does.
    page = text(client.get(f"/imports/measurements/{measurement_id}"))
    assert f"/imports/logs/{first}/restore" not in page
    assert f"/imports/logs/{second}/restore" in page


def test_restore_of_another_or_expired_import_is_refused(
    app: Flask, client: FlaskClient, measurement_id: int, make_user
) -> None:
    first, second = replace_by_mistake(app, client, measurement_id)
    before = state(app)
    # The current import, an unknown one, a refused one: nothing to restore.
    refused = client.post(
        "/imports/check",
        data={
            "measurement_id": str(measurement_id),
            "file": (io.BytesIO(b"%PDF-1.7\x00"), "r.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    with app.app_context():
        rejected = db.session.scalar(select(ImportLog.id).where(ImportLog.outcome == "rejected"))
    for log_id in (second, 999, rejected):
        assert client.get(f"/imports/logs/{log_id}/restore").status_code == 404
        assert client.post(f"/imports/logs/{log_id}/restore").status_code == 404
    # Replaced more than 30 days ago: too late.
    with app.app_context():
        db.session.get(ImportLog, second).at = utcnow() - timedelta(days=31)
        db.session.commit()
    assert client.get(f"/imports/logs/{first}/restore").status_code == 404
    assert client.post(f"/imports/logs/{first}/restore").status_code == 404
    after = state(app)
    assert after["names"] == before["names"] and after["results"] == before["results"]
    # A leader (not HR) cannot see the history or restore anything.
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    other = app.test_client()
    login(other, "leder@x.dk")
    assert other.get(f"/imports/measurements/{measurement_id}").status_code == 404
    assert other.post(f"/imports/logs/{first}/restore").status_code == 404


def test_the_purge_removes_files_no_restore_can_need(
    app: Flask, client: FlaskClient, measurement_id: int
) -> None:
    first, second = replace_by_mistake(app, client, measurement_id)
    area = Path(app.config["IMPORT_FILES_DIR"])
    with app.app_context():
        first_file = area / db.session.get(ImportLog, first).stored_file
        second_file = area / db.session.get(ImportLog, second).stored_file
    month_ago = time.time() - 31 * 24 * 3600
    for path in (first_file, second_file):
        assert path.is_file()
        os.utime(path, (month_ago, month_ago))
    with app.app_context():
        # Replaced today: still restorable, kept.
        assert retention.purge_import_files(db.session, area, utcnow()) == 0
        db.session.get(ImportLog, second).at = utcnow() - timedelta(days=31)
        db.session.commit()
        assert retention.purge_import_files(db.session, area, utcnow()) == 1
        db.session.commit()
        assert db.session.get(ImportLog, first).stored_file == ""
    assert not first_file.exists()
    assert second_file.exists()  # the current import's file stays for a later "Gendan"


def test_results_imported_without_their_file_say_they_cannot_be_restored(
    app: Flask, client: FlaskClient, measurement_id: int
) -> None:
    """The command line keeps no file: HR is told before replacing, not after."""
    with app.app_context():
        measurement = db.session.get(Measurement, measurement_id)
        checked = imports.check(
            db.session,
            FIRST.encode(),
            file_name="apv-2026.csv",
            year=2026,
            questionnaire=measurement.questionnaire,
            measurement=measurement,
        )
        imports.apply(db.session, None, checked, measurement)  # as `flask kompas import`
        db.session.commit()
    login(client, "hr@x.dk")
    page = text(client.get(f"/imports/?measurement_id={measurement_id}"))
    assert "via kommandolinjen fra filen apv-2026.csv" in page
    assert "når de er erstattet, kan de ikke gendannes" in page
    location = upload(client, measurement_id, SECOND, "apv-2027.csv")
    client.post(location + "/confirm", data={"measurement_name": "APV 2026"})
    page = text(client.get(location))
    assert "Resultaterne for APV 2026 er erstattet." in page
    assert "kan gendannes" not in page
    history = text(client.get(f"/imports/measurements/{measurement_id}"))
    assert "/restore" not in history

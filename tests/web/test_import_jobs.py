"""The web import as background jobs (issue 20): the upload only stores the file, the check
and the import run as jobs whose progress the page polls, a second confirm starts nothing, a
job a stopped process left shows as failed, and old uploads are swept with their files (but
never a file an import keeps for "Gendan")."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import ImportLog, Measurement, Role, StagedImport, Unit
from app.models.base import utcnow
from app.services import import_jobs, imports, report_jobs
from app.services.measurements import find_or_prepare_measurement
from app.services.users import assign_role, create_user
from tests.conftest import PASSWORD, login
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
GENERATOR = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "gen_results.py"


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


def upload(client: FlaskClient, measurement_id: int, content: bytes, name: str = "r.csv",
           **headers: str) -> Any:  # fmt: skip
    return client.post(
        "/imports/check",
        data={"measurement_id": str(measurement_id), "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


def text(response: Any) -> str:
    return " ".join(response.get_data(as_text=True).split())


def the_staged(app: Flask) -> StagedImport:
    with app.app_context():
        staged = db.session.scalar(select(StagedImport).order_by(StagedImport.id.desc()))
        assert staged is not None
        db.session.expunge(staged)
        return staged


def set_staged(app: Flask, **values: Any) -> None:
    with app.app_context():
        staged = db.session.scalar(select(StagedImport).order_by(StagedImport.id.desc()))
        for key, value in values.items():
            setattr(staged, key, value)
        db.session.commit()


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def answer_count(app: Flask) -> int:
    """Stored answer counts: one per unit and question."""
    with app.app_context():
        return len(stored_answers())


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Jobs are recorded, not run: what a request does on its own (then `run_jobs`)."""
    started: list[tuple[str, int]] = []
    monkeypatch.setattr(import_jobs, "_submit", lambda kind, i: started.append((kind, i)))
    return started


def run_jobs(app: Flask, started: list[tuple[str, int]]) -> None:
    with app.app_context():
        while started:
            kind, staged_id = started.pop(0)
            import_jobs.run(db.session, kind, staged_id)
        db.session.remove()


def test_the_requests_parse_nothing_the_jobs_do(
    app: Flask, client: FlaskClient, measurement_id: int, deferred, monkeypatch
) -> None:
    """Neither the upload nor the confirm reads the file through: only the jobs do."""
    parsed: list[str] = []
    real_check = imports.check
    monkeypatch.setattr(
        imports, "check", lambda *a, **k: parsed.append("check") or real_check(*a, **k)
    )
    login(client, "hr@x.dk")
    response = upload(client, measurement_id, GOOD.encode())
    assert response.status_code == 302
    staged = the_staged(app)
    assert (parsed, deferred) == ([], [("check", staged.id)])
    assert (staged.state, staged.phase, staged.progress) == ("checking", "reading", 0)
    stored = Path(app.config["IMPORT_FILES_DIR"]) / staged.stored_file
    assert stored.read_bytes() == GOOD.encode() and staged.sha256 == stored.name

    # While it runs: the progress part polls itself every second; without JavaScript, a link.
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and "part=progress" in page
    assert '<progress id="job-progress-bar" max="100" value="0">' in page
    assert "Læser filen" in page and ">Opdater</a>" in page

    # "Indlæs" before the check is done (a script, a stale tab): the page, nothing started.
    early = client.post(response.headers["Location"] + "/confirm")
    assert early.status_code == 302 and early.headers["Location"] == response.headers["Location"]
    assert deferred == [("check", staged.id)]

    run_jobs(app, deferred)
    assert parsed == ["check"]
    assert the_staged(app).state == "checked"
    assert "Filen er gyldig" in text(client.get(response.headers["Location"]))

    confirmed = client.post(response.headers["Location"] + "/confirm")
    assert confirmed.status_code == 302
    assert parsed == ["check"]  # the confirm only started the job
    assert the_staged(app).state == "importing"
    assert answer_count(app) == 0
    page = text(client.get(confirmed.headers["Location"]))
    assert "Indlæsning af r.csv" in page and 'hx-trigger="every 1s"' in page
    run_jobs(app, deferred)
    assert parsed == ["check", "check"]  # checked again: the organisation may have changed
    assert answer_count(app) == 3
    staged = the_staged(app)
    assert (staged.state, staged.progress) == ("imported", 100)
    assert "Resultaterne for APV 2026 er indlæst" in text(client.get(confirmed.headers["Location"]))


def test_the_poll_answers_the_progress_then_the_outcome(
    app: Flask, client: FlaskClient, measurement_id: int, deferred
) -> None:
    login(client, "hr@x.dk")
    response = upload(client, measurement_id, GOOD.encode(), HX_Request="true")
    # htmx: the upload area becomes the progress, with the staged page's address.
    assert response.status_code == 200
    location = response.headers["HX-Push-Url"]
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and 'id="job-progress"' in fragment
    assert "view=index" in fragment  # the outcome will refresh the page's import log

    set_staged(app, phase="validating", progress=90)
    poll = client.get(location + "?part=progress&view=index", headers={"HX-Request": "true"})
    body = poll.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="job-progress"')
    assert 'value="90"' in body and "Kontrollerer" in body
    assert "HX-Retarget" not in poll.headers

    run_jobs(app, deferred)
    poll = client.get(location + "?part=progress&view=index", headers={"HX-Request": "true"})
    assert poll.headers["HX-Retarget"] == "#upload"
    body = poll.get_data(as_text=True)
    assert "Filen er gyldig" in body and "every 1s" not in body  # polling stops
    assert 'hx-select="#import-log"' in body
    # From the staged page itself (no import log there): no refresh of a log.
    poll = client.get(location + "?part=progress", headers={"HX-Request": "true"})
    assert 'hx-select="#import-log"' not in poll.get_data(as_text=True)


@pytest.mark.parametrize(
    ("phase", "words"),
    [
        ("writing", "Skriver resultaterne"),
        ("figures", "Beregner tal og anonymitet"),
        ("alerts", "Åbner alarmer"),
    ],
)
def test_the_import_phases_in_words(
    app: Flask, client: FlaskClient, measurement_id: int, deferred, phase: str, words: str
) -> None:
    login(client, "hr@x.dk")
    location = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    run_jobs(app, deferred)
    client.post(location + "/confirm")
    set_staged(app, phase=phase, progress=63)
    page = text(client.get(location))
    assert words in page and 'value="63"' in page and "63 %" in page


def test_a_second_confirm_starts_nothing(
    app: Flask, client: FlaskClient, measurement_id: int, deferred
) -> None:
    login(client, "hr@x.dk")
    location = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    run_jobs(app, deferred)
    # Two tabs: both confirm before the job has started.
    first = client.post(location + "/confirm")
    second = client.post(location + "/confirm")
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == location
    assert [kind for kind, _ in deferred] == ["import"]
    run_jobs(app, deferred)
    # ... and after it is done.
    assert client.post(location + "/confirm").status_code == 302
    assert deferred == []
    assert count(app, ImportLog, ImportLog.outcome == "imported") == 1
    # The conditional update itself: a staged file already importing is not started again.
    with app.app_context():
        staged = db.session.scalar(select(StagedImport))
        staged.state = "checked"
        db.session.commit()
        db.session.execute(
            StagedImport.__table__.update().values(state="importing")
        )  # another process won
        db.session.commit()
        assert import_jobs.start_import(db.session, staged, update_organisation=False) is False
    assert deferred == []


def test_a_job_left_by_a_stopped_process_shows_as_failed(
    app: Flask, client: FlaskClient, measurement_id: int, deferred
) -> None:
    login(client, "hr@x.dk")
    location = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    # A minute in: still working.
    set_staged(app, started_at=utcnow() - timedelta(minutes=1))
    assert "every 1s" in text(client.get(location))
    # Nothing heard for longer than a job may run: failed, with the way on.
    set_staged(app, started_at=utcnow() - import_jobs.ORPHANED_AFTER - timedelta(minutes=1))
    page = text(client.get(location))
    assert "every 1s" not in page
    assert "Arbejdet med filen stoppede, før det var færdigt" in page
    assert "Prøv igen" in page
    assert the_staged(app).error == "interrupted"
    run_jobs(app, deferred)  # the job, if it ever runs, leaves a failed upload alone
    assert the_staged(app).state == "failed"


def test_a_failing_import_writes_nothing_and_says_so(
    app: Flask, client: FlaskClient, measurement_id: int, monkeypatch
) -> None:
    login(client, "hr@x.dk")
    location = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    real_apply = imports.apply

    def broken_apply(*args: Any, **kwargs: Any) -> Any:
        real_apply(*args, **kwargs)  # everything written, then the process fails
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports, "apply", broken_apply)
    response = client.post(location + "/confirm")
    assert response.status_code == 302
    assert answer_count(app) == 0
    assert count(app, ImportLog) == 0
    staged = the_staged(app)
    assert (staged.state, staged.error) == ("failed", "error")
    page = text(client.get(location))
    assert "Noget gik galt, mens filen blev læst eller indlæst. Intet blev indlæst." in page
    assert "Prøv igen" in page
    # A failed upload cannot be confirmed.
    assert client.post(location + "/confirm").status_code == 400


def test_a_file_that_no_longer_fits_is_not_imported(
    app: Flask, client: FlaskClient, measurement_id: int, deferred
) -> None:
    login(client, "hr@x.dk")
    location = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    run_jobs(app, deferred)
    # Between the check and the import, a unit named as a parent becomes a team's child...
    # simplest: the file's parent "R" is gone from the organisation and the file.
    stored = Path(app.config["IMPORT_FILES_DIR"]) / the_staged(app).stored_file
    stored.write_text(GOOD.replace("A;Afdeling A;R;", "A;Afdeling A;NOPE;"), encoding="utf-8")
    client.post(location + "/confirm")
    run_jobs(app, deferred)
    staged = the_staged(app)
    assert (staged.state, staged.error) == ("failed", "no_longer_fits")
    page = text(client.get(location))
    assert "Filen passer ikke længere til organisationen" in page
    assert "NOPE" in page
    assert answer_count(app) == 0


def test_a_huge_upload_is_refused_before_it_is_kept(
    app: Flask, client: FlaskClient, measurement_id: int
) -> None:
    app.config["IMPORT_MAX_UPLOAD_BYTES"] = 1024 * 1024
    try:
        login(client, "hr@x.dk")
        huge = GOOD.encode() + b"A2;Team 2;A;6;PT-2;1;1;1;1;1;0\n" * 40_000
        response = upload(client, measurement_id, huge)
        assert response.status_code == 400
        page = text(response)
        assert "Filen er større end 1 MB." in page
        assert f'<option selected value="{measurement_id}"' in page  # the choice is kept
        assert count(app, StagedImport) == 0
        area = Path(app.config["IMPORT_FILES_DIR"])
        assert not area.exists() or list(area.iterdir()) == []  # not even half of it
    finally:
        app.config["IMPORT_MAX_UPLOAD_BYTES"] = 100 * 1024 * 1024


def test_another_users_upload_is_not_found(
    app: Flask, client: FlaskClient, measurement_id: int, make_user, deferred
) -> None:
    make_user("hr2@x.dk", [(Role.ADMIN, "R")])
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    login(client, "hr@x.dk")
    location = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    run_jobs(app, deferred)
    for email in ("hr2@x.dk", "leder@x.dk"):
        other = app.test_client()
        login(other, email)
        assert other.get(location).status_code == 404
        assert (
            other.get(location + "?part=progress", headers={"HX-Request": "true"}).status_code
            == 404
        )
        assert other.post(location + "/confirm").status_code == 404
        assert other.post(location + "/discard").status_code == 404
    assert client.get("/imports/staged/no-such-token").status_code == 404
    assert deferred == [] and answer_count(app) == 0


def test_discard_removes_the_file_unless_an_import_keeps_it(
    app: Flask, client: FlaskClient, measurement_id: int
) -> None:
    login(client, "hr@x.dk")
    area = Path(app.config["IMPORT_FILES_DIR"])
    # Imported: the file is kept for "Gendan"; uploading it again and discarding keeps it.
    location = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    client.post(location + "/confirm")
    kept = area / the_staged(app).stored_file
    location = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    assert client.post(location + "/discard").status_code == 302
    assert kept.is_file()
    # Another file, never imported: discarded with its file.
    other = GOOD.replace("Team 2", "Team To").encode()
    location = upload(client, measurement_id, other).headers["Location"]
    stored = area / the_staged(app).stored_file
    assert stored.is_file()
    client.post(location + "/discard")
    assert not stored.exists()
    assert count(app, StagedImport) == 0


def test_the_sweep_removes_old_uploads_but_never_a_file_kept_for_gendan(
    app: Flask, client: FlaskClient, measurement_id: int
) -> None:
    login(client, "hr@x.dk")
    area = Path(app.config["IMPORT_FILES_DIR"])
    location = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    client.post(location + "/confirm")  # imported: its file is kept for "Gendan"
    kept = area / the_staged(app).stored_file
    set_staged(app, created_at=utcnow() - timedelta(days=2))
    other = GOOD.replace("Team 2", "Team To").encode()
    upload(client, measurement_id, other)
    pending = area / the_staged(app).stored_file
    half_written = area / ".upload-abc"
    half_written.write_bytes(b"unit_id;")
    day_ago = time.time() - 25 * 3600
    os.utime(half_written, (day_ago, day_ago))
    with app.app_context():
        set_staged(app, created_at=utcnow() - timedelta(days=2))
        assert import_jobs.sweep(db.session, area) == 1
        db.session.commit()
        assert import_jobs.sweep(db.session, area) == 0  # the imported one went before
    assert count(app, StagedImport) == 0
    assert kept.is_file()  # an import log keeps it
    assert not pending.exists() and not half_written.exists()
    # ... and the page of a swept upload is gone.
    assert client.get(location).status_code == 404


def test_each_upload_replaces_the_users_earlier_one(
    app: Flask, client: FlaskClient, measurement_id: int, make_user, deferred
) -> None:
    make_user("hr2@x.dk", [(Role.ADMIN, "R")])
    other = app.test_client()
    login(other, "hr2@x.dk")
    upload(other, measurement_id, GOOD.encode())
    login(client, "hr@x.dk")
    first = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    second = upload(client, measurement_id, GOOD.encode()).headers["Location"]
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    assert count(app, StagedImport) == 2  # the other user's upload stays
    # The very same file as the one that went: still in the file area for the new upload.
    area = Path(app.config["IMPORT_FILES_DIR"])
    assert (area / the_staged(app).stored_file).is_file()
    # One being imported is left alone (its job is writing the results).
    set_staged(app, state="importing", started_at=utcnow())
    upload(client, measurement_id, GOOD.encode())
    assert count(app, StagedImport) == 3


def test_the_rq_backend_queues_the_job_for_the_report_workers(
    app: Flask, client: FlaskClient, measurement_id: int, monkeypatch
) -> None:
    queued: list[tuple[Any, ...]] = []

    class Queue:
        def enqueue(self, name: str, *args: Any, **kwargs: Any) -> None:
            queued.append((name, *args, kwargs["job_timeout"]))

    monkeypatch.setattr(report_jobs, "queue", lambda app: Queue())
    app.config["IMPORT_JOBS"] = "rq"
    try:
        login(client, "hr@x.dk")
        upload(client, measurement_id, GOOD.encode())
    finally:
        app.config["IMPORT_JOBS"] = "inline"
    staged = the_staged(app)
    assert queued == [("app.worker.run_import", "check", staged.id, import_jobs.JOB_TIMEOUT)]
    assert staged.state == "checking"
    # What the worker runs, in the app it builds once.
    with app.app_context():
        import app.worker as worker

        monkeypatch.setattr(worker, "_app", app)
        worker.run_import("check", staged.id)
    assert the_staged(app).state == "checked"


def test_the_backend_follows_the_config(app: Flask) -> None:
    made = create_app("testing", {"IMPORT_JOBS": ""})
    assert import_jobs.backend(made) == "thread"
    made.config["REDIS_URL"] = "redis://localhost:6379/0"
    assert import_jobs.backend(made) == "rq"
    assert import_jobs.backend(app) == "inline"


# --- a mid-size file on the thread backend, over real HTTP -----------------------------------


@pytest.fixture
def threaded(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """A live server whose checks and imports run in its own threads (IMPORT_JOBS=thread), on
    a database file (or the PostgreSQL test database) the threads share."""
    from werkzeug.serving import make_server

    base = os.environ.get("TEST_DATABASE_URL")
    url = base or f"sqlite:///{tmp_path / 'jobs.db'}"
    live = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "IMPORT_JOBS": "thread",
            "IMPORT_FILES_DIR": str(tmp_path / "files"),
        },
    )
    with live.app_context():
        db.create_all()
        root = Unit(code="L", name="Stor Organisation", unit_type="organisation")
        db.session.add(root)
        db.session.flush()
        user = create_user(db.session, None, email="hr@x.dk", name="Hanne", password=PASSWORD)
        assign_role(db.session, None, user, root, Role.ADMIN)
        find_or_prepare_measurement(db.session, name="Stor 2026", year=2026, template_code=None)
        db.session.commit()
    server = make_server("127.0.0.1", 0, live, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield live, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    with live.app_context():  # the file goes with tmp_path; PostgreSQL's tables are emptied
        db.session.remove()  # after the test, which asks for `app` for that
        db.engine.dispose()


def _multipart(fields: dict[str, str], file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "kompasboundary7d3f"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.mark.skipif(not GENERATOR.exists(), reason="../shared/tools/gen_results.py is missing")
def test_a_mid_size_file_uploads_and_imports_in_quick_requests(
    app: Flask, threaded: tuple[Flask, str], tmp_path: Path
) -> None:
    """500 units (~5 MB, ~26,000 rows): the upload and the confirm each answer in well under
    2 s while the jobs take longer; the poll shows the progress, then the outcome."""
    live, base = threaded
    source = tmp_path / "large.csv"
    subprocess.run(
        [sys.executable, str(GENERATOR), "large", "--units", "500", "--year", "2026",
         "-o", str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
    )
    body = urllib.parse.urlencode({"email": "hr@x.dk", "password": PASSWORD}).encode()
    try:
        opener.open(f"{base}/auth/login", body, timeout=10)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302

    with live.app_context():
        measurement_id = db.session.scalar(select(Measurement.id))
    data, boundary = _multipart(
        {"measurement_id": str(measurement_id)}, "large.csv", source.read_bytes()
    )
    request = urllib.request.Request(  # noqa: S310 - http on loopback
        f"{base}/imports/check", data,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    started = time.perf_counter()
    try:
        opener.open(request, timeout=30)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302, redirect.read()[:500]
        location = redirect.headers["Location"]
    upload_seconds = time.perf_counter() - started
    assert upload_seconds < 2, f"the upload took {upload_seconds:.2f} s"

    def wait_for(state: str) -> float:
        begun = time.perf_counter()
        while time.perf_counter() - begun < 120:
            with live.app_context():
                found = db.session.scalar(select(StagedImport.state))
                db.session.remove()
            if found == state:
                return time.perf_counter() - begun
            assert found != "failed"
            time.sleep(0.2)
        raise AssertionError(f"not {state} in 120 s")

    # The poll answers quickly while the check runs.
    poll = urllib.request.Request(  # noqa: S310
        f"{base}{location}?part=progress", headers={"HX-Request": "true"}
    )
    begun = time.perf_counter()
    assert opener.open(poll, timeout=10).status == 200
    assert time.perf_counter() - begun < 2
    wait_for("checked")

    confirm = urllib.request.Request(f"{base}{location}/confirm", b"")  # noqa: S310
    started = time.perf_counter()
    try:
        opener.open(confirm, timeout=30)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302, redirect.read()[:500]
    confirm_seconds = time.perf_counter() - started
    assert confirm_seconds < 2, f"the confirm took {confirm_seconds:.2f} s"
    wait_for("imported")
    with live.app_context():
        assert len(stored_answers()) > 20_000
        assert db.session.scalar(select(ImportLog.outcome)) == "imported"
    page = opener.open(f"{base}{location}", timeout=10).read().decode()
    assert "Resultaterne for Stor 2026 er indlæst" in page


def test_gendan_runs_as_an_import_job_and_a_changed_file_restores_nothing(
    app: Flask, client: FlaskClient, measurement_id: int, deferred
) -> None:
    login(client, "hr@x.dk")
    for content, typed in ((GOOD, ""), (GOOD.replace("Team 1", "Team Et"), "APV 2026")):
        location = upload(client, measurement_id, content.encode()).headers["Location"]
        run_jobs(app, deferred)
        client.post(location + "/confirm", data={"measurement_name": typed})
        run_jobs(app, deferred)
    with app.app_context():
        first = db.session.scalar(select(ImportLog).order_by(ImportLog.id))
        first_id, kept = first.id, Path(app.config["IMPORT_FILES_DIR"]) / first.stored_file
    # Asking: the kept file is checked by a job, the page shows its progress, then the changes.
    ask = text(client.get(f"/imports/logs/{first_id}/restore"))
    assert "Gendan r.csv" in ask and "every 1s" in ask
    assert [kind for kind, _ in deferred] == ["check"]
    run_jobs(app, deferred)
    ask = text(client.get(f"/imports/logs/{first_id}/restore"))  # the same check, done
    assert deferred == []
    assert "Team Et omdøbes til Team 1" in ask
    response = client.post(f"/imports/logs/{first_id}/restore")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert [kind for kind, _ in deferred] == ["import"]  # the request only started it
    assert "every 1s" in text(client.get(location))
    # The kept file was changed meanwhile: refused, nothing changes.
    kept.write_bytes(kept.read_bytes().replace(b"Team 1", b"Team X"))
    run_jobs(app, deferred)
    assert the_staged(app).error == "restore_refused"
    page = text(client.get(location))
    assert "Den tidligere indlæsning kunne ikke gendannes. Intet blev ændret." in page
    with app.app_context():
        assert db.session.scalar(select(Unit.name).where(Unit.code == "A1")) == "Team Et"
        assert db.session.get(ImportLog, first_id).restored_at is None


def test_a_mapped_file_is_converted_checked_and_imported_by_the_jobs(
    app: Flask, client: FlaskClient, measurement_id: int, deferred
) -> None:
    """A row per unit with a column per question and option: the upload waits for its
    mapping; the check job converts it into the import format beside it, checks that, and the
    import job imports it; the converted file goes, the kept one is the converted file."""
    from app.domain import mapping

    options = ("Helt uenig", "Uenig", "Hverken eller", "Enig", "Helt enig")
    header = ["Enhed", "Overordnet", "Antal besvarelser"] + [
        f"{q} {o}" for q in ("PT-1", "PT-2") for o in options
    ]
    rows = [
        ["A1", "A", "7", "0", "1", "2", "3", "1", "1", "1", "2", "2", "1"],
        ["A2", "A", "5", "1", "1", "1", "1", "1", "0", "0", "1", "2", "2"],
    ]
    wide = "\n".join(";".join(r) for r in [header, *rows]).encode() + b"\n"
    login(client, "hr@x.dk")
    response = upload(client, measurement_id, wide, name="defgo.csv")
    assert response.headers["Location"].endswith("/mapping")
    assert deferred == []  # nothing to check before the mapping
    area = Path(app.config["IMPORT_FILES_DIR"])
    with app.app_context():
        staged = db.session.scalar(select(StagedImport))
        chosen = mapping.suggest(mapping.read_sample(area / staged.stored_file))
        staged.mapping = chosen.to_dict()
        import_jobs.start_check(db.session, staged)  # as the mapping screen does
        db.session.commit()
        import_jobs.submit(staged)
        token = staged.token
    run_jobs(app, deferred)
    staged = the_staged(app)
    assert (staged.state, staged.ok) == ("checked", True), staged.problems
    converted = area / f"converted-{token}.csv"
    assert converted.read_text(encoding="utf-8").startswith("unit_id;")
    client.post(f"/imports/staged/{token}/confirm")
    run_jobs(app, deferred)
    assert the_staged(app).state == "imported"
    assert answer_count(app) == 4
    assert not converted.exists()
    with app.app_context():
        kept = db.session.scalar(select(ImportLog.stored_file))
    assert (area / kept).read_text(encoding="utf-8").startswith("unit_id;")


def test_a_mapping_naming_a_column_the_file_lacks_is_refused_in_words_not_a_failure(
    app: Flask, client: FlaskClient, measurement_id: int, deferred
) -> None:
    """`convert` itself raises MappingError when a column the mapping names is not in the
    file (a profile from last year's layout): the check says so as the file's problem, and
    the job does not end as 'failed' with nothing to read."""
    from app.domain import mapping

    options = ("Helt uenig", "Uenig", "Hverken eller", "Enig", "Helt enig")
    header = ["Enhed", "Overordnet", "Antal besvarelser"] + [f"PT-1 {o}" for o in options]
    wide = (";".join(header) + "\nA1;A;7;0;1;2;3;1\n").encode()
    login(client, "hr@x.dk")
    upload(client, measurement_id, wide, name="defgo.csv")
    area = Path(app.config["IMPORT_FILES_DIR"])
    with app.app_context():
        staged = db.session.scalar(select(StagedImport))
        chosen = mapping.suggest(mapping.read_sample(area / staged.stored_file)).to_dict()
        chosen["columns"]["unit_id"] = "Enhedskode fra sidste år"
        staged.mapping = chosen
        import_jobs.start_check(db.session, staged)
        db.session.commit()
        import_jobs.submit(staged)
    run_jobs(app, deferred)
    staged = the_staged(app)
    assert (staged.state, staged.ok) == ("checked", False)
    assert [p["code"] for p in staged.problems] == ["mapping"]
    assert "Enhedskode fra sidste år" in staged.problems[0]["message_da"]
    assert answer_count(app) == 0


def test_a_mapped_files_problems_name_the_rows_of_the_file_uploaded(
    app: Flask, client: FlaskClient, measurement_id: int, deferred
) -> None:
    """The converted file has a row per unit and question; the person knows only their own
    file, a row per unit. A parent that names no unit, on the upload's 4th row, is named so."""
    from app.domain import mapping

    options = ("Helt uenig", "Uenig", "Hverken eller", "Enig", "Helt enig")
    header = ["Enhed", "Overordnet", "Antal besvarelser"] + [
        f"{q} {o}" for q in ("PT-1", "PT-2") for o in options
    ]
    rows = [
        ["A1", "A", "7", "0", "1", "2", "3", "1", "1", "1", "2", "2", "1"],
        ["A2", "A", "5", "1", "1", "1", "1", "1", "0", "0", "1", "2", "2"],
        ["A9", "NOWHERE", "5", "1", "1", "1", "1", "1", "0", "0", "1", "2", "2"],
    ]
    wide = "\n".join(";".join(r) for r in [header, *rows]).encode() + b"\n"
    login(client, "hr@x.dk")
    upload(client, measurement_id, wide, name="defgo.csv")
    area = Path(app.config["IMPORT_FILES_DIR"])
    with app.app_context():
        staged = db.session.scalar(select(StagedImport))
        staged.mapping = mapping.suggest(mapping.read_sample(area / staged.stored_file)).to_dict()
        import_jobs.start_check(db.session, staged)
        db.session.commit()
        import_jobs.submit(staged)
    run_jobs(app, deferred)
    staged = the_staged(app)
    assert staged.ok is False
    errors = [p for p in staged.problems if p["kind"] == "error"]
    assert errors and {p["row"] for p in errors} == {4}, errors

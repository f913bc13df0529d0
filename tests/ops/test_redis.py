"""With REDIS_URL, as production runs: a real redis-server on loopback, started here.

Rate limits live in Redis (an app server started afresh still knows them), report PDFs
are queued on Redis and made by an RQ worker, not by the app server, and so are the results
sections prepared after an import.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from sqlalchemy import func, select

from app import create_app, worker
from app.demo import build_demo, demo_results_csv
from app.extensions import db, limiter
from app.models import Measurement, PreparedSection, ReportJob, Unit, UnitFigures
from app.services import import_jobs, other_core, report_jobs
from app.services import pdf as pdf_service
from app.services import results as results_service
from app.services.questionnaires import read_template
from tests.conftest import login

PASSWORD = "redis test password"  # noqa: S105 - test fixture
LEADER = "leder@demo.kompas.dk"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: scripts/test.sh installs it (apt redis-server)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                if Redis.from_url(url).ping():
                    break
            except RedisConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    connection = Redis.from_url(redis_url)
    connection.flushall()
    yield connection
    connection.flushall()


def _app(database: Path, redis_url: str, **config: object) -> Flask:
    return create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "REDIS_URL": redis_url,
            "REPORT_JOBS": "",  # chosen from REDIS_URL, as in production
            **config,
        },
    )


def _demo_app(database: Path, redis_url: str) -> Flask:
    """An app server on a new database holding the demo organisation."""
    app = _app(database, redis_url)
    with app.app_context():
        db.create_all()
        build_demo(db.session, password=PASSWORD)
        db.session.commit()
    return app


def _this_years_measurement(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Measurement.id).where(
                Measurement.year == 2026, Measurement.remeasure_of_id.is_(None)
            )
        )


def _active_units(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Unit).where(Unit.active))


def test_sign_in_limits_are_kept_in_redis_and_outlive_the_app_server(
    tmp_path: Path, redis_url: str, redis: Redis
) -> None:
    settings = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}
    try:
        first = _app(tmp_path / "k.db", redis_url, **settings)
        with first.app_context():
            db.create_all()
        client = first.test_client()
        tries = [client.post("/auth/login", data={"email": "m@x.dk", "password": "x"})
                 for _ in range(3)]  # fmt: skip
        assert [t.status_code for t in tries] == [200, 200, 200]
        assert redis.keys("LIMITS*")  # the count is in Redis, not in this process
        # Another app server (a new limiter storage, as a new process would have) refuses
        # the fourth try from the same address.
        second = _app(tmp_path / "k.db", redis_url, **settings)
        refused = second.test_client().post(
            "/auth/login", data={"email": "m@x.dk", "password": "x"}
        )
        assert refused.status_code == 429
    finally:
        limiter.reset()  # one limiter object serves every app of the process
        limiter.enabled = False


def test_a_unit_report_is_queued_on_redis_and_made_by_an_rq_worker(
    tmp_path: Path, redis_url: str, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _demo_app(tmp_path / "demo.db", redis_url)
    measurement_id = _this_years_measurement(app)
    assert report_jobs.backend(app) == "rq"
    monkeypatch.setattr(pdf_service, "_made", pdf_service.LRUCache(maxsize=1 << 26))
    client = app.test_client()
    login(client, LEADER, PASSWORD)
    url = f"/reports/unit/{measurement_id}/AK-BF-001.pdf"

    asked = client.get(url)
    assert asked.status_code == 302 and "/reports/jobs/" in asked.headers["Location"]
    job_page = asked.headers["Location"]
    waiting = client.get(job_page, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in waiting  # queued on Redis: nothing made in the request
    queue = Queue(report_jobs.QUEUE, connection=redis)
    assert queue.count == 1

    # A worker, as `rq worker kompas-reports --worker-class app.worker.Worker` runs it.
    monkeypatch.setattr(worker, "_app", app)
    worker.Worker([queue], connection=redis).work(burst=True)
    assert queue.count == 0
    with app.app_context():
        job = db.session.scalar(select(ReportJob))
        assert job.state == "done", job.error
    download = client.get(f"{job_page}/download")
    assert download.data.startswith(b"%PDF")
    # Made once: asked again, it is served at once, and nothing new is queued.
    monkeypatch.setattr(pdf_service, "_made", pdf_service.LRUCache(maxsize=1 << 26))
    again = client.get(url)
    assert again.status_code == 200 and again.data == download.data
    assert queue.count == 0


def test_healthz_asks_redis_when_there_is_one(tmp_path: Path, redis_url: str, redis: Redis) -> None:
    app = _app(tmp_path / "h.db", redis_url)
    assert app.test_client().get("/healthz").get_json()["jobs"] == "ok"
    gone = _app(tmp_path / "h.db", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    response = gone.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["jobs"] == "unavailable"


def _prepared(app: Flask) -> int:
    """Units' results sections prepared (overview rows and analysis tables, kept in the same
    table under "da:r100" / "da:a" and the like, are counted apart)."""
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(PreparedSection)
            .where(PreparedSection.locale.not_like("%:%"))
        )


def test_an_import_prepares_every_units_results_section_on_a_report_worker(
    tmp_path: Path, redis_url: str, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _demo_app(tmp_path / "w.db", redis_url)
    measurement_id = _this_years_measurement(app)
    content = demo_results_csv(2026, read_template("apv")["questions"]).encode()
    client = app.test_client()
    login(client, "hr@demo.kompas.dk", PASSWORD)
    staged = client.post(
        "/imports/check",
        data={"measurement_id": str(measurement_id), "file": (io.BytesIO(content), "apv.csv")},
        content_type="multipart/form-data",
    )
    assert staged.status_code == 302
    with app.app_context():
        name = db.session.get(Measurement, measurement_id).name
    # It replaces the demo's results: confirmed by typing the measurement's name.
    confirm = client.post(staged.headers["Location"] + "/confirm", data={"measurement_name": name})
    assert confirm.status_code == 302
    queue = Queue(report_jobs.QUEUE, connection=redis)
    assert queue.count == 1  # the import asked for the sections; the request made none
    assert _prepared(app) == 0

    monkeypatch.setattr(worker, "_app", app)
    worker.Worker([queue], connection=redis).work(burst=True)
    with app.app_context():
        newest = results_service.measurements_with_figures(db.session)[0]
        with_figures = db.session.scalar(
            select(func.count())
            .select_from(UnitFigures)
            .join(Unit, Unit.id == UnitFigures.unit_id)
            .where(UnitFigures.measurement_id == newest.id, Unit.active)
        )
    assert _prepared(app) == with_figures > 100  # one language in use

    # Another app server serves every unit page's results without working them out.
    def not_again(*_: object) -> None:
        raise AssertionError("the results section was made again")

    monkeypatch.setattr(results_service, "unit_view", not_again)
    another_server = _app(tmp_path / "w.db", redis_url)
    for email, codes in ((LEADER, ("AK-BF-001",)), ("hr@demo.kompas.dk", ("AK", "AK-BF-001"))):
        reader = another_server.test_client()
        login(reader, email, PASSWORD)
        for code in codes:
            page = reader.get(f"/units/{code}")
            assert page.status_code == 200 and 'id="results"' in page.get_data(as_text=True)


def test_without_redis_the_pages_are_still_made(tmp_path: Path, redis_url: str) -> None:
    _demo_app(tmp_path / "d.db", redis_url)
    gone = _app(tmp_path / "d.db", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    client = gone.test_client()
    login(client, LEADER, PASSWORD)  # rate limits are not asked in tests
    assert client.get("/units/AK-BF-001").status_code == 200
    assert client.get("/units/AK-BF-001").status_code == 200


def work_in_a_child_from_a_job() -> tuple[bool, bool]:
    """An RQ job's question (run by the worker below): may it make work in a child, and
    is the work done there?"""
    parent = os.getpid()
    with other_core.started(os.getpid) as pending:
        return pending.in_child, pending.result() != parent


def test_a_job_on_an_rq_worker_makes_an_imports_release_in_a_child(redis: Redis) -> None:
    """The worker deploy/kompas-reports.service runs (app.worker.Worker) runs a job in one
    thread, so a large import's release is made on the other core there
    (app/services/other_core). (RQ's own SimpleWorker keeps a second thread for RQ's remote
    commands, where the release is made inline; that thread outlives the worker's burst by
    up to a minute, so it is not started here: later tests fork.)"""
    import_jobs.stop_pool()  # job threads of earlier tests of this process
    report_jobs.stop_pool()
    queue = Queue("kompas-test-other-core", connection=redis)
    job = queue.enqueue(work_in_a_child_from_a_job)
    worker.Worker([queue], connection=redis).work(burst=True)
    assert job.return_value() == (True, True)


def test_an_idle_report_worker_keeps_listening_and_takes_a_job_at_once(
    redis_url: str, redis: Redis
) -> None:
    """The worker as deploy/kompas-reports.service starts it, idle for longer than redis-py's
    5 s socket timeout. Before the fix its blocking wait for a job timed out after 5 s, it
    logged "could not connect to Redis instance" and slept before listening again, 1 s, then
    2, 4, ... up to 60 s: a report or import asked for after a quiet spell waited that long."""
    rq = Path(sys.executable).parent / "rq"
    started = subprocess.Popen(
        [
            str(rq),
            "worker",
            "kompas-reports",
            "--url",
            redis_url,
            "--worker-class",
            "app.worker.Worker",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "KOMPAS_ENV": "testing"},
    )
    try:
        time.sleep(6.5)  # idle past the 5 s socket timeout
        queue = Queue(report_jobs.QUEUE, connection=redis)
        job = queue.enqueue("os.getcwd")
        asked = time.monotonic()
        while job.get_status(refresh=True) != "finished" and time.monotonic() - asked < 10:
            time.sleep(0.05)
        waited = time.monotonic() - asked
    finally:
        started.terminate()
        output = started.communicate(timeout=20)[0].decode(errors="replace")
    assert "could not connect to Redis" not in output, output
    assert job.get_status(refresh=True) == "finished" and waited < 2, (waited, output)

"""Reports in the web app and the CLI (issue 8), on the demo organisation: every report
renders and its PDF text holds the right figures; the archive keeps every issued version
unchanged; the board reaches the reports and nothing else; a hidden unit's figures appear in
no report and no export.

The access matrix of the `reports.*` routes and of `results.overview_xlsx` lives here (see
COVERED_ELSEWHERE in tests/web/test_access.py).

The demo is built once for this module, in a database of its own (a temporary SQLite file,
or a new database on the TEST_DATABASE_URL server), so the tests here share it; each test
leaves it as it found it or only adds to it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.engine import make_url

from app import create_app, worker
from app.demo import DEMO_DOMAIN, build_demo
from app.extensions import db
from app.models import (
    IssuedReport,
    Measurement,
    ReportDraft,
    ReportJob,
    Role,
    Unit,
    UnitFigures,
    ZeroToleranceAlert,
)
from app.models.reports import ArchiveIsImmutable
from app.services import pdf as pdf_service
from app.services import report_jobs
from tests.conftest import login
from tests.services.test_reports import MARKER, YEAR_2025, YEAR_2026, load, pdf_text

DEMO_PASSWORD = "demo password 1"  # noqa: S105 - test fixture
HR, HEAD, LEADER, MEMBER, COMMITTEE, BOARD = (
    f"{who}@{DEMO_DOMAIN}" for who in ("hr", "chef.bf", "leder", "medarbejder", "med", "udvalg")
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    base = os.environ.get("TEST_DATABASE_URL")
    admin = None
    if base:
        name = f"kompas_reports_{uuid.uuid4().hex[:8]}"
        admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "REPORT_JOBS": "inline"})
    with app.app_context():
        db.create_all()
        build_demo(db.session, password=DEMO_PASSWORD)
        db.session.commit()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def client_for(demo: Flask, email: str) -> FlaskClient:
    client = demo.test_client()
    login(client, email, DEMO_PASSWORD)
    return client


def m2026(demo: Flask) -> int:
    with demo.app_context():
        return db.session.scalar(
            select(Measurement.id).where(
                Measurement.year == 2026, Measurement.remeasure_of_id.is_(None)
            )
        )


def run_job(client: FlaskClient, url: str, data: dict[str, str] | None = None) -> bytes:
    """Start a report job with a POST, follow it to its page, and download the PDF."""
    started = client.post(url, data=data)
    assert started.status_code == 302, started.status_code
    job_url = started.headers["Location"]
    page = client.get(job_url)
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    fragment = client.get(job_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'id="report-job"' in fragment
    assert "hx-trigger" not in fragment  # done: polling stops
    download = client.get(f"{job_url}/download", follow_redirects=True)
    assert download.status_code == 200, fragment
    assert download.headers["Content-Type"] == "application/pdf"
    return download.data


def approve_current(demo: Flask, code: str, year: int) -> None:
    """Record an approval of the unit's draft as it stands (issuing needs one, issue 19; the
    approval itself is walked through HTTP in tests/web/test_board_package.py)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from app.models import User
    from app.services import report_archive

    with demo.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        draft = db.session.scalar(
            select(ReportDraft).where(ReportDraft.unit_id == unit.id, ReportDraft.year == year)
        )
        if draft is None:
            draft = report_archive.save_draft(db.session, None, unit, year, followup_plan="")
        approver = db.session.scalar(select(User).where(User.email == HR))
        db.session.execute(
            update(ReportDraft)
            .where(ReportDraft.id == draft.id)
            .values(approver_id=approver.id, approved_at=datetime.now(UTC),
                    approved_by_name=approver.name, approved_version=draft.version)
        )  # fmt: skip
        db.session.commit()


def issue_job(client: FlaskClient, url: str) -> bytes:
    """Issue from the issue page: confirmed, for the draft version it shows (issue 18),
    approved (issue 19)."""
    code, year = url.split("/")[-3], int(url.split("/")[-2])
    approve_current(client.application, code, year)
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page)
    assert version, "the issue page names the draft version it shows"
    return run_job(client, url, {"version": version.group(1), "confirm": "y"})


def percent(value: float) -> str:
    return f"{round(value * 100)} %"


# --- every report renders, with the right figures -------------------------------------------


def test_annual_report_of_the_demo_organisation(demo: Flask) -> None:
    hr = client_for(demo, HR)
    index = hr.get("/reports/")
    assert index.status_code == 200
    assert "/reports/annual?" not in index.get_data(as_text=True)  # a GET form, not a link
    chosen = hr.get("/reports/annual?unit=AK&year=2026")
    assert chosen.status_code == 302 and chosen.headers["Location"] == "/reports/annual/AK/2026"
    assert hr.get("/reports/annual/AK/2026").status_code == 200
    preview = hr.get("/reports/annual/AK/2026/preview").get_data(as_text=True)
    assert preview.count("<svg") >= 4 and 'role="img"' in preview

    text = pdf_text(run_job(hr, "/reports/annual/AK/2026/pdf"))
    with demo.app_context():
        root = db.session.scalar(select(Unit).where(Unit.code == "AK"))
        figures = db.session.get(UnitFigures, (m2026(demo), root.id))
        # The year's alerts: the measurement's and its re-measurement's (the demo has one).
        year = [m2026(demo), *db.session.scalars(
            select(Measurement.id).where(Measurement.remeasure_of_id == m2026(demo))
        )]  # fmt: skip
        assert len(year) == 2
        alerts = db.session.scalars(
            select(ZeroToleranceAlert).where(ZeroToleranceAlert.measurement_id.in_(year))
        ).all()
        in_time = sum(1 for a in alerts if a.reaction_on is not None and a.reaction_on <= a.due_on)
        departments = db.session.scalars(select(Unit.name).where(Unit.parent_id == root.id)).all()
    assert "Åby Kommune" in text and "Årlig opfølgningsrapport 2026" in text
    assert f"{figures.respondents} af {figures.invited} har svaret" in text
    assert percent(figures.respondents / figures.invited) in text
    assert f"{round(figures.overall_score)}" in text
    assert f"{in_time} / {len(alerts)}" in text
    for name in departments:
        assert name in text
    assert "Virkede det?" in text and "Min enhed – psykologisk tryghed" in text
    assert "Side 3 af" in text  # page numbers


def test_subtree_and_unit_reports_of_the_demo(demo: Flask) -> None:
    head = client_for(demo, HEAD)
    preview = head.get("/reports/annual/AK-BF/2026/preview")
    assert preview.status_code == 200
    measurement_id = m2026(demo)
    leader = client_for(demo, LEADER)
    page = leader.get(f"/reports/unit/{measurement_id}/AK-BF-001")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Vi hjælper hinanden" in body  # strengths from the analysis step
    pdf = leader.get(f"/reports/unit/{measurement_id}/AK-BF-001.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.data)
    with demo.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "AK-BF-001"))
        figures = db.session.get(UnitFigures, (measurement_id, unit.id))
        hidden = db.session.execute(
            select(Unit.code, Unit.name)
            .join(UnitFigures, UnitFigures.unit_id == Unit.id)
            .where(UnitFigures.measurement_id == measurement_id, UnitFigures.shown.is_(False))
            .order_by(Unit.code)
            .limit(1)
        ).one()
    assert unit.name in text and "Vi hjælper hinanden" in text
    assert f"{figures.respondents} af {figures.invited} inviterede" in text
    assert percent(figures.response_rate) in text
    for theme, score in figures.indicators.items():
        if score is not None:
            assert f"{theme} {round(score)}" in text
    # A hidden team's report says so, and shows no figure at all.
    hr = client_for(demo, HR)
    hidden_text = pdf_text(hr.get(f"/reports/unit/{measurement_id}/{hidden.code}.pdf").data)
    assert "Resultaterne vises ikke af hensyn til anonymiteten." in hidden_text
    assert "For få besvarelser" not in hidden_text and "Svarprocent" not in hidden_text
    assert " %" not in hidden_text


def test_cli_writes_both_reports(demo: Flask, tmp_path) -> None:
    runner = demo.test_cli_runner()
    annual = tmp_path / "annual.pdf"
    result = runner.invoke(
        args=["kompas", "report", "annual", "--year", "2026", "--unit", "AK-BF", "-o", str(annual)]
    )
    assert result.exit_code == 0, result.output
    assert annual.read_bytes().startswith(b"%PDF") and "data checksum" in result.output
    assert "Børn & Familie" in pdf_text(annual.read_bytes())
    unit = tmp_path / "unit.pdf"
    result = runner.invoke(
        args=["kompas", "report", "unit", "--measurement", "Trivselsmåling og APV 2026",
              "--unit", "AK-BF-001-T001", "-o", str(unit)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Team 1" in pdf_text(unit.read_bytes())
    missing = runner.invoke(args=["kompas", "report", "annual", "--year", "1999", "-o", str(unit)])
    assert missing.exit_code != 0 and "no_measurement" in missing.output


# --- the archive ------------------------------------------------------------------------------


def test_issuing_again_makes_a_new_version_and_never_changes_the_old(demo: Flask) -> None:
    head = client_for(demo, HEAD)
    saved = head.post(
        "/reports/annual/AK-BF/2026", data={"followup_plan": "Vi holder fast i trivselsrunder."}
    )
    assert saved.status_code == 302
    first = issue_job(head, "/reports/annual/AK-BF/2026/issue")
    assert "Vi holder fast i trivselsrunder." in pdf_text(first)
    with demo.app_context():
        v1 = db.session.scalar(select(IssuedReport).where(IssuedReport.version == 1))
        v1_id, v1_sha, v1_data = v1.id, hashlib.sha256(v1.pdf).hexdigest(), v1.data_sha256
        assert v1.pdf == first and v1.pdf_sha256 == v1_sha and v1.issued_by_name == "Bo Frederiksen"
        assert v1.followup_plan == "Vi holder fast i trivselsrunder."
        # The checksum is kept in the archive, not printed on the cover (issue 18).
        assert len(v1_data) == 64 and v1_data not in pdf_text(v1.pdf).replace(" ", "")
    head.post("/reports/annual/AK-BF/2026", data={"followup_plan": "Ny plan for 2027."})
    second = issue_job(head, "/reports/annual/AK-BF/2026/issue")
    with demo.app_context():
        versions = db.session.scalars(select(IssuedReport).order_by(IssuedReport.version)).all()
        assert [v.version for v in versions] == [1, 2]
        old, new = versions
        assert old.id == v1_id and hashlib.sha256(old.pdf).hexdigest() == v1_sha
        assert (
            old.followup_plan == "Vi holder fast i trivselsrunder." and old.data_sha256 == v1_data
        )
        assert new.pdf == second and new.data_sha256 != v1_data  # the plan is part of the data
        old.title = "changed"
        with pytest.raises(ArchiveIsImmutable):
            db.session.flush()
        db.session.rollback()

    board = client_for(demo, BOARD)
    archive = board.get("/reports/").get_data(as_text=True)
    assert archive.count("/download") == 2
    assert board.get(f"/reports/archive/{v1_id}/download").data == first
    # A leader below the report's unit does not see it.
    leader = client_for(demo, LEADER)
    assert leader.get(f"/reports/archive/{v1_id}/download").status_code == 404
    assert "/download" not in leader.get("/reports/").get_data(as_text=True)


def test_goals_are_set_by_hr_and_kept_with_the_draft(demo: Flask) -> None:
    theme = "Min enhed – psykologisk tryghed"
    hr = client_for(demo, HR)
    form = hr.get("/reports/annual/AK-SO/2026").get_data(as_text=True)
    assert 'name="target_0"' in form
    themes = [t for t in ("Min enhed – psykologisk tryghed",)]
    index = next(i for i, t in enumerate(_themes(demo)) if t == theme)
    refused = hr.post("/reports/annual/AK-SO/2026", data={f"target_{index}": "140"})
    assert refused.status_code == 400
    saved = hr.post(
        "/reports/annual/AK-SO/2026",
        data={f"target_{index}": "75", f"criterion_{index}": "Alle tør tage problemer op"},
    )
    assert saved.status_code == 302 and themes
    with demo.app_context():
        draft = db.session.scalar(select(ReportDraft).join(Unit).where(Unit.code == "AK-SO"))
        assert draft.goals == {theme: {"target": 75.0, "criterion": "Alle tør tage problemer op"}}
    preview = hr.get("/reports/annual/AK-SO/2026/preview").get_data(as_text=True)
    assert "Alle tør tage problemer op" in preview
    # A leader writes the plan but sets no goals; a committee only reads.
    head = client_for(demo, HEAD)
    assert 'name="target_0"' not in head.get("/reports/annual/AK-BF/2026").get_data(as_text=True)
    committee = client_for(demo, COMMITTEE)
    assert committee.get("/reports/annual/AK-BF/2026").status_code == 200
    assert (
        committee.post("/reports/annual/AK-BF/2026", data={"followup_plan": "x"}).status_code == 404
    )


def _themes(demo: Flask) -> list[str]:
    from app.services import results

    with demo.app_context():
        measurement = db.session.get(Measurement, m2026(demo))
        return [t for t in results.themes_of(results.question_infos(db.session, measurement)) if t]


# --- who reaches what -------------------------------------------------------------------------


def test_a_board_user_reaches_the_reports_and_nothing_else(demo: Flask) -> None:
    board = client_for(demo, BOARD)
    home = board.get("/").get_data(as_text=True)
    assert 'href="/reports/"' in home  # the menu's Reports
    assert board.get("/reports/").status_code == 200
    measurement_id = m2026(demo)
    for url in (
        "/units", "/units/AK", "/units/AK-BF", "/units/AK/history", "/results/",
        "/results/export.csv", "/results/export.xlsx",
        f"/api/v1/measurements/{measurement_id}/results", "/board/", "/board/export.csv",
        "/followup/overview", "/followup/overview.csv", f"/followup/{measurement_id}/AK/",
        "/reports/annual/AK/2026", "/reports/annual/AK/2026/preview",
        "/reports/annual?unit=AK&year=2026", f"/reports/unit/{measurement_id}/AK",
        f"/reports/unit/{measurement_id}/AK.pdf", "/admin/users",
    ):  # fmt: skip
        assert board.get(url).status_code == 404, url
    for url in ("/reports/annual/AK/2026/pdf", "/reports/annual/AK/2026/issue",
                "/reports/annual/AK/2026"):  # fmt: skip
        assert board.post(url).status_code == 404, url


# (login, route) -> expected status; the annual report of AK-BF and the unit report of the
# demo leader's workplace AK-BF-001.
ROUTES = {
    "reports.index": ("get", "/reports/"),
    "reports.choose": ("get", "/reports/annual?unit=AK-BF&year=2026"),
    "reports.annual": ("get", "/reports/annual/AK-BF/2026"),
    "reports.annual_preview": ("get", "/reports/annual/AK-BF/2026/preview"),
    "reports.unit": ("get", "/reports/unit/{m}/AK-BF-001"),
    "reports.unit_pdf": ("get", "/reports/unit/{m}/AK-BF-001.pdf"),
    "reports.issue": ("post", "/reports/annual/AK-BF/2026/issue"),
}
ALLOWED = {
    HR: set(ROUTES),
    HEAD: set(ROUTES),  # leader of AK-BF
    LEADER: {"reports.index", "reports.unit", "reports.unit_pdf"},  # leader of AK-BF-001 only
    MEMBER: set(),  # a team member: not even the workplace above
    COMMITTEE: set(ROUTES) - {"reports.issue"},  # reads everything, issues nothing
    BOARD: {"reports.index"},
}
EXPECTED_OK = {"get": 200, "post": 302}


@pytest.mark.parametrize("email", list(ALLOWED))
def test_report_routes_access(demo: Flask, email: str) -> None:
    client = client_for(demo, email)
    measurement_id = m2026(demo)
    for endpoint, (method, url) in ROUTES.items():
        if endpoint == "reports.issue":
            continue  # issuing is tried in its own test (it renders a PDF)
        response = getattr(client, method)(url.format(m=measurement_id))
        ok = 302 if endpoint == "reports.choose" else EXPECTED_OK[method]
        expected = ok if endpoint in ALLOWED[email] else 404
        assert response.status_code == expected, (endpoint, response.status_code)
    # Issuing and PDFs are refused before anything is made (the allowed ones are made in
    # the tests above).
    if "reports.issue" not in ALLOWED[email]:
        assert client.post("/reports/annual/AK-BF/2026/issue").status_code == 404
        assert client.get("/reports/annual/AK-BF/2026/issue").status_code == 404
    else:
        assert client.get("/reports/annual/AK-BF/2026/issue").status_code == 200
    if "reports.annual" not in ALLOWED[email]:
        assert client.post("/reports/annual/AK-BF/2026/pdf").status_code == 404


def test_jobs_are_their_makers_only(demo: Flask) -> None:
    head = client_for(demo, HEAD)
    started = head.post("/reports/annual/AK-BF-001/2026/pdf")
    job_url = started.headers["Location"]
    other = client_for(demo, COMMITTEE)
    assert other.get(job_url).status_code == 404
    assert other.get(f"{job_url}/download").status_code == 404
    assert head.get(f"{job_url}/download").status_code == 200
    assert head.get("/reports/jobs/no-such-token").status_code == 404


def test_thread_backend_reports_progress_then_the_pdf(demo: Flask) -> None:
    head = client_for(demo, HEAD)
    demo.config["REPORT_JOBS"] = "thread"
    try:
        started = head.post("/reports/annual/AK-BF-001/2026/pdf")
        token = started.headers["Location"].rsplit("/", 1)[1]
        with demo.app_context():
            job_id = db.session.scalar(select(ReportJob.id).where(ReportJob.token == token))
        report_jobs.wait(job_id, timeout=120)
    finally:
        demo.config["REPORT_JOBS"] = "inline"
    fragment = head.get(started.headers["Location"], headers={"HX-Request": "true"})
    assert "Download" in fragment.get_data(as_text=True) or "Hent" in fragment.get_data(
        as_text=True
    )
    assert head.get(f"{started.headers['Location']}/download").data.startswith(b"%PDF")


def test_a_running_job_polls(demo: Flask) -> None:
    head = client_for(demo, HEAD)
    with demo.app_context():
        from app.models import User

        user = db.session.scalar(select(User).where(User.email == HEAD))
        job = report_jobs.create(db.session, user, "annual", {"unit_id": 1, "year": 2026})
        job.state, job.stage, job.progress = "running", "rendering", 40
        db.session.commit()
        token = job.token
    fragment = head.get(f"/reports/jobs/{token}", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in body and 'value="40"' in body and "<html" not in body
    assert fragment.headers.get("Vary", "").count("HX-Request")
    with demo.app_context():  # a user has one job at a time: this one holds up no later test
        db.session.execute(delete(ReportJob).where(ReportJob.token == token))
        db.session.commit()


# --- exports, and a hidden unit in every output ---------------------------------------------


def test_results_xlsx_matches_the_csv(demo: Flask) -> None:
    hr = client_for(demo, HR)
    response = hr.get("/results/export.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    csv_rows = list(
        csv.reader(io.StringIO(hr.get("/results/export.csv").get_data(as_text=True).lstrip("\ufeff")),
                   delimiter=";")
    )  # fmt: skip
    assert len(rows) == len(csv_rows) and rows[0] == csv_rows[0]
    hidden = [r for r in rows[1:] if r[2] == "Vises ikke"]
    assert hidden and all(all(c is None for c in r[3:]) for r in hidden)
    shown = next(r for r in rows[1:] if isinstance(r[2], int))
    assert isinstance(shown[4], float)  # numbers stay numbers


def test_a_hidden_unit_appears_in_no_report_or_export(app: Flask, org, make_user) -> None:
    with app.app_context():
        load(YEAR_2025, name="APV 2025", year=2025)
        measurement_id = load(YEAR_2026, name="APV 2026", year=2026).id
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    client = app.test_client()
    login(client, "hr@x.dk")
    assert app.config["REPORT_JOBS"] == "inline"  # the testing default: jobs in the request
    outputs = {
        "annual": run_job(client, "/reports/annual/R/2026/pdf"),
        "annual A": run_job(client, "/reports/annual/A/2026/pdf"),
    }
    for code in ("A2", "A1", "A", "R"):  # made in the request (inline), so served at once
        outputs[f"unit {code}"] = client.get(f"/reports/unit/{measurement_id}/{code}.pdf").data
    texts = {name: pdf_text(content) for name, content in outputs.items()}
    for code in ("A2", "A1", "A", "R"):
        texts[f"page {code}"] = client.get(f"/reports/unit/{measurement_id}/{code}").get_data(
            as_text=True
        )
    texts["preview"] = client.get("/reports/annual/R/2026/preview").get_data(as_text=True)
    texts["csv"] = client.get(f"/results/export.csv?m={measurement_id}").get_data(as_text=True)
    sheet = load_workbook(
        io.BytesIO(client.get(f"/results/export.xlsx?m={measurement_id}").data), read_only=True
    ).active
    texts["xlsx"] = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row)
    for name, found in texts.items():
        # Random CSRF tokens may hold any digits: look without attribute values.
        found = re.sub(r'value="[^"]*"', "", found)
        assert not re.search(rf"\b{MARKER}\b", found), name
    assert "Resultaterne vises ikke af hensyn til anonymiteten." in texts["unit A2"]
    assert "Vises ikke" in texts["csv"] and "For få besvarelser" not in texts["csv"]


def test_with_redis_jobs_go_to_rq_workers(demo: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis
    import rq

    queued: list[tuple[str, str, tuple]] = []

    class Queue:
        def __init__(self, name: str, connection: object) -> None:
            self.name = name

        def enqueue(self, function: str, *args: object, **kwargs: object) -> None:
            queued.append((self.name, function, args))

    monkeypatch.setattr(rq, "Queue", Queue)
    monkeypatch.setattr(redis.Redis, "from_url", classmethod(lambda cls, url: object()))
    monkeypatch.delenv("REPORT_JOBS", raising=False)
    monkeypatch.setitem(demo.config, "REPORT_JOBS", "")
    monkeypatch.setitem(demo.config, "REDIS_URL", "redis://127.0.0.1:6379/0")
    head = client_for(demo, HEAD)
    started = head.post("/reports/annual/AK-BF-001/2026/pdf")
    job_url = started.headers["Location"]
    waiting = head.get(job_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in waiting  # queued: the page polls
    [(queue, function, (job_id,))] = queued
    assert (queue, function) == ("kompas-reports", "app.worker.run_report")
    # What a worker does: build the app once, then run the job.
    monkeypatch.setattr(worker, "_app", demo)
    worker.run_report(job_id)
    assert head.get(f"{job_url}/download").data.startswith(b"%PDF")


def test_a_unit_pdf_not_made_before_is_made_in_the_background_and_then_served_at_once(
    demo: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    measurement_id = m2026(demo)
    url = f"/reports/unit/{measurement_id}/AK-BF-001.pdf"
    leader, head = client_for(demo, LEADER), client_for(demo, HEAD)
    monkeypatch.setattr(pdf_service, "_made", pdf_service.LRUCache(maxsize=1 << 26))
    with demo.app_context():  # no PDF of this report yet, in this process or in a job
        db.session.execute(delete(ReportJob))
        db.session.commit()
    demo.config["REPORT_JOBS"] = "thread"
    try:
        # Asked for twice before it is started (a double click): one job, one page.
        monkeypatch.setattr(report_jobs, "submit", lambda job: None)
        first = leader.get(url)
        again = leader.get(url)
        assert first.status_code == 302 and "/reports/jobs/" in first.headers["Location"]
        assert again.headers["Location"] == first.headers["Location"]
        monkeypatch.undo()
        monkeypatch.setattr(pdf_service, "_made", pdf_service.LRUCache(maxsize=1 << 26))
        token = first.headers["Location"].rsplit("/", 1)[1]
        with demo.app_context():
            job = db.session.scalar(select(ReportJob).where(ReportJob.token == token))
            assert job.state == "queued"
            report_jobs.submit(job)
            report_jobs.wait(job.id, timeout=120)
    finally:
        demo.config["REPORT_JOBS"] = "inline"
    page = leader.get(first.headers["Location"]).get_data(as_text=True)
    assert "Rapporten er klar" in page
    download = leader.get(first.headers["Location"] + "/download")
    assert download.headers["Content-Type"] == "application/pdf"
    with demo.app_context():
        name = db.session.scalar(select(Unit.name).where(Unit.code == "AK-BF-001"))
    assert name in pdf_text(download.data)
    # Made once: anyone who may see the unit now gets that PDF at once, even from another
    # app server (this process's own copy forgotten), and no new job is started.
    monkeypatch.setattr(pdf_service, "_made", pdf_service.LRUCache(maxsize=1 << 26))
    served = head.get(url)
    assert served.status_code == 200 and served.data == download.data
    with demo.app_context():
        assert db.session.scalar(select(func.count(ReportJob.id))) == 1
    # Someone who may not see the unit gets nothing, made or not.
    assert client_for(demo, MEMBER).get(url).status_code == 404


# --- two writers on one draft: no lost update (issue 17) -------------------------------------

DRAFT_VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')


def test_a_stale_draft_save_changes_nothing_and_shows_both_texts(demo: Flask) -> None:
    """Bo (head of AK-BF) and HR open the 2025 draft; HR saves first; Bo's save, made from
    what he loaded, is refused: HR's text stays, and Bo sees both and chooses."""
    url = "/reports/annual/AK-BF/2025"
    head, hr = client_for(demo, HEAD), client_for(demo, HR)
    found = [DRAFT_VERSION.search(c.get(url).get_data(as_text=True)) for c in (head, hr)]
    loaded = found[0].group(1) if found[0] else ""  # before versions, the form had none
    assert loaded == (found[1].group(1) if found[1] else "")
    assert hr.post(url, data={"followup_plan": "HR's plan", "version": loaded}).status_code == 302

    refused = head.post(url, data={"followup_plan": "Bos plan", "version": loaded})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    with demo.app_context():
        draft = db.session.scalar(
            select(ReportDraft).join(Unit).where(Unit.code == "AK-BF", ReportDraft.year == 2025)
        )
        assert draft.followup_plan == "HR's plan"
    assert "En anden har gemt planen og målene, mens du skrev" in page
    saved_part, form_part = page.split('id="draft-form"', 1)
    assert "HR&#39;s plan" in saved_part and "Hanne" in saved_part  # who saved it
    assert "Bos plan" in form_part and "HR&#39;s plan" not in form_part
    current = DRAFT_VERSION.search(form_part)
    assert current and current.group(1) != loaded
    # Saving again from the shown version is Bo's choice, and it stands.
    chosen = head.post(url, data={"followup_plan": "Bos plan", "version": current.group(1)})
    assert chosen.status_code == 302
    with demo.app_context():
        draft = db.session.scalar(
            select(ReportDraft).join(Unit).where(Unit.code == "AK-BF", ReportDraft.year == 2025)
        )
        assert draft.followup_plan == "Bos plan"

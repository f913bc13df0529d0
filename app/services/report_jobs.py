"""Reports made in the background, with progress the page polls (htmx).

A job is a row in `report_job`, so that any app server can answer the poll. Where it runs:

- `thread` (the default): a small thread pool inside the app server process. Nothing to set
  up; a job is lost if that process stops while it runs (the page then says it failed).
- `rq` (when REDIS_URL is set): the job is queued on Redis and run by RQ workers, so several
  app servers share them and a restart of an app server loses nothing. Start workers with
  `rq worker kompas-reports --url "$REDIS_URL"` in the app's environment (the same
  DATABASE_URL, SECRET_KEY and KOMPAS_ENV); each worker builds the app once.
- `inline`: in the request itself (tests, and REPORT_JOBS=inline for debugging).

REPORT_JOBS in the config (or the environment) overrides the choice. Issuing an annual report
is a job too; the job itself e-mails the board once the issue is committed
(app/services/report_mails.py), whichever backend runs it.
"""

from __future__ import annotations

import logging
import os
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Measurement, ReportJob, Unit, User
from app.services.job_threads import JobThreads

log = logging.getLogger(__name__)
QUEUE = "kompas-reports"
KEEP = timedelta(days=1)
# No job runs longer (RQ's job_timeout is 30 minutes): one still queued or running after this
# was left by a process that stopped (a restart, a deploy), and is marked failed.
ORPHANED_AFTER = timedelta(minutes=30)
UNFINISHED = ("queued", "running")

_threads = JobThreads("kompas-report")
_futures: dict[int, Future[Any]] = {}


def backend(app: Flask | None = None) -> str:
    config = (app or current_app).config
    chosen = config.get("REPORT_JOBS") or os.environ.get("REPORT_JOBS")
    if chosen:
        return str(chosen)
    return "rq" if (config.get("REDIS_URL") or os.environ.get("REDIS_URL")) else "thread"


def create(
    session: Session, user: User, kind: str, params: dict[str, Any], *, issue: bool = False
) -> ReportJob:
    """A queued job (flushed); commit, then `submit` it. Ask `under_way` first: a user has
    one job at a time."""
    session.execute(
        delete(ReportJob).where(ReportJob.created_at < datetime.now(UTC) - KEEP)
    )  # fmt: skip
    fail_orphans(session)
    job = ReportJob(
        token=secrets.token_urlsafe(24), kind=kind, params=params, issue=issue, user_id=user.id,
        state="queued", progress=0, stage="queued",
    )  # fmt: skip
    session.add(job)
    session.flush()
    return job


def submit(job: ReportJob) -> None:
    """Start the (committed) job on the configured backend."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    chosen = backend(app)
    if chosen == "inline":
        run(cast(Session, db.session), job.id)
    elif chosen == "rq":
        queue(app).enqueue("app.worker.run_report", job.id, job_timeout=1800)
    else:
        _futures[job.id] = pool().submit(run_in_app, app, job.id)


def queue(app: Flask) -> Any:
    """The RQ queue the report workers take jobs from."""
    from redis import Redis
    from rq import Queue

    url = app.config.get("REDIS_URL") or os.environ["REDIS_URL"]
    return Queue(QUEUE, connection=Redis.from_url(url))


def wait(job_id: int, timeout: float = 60) -> None:
    """Wait for a job on the thread backend (tests, the CLI)."""
    future = _futures.pop(job_id, None)
    if future is not None:
        future.result(timeout=timeout)


def pool() -> ThreadPoolExecutor:
    """The app server's own threads for background work (the `thread` backend)."""
    return _threads.pool()


def stop_pool() -> None:
    """Let the job threads end once their jobs are done (`JobThreads.stop`)."""
    _threads.stop()


def run_in_app(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            run(cast(Session, db.session), job_id)
        finally:
            db.session.remove()


def _set(session: Session, job: ReportJob, **values: Any) -> None:
    for key, value in values.items():
        setattr(job, key, value)
    session.commit()


def run(session: Session, job_id: int) -> None:
    """Make the job's report, committing its progress as it goes."""
    job = session.get(ReportJob, job_id)
    if job is None or job.state not in ("queued",):
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    language = str(job.params.get("language") or "da")
    _set(session, job, state="running", progress=5, stage="assembling")
    try:
        # The address the job was started from, so that links in e-mails lead back there.
        base_url = str(job.params.get("base_url") or "") or None
        with app.test_request_context("/", base_url=base_url), force_locale(language):
            _make(session, job)
    except Exception as error:  # noqa: BLE001 - any failure is the job's, shown on its page
        log.exception("report job %s failed", job_id)
        session.rollback()
        job = session.get(ReportJob, job_id)
        if job is not None:
            _set(session, job, state="failed", stage="failed", error=_reason(error),
                 finished_at=datetime.now(UTC))  # fmt: skip


def _reason(error: Exception) -> str:
    from app.services.report_archive import NotApproved, NotReleased
    from app.services.reports import ReportUnavailable

    if isinstance(error, NotApproved):
        return "not_approved"
    if isinstance(error, NotReleased):
        return "not_released"
    if isinstance(error, ReportUnavailable):
        return str(error.args[0]) if error.args else "unavailable"
    return "error"


def _make(session: Session, job: ReportJob) -> None:
    from app.services import pdf as pdf_service
    from app.services import report_archive, report_mails
    from app.services import reports as reports_service

    def stage(name: str, progress: int) -> None:
        _set(session, job, stage=name, progress=progress)

    params = job.params
    unit = session.get(Unit, params["unit_id"])
    if unit is None:
        raise reports_service.ReportUnavailable("unit_not_measured")
    if job.kind == "annual":
        year = int(params["year"])
        if job.issue:
            user = session.get(User, job.user_id) if job.user_id else None
            issued = report_archive.issue_annual(session, user, unit, year, on_stage=stage)
            _set(session, job, state="done", progress=100, stage="done", report_id=issued.id,
                 file_name=file_name("annual", unit.code, year, issued.version),
                 finished_at=datetime.now(UTC))  # fmt: skip
            # The board is told once the issue is committed, inside the job's request context
            # (the address the issuer used, for the links), whichever backend runs the job.
            report_mails.tell_board_issued(session, issued, current_app.config)
            return
        report: reports_service.AnnualReport | reports_service.UnitReport
        # The units the asker may read below the report's unit, as the route found them.
        readable = params.get("readable")
        report = reports_service.assemble_annual(
            session, unit, year, readable=None if readable is None else set(readable)
        )
        stage("rendering", 40)
        rendered = pdf_service.annual_pdf(report)
        name = file_name("annual", unit.code, year)
    else:
        measurement = session.get(Measurement, params["measurement_id"])
        if measurement is None or not measurement.anonymity_ok:
            raise reports_service.ReportUnavailable("no_measurement")
        report = reports_service.assemble_unit(session, unit, measurement)
        stage("rendering", 40)
        html = pdf_service.unit_html(report)
        rendered = pdf_service.html_to_pdf(html)
        # Known by its HTML, so that anyone asking for the same report is given this PDF.
        job.params = {**params, "digest": pdf_service.digest(html)}
        name = file_name("unit", unit.code, measurement.year)
    stage("storing", 90)
    _set(session, job, state="done", progress=100, stage="done", pdf=rendered.pdf, file_name=name,
         finished_at=datetime.now(UTC))  # fmt: skip


def file_name(kind: str, code: str, year: int, version: int | None = None) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in code)
    stem = "aarsrapport" if kind == "annual" else "enhedsrapport"
    suffix = f"-v{version}" if version else ""
    return f"{stem}-{safe}-{year}{suffix}.pdf"


def made_unit_pdf(session: Session, digest: str) -> bytes | None:
    """A unit report some job made from the very same HTML (pdf.digest) and still keeps."""
    return session.scalar(
        select(ReportJob.pdf)
        .where(
            ReportJob.kind == "unit",
            ReportJob.state == "done",
            ReportJob.params["digest"].as_string() == digest,
        )
        .order_by(ReportJob.id.desc())
        .limit(1)
    )


def fail_orphans(session: Session) -> None:
    """Jobs a stopped process left queued or running (older than ORPHANED_AFTER): failed,
    with the reason "interrupted" for their page (flushed, not committed)."""
    session.execute(
        update(ReportJob)
        .where(
            ReportJob.state.in_(UNFINISHED),
            ReportJob.created_at < datetime.now(UTC) - ORPHANED_AFTER,
        )
        .values(state="failed", stage="failed", error="interrupted", finished_at=datetime.now(UTC))
        .execution_options(synchronize_session="fetch")
    )


def under_way(session: Session, user: User) -> ReportJob | None:
    """The user's unfinished job, if any: one PDF at a time per user, so nobody can keep the
    report workers busy for everyone else."""
    fail_orphans(session)
    return session.scalar(
        select(ReportJob)
        .where(ReportJob.user_id == user.id, ReportJob.state.in_(UNFINISHED))
        .order_by(ReportJob.id)
        .limit(1)
    )


def unit_job_under_way(
    session: Session, user: User, unit_id: int, measurement_id: int, language: str
) -> ReportJob | None:
    """The user's own unfinished job for this unit report, so that asking twice (a second
    click, a reload) does not make it twice."""
    fail_orphans(session)
    jobs = session.scalars(
        select(ReportJob).where(
            ReportJob.kind == "unit",
            ReportJob.user_id == user.id,
            ReportJob.state.in_(UNFINISHED),
        )
    )
    wanted = {"unit_id": unit_id, "measurement_id": measurement_id, "language": language}
    return next(
        (job for job in jobs if all(job.params.get(k) == v for k, v in wanted.items())), None
    )


def find(session: Session, token: str, user: User) -> ReportJob | None:
    """The user's own job by its token (anyone else's looks missing); one left by a stopped
    process is failed first, so its page says so rather than wait for ever."""
    fail_orphans(session)
    session.commit()
    job = session.scalar(select(ReportJob).where(ReportJob.token == token))
    return job if job is not None and job.user_id == user.id else None

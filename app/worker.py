"""What RQ workers run (`rq worker kompas-reports`, deploy/kompas-worker.service): the app is
built once per worker process, at the top of the layers, and the jobs run inside it."""

from __future__ import annotations

from flask import Flask

_app: Flask | None = None


def app() -> Flask:
    """The app a worker process runs its jobs in, built once per process."""
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def run_report(job_id: int) -> None:
    """A report PDF (app/services/report_jobs.py)."""
    from app.services import report_jobs

    report_jobs.run_in_app(app(), job_id)


def prepare_sections() -> None:
    """The results sections after an import (app/blueprints/results/preparing.py)."""
    from app.blueprints.results import preparing

    preparing.prepare(app())


def run_import(kind: str, staged_id: int) -> None:
    """The check ("check") or the import ("import") of an uploaded results file
    (app/services/import_jobs.py)."""
    from app.services import import_jobs

    import_jobs.run_in_app(app(), kind, staged_id)

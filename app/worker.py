"""What RQ workers run (`rq worker kompas-reports --worker-class app.worker.Worker`,
deploy/kompas-reports.service): the app is built once per worker process, at the top of the
layers, and the jobs run inside it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from rq import SimpleWorker


class Worker(SimpleWorker):
    """RQ's SimpleWorker (jobs run in the worker process itself, which keeps the app and
    WeasyPrint's fonts loaded from one job to the next) without the thread that listens for
    RQ's remote commands (`rq` shutdown, kill-horse, stop-job: Kompas sends none; systemd
    stops the worker with SIGTERM, which RQ handles without that thread). So a job runs in a
    process of one thread, where a large import makes its release on the other core
    (app/services/other_core.py: a fork is only safe with one thread)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # RQ waits for a job with a blocking pop of several minutes and raises the pool's
        # socket timeout above that, but only for connections made afterwards: the command
        # line has already made (and pooled) one with redis-py's own 5 s timeout. That one
        # timed out every 5 s while idle, and RQ took each timeout for a lost connection,
        # slept before listening again (1 s, 2, 4, ... up to 60 s) and logged an error; a
        # report or import asked for after a quiet spell waited that long. Drop the pooled
        # connections so every one is made with RQ's timeout.
        pool = self.connection.connection_pool
        pool.disconnect()
        pool.reset()

    def subscribe(self) -> None:
        self.pubsub_thread = None


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

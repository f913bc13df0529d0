"""Unit pages' results sections made before anyone asks for them.

On a results morning every leader opens their units' pages within the same hour, and HR
opens them all. The results section is the costly part of a unit page (its figures, every
question, last year, the parent unit) and the same for everyone who may see it, so after an
import it is made for every active unit of the newest measurement, in each language users
have chosen, into the tier every app process shares (app/services/shared_pages.py), with the
page around it as HR (any admin) sees it: HR opens every unit. Pages are kept by the day, so
what is prepared serves the day of the import. Without
REDIS_URL there is no shared tier and nothing to prepare: each process would only fill its
own cache.

It runs where reports run (app/services/report_jobs.py): on an RQ worker with REDIS_URL,
else in a thread of the app server. `flask --app wsgi kompas warm` does it at once (after
Redis was restarted, or a backup restored).
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app, g, url_for
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import Unit, User
from app.policy import Access
from app.services import report_jobs
from app.services.changes import take_snapshot
from app.services.shared_pages import shared_pages

log = logging.getLogger(__name__)


def warm(app: Flask) -> int:
    """Make the results section of every active unit, for the newest measurement, in every
    language in use, and the unit page around it as admins see it (the same for every
    admin: app/rendering.py); returns how many pages were made (0 without a shared
    tier)."""
    from app.blueprints.main.routes import unit_fragments
    from app.blueprints.results.routes import unit_results_html
    from app.services import results as results_service

    with app.app_context():
        try:
            if shared_pages() is None:
                return 0
            started = time.perf_counter()
            # Stamps before data, as a stamped view reads them (app/services/changes.py).
            take_snapshot(db.session)
            measurements = results_service.measurements_with_figures(db.session)
            if not measurements:
                return 0
            chosen = set(db.session.scalars(select(User.language).where(User.language != "")))
            languages = sorted(chosen | {app.config.get("BABEL_DEFAULT_LOCALE", "da")})
            units = list(db.session.scalars(select(Unit).where(Unit.active).order_by(Unit.id)))
            with app.test_request_context("/"):
                paths = [url_for("main.unit", code=unit.code) for unit in units]
            for language in languages:
                with force_locale(language):
                    for unit, path in zip(units, paths, strict=True):
                        # As HR will see it: an admin's view of the page, at its address.
                        with app.test_request_context(path):
                            g.access = Access(user_id=0, is_admin=True)
                            unit_results_html(unit, measurements[0], measurements)
                            unit_fragments(unit)
            made = len(units) * len(languages)
            log.info("prepared %d results sections in %.1f s", made, time.perf_counter() - started)
            return made
        finally:
            db.session.remove()


def warm_in_worker() -> None:
    """The RQ entry point (a worker builds the app once, as for reports)."""
    warm(report_jobs.worker_app())


def schedule() -> None:
    """After an import (committed): prepare the pages where reports are made."""
    if shared_pages() is None:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    chosen = report_jobs.backend(app)
    if chosen == "inline":
        warm(app)
    elif chosen == "rq":
        report_jobs.queue(app).enqueue("app.services.warming.warm_in_worker", job_timeout=1800)
    else:
        report_jobs.pool().submit(warm, app)

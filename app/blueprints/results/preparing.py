"""Results sections prepared after an import, before anyone asks for them.

On a results morning every leader opens their units' pages within the same hour, and HR opens
them all. After an import (web or `flask kompas import`) a job renders the results section of
every active unit of the newest measurement, in each language users have chosen, into
`prepared_section` (app/services/prepared.py), where every app process reads it. It runs where
reports run (app/services/report_jobs.py): on an RQ worker with REDIS_URL, else in a thread of
the app server. A section not prepared (another measurement, a deploy since) is made at its
first view and kept the same way. `flask --app wsgi kompas prepare` runs it at once.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.blueprints.results.routes import render_unit_results
from app.extensions import db
from app.models import Unit, UnitFigures, User
from app.services import prepared, report_jobs
from app.services import results as results_service

log = logging.getLogger(__name__)

def prepare(app: Flask) -> int:
    """Render every missing results section of the newest measurement; returns how many."""
    with app.app_context():
        try:
            started = time.perf_counter()
            measurements = results_service.measurements_with_figures(db.session)
            if not measurements:
                return 0
            newest = measurements[0]
            version = app.config["PREPARED_VERSION"]
            chosen = set(db.session.scalars(select(User.language).where(User.language != "")))
            languages = sorted(chosen | {app.config.get("BABEL_DEFAULT_LOCALE", "da")})
            units = list(
                db.session.scalars(
                    select(Unit)
                    .join(UnitFigures, UnitFigures.unit_id == Unit.id)
                    .where(UnitFigures.measurement_id == newest.id, Unit.active)
                    .order_by(Unit.id)
                )
            )
            made = 0
            for language in languages:
                done = prepared.stored_units(db.session, newest.id, language, version)
                with force_locale(language), app.test_request_context("/"):
                    for unit in units:
                        if unit.id in done:
                            continue
                        html = render_unit_results(unit, newest, measurements)
                        made += _kept(newest.id, unit.id, language, version, html)

            log.info("prepared %d results sections in %.1f s", made, time.perf_counter() - started)
            return made
        finally:
            db.session.remove()


def _kept(measurement_id: int, unit_id: int, locale: str, version: str, html: str) -> int:
    """Store and commit one section (a first view may have made it meanwhile: then 0)."""
    try:
        prepared.store(db.session, measurement_id, unit_id, locale, version, html)
        db.session.commit()
        return 1
    except IntegrityError:
        db.session.rollback()
        return 0


def schedule() -> None:
    """After an import (committed): prepare the sections where reports are made."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    chosen = report_jobs.backend(app)
    if chosen == "inline":
        prepare(app)
    elif chosen == "rq":
        report_jobs.queue(app).enqueue(
            "app.worker.prepare_sections", job_timeout=1800
        )
    else:
        report_jobs.pool().submit(prepare, app)

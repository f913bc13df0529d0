"""Results sections prepared after an import, before anyone asks for them.

On a results morning every leader opens their units' pages within the same hour, and HR opens
them all. After an import (web or `flask kompas import`) a job renders, for the newest
measurement and in each language users have chosen, the figures of every row of the results
overview (first: one batch), then the results section and the analysis step's indicator table
of every active unit, into `prepared_section` (app/services/prepared.py), where every app
process reads them. It runs where reports run (app/services/report_jobs.py): on an RQ worker
with REDIS_URL, else in a thread of the app server. A part not prepared (another measurement,
a deploy since) is made at its first view and kept the same way. `flask --app wsgi kompas
prepare` runs it at once.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy import case, exists, select
from sqlalchemy.exc import IntegrityError

from app.blueprints.results.routes import (
    render_analysis_indicators,
    render_overview_cells,
    render_unit_results,
)
from app.extensions import db
from app.models import Measurement, RoleAssignment, Unit, UnitFigures, User
from app.policy import Access
from app.services import prepared, references, report_jobs
from app.services import results as results_service

log = logging.getLogger(__name__)


def prepare(app: Flask) -> int:
    """Render every missing results section, overview row and analysis table of the newest
    measurement; returns how many results sections."""
    with app.app_context():
        try:
            started = time.perf_counter()
            # Before any figures are read: what is rendered from them is kept under it.
            version = prepared.current_version(db.session, app.config["PREPARED_VERSION"])
            measurements = results_service.measurements_with_figures(db.session)
            if not measurements:
                return 0
            newest = measurements[0]
            chosen = set(db.session.scalars(select(User.language).where(User.language != "")))
            languages = sorted(chosen | {app.config.get("BABEL_DEFAULT_LOCALE", "da")})
            # Units someone holds a role on first: their leaders open them first (in the
            # seconds after an import, a part not yet prepared is rendered by the page).
            held = exists().where(RoleAssignment.unit_id == Unit.id)
            units = list(
                db.session.scalars(
                    select(Unit)
                    .join(UnitFigures, UnitFigures.unit_id == Unit.id)
                    .where(UnitFigures.measurement_id == newest.id, Unit.active)
                    .order_by(case((held, 0), else_=1), Unit.id)
                )
            )
            made = others = 0  # results sections; overview rows and analysis tables
            for language in languages:
                done = prepared.stored_units(db.session, newest.id, language, version)
                analysis = prepared.analysis_key(language)
                analysed = set(
                    prepared.find_many(
                        db.session, newest.id, [u.id for u in units], analysis, version
                    )
                )
                with force_locale(language), app.test_request_context("/"):
                    # The overview's rows first: one batch, and the page most opened.
                    others += _overview_rows(newest, language, version)
                    for unit in units:
                        if unit.id in done and unit.id in analysed:
                            continue
                        # One view of the release for both of the unit's parts.
                        view = results_service.unit_view(
                            db.session, unit, newest, measurements=measurements
                        )
                        parts = {}
                        if unit.id not in done:
                            parts[language] = render_unit_results(
                                unit, newest, measurements, view=view
                            )
                        if unit.id not in analysed:
                            parts[analysis] = render_analysis_indicators(unit, newest, view=view)
                        if _kept(newest.id, unit.id, version, parts):
                            made += language in parts
                            others += analysis in parts

            log.info(
                "prepared %d results sections and %d other parts in %.1f s",
                made, others, time.perf_counter() - started,
            )  # fmt: skip
            return made
        finally:
            db.session.remove()


def _overview_rows(measurement: Measurement, language: str, version: prepared.KeptVersion) -> int:
    """The figures of every row of the measurement's overview, in the indicator display HR
    chose; how many were made (0 where a first view made them meanwhile)."""
    display = references.indicator_display(db.session)
    key = prepared.row_key(language, display)
    everyone = Access(user_id=0, is_admin=True)  # the rows themselves: access is checked on view
    rows = results_service.overview_rows(db.session, everyone, measurement)
    done = prepared.find_many(db.session, measurement.id, [r.unit_id for r in rows], key, version)
    missing = [row for row in rows if row.unit_id not in done]
    if not missing:
        return 0
    themes = results_service.scored_themes(results_service.question_themes(db.session, measurement))
    made = render_overview_cells(missing, measurement, themes, display)
    try:
        prepared.store_many(db.session, measurement.id, made, key, version)
        db.session.commit()
        return len(made)
    except IntegrityError:
        db.session.rollback()
        return 0


def _kept(
    measurement_id: int, unit_id: int, version: prepared.KeptVersion, parts: dict[str, str]
) -> bool:
    """Store and commit a unit's parts ({key: html}); False where a first view made one of
    them meanwhile (nothing is lost: it is the same)."""
    try:
        for key, html in parts.items():
            prepared.store_many(db.session, measurement_id, {unit_id: html}, key, version)
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def schedule() -> None:
    """After an import (committed): prepare the sections where reports are made."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    chosen = report_jobs.backend(app)
    if chosen == "inline":
        prepare(app)
    elif chosen == "rq":
        report_jobs.queue(app).enqueue("app.worker.prepare_sections", job_timeout=1800)
    else:
        report_jobs.pool().submit(prepare, app)

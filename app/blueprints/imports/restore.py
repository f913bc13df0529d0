"""A measurement's import history and "Gendan": bring back an import that a later file
replaced, for 30 days. Asks first; re-imports the kept file through the same pipeline, as an
import job whose page shows its progress (app/services/import_jobs.py)."""

from __future__ import annotations

from flask import Response, abort, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.blueprints.admin.forms import EmptyForm
from app.blueprints.imports import bp
from app.blueprints.imports.routes import file_area, render_staged
from app.extensions import db
from app.models import ImportLog, Measurement
from app.models.base import utcnow
from app.services import import_jobs, imports


@bp.get("/measurements/<int:measurement_id>")
def history(measurement_id: int) -> str:
    measurement = db.session.get(Measurement, measurement_id)
    if measurement is None:
        abort(404)
    logs = db.session.scalars(
        select(ImportLog)
        .where(ImportLog.measurement_id == measurement.id)
        .options(selectinload(ImportLog.user))
        .order_by(ImportLog.id.desc())
    ).all()
    current = next((log for log in logs if log.outcome == "imported"), None)
    return render_template(
        "imports/history.html",
        measurement=measurement,
        logs=logs,
        current=current,
        restorable=imports.restorable_logs(db.session, measurement.id, file_area(), utcnow()),
        existing=imports.existing_results(db.session, measurement),
    )


def _restorable_or_404(log_id: int) -> imports.Restorable:
    log = db.session.get(ImportLog, log_id)
    if log is None or log.measurement_id is None:
        abort(404)
    found = imports.restorable_logs(db.session, log.measurement_id, file_area(), utcnow())
    if log.id not in found:
        abort(404)  # not an earlier import, replaced too long ago, or its file is gone
    return found[log.id]


@bp.get("/logs/<int:log_id>/restore")
def restore_ask(log_id: int) -> str:
    """What restoring would do, in words, before anything is done. The kept file is checked
    by a job (its progress shown as any upload's): no request reads it through."""
    log = _restorable_or_404(log_id).log
    staged, new = import_jobs.restore_of(db.session, current_user, log)
    db.session.commit()
    if new:
        import_jobs.submit(staged)  # the kept file's check
    db.session.refresh(staged)
    return render_staged(staged)


@bp.post("/logs/<int:log_id>/restore")
def restore(log_id: int) -> Response:
    """ "Gendan": the import job brings the earlier import back; its page shows the progress,
    then the restore done."""
    log = _restorable_or_404(log_id).log
    if not EmptyForm().validate_on_submit():
        abort(400)
    staged, new = import_jobs.restore_of(db.session, current_user, log)
    started = (
        staged.state == "checked"
        and staged.ok
        and import_jobs.start_import(db.session, staged, update_organisation=False)
    )
    db.session.commit()
    if new or started:
        import_jobs.submit(staged)
    # Still being checked, or it no longer fits: its page says so.
    return redirect(url_for("imports.staged", token=staged.token))

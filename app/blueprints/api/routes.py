"""JSON for integrations: the same documents as the CLI exports, scoped by the policy."""

from __future__ import annotations

from flask import Response, abort, jsonify
from flask_login import login_required

from app.blueprints.api import bp
from app.extensions import db
from app.models import Measurement
from app.policy import Permission, current_access
from app.services.export import results_document
from app.services.followup import followup_document


@bp.get("/measurements/<int:measurement_id>/results")
@login_required
def measurement_results(measurement_id: int) -> Response:
    access = current_access()
    measurement = db.session.get(Measurement, measurement_id)
    if measurement is None or not measurement.anonymity_ok:
        abort(404)
    # Before management releases the results, only the person's admin and leader roles count.
    access = access.results_access(measurement)
    if not access.may_anywhere(Permission.VIEW_RESULTS):
        abort(404)
    return jsonify(results_document(db.session, access, measurement))


@bp.get("/measurements/<int:measurement_id>/followup")
@login_required
def measurement_followup(measurement_id: int) -> Response:
    access = current_access()
    measurement = db.session.get(Measurement, measurement_id)
    if measurement is None or not measurement.anonymity_ok:
        abort(404)
    if not access.may_anywhere(Permission.VIEW_FOLLOWUP):
        abort(404)
    allowed = access.unit_ids(db.session, Permission.VIEW_FOLLOWUP)
    # Lights and alerts are results: before management releases a school's results, only the
    # person's admin and leader roles see them (as in measurement_results).
    results_access = access.results_access(measurement)
    with_results = (
        results_access.unit_ids(db.session, Permission.VIEW_RESULTS)
        if results_access.may_anywhere(Permission.VIEW_RESULTS)
        else set()
    )
    return jsonify(followup_document(db.session, measurement, allowed, with_results))

"""Management's one click that releases a measurement's results to every audience.

Asked first on its own page (what releasing means, to whom), then done by a POST; once done
it stands, and the date and name are shown to everyone (results/_release_status.html).
Who may: app.policy Access.may_release_results (an admin, or a leader on the institution).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.blueprints.admin.forms import EmptyForm
from app.blueprints.results import bp
from app.extensions import db
from app.models import Measurement
from app.policy import current_access
from app.services import release as release_service


def _measurement_to_release(measurement_id: int) -> Measurement:
    measurement = db.session.get(Measurement, measurement_id)
    if (
        measurement is None
        or not current_access().may_release_results(db.session)
        or not current_access().hold_results
    ):
        abort(404)
    return measurement


@bp.get("/measurements/<int:measurement_id>/release")
@login_required
def release_confirm(measurement_id: int) -> str:
    """What releasing does, and the button that does it."""
    measurement = _measurement_to_release(measurement_id)
    return render_template(
        "results/release_confirm.html",
        measurement=measurement,
        release=release_service.status(db.session, measurement, held=current_access().hold_results),
        button_form=EmptyForm(),
    )


@bp.post("/measurements/<int:measurement_id>/release")
@login_required
def release(measurement_id: int) -> Response:
    measurement = _measurement_to_release(measurement_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        release_service.release(db.session, measurement, current_user)
    except release_service.AlreadyReleased:
        flash(_("The results were already released."), "info")
    else:
        db.session.commit()
        flash(_("The results of %(name)s are released.", name=measurement.name), "success")
    return redirect(url_for("results.overview", m=measurement.id))  # type: ignore[return-value]

"""One zero-tolerance alert of a unit and measurement: the questions it is about, with what
the anonymity release says about each (never a count of its own), and the one form whose
documented reaction closes it."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.blueprints.followup import bp
from app.extensions import db
from app.forms import KompasForm
from app.models import OrganisationKind, ZeroToleranceAlert
from app.policy import Permission as Can
from app.policy import current_access, may
from app.services import alerts as service
from app.vocabulary import organisation_kind


class AlertReactionForm(KompasForm):
    reaction = TextAreaField(
        _l("What was done"),
        validators=[DataRequired(), Length(max=service.REACTION_MAX)],
        description=_l(
            "The reaction: conversations, measures, agreements. Never who answered what."
        ),
    )
    involved = StringField(
        _l("Who was involved"),
        validators=[DataRequired(), Length(max=service.INVOLVED_MAX)],
    )
    reaction_on = DateField(_l("When"), validators=[DataRequired()])
    follow_up_on = DateField(
        _l("Follow-up date"),
        validators=[DataRequired()],
        description=_l("When you look again at whether the reaction has worked."),
    )

    def validate_reaction_on(self, field: DateField) -> None:
        if field.data and field.data > date.today():
            raise ValidationError(_l("The reaction cannot be dated in the future."))

    def validate_follow_up_on(self, field: DateField) -> None:
        if field.data and self.reaction_on.data and field.data < self.reaction_on.data:
            raise ValidationError(_l("The follow-up date cannot be before the reaction."))


INVOLVED_HINT = {
    OrganisationKind.SCHOOL: _l("Roles, not respondents: e.g. management, class team, counsellor."),
    OrganisationKind.MUNICIPALITY: _l(
        "Roles, not respondents: e.g. leader, safety rep (AMR), union rep (TR), HR."
    ),
}


@bp.route("/alerts/<int:alert_id>", methods=["GET", "POST"])
@login_required
def alert(alert_id: int) -> Any:
    record = db.session.get(ZeroToleranceAlert, alert_id)
    if record is None or not current_access().results_access(record.measurement).may(
        db.session, Can.VIEW_FOLLOWUP, record.unit_id
    ):  # an alert of results not yet released reaches only admin and leader roles
        abort(404)
    may_edit = may(Can.EDIT_FOLLOWUP, record.unit_id)
    form = AlertReactionForm()
    form.involved.description = INVOLVED_HINT[organisation_kind()]
    if request.method == "GET" and record.closed_at is None and record.reaction:
        # Reactions written before alerts were one per unit: kept, to be completed here.
        form.reaction.data = record.reaction
        form.involved.data = record.involved
    if request.method == "POST":
        if not may_edit or record.closed_at is not None:
            abort(404)
        if form.validate_on_submit():
            service.record_reaction(
                db.session,
                current_user,
                record,
                reaction=form.reaction.data or "",
                reaction_on=form.reaction_on.data,
                involved=form.involved.data or "",
                follow_up_on=form.follow_up_on.data,
            )
            db.session.commit()
            flash(_("The reaction is recorded and the alert is closed."), "success")
            return redirect(
                url_for("followup.hub", measurement_id=record.measurement_id, code=record.unit.code)
            )
    return render_template(
        "followup/alert.html",
        alert=record,
        statements=service.statements(db.session, record),
        form=form,
        may_edit=may_edit,
        school=organisation_kind() == OrganisationKind.SCHOOL,
        state=service.alert_state(record, date.today()),
    ), (400 if request.method == "POST" else 200)

"""The organisation's settings page (HR): its name and kind, how long survey data is kept,
whether a purge takes issued board reports along, and the purge itself.

Everything that deletes asks first and says what goes: saving a shorter period that lets the
daily purge delete measurements shows them and waits for a second click; "Delete now" wants
the word typed."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.blueprints.admin import bp
from app.extensions import db
from app.forms import KompasForm
from app.models import OrganisationKind
from app.services import organisation as organisation_service
from app.services import retention
from app.services.organisation import MAX_NAME_LENGTH, Settings
from app.services.retention import (
    MAX_RETENTION_YEARS,
    MIN_RETENTION_YEARS,
    SUGGESTED_RETENTION_YEARS,
)

KIND_LABELS = {
    OrganisationKind.SCHOOL: _l("School or gymnasium"),
    OrganisationKind.MUNICIPALITY: _l("Municipality"),
}


class OrganisationForm(KompasForm):
    name = StringField(
        _l("The organisation's name"), validators=[DataRequired(), Length(max=MAX_NAME_LENGTH)]
    )
    kind = SelectField(
        _l("What the organisation is"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        description=_l("It sets the words every page, e-mail and report uses."),
    )
    retention_years = IntegerField(
        _l("Keep survey data for (years)"),
        validators=[
            InputRequired(),
            NumberRange(min=MIN_RETENTION_YEARS, max=MAX_RETENTION_YEARS),
        ],
    )
    # Labelled in the template: whom reports are issued to depends on the kind.
    purge_issued_reports = BooleanField()
    # Set by the confirmation step: the person has seen what the purge will delete.
    confirmed = HiddenField()


class PurgeForm(KompasForm):
    word = StringField(_l("Type the word to confirm"), validators=[InputRequired(), Length(max=50)])


def _confirm_word() -> str:
    return _("delete")


def _page(form: OrganisationForm, purge_form: PurgeForm, *, confirm: object = None) -> str:
    today = date.today()
    return render_template(
        "admin/organisation.html",
        form=form,
        purge_form=purge_form,
        plan=retention.preview(db.session, today),
        confirm=confirm,
        confirm_word=_confirm_word(),
        suggested=SUGGESTED_RETENTION_YEARS,
        min_years=MIN_RETENTION_YEARS,
        max_years=MAX_RETENTION_YEARS,
    )


@bp.route("/organisation", methods=["GET", "POST"])
def organisation() -> str | Response:
    current = organisation_service.current(db.session)
    form = OrganisationForm()
    if request.method == "GET":
        kind = current.kind if current and current.kind else OrganisationKind.MUNICIPALITY
        form.name.data = current.name if current else ""
        form.kind.data = kind.value
        form.retention_years.data = (
            current.retention_years if current else SUGGESTED_RETENTION_YEARS[kind]
        )
        form.purge_issued_reports.data = bool(current and current.purge_issued_reports)
    if not form.validate_on_submit():
        return _page(form, PurgeForm())
    settings = Settings(
        name=form.name.data or "",
        kind=OrganisationKind(form.kind.data),
        retention_years=int(form.retention_years.data or 0),
        purge_issued_reports=bool(form.purge_issued_reports.data),
    )
    today = date.today()
    before = retention.preview(db.session, today)
    after = retention.preview(
        db.session,
        today,
        years=settings.retention_years,
        purge_reports=settings.purge_issued_reports,
    )
    deletes_more = len(after.measurements) > len(before.measurements) or (
        after.issued_reports_deleted > before.issued_reports_deleted
    )
    if deletes_more and form.confirmed.data != "yes":
        # The daily purge would delete these under the new settings: say so and ask first.
        form.confirmed.data = "yes"
        return _page(form, PurgeForm(), confirm=after)
    organisation_service.update(db.session, current_user, settings)
    db.session.commit()
    flash(_("The organisation's settings are saved."), "success")
    return redirect(url_for("admin.organisation"))


@bp.post("/organisation/purge")
def purge_now() -> str | Response:
    purge_form = PurgeForm()
    typed = (purge_form.word.data or "").strip().casefold()
    if not purge_form.validate_on_submit() or typed != _confirm_word().casefold():
        purge_form.word.errors = [
            _("Type “%(word)s” to delete what is listed.", word=_confirm_word())
        ]
        form = OrganisationForm(formdata=None, obj=None)
        current = organisation_service.current(db.session)
        if current is not None:
            form.name.data = current.name
            form.kind.data = current.kind.value
            form.retention_years.data = current.retention_years
            form.purge_issued_reports.data = current.purge_issued_reports
        return _page(form, purge_form)
    gone = retention.purge(db.session, current_user, date.today())
    db.session.commit()
    flash(
        ngettext(
            "%(num)d measurement deleted with everything on it.",
            "%(num)d measurements deleted with everything on them.",
            len(gone),
        ),
        "success",
    )
    return redirect(url_for("admin.organisation"))

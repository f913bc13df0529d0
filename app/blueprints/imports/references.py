"""HR imports reference figures (the ministry's key figures): upload -> check -> preview ->
import; and chooses how indicators are shown (0-100 score or the ministry's 1-5 scale).

Admin only (the imports blueprint's `before_request`). The checked file waits in the file
area under its SHA-256 until "Import" is confirmed; nothing is stored before that.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.blueprints.imports import bp
from app.domain.references import MAX_YEAR, MIN_YEAR
from app.extensions import db
from app.forms import KompasForm
from app.models import Measurement, Questionnaire
from app.services import imports
from app.services import references as refs
from app.vocabulary import offered_questionnaire

_SHA = re.compile(r"^[0-9a-f]{64}$")
AREA = "references"

PROBLEM_TEXTS = {
    "empty_file": _l("The file is empty."),
    "not_csv_or_xlsx": _l("The file is neither CSV nor Excel (XLSX)."),
    "damaged_xlsx": _l("The Excel file is damaged."),
    "too_large": _l("The file is larger than %(value)s MB."),
    "unknown_questionnaire": _l("The questionnaire %(value)s is not known."),
    "missing_column": _l("The column “%(value)s” is missing."),
    "too_many_rows": _l("The file has more than %(value)s rows."),
    "duplicate": _l("The same figure appears twice (%(value)s)."),
    "bad_year": _l("“%(value)s” is not a year."),
    "missing_level": _l("The level (Landsplan, stx, a municipality) is empty."),
    "too_long": _l("The text “%(value)s” is too long."),
    "unknown_question": _l("The question “%(value)s” is not in the questionnaire."),
    "unknown_indicator": _l("The indicator “%(value)s” is not in the questionnaire."),
    "missing_indicator": _l("Neither an indicator nor a question is given."),
    "bad_average": _l("The average “%(value)s” is not a number from 1 to 5."),
    "bad_share": _l("The share “%(value)s” is not a per cent from 0 to 100."),
    "bad_count": _l("The count “%(value)s” is not a whole number."),
    "no_rows": _l("The file has no figures."),
}
SOURCE_TEXTS = {
    "national": _l("National"),
    "sector": _l("Sector"),
    "municipality": _l("Municipality"),
}
COLUMN_TEXTS = {
    "year": "år",
    "level": "niveau",
    "indicator": "indikator",
    "average": "gennemsnit",
}


class ReferenceUploadForm(KompasForm):
    questionnaire = SelectField(_l("Questionnaire"), validators=[DataRequired()])
    year = IntegerField(
        _l("Year"),
        validators=[Optional(), NumberRange(MIN_YEAR, MAX_YEAR)],
        description=_l("Only for a file without a year column."),
    )
    file = FileField(
        _l("File with reference figures"),
        validators=[FileRequired(message=_l("Choose the file with the reference figures."))],
        description=_l(
            "CSV or Excel (XLSX) with the columns år, niveau, indikator or spørgsmål, "
            "gennemsnit, andel and antal, numbers written the Danish way (3,6)."
        ),
    )


class ReferenceConfirmForm(KompasForm):
    sha256 = HiddenField(validators=[DataRequired(), Regexp(_SHA)])
    file_name = HiddenField(validators=[Length(max=255)])
    questionnaire = HiddenField(validators=[DataRequired(), Length(max=50)])
    year = HiddenField(validators=[Optional(), Regexp(r"^\d{4}$")])


class DisplayForm(KompasForm):
    display = RadioField(
        _l("Show indicators as"),
        choices=[
            SelectChoice("score", _l("Scores from 0 to 100 (Kompas)")),
            SelectChoice("scale", _l("Averages on the 1–5 scale, as the ministry publishes them")),
        ],
        validators=[DataRequired()],
    )


def _questionnaire_choices(form: ReferenceUploadForm) -> None:
    rows = [
        row
        for row in db.session.execute(select(Questionnaire.code, Questionnaire.name)).all()
        if offered_questionnaire(row.code)  # a school is not offered the municipal template
    ]
    form.questionnaire.choices = [SelectChoice(code, name) for code, name in rows]
    if not form.questionnaire.data:
        codes = [code for code, _ in rows]
        form.questionnaire.data = "gym" if "gym" in codes else (codes[0] if codes else None)


def _page(upload: ReferenceUploadForm | None = None, status: int = 200) -> tuple[str, int]:
    upload = upload or ReferenceUploadForm(formdata=None)
    _questionnaire_choices(upload)
    display = DisplayForm(formdata=None, display=refs.indicator_display(db.session))
    return render_template(
        "imports/references.html",
        form=upload,
        display_form=display,
        groups=refs.imported_groups(db.session),
        source_texts=SOURCE_TEXTS,
    ), status


def _area() -> Path:
    return imports.file_area(current_app.config, current_app.instance_path) / AREA


@bp.get("/references")
def references() -> tuple[str, int]:
    return _page()


@bp.post("/references/check")
def references_check() -> tuple[str, int]:
    form = ReferenceUploadForm()
    _questionnaire_choices(form)
    if not form.validate():
        return _page(form, 400)
    upload = form.file.data
    content = upload.read(refs.MAX_FILE_BYTES + 1)
    file_name = (upload.filename or "")[:255]
    parsed = refs.check_file(
        db.session, content, questionnaire_code=form.questionnaire.data, year=form.year.data
    )
    sha256 = hashlib.sha256(content).hexdigest()
    if parsed.ok:
        imports.store_file(_area(), content, sha256)
    confirm = ReferenceConfirmForm(
        formdata=None,
        sha256=sha256,
        file_name=file_name,
        questionnaire=form.questionnaire.data,
        year=str(form.year.data) if form.year.data else "",
    )
    return render_template(
        "imports/references_preview.html",
        parsed=parsed,
        file_name=file_name,
        confirm=confirm,
        problem_texts=PROBLEM_TEXTS,
        column_texts=COLUMN_TEXTS,
        source_texts=SOURCE_TEXTS,
        existing={(y, s, label) for _, y, s, label, _ in refs.imported_groups(db.session)},
    ), (200 if parsed.ok else 400)


@bp.post("/references/import")
def references_import() -> Response | tuple[str, int]:
    form = ReferenceConfirmForm()
    if not form.validate():
        flash(_("The check has run out. Upload the file again."), "error")
        return redirect(url_for("imports.references"))
    path = _area() / form.sha256.data
    if not path.is_file():
        flash(_("The check has run out. Upload the file again."), "error")
        return redirect(url_for("imports.references"))
    year = int(form.year.data) if form.year.data else None
    parsed = refs.check_file(
        db.session, path.read_bytes(), questionnaire_code=form.questionnaire.data, year=year
    )
    if not parsed.ok:
        flash(_("The file no longer passes the check. Upload it again."), "error")
        return redirect(url_for("imports.references"))
    stored = refs.import_references(
        db.session,
        current_user,
        parsed,
        questionnaire_code=form.questionnaire.data,
        file_name=form.file_name.data or "",
    )
    db.session.commit()
    path.unlink(missing_ok=True)
    flash(_("%(num)s reference figures imported.", num=stored), "success")
    return redirect(url_for("imports.references"))


@bp.post("/references/display")
def references_display() -> Response | tuple[str, int]:
    form = DisplayForm()
    if not form.validate():
        return _page(status=400)
    refs.set_indicator_display(db.session, current_user, form.display.data)
    db.session.commit()
    flash(_("The indicator display is saved."), "success")
    return redirect(url_for("imports.references") + "#display")


# The results overview shows the reference figures beside the units' own and indicators the
# way HR chose; its template asks for both here, in one query (read-only, same for everyone).
@bp.app_template_global("display_and_references")
def display_and_references_global(measurement: Measurement) -> tuple[str, refs.ReferenceColumns]:
    return refs.display_and_references(db.session, measurement.questionnaire_id, measurement.year)

"""HR imports reference figures (the ministry's key figures): upload -> check -> preview ->
import; and chooses how indicators are shown (0-100 score or the ministry's 1-5 scale).

Admin only (the imports blueprint's `before_request`). The checked file waits in the file
area under its SHA-256 until "Import" is confirmed; nothing is stored before that.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
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
from app.blueprints.imports.mapping import PROFILE_PROBLEMS
from app.domain import mapping as mapping_domain
from app.domain.importing_problems import Problem
from app.domain.importing_read import UnreadableFile
from app.domain.references import MAX_YEAR, MIN_YEAR
from app.extensions import db
from app.forms import KompasForm
from app.models import Measurement, Questionnaire
from app.services import import_profiles, imports
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
    "own_level": _l(
        "The level “%(value)s” is this organisation or one of its units. Reference figures "
        "are others' figures (national, sector, municipality): our own come from our results, "
        "and printed beside them they could reveal a small group's answers."
    ),
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
            "CSV or Excel (XLSX), numbers written the Danish way (3,6). With the columns år, "
            "niveau, indikator or spørgsmål, gennemsnit, andel and antal the file is checked at "
            "once; with other columns you say which is which."
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
    questionnaire = form.questionnaire.data or ""
    parsed = refs.check_file(
        db.session, content, questionnaire_code=questionnaire, year=form.year.data
    )
    if refs.needs_mapping(parsed):  # the columns are not the ones Kompas knows: map them
        sha256 = hashlib.sha256(content).hexdigest()
        imports.store_file(_area(), content, sha256)
        mapped = ReferenceMapping(
            sha256=sha256, file_name=file_name, questionnaire=questionnaire,
            year=str(form.year.data) if form.year.data else "",
        )  # fmt: skip
        return _mapping_page(mapped, first=True)
    return _preview(parsed, content, file_name, questionnaire, form.year.data)


def _preview(
    parsed: refs.ParsedReferences,
    content: bytes,
    file_name: str,
    questionnaire: str,
    year: int | None,
) -> tuple[str, int]:
    """The checked file: its problems, or what it holds and "Import" (the file waits in the
    file area under its SHA-256 until then)."""
    sha256 = hashlib.sha256(content).hexdigest()
    if parsed.ok:
        imports.store_file(_area(), content, sha256)
    confirm = ReferenceConfirmForm(
        formdata=None,
        sha256=sha256,
        file_name=file_name,
        questionnaire=questionnaire,
        year=str(year) if year else "",
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


# --- a file in another layout: which column is what, and the year and level it lacks ---------


@dataclass
class ReferenceMapping:
    """The reference mapping as the form shows it, every choice kept as sent."""

    sha256: str
    file_name: str
    questionnaire: str
    year: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    problems: list[Problem] = field(default_factory=list)
    profile_id: int | None = None  # the saved profile the form was filled from
    profile_name: str = ""
    save_profile: bool = False
    new_profile_name: str = ""


def _reference_sample(mapped: ReferenceMapping) -> mapping_domain.Sample | None:
    path = _area() / mapped.sha256
    if not _SHA.match(mapped.sha256) or not path.is_file():
        return None
    try:
        return mapping_domain.read_sample(path)
    except (UnreadableFile, mapping_domain.RespondentLevelFile):
        return None


def _mapping_page(mapped: ReferenceMapping, *, first: bool = False) -> tuple[str, int]:
    sample = _reference_sample(mapped)
    if sample is None:
        flash(_("The check has run out. Upload the file again."), "error")
        return _page(status=400)
    if first:
        suggested = mapping_domain.suggest_references(sample)
        # A profile saved for files of this layout fills the form: one click applies it.
        for profile in import_profiles.for_signature(
            db.session, mapping_domain.signature(sample), kind="references"
        ):
            try:
                suggested = mapping_domain.Mapping.from_dict(profile.mapping)
            except mapping_domain.MappingError:
                continue
            mapped.profile_id, mapped.profile_name = profile.id, profile.name
            break
        mapped.columns = dict(suggested.columns)
        mapped.constants = dict(suggested.constants)
        if mapped.year and "year" not in mapped.columns:
            mapped.constants.setdefault("year", mapped.year)
    headers = list(dict.fromkeys(c for c in sample.sheets[0].header if c.strip()))
    return render_template(
        "imports/references_mapping.html",
        mapped=mapped,
        sample=sample,
        sheet=sample.sheets[0],
        headers=headers,
        roles=mapping_domain.REFERENCE_ROLES,
        role_texts=REFERENCE_ROLE_TEXTS,
        form=KompasForm(formdata=None),
    ), (200 if first else 400)


REFERENCE_ROLE_TEXTS = {
    "year": _l("Year"),
    "level": _l("Level (Landsplan, a sector or a municipality)"),
    "indicator": _l("Indicator"),
    "question": _l("Question"),
    "average": _l("Average (1–5)"),
    "share": _l("Share (per cent)"),
    "count": _l("Count"),
}
MAX_LEVEL = 100


@bp.post("/references/mapping")
def references_mapping() -> tuple[str, int]:
    form = KompasForm()
    sent = request.form
    mapped = ReferenceMapping(
        sha256=sent.get("sha256", "")[:64],
        file_name=sent.get("file_name", "")[:255],
        questionnaire=sent.get("questionnaire", "")[:50],
        year=sent.get("year", "")[:4],
        profile_id=int(sent["profile_id"]) if sent.get("profile_id", "").isdigit() else None,
        profile_name=sent.get("profile_name", "")[: import_profiles.MAX_NAME],
        save_profile=bool(sent.get("save_profile")),
        new_profile_name=sent.get("new_profile_name", "")[: import_profiles.MAX_NAME + 1],
    )
    if not form.validate():
        abort(400)
    if len(mapped.new_profile_name) > import_profiles.MAX_NAME:
        mapped.errors["new_profile_name"] = str(PROFILE_PROBLEMS["too_long"])
    sample = _reference_sample(mapped)
    if sample is None:
        flash(_("The check has run out. Upload the file again."), "error")
        return _page(status=400)
    headers = set(sample.sheets[0].header)
    for role in mapping_domain.REFERENCE_ROLES:
        column = sent.get(f"col-{role}", "")
        if len(column) > 200 or (column and column not in headers):
            mapped.errors[f"col-{role}"] = _("The file has no column “%(column)s”.",
                                              column=column[:200])  # fmt: skip
        mapped.columns[role] = column[:200]
    for name in ("year", "level"):
        value = " ".join(sent.get(f"const-{name}", "").split())
        mapped.constants[name] = value[: MAX_LEVEL + 1]
    year = mapped.constants["year"]
    if year and not (year.isdigit() and MIN_YEAR <= int(year) <= MAX_YEAR):
        mapped.errors["const-year"] = _("Give the year as a number from %(min)s to %(max)s.",
                                        min=MIN_YEAR, max=MAX_YEAR)  # fmt: skip
    elif not year and not mapped.columns.get("year"):
        mapped.errors["const-year"] = _(
            "The file has no year column: give the year (%(min)s to %(max)s).",
            min=MIN_YEAR, max=MAX_YEAR,
        )  # fmt: skip
    if len(mapped.constants["level"]) > MAX_LEVEL:
        mapped.errors["const-level"] = _("The level can be at most %(num)s characters.",
                                         num=MAX_LEVEL)  # fmt: skip
    elif not mapped.columns.get("level") and not mapped.constants["level"]:
        mapped.errors["const-level"] = _(
            "The file has no level column: give the level, such as Landsplan."
        )
    if not mapped.columns.get("indicator") and not mapped.columns.get("question"):
        mapped.errors["col-indicator"] = _("Choose the indicator or the question column.")
    if mapped.errors:
        mapped.message = _("Some choices do not fit the file. See below.")
        return _mapping_page(mapped)
    base = mapping_domain.suggest_references(sample).to_dict()
    base["columns"] = {role: column for role, column in mapped.columns.items() if column}
    base["constants"] = {
        name: value
        for name, value in mapped.constants.items()
        if value and not mapped.columns.get(name)
    }
    path = _area() / mapped.sha256
    try:
        chosen = mapping_domain.Mapping.from_dict(base)
        content, problems = refs.convert_mapped(path, chosen)
    except mapping_domain.MappingError as error:
        mapped.message = _mapping_message(error)
        return _mapping_page(mapped)
    if problems:
        mapped.message = _("Some rows could not be converted. Nothing is imported.")
        mapped.problems = problems[:200]
        return _mapping_page(mapped)
    parsed = refs.check_file(db.session, content, questionnaire_code=mapped.questionnaire)
    if parsed.ok and mapped.save_profile:
        try:
            import_profiles.save(
                db.session,
                current_user,
                name=mapped.new_profile_name,
                signature=mapping_domain.signature(sample),
                mapping=_for_next_year(chosen),
                kind="references",
            )
        except import_profiles.ProfileError as error:
            mapped.errors["new_profile_name"] = str(PROFILE_PROBLEMS[error.code]) % {
                "name": error.name
            }
            mapped.message = _("The profile could not be saved. See below.")
            return _mapping_page(mapped)
        db.session.commit()
    elif parsed.ok and mapped.profile_id is not None:
        profile = import_profiles.get(db.session, mapped.profile_id, kind="references")
        if profile is not None and profile.mapping == _for_next_year(chosen):
            import_profiles.mark_used(profile)
            db.session.commit()
    if parsed.ok:  # the converted file waits for "Import" instead of the original
        path.unlink(missing_ok=True)
    return _preview(parsed, content, mapped.file_name, mapped.questionnaire, None)


def _for_next_year(chosen: mapping_domain.Mapping) -> dict[str, Any]:
    """The mapping as a profile keeps it: a year typed for this file is not next year's."""
    kept = chosen.to_dict()
    kept["constants"] = {k: v for k, v in kept["constants"].items() if k != "year"}
    return kept


def _mapping_message(error: mapping_domain.MappingError) -> str:
    danish = str(get_locale() or "da").startswith("da")
    return error.message_da if danish and error.message_da else str(error)


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

"""HR maps a file in a survey tool's own layout onto Kompas's: upload -> mapping -> check.

The upload (routes.py) stores the file and, when it is not in Kompas's own layout, sends HR
here. The screen shows what Kompas recognised (layout, counts or percentages, the first
rows) and a form of which column is what, filled from `suggest` or from a saved profile made
for files of the same layout (found by the file's signature), which one click applies. The
chosen mapping is stored on the staged import and the check job converts the file with it;
the converted file then goes through the same check, preview and confirmation as any other.

Admin only (the blueprint's `before_request`); another user's staged file answers 404.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length

from app.blueprints.admin.forms import EmptyForm
from app.blueprints.imports import bp
from app.domain import mapping as mapping_domain
from app.domain.importing_read import UnreadableFile
from app.domain.mapping import Mapping, MappingError, RespondentLevelFile, Sample, Sheet, norm
from app.domain.mapping_types import CELL_ROLES, MAX_TEXT
from app.extensions import db, htmx
from app.forms import KompasForm
from app.models import ImportProfile, StagedImport
from app.models.base import utcnow
from app.services import import_profiles, imports

MAPPABLE_STATES = ("uploaded", "checked", "failed")
STAGED_LIFETIME = timedelta(hours=24)  # as the upload's (routes.py)
LAYOUTS = ("long", "wide", "sheets")
VALUES = ("counts", "percent")
UNIT_ROLES = ("unit_id", "unit_name", "parent_id", "unit_type", "invited", "respondents")
LONG_ROLES = (
    "question_id", "question_text", "theme", "option", "value", "count", "dont_know",
)  # fmt: skip
MAX_QUESTIONS = 500  # rows of the form (the domain allows more: a profile may)
MAX_OPTIONS = 11
MIN_SLOTS = 2
MAX_COLUMN = MAX_TEXT  # a header or row label as the form carries it
MAX_QUESTION_ID = 50
DRY_RUN_BYTES = 1024 * 1024  # a file this small is converted once on the screen: cheap
SHOWN_ROWS = 10

LAYOUT_TEXTS = {
    "native": _l("Kompas's own import format"),
    "long": _l("A row per unit and question"),
    "wide": _l("A row per unit, a column per question and answer option"),
    "sheets": _l("A sheet per unit"),
    "unknown": _l("Not recognised"),
}
VALUE_TEXTS = {
    "counts": _l("Counts (how many chose each option)"),
    "percent": _l("Percentages, with the number of answers"),
}
ROLE_TEXTS = {
    "unit_id": _l("Unit id"),
    "unit_name": _l("Unit name"),
    "parent_id": _l("Parent unit's id"),
    "unit_type": _l("Unit type"),
    "invited": _l("Invited"),
    "respondents": _l("Respondents (number of answers)"),
    "question_id": _l("Question id"),
    "question_text": _l("Question text"),
    "theme": _l("Theme (indicator)"),
    "option": _l("Answer option"),
    "value": _l("Count or percentage"),
    "count": _l("Number of answers to the question"),
    "dont_know": _l("“Don't know”"),
}
PROFILE_PROBLEMS = {
    "empty": _l("Give the profile a name."),
    "too_long": _l("The name can be at most %(num)s characters.", num=import_profiles.MAX_NAME),
    "taken": _l("A profile is already called “%(name)s”. Choose another name."),
    "too_many": _l("There can be at most %(name)s profiles. Delete one you no longer use."),
}


class ProfileNameForm(KompasForm):
    name = StringField(
        _l("Name of the profile"),
        validators=[DataRequired(), Length(max=import_profiles.MAX_NAME)],
    )


class ApplyProfileForm(KompasForm):
    profile_id = HiddenField(validators=[DataRequired(), Length(max=12)])


class MappingOptionsForm(KompasForm):
    """The fixed part of the mapping form (and its CSRF token); the columns and the question
    rows are read by `_draft_from_form`, every one bounded there."""

    save_profile = BooleanField(_l("Save the mapping as a profile for next time"))
    profile_name = StringField(
        _l("Name of the profile"),
        validators=[Length(max=import_profiles.MAX_NAME)],
        description=_l("For example the survey tool and the kind of file: “Defgo, wide”."),
    )


@dataclass
class QuestionDraft:
    question_id: str = ""
    options: list[str] = field(default_factory=list)
    dont_know: str = ""
    count: str = ""  # wide: the question's number of answers; sheets: its row label
    column: str = ""  # sheets: the column holding the question (default: its id)

    @property
    def empty(self) -> bool:
        return not (
            self.question_id or any(self.options) or self.dont_know or self.count or self.column
        )


@dataclass
class Draft:
    """The mapping as the form shows it: every choice kept as typed, errors by field name."""

    layout: str = "wide"
    values: str = "counts"
    columns: dict[str, str] = field(default_factory=dict)
    questions: list[QuestionDraft] = field(default_factory=list)
    sheet_unit: str = "name"
    cells: dict[str, str] = field(default_factory=dict)
    sheet: str = ""
    slots: int = MIN_SLOTS
    constants: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""  # what is wrong with the mapping as a whole

    @classmethod
    def of(cls, mapping: Mapping) -> Draft:
        questions = [
            QuestionDraft(
                q.question_id, list(q.options), q.dont_know or "", q.count or "", q.column or ""
            )
            for q in mapping.questions
        ]
        widest = max((len(q.options) for q in questions), default=0)
        return cls(
            layout=mapping.layout if mapping.layout in LAYOUTS else "wide",
            values=mapping.values if mapping.values in VALUES else "counts",
            columns=dict(mapping.columns),
            questions=questions,
            sheet_unit=mapping.sheet_unit or "name",
            cells=dict(mapping.cells),
            sheet=mapping.sheet,
            slots=min(MAX_OPTIONS, max(MIN_SLOTS, widest + 1)),
            constants=dict(mapping.constants),
        )

    def roles(self) -> tuple[str, ...]:
        """The columns the layout reads: a sheet per unit names its unit by the sheet (and
        reads its counts from cells), a wide file has no question column."""
        if self.layout == "sheets":
            return LONG_ROLES
        return UNIT_ROLES + LONG_ROLES if self.layout == "long" else UNIT_ROLES

    def by_question(self) -> bool:
        """Whether each row of the question table is one question (wide; a sheet with a
        column per question) rather than a group of answer labels for every question of
        that scale (an empty question id: long; a sheet with a row per question)."""
        if self.layout == "wide":
            return True
        return (
            self.layout == "sheets"
            and bool(self.columns.get("option"))
            and not self.columns.get("question_id")
        )

    def cell_roles(self) -> tuple[str, ...]:
        return CELL_ROLES if self.layout == "sheets" else ()

    def as_dict(self) -> dict[str, Any]:
        questions = []
        for q in self.questions:
            if q.empty:
                continue
            entry: dict[str, Any] = {
                "question_id": q.question_id,
                "options": [o for o in q.options if o],
            }
            if q.dont_know:
                entry["dont_know"] = q.dont_know
            if q.count and self.layout != "long":
                entry["count"] = q.count
            if q.column and self.layout == "sheets":
                entry["column"] = q.column
            questions.append(entry)
        return {
            "layout": self.layout,
            "values": self.values,
            "columns": {role: column for role, column in self.columns.items() if column},
            "questions": questions,
            "sheet_unit": self.sheet_unit if self.layout == "sheets" else "name",
            "cells": {role: cell for role, cell in self.cells.items() if cell}
            if self.layout == "sheets"
            else {},
            "sheet": self.sheet if self.layout != "sheets" else "",
            "constants": dict(self.constants),
        }


def file_area() -> Path:
    return imports.file_area(current_app.config, current_app.instance_path)


def _mappable_or_404(token: str) -> StagedImport:
    """The current user's own staged file that waits for (or may change) its mapping."""
    staged = db.session.scalar(
        select(StagedImport)
        .where(StagedImport.token == token[:64], StagedImport.user_id == current_user.id)
        .options(selectinload(StagedImport.measurement))
    )
    if staged is None or staged.state not in MAPPABLE_STATES or not staged.stored_file:
        abort(404)
    if _naive(staged.created_at) < _naive(utcnow()) - STAGED_LIFETIME:
        abort(404)
    if not (file_area() / staged.stored_file).is_file():
        abort(404)
    return staged


def _naive(moment: Any) -> Any:
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


def _sample(staged: StagedImport) -> Sample | None:
    """The file's first rows, or None when it can no longer be read as a mappable file."""
    try:
        return mapping_domain.read_sample(file_area() / (staged.stored_file or ""))
    except (UnreadableFile, RespondentLevelFile):
        return None


def _template_codes(staged: StagedImport) -> list[str]:
    questionnaire = staged.measurement.questionnaire
    if questionnaire is None or not questionnaire.is_template:
        return []
    return [q.code for q in questionnaire.questions]


def _chosen_sheets(sample: Sample, draft: Draft) -> list[Sheet]:
    """The sheets the mapping reads: every one for a sheet per unit; else the one chosen
    (default "results", else the first), as the conversion does."""
    if draft.layout == "sheets":
        return list(sample.sheets)
    named = {sheet.name: sheet for sheet in sample.sheets}
    chosen = named.get(draft.sheet) or named.get("results")
    return [chosen or sample.sheets[0]] if sample.sheets else []


def _headers(sheets: list[Sheet]) -> list[str]:
    seen: dict[str, None] = {}
    for sheet in sheets:
        for cell in sheet.header:
            if cell.strip():
                seen.setdefault(cell, None)
    return list(seen)


def _labels(sheets: list[Sheet]) -> list[str]:
    """For a sheet per unit: the texts of the sheets' rows (the rows that are options)."""
    seen: dict[str, None] = {}
    for sheet in sheets:
        for row in [*sheet.above, *sheet.rows]:
            for cell in row[:2]:
                if cell.strip():
                    seen.setdefault(cell, None)
    return list(seen)


def _message(error: MappingError) -> str:
    danish = str(get_locale() or "da").startswith("da")
    return error.message_da if danish and error.message_da else str(error)


def _bounded(form: Any, key: str, limit: int = MAX_COLUMN) -> str:
    return str(form.get(key, ""))[: limit + 1]


def _draft_from_form(form: Any) -> Draft:
    """The posted mapping, every field bounded (one character over the limit is kept, for
    the check to name); nothing the user chose is dropped."""
    draft = Draft()
    layout = form.get("layout", "")
    draft.layout = layout if layout in LAYOUTS else "wide"
    values = form.get("values", "")
    draft.values = values if values in VALUES else "counts"
    for role in draft.roles():
        draft.columns[role] = _bounded(form, f"col-{role}")
    for role in draft.cell_roles():
        draft.cells[role] = _bounded(form, f"cell-{role}").strip()
    draft.sheet = _bounded(form, "sheet")
    draft.sheet_unit = _bounded(form, "sheet_unit").strip() or "name"
    try:
        slots = int(form.get("slots", MIN_SLOTS))
    except ValueError:
        slots = MIN_SLOTS
    draft.slots = min(MAX_OPTIONS, max(MIN_SLOTS, slots))
    try:
        rows = int(form.get("rows", 0))
    except ValueError:
        rows = 0
    if rows > MAX_QUESTIONS:
        draft.message = _("A mapping can have at most %(num)s questions.", num=MAX_QUESTIONS)
    for i in range(min(MAX_QUESTIONS, max(0, rows))):
        draft.questions.append(
            QuestionDraft(
                question_id=_bounded(form, f"q-{i}-id").strip(),
                options=[_bounded(form, f"q-{i}-opt-{j}") for j in range(draft.slots)],
                dont_know=_bounded(form, f"q-{i}-dk"),
                count=_bounded(form, f"q-{i}-count"),
                column=_bounded(form, f"q-{i}-col"),
            )
        )
    return draft


def _check_draft(draft: Draft, sample: Sample, template_codes: list[str]) -> None:
    """Field errors a user can fix: columns not in the file, gaps, twice, too long."""
    sheets = _chosen_sheets(sample, draft)
    # Compared as the conversion compares them: case and spacing aside.
    headers = {norm(header) for header in _headers(sheets)}
    too_long = _("A column name can be at most %(num)s characters.", num=MAX_COLUMN)

    def fits(key: str, value: str, known: set[str] | None) -> None:
        if len(value) > MAX_COLUMN:
            draft.errors[key] = too_long
        elif value and known is not None and norm(value) not in known:
            draft.errors[key] = _("The file has no column “%(column)s”.", column=value)

    labels: set[str] | None = headers
    if draft.layout == "sheets":
        if len(draft.sheet_unit) > MAX_COLUMN:
            draft.errors["sheet_unit"] = too_long
        for role, cell in draft.cells.items():
            fits(f"cell-{role}", cell, None)
    else:
        if draft.sheet and draft.sheet not in {sheet.name for sheet in sample.sheets}:
            draft.errors["sheet"] = _("The file has no sheet “%(name)s”.", name=draft.sheet[:80])
        if not draft.columns.get("unit_id"):
            draft.errors["col-unit_id"] = _("Choose the column that holds the unit id.")
    for role, column in draft.columns.items():
        fits(f"col-{role}", column, headers)
    if draft.columns.get("option"):
        labels = None  # a row per option: the options are the labels its column holds
    ids: set[str] = set()
    for i, question in enumerate(draft.questions):
        if question.empty:
            continue
        key = f"q-{i}-id"
        if not question.question_id and draft.by_question():
            draft.errors[key] = _("Choose the question.")
        elif len(question.question_id) > MAX_QUESTION_ID:
            draft.errors[key] = _("A question id can be at most %(num)s characters.",
                                  num=MAX_QUESTION_ID)  # fmt: skip
        elif question.question_id and template_codes and question.question_id not in template_codes:
            draft.errors[key] = _("The questionnaire has no question %(code)s.",
                                  code=question.question_id)  # fmt: skip
        elif question.question_id and question.question_id in ids:
            draft.errors[key] = _("The question %(code)s is mapped twice.",
                                  code=question.question_id or "–")  # fmt: skip
        ids.add(question.question_id)
        given = [j for j, option in enumerate(question.options) if option]
        if len(given) < 2:
            draft.errors[f"q-{i}-opt-0"] = _("Give at least two answer options.")
        elif given[-1] != len(given) - 1:
            gap = next(j for j in range(len(given)) if j not in given)
            draft.errors[f"q-{i}-opt-{gap}"] = _(
                "Option %(num)s is empty, but a later option is given.", num=gap + 1
            )
        for j, option in enumerate(question.options):
            fits(f"q-{i}-opt-{j}", option, labels)
            if option and question.options.index(option) < j:
                draft.errors[f"q-{i}-opt-{j}"] = _("The same column is given twice.")
        fits(f"q-{i}-dk", question.dont_know, labels)
        fits(f"q-{i}-count", question.count, labels)
        fits(f"q-{i}-col", question.column, headers)
    if draft.layout != "long" and not any(not q.empty for q in draft.questions):
        draft.message = draft.message or _("Map at least one question.")


def _mapping_of(draft: Draft, path: Path) -> Mapping | None:
    """The draft as a Mapping that fits the file, or None with `draft.message` set."""
    try:
        mapping = Mapping.from_dict(draft.as_dict())
        if path.stat().st_size <= DRY_RUN_BYTES:
            mapping_domain.convert(path, mapping, _Discard())
    except MappingError as error:
        draft.message = _message(error)
        return None
    except (UnreadableFile, RespondentLevelFile):
        draft.message = _("The file can no longer be read. Upload it again.")
        return None
    return mapping


class _Discard(io.StringIO):
    """Where a dry run writes: nothing is kept."""

    def write(self, text: str) -> int:
        return len(text)


def start_check(staged: StagedImport) -> None:
    """Hand the mapped file to the check job (app/services/import_jobs.py): marked, committed
    with the mapping, then started."""
    from app.services import import_jobs

    import_jobs.start_check(db.session, staged)
    db.session.commit()
    import_jobs.submit(staged)


def _render(
    staged: StagedImport,
    sample: Sample,
    draft: Draft,
    *,
    options: MappingOptionsForm | None = None,
    status: int = 200,
    fragment: bool = False,
) -> tuple[str, int]:
    signature = mapping_domain.signature(sample)
    profiles = import_profiles.for_signature(db.session, signature)
    template = "imports/_mapping.html" if fragment else "imports/mapping.html"
    sheets = _chosen_sheets(sample, draft)
    return render_template(
        template,
        staged=staged,
        sample=sample,
        # The sheet shown: the first with the widest table (not a cover sheet).
        sheet=max(sheets, key=lambda sheet: (len(sheet.header), len(sheet.rows)))
        if sheets
        else None,
        shown_rows=SHOWN_ROWS,
        draft=draft,
        headers=_headers(sheets),
        labels=_labels(sheets) if draft.layout == "sheets" else [],
        sheet_names=[sheet.name for sheet in sample.sheets if sheet.name],
        template_codes=_template_codes(staged),
        profiles=profiles,
        options=options or MappingOptionsForm(formdata=None),
        apply_form=ApplyProfileForm(formdata=None),
        layout_texts=LAYOUT_TEXTS,
        value_texts=VALUE_TEXTS,
        role_texts=ROLE_TEXTS,
        cell_hint=_(
            "A cell such as B3, or the label left of the cell, such as “Antal besvarelser”."
        ),
        layouts=LAYOUTS,
        max_options=MAX_OPTIONS,
        max_questions=MAX_QUESTIONS,
    ), status


def _unreadable(staged: StagedImport) -> Response:
    flash(_("The file can no longer be read. Upload it again."), "error")
    return redirect(url_for("imports.index", measurement_id=staged.measurement_id))


@bp.get("/staged/<token>/mapping")
def mapping(token: str) -> tuple[str, int] | Response:
    staged = _mappable_or_404(token)
    sample = _sample(staged)
    if sample is None:
        return _unreadable(staged)
    if staged.mapping:  # back from the check: the mapping chosen, to change it
        try:
            draft = Draft.of(Mapping.from_dict(staged.mapping))
        except MappingError:
            draft = Draft.of(mapping_domain.suggest(sample))
    else:
        profiles = import_profiles.for_signature(db.session, mapping_domain.signature(sample))
        chosen = mapping_domain.suggest(sample)
        if profiles:  # the form filled from the profile offered first
            try:
                chosen = Mapping.from_dict(profiles[0].mapping)
            except MappingError:
                pass
        draft = Draft.of(chosen)
    return _render(staged, sample, draft)


def _finish(staged: StagedImport, mapping: Mapping, profile: ImportProfile | None) -> Response:
    staged.mapping = mapping.to_dict()
    staged.profile_id = profile.id if profile is not None else None
    staged.problems = []
    staged.preview = {}
    staged.ok = False
    staged.error = ""
    db.session.flush()
    start_check(staged)
    db.session.commit()
    url = url_for("imports.staged", token=staged.token)
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


@bp.post("/staged/<token>/mapping")
def mapping_post(token: str) -> tuple[str, int] | Response:
    staged = _mappable_or_404(token)
    sample = _sample(staged)
    if sample is None:
        return _unreadable(staged)
    options = MappingOptionsForm()
    codes = _template_codes(staged)
    draft = _draft_from_form(request.form)
    action = request.form.get("action", "check")
    if not options.validate():
        return _render(staged, sample, draft, options=options, status=400, fragment=bool(htmx))
    if action == "add":  # one more question row, all else as it was
        if len(draft.questions) < MAX_QUESTIONS:
            draft.questions.append(QuestionDraft())
        return _render(staged, sample, draft, options=options, fragment=bool(htmx))
    if action == "slot":  # one more answer option column
        draft.slots = min(MAX_OPTIONS, draft.slots + 1)
        return _render(staged, sample, draft, options=options, fragment=bool(htmx))
    if action == "layout":  # the layout or values changed: the form follows, nothing checked
        return _render(staged, sample, draft, options=options, fragment=bool(htmx))
    _check_draft(draft, sample, codes)
    path = file_area() / (staged.stored_file or "")
    mapping = None if draft.errors or draft.message else _mapping_of(draft, path)
    if mapping is None:
        draft.message = draft.message or _("Some choices do not fit the file. See below.")
        return _render(staged, sample, draft, options=options, status=400, fragment=bool(htmx))
    profile = None
    if options.save_profile.data:
        try:
            profile = import_profiles.save(
                db.session,
                current_user,
                name=options.profile_name.data or "",
                signature=mapping_domain.signature(sample),
                mapping=mapping.to_dict(),
            )
        except import_profiles.ProfileError as error:
            options.profile_name.errors = [str(PROFILE_PROBLEMS[error.code]) % {"name": error.name}]
            draft.message = _("The profile could not be saved. See below.")
            return _render(staged, sample, draft, options=options, status=400,
                           fragment=bool(htmx))  # fmt: skip
    return _finish(staged, mapping, profile)


@bp.post("/staged/<token>/mapping/apply")
def mapping_apply(token: str) -> tuple[str, int] | Response:
    """One click: the saved profile offered for this file, applied as it is."""
    staged = _mappable_or_404(token)
    sample = _sample(staged)
    if sample is None:
        return _unreadable(staged)
    form = ApplyProfileForm()
    if not form.validate() or not (form.profile_id.data or "").isdigit():
        abort(400)
    profile = import_profiles.get(db.session, int(form.profile_id.data or 0), kind="results")
    if profile is None:
        abort(404)
    try:
        draft = Draft.of(Mapping.from_dict(profile.mapping))
    except MappingError as error:
        draft = Draft.of(mapping_domain.suggest(sample))
        draft.message = _message(error)
        return _render(staged, sample, draft, status=400, fragment=bool(htmx))
    codes = _template_codes(staged)
    _check_draft(draft, sample, codes)
    path = file_area() / (staged.stored_file or "")
    mapping = None if draft.errors else _mapping_of(draft, path)
    if mapping is None:
        draft.message = draft.message or _(
            "The profile “%(name)s” does not fit this file. Adjust the choices below.",
            name=profile.name,
        )
        return _render(staged, sample, draft, status=400, fragment=bool(htmx))
    import_profiles.mark_used(profile)
    return _finish(staged, mapping, profile)


# --- the saved profiles, listed on the import page ------------------------------------------


@bp.app_template_global("import_profile_list")
def import_profile_list() -> list[ImportProfile]:
    return import_profiles.listed(db.session)


def _profile_or_404(profile_id: int) -> ImportProfile:
    profile = import_profiles.get(db.session, profile_id)
    if profile is None:
        abort(404)
    return profile


@bp.route("/profiles/<int:profile_id>/rename", methods=["GET", "POST"])
def profile_rename(profile_id: int) -> tuple[str, int] | Response:
    profile = _profile_or_404(profile_id)
    form = ProfileNameForm(name=profile.name) if request.method == "GET" else ProfileNameForm()
    if request.method == "POST" and form.validate():
        try:
            import_profiles.rename(db.session, current_user, profile, form.name.data or "")
        except import_profiles.ProfileError as error:
            form.name.errors = [str(PROFILE_PROBLEMS[error.code]) % {"name": error.name}]
        else:
            db.session.commit()
            flash(_("The profile is now called “%(name)s”.", name=profile.name), "success")
            return redirect(url_for("imports.index") + "#profiles")
    status = 400 if request.method == "POST" else 200
    return render_template("imports/profile_rename.html", profile=profile, form=form), status


@bp.route("/profiles/<int:profile_id>/delete", methods=["GET", "POST"])
def profile_delete(profile_id: int) -> tuple[str, int] | Response:
    """Asks first (GET), deletes on the confirmation (POST)."""
    profile = _profile_or_404(profile_id)
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate():
            abort(400)
        name = profile.name
        import_profiles.delete(db.session, current_user, profile)
        db.session.commit()
        flash(_("The profile “%(name)s” was deleted.", name=name), "success")
        return redirect(url_for("imports.index") + "#profiles")
    return render_template("imports/profile_delete.html", profile=profile, form=form), 200

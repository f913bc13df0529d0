"""HR imports a results file: upload -> check -> errors or preview -> confirm.

Nothing is written to results or units before "Import" is confirmed; the uploaded file waits
in `staged_import` so that any app server can take the confirmation.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from app.blueprints.admin.forms import EmptyForm
from app.blueprints.imports import bp
from app.blueprints.imports.forms import ConfirmForm, UploadForm
from app.blueprints.results import preparing
from app.extensions import db, htmx
from app.models import ImportLog, Measurement, StagedImport
from app.models.base import utcnow
from app.policy import Permission, require
from app.services import audit, imports, spreadsheets

STAGED_LIFETIME = timedelta(hours=24)
SORT_KEYS = {
    "row": lambda p: (p["row"] or 0, p["column"] or ""),
    "column": lambda p: (p["column"] or "", p["row"] or 0),
    "problem": lambda p: (p["code"], p["row"] or 0),
}


@bp.before_request
@login_required
def only_admins() -> None:
    require(Permission.ADMIN)


def _measurement_choices(form: UploadForm) -> list[Measurement]:
    measurements = list(
        db.session.scalars(
            select(Measurement)
            .options(selectinload(Measurement.questionnaire))
            .order_by(Measurement.year.desc(), Measurement.name)
        )
    )
    form.measurement_id.choices = [SelectChoice(m.id, f"{m.name} ({m.year})") for m in measurements]
    return measurements


def file_area() -> Path:
    return imports.file_area(current_app.config, current_app.instance_path)


def _chosen(form: UploadForm, measurements: list[Measurement]) -> Measurement | None:
    """The measurement the form stands on: the one chosen, else the first offered."""
    chosen = form.measurement_id.data
    return next(
        (m for m in measurements if m.id == chosen), measurements[0] if measurements else None
    )


def _index(form: UploadForm, status: int = 200) -> tuple[str, int]:
    measurements = _measurement_choices(form)
    chosen = _chosen(form, measurements)
    existing = imports.existing_results(db.session, chosen) if chosen else None
    logs = db.session.scalars(
        select(ImportLog)
        .options(selectinload(ImportLog.user), selectinload(ImportLog.measurement))
        .order_by(ImportLog.at.desc())
        .limit(50)
    ).all()
    template = "imports/_upload.html" if htmx and status != 200 else "imports/index.html"
    return render_template(
        template,
        form=form,
        measurements=measurements,
        logs=logs,
        chosen=chosen,
        existing=existing,
    ), status


@bp.get("/")
def index() -> tuple[str, int]:
    form = UploadForm()
    # ?measurement_id= : the measurement chosen (and its warning shown) without JavaScript.
    form.measurement_id.data = request.args.get("measurement_id", type=int)
    return _index(form)


@bp.get("/existing")
def existing() -> str:
    """The warning for the measurement just chosen on the upload form (htmx, on change)."""
    measurement = db.session.get(Measurement, request.args.get("measurement_id", 0, type=int))
    if measurement is None:
        abort(404)
    return render_template(
        "imports/_existing.html",
        chosen=measurement,
        existing=imports.existing_results(db.session, measurement),
    )


@bp.post("/check")
def check() -> tuple[str, int] | Response:
    form = UploadForm()
    measurements = _measurement_choices(form)
    if not form.validate_on_submit():
        return _index(form, status=400)
    measurement = next(m for m in measurements if m.id == form.measurement_id.data)
    upload = form.file.data
    content = upload.read()
    file_name = (upload.filename or "results")[:255]
    checked = imports.check(
        db.session,
        content,
        file_name=file_name,
        year=measurement.year,
        questionnaire=measurement.questionnaire,
        threshold=measurement.threshold,
        measurement=measurement,
    )
    # Old staged files of this user go: one pending upload per person is enough.
    db.session.execute(delete(StagedImport).where(StagedImport.user_id == current_user.id))
    staged = StagedImport(
        token=secrets.token_urlsafe(24),
        user_id=current_user.id,
        measurement_id=measurement.id,
        file_name=file_name,
        sha256=checked.sha256,
        size_bytes=len(content),
        stored_file=(
            imports.store_file(file_area(), content, checked.sha256) if checked.ok else None
        ),
        state="checked",
        problems=[
            {**problem, "kind": kind}
            for kind, problems in imports.problems_by_kind(checked.result).items()
            for problem in problems
        ],
        preview=checked.preview,
        ok=checked.ok,
    )
    db.session.add(staged)
    if not checked.ok:
        imports.log_rejected(db.session, current_user, checked, measurement)
    db.session.commit()
    url = url_for("imports.staged", token=staged.token)
    if htmx:
        response = make_response(_render_staged(staged, fragment=True))
        response.headers["HX-Push-Url"] = url
        return response
    return redirect(url)


def _staged_or_404(token: str) -> StagedImport:
    staged = db.session.scalar(
        select(StagedImport)
        .where(StagedImport.token == token, StagedImport.user_id == current_user.id)
        .options(selectinload(StagedImport.measurement))
    )
    if staged is None or staged.created_at.replace(tzinfo=None) < (
        utcnow() - STAGED_LIFETIME
    ).replace(tzinfo=None):
        abort(404)
    return staged


def _render_staged(
    staged: StagedImport, *, fragment: bool = False, confirm_form: ConfirmForm | None = None
) -> str:
    sort = request.args.get("sort", "row")
    key = SORT_KEYS.get(sort, SORT_KEYS["row"])
    errors = sorted((p for p in staged.problems if p["kind"] == "error"), key=key)
    others = [p for p in staged.problems if p["kind"] != "error"]
    template = "imports/_staged.html" if fragment else "imports/staged.html"
    existing = imports.existing_results(db.session, staged.measurement)
    confirm_form = confirm_form or ConfirmForm()
    confirm_form.measurement_name.flags.required = existing is not None
    return render_template(
        template,
        staged=staged,
        errors=errors,
        others=others,
        sort=sort,
        button_form=EmptyForm(),
        confirm_form=confirm_form,
        existing=existing,
    )


@bp.get("/staged/<token>")
def staged(token: str) -> str:
    return _render_staged(_staged_or_404(token))


@bp.get("/staged/<token>/errors.csv")
def errors_csv(token: str) -> Response:
    staged = _staged_or_404(token)
    language = "message_en" if request.args.get("lang") == "en" else "message_da"
    header = [_("Row"), _("Column"), _("Value found"), _("What is wrong"), _("Kind")]
    rows = [
        [
            problem["row"] or "",
            problem["column"] or "",
            problem["value"],
            problem[language],
            problem["kind"],
        ]
        for problem in sorted(staged.problems, key=SORT_KEYS["row"])
    ]
    return spreadsheets.csv_response(header, rows, "import-errors.csv")


def _same_name(typed: str | None, name: str) -> bool:
    """Typed as shown, give or take case and spaces: the point is to read the name."""
    return " ".join((typed or "").split()).casefold() == " ".join(name.split()).casefold()


@bp.post("/staged/<token>/confirm")
def confirm(token: str) -> Response | tuple[str, int]:
    staged = _staged_or_404(token)
    form = ConfirmForm()
    if not staged.ok:
        abort(400)
    if not form.validate_on_submit():  # CSRF is checked before the view: a field is too long
        return _render_staged(staged, confirm_form=form), 400
    measurement = staged.measurement
    existing = imports.existing_results(db.session, measurement)
    if existing is not None and not _same_name(form.measurement_name.data, measurement.name):
        # Nothing changes and the staged file stays: the form comes back with what was typed.
        form.measurement_name.errors = [
            _(
                "Type the measurement's name, %(name)s, to replace its results.",
                name=measurement.name,
            )
        ]
        return _render_staged(staged, confirm_form=form), 400
    # Checked again: the organisation may have changed since the preview.
    if not staged.stored_file or not (file_area() / staged.stored_file).is_file():
        abort(404)
    checked = imports.check(
        db.session,
        (file_area() / staged.stored_file).read_bytes(),
        file_name=staged.file_name,
        year=measurement.year,
        questionnaire=measurement.questionnaire,
        threshold=measurement.threshold,
        measurement=measurement,
    )
    if not checked.ok:
        flash(_("The file no longer fits the organisation. Nothing was imported."), "error")
        return redirect(url_for("imports.staged", token=token))
    log = imports.apply(
        db.session,
        current_user,
        checked,
        measurement,
        update_organisation=bool(form.update_organisation.data),
        file_area=file_area(),
    )
    db.session.delete(staged)
    db.session.commit()
    preparing.schedule()  # the results sections everyone will open, made before they do
    if log.replaced_earlier and not (existing and existing.file_kept):
        message = _("The results of %(name)s were replaced.", name=measurement.name)
    elif log.replaced_earlier:
        message = _(
            "The results of %(name)s were replaced. For 30 days the earlier import can be "
            "restored from the measurement's import history.",
            name=measurement.name,
        )
    else:
        message = _("The results of %(name)s were imported.", name=measurement.name)
    flash(message, "success")
    return redirect(url_for("imports.index"))


@bp.post("/staged/<token>/discard")
def discard(token: str) -> Response:
    staged = _staged_or_404(token)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db.session.delete(staged)
    audit.record(db.session, current_user, "import.discarded", "measurement", staged.measurement_id)
    db.session.commit()
    flash(_("The file was discarded. Nothing was imported."), "info")
    return redirect(url_for("imports.index"))

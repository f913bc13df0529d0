"""HR imports a results file: upload -> check -> errors or preview -> confirm -> imported.

The upload waits in the file area (its `staged_import` row says how far it has come), so any
app server can show it and take the confirmation. The check and the import run as background
jobs (app/services/import_jobs.py) whose progress the page polls: no request parses the file.
Nothing is written to results or units before "Import" is confirmed.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

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
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from app.blueprints.admin.forms import EmptyForm
from app.blueprints.imports import bp
from app.blueprints.imports.forms import ConfirmForm, UploadForm
from app.domain import mapping
from app.domain.importing_read import UnreadableFile
from app.extensions import db, htmx
from app.models import ImportLog, Measurement, StagedImport
from app.models.base import utcnow
from app.policy import Permission, require
from app.services import audit, import_jobs, imports, spreadsheets

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


def _english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def _refuse_upload(
    form: UploadForm,
    message: str,
    *,
    stored: import_jobs.StoredUpload | None,
    measurement: Measurement,
    file_name: str,
    file_format: str = "",
    reason: str = "",
) -> tuple[str, int]:
    """The upload form again with the file's problem on it; the file is not kept, and the
    refusal is in the import log."""
    if stored is not None:
        import_jobs.log_refused(
            db.session, current_user, measurement, file_name=file_name,
            size_bytes=stored.size_bytes, sha256=stored.sha256, file_format=file_format,
            reason=reason,
        )  # fmt: skip
        db.session.flush()
        import_jobs.remove_unused(db.session, file_area(), [stored.name])
    db.session.commit()
    form.file.errors = [message]
    return _index(form, status=400)


@bp.post("/check")
def check() -> tuple[str, int] | Response:
    """The upload: the file goes to the file area (streamed, hashed as it is written, with a
    size limit), its first rows say whether it is in Kompas's own layout (then the check
    starts in the background) or needs a mapping. No request parses the whole file."""
    form = UploadForm()
    measurements = _measurement_choices(form)
    if not form.validate_on_submit():
        return _index(form, status=400)
    measurement = next(m for m in measurements if m.id == form.measurement_id.data)
    upload = form.file.data
    file_name = (upload.filename or "results")[:255]
    area = file_area()
    # Earlier uploads of this user go (one pending upload per person), and old ones of anyone:
    # before this one is stored, which may be the very same file (shared by its SHA-256).
    import_jobs.sweep(db.session, area, user_id=current_user.id)
    limit = int(current_app.config.get("IMPORT_MAX_UPLOAD_BYTES") or 100 * 1024 * 1024)
    try:
        stored = import_jobs.store_upload(area, upload.stream, limit)
    except import_jobs.UploadTooLarge:
        return _refuse_upload(
            form,
            _(
                "The file is larger than %(size)s MB. Export the aggregate results only, or "
                "split the file by measurement.",
                size=limit // (1024 * 1024) or 1,
            ),
            stored=None, measurement=measurement, file_name=file_name,
        )  # fmt: skip
    try:
        sample = mapping.read_sample(area / stored.name)  # the first rows only: bounded
    except UnreadableFile as error:
        problem = error.problem
        return _refuse_upload(
            form, problem.message_en if _english() else problem.message_da, stored=stored,
            measurement=measurement, file_name=file_name, file_format=error.file_format,
            reason=problem.code,
        )  # fmt: skip
    except mapping.RespondentLevelFile as error:
        # Individual answers may never come in: refused, and the file is not kept.
        reason = error.reason_en if _english() else error.reason_da
        return _refuse_upload(
            form, reason, stored=stored, measurement=measurement, file_name=file_name,
            reason="respondent_level",
        )  # fmt: skip
    staged = StagedImport(
        token=secrets.token_urlsafe(24),
        user_id=current_user.id,
        measurement_id=measurement.id,
        file_name=file_name,
        sha256=stored.sha256,
        size_bytes=stored.size_bytes,
        stored_file=stored.name,
        state="uploaded",
        problems=[],
        preview={},
        ok=False,
    )
    db.session.add(staged)
    db.session.flush()
    if mapping.is_native(sample):
        import_jobs.start_check(db.session, staged)
        db.session.commit()
        import_jobs.submit(staged)
    else:
        db.session.commit()
        target = url_for("imports.mapping", token=staged.token)
        if htmx:
            response = make_response("", 204)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)
    url = url_for("imports.staged", token=staged.token)
    if htmx:
        db.session.refresh(staged)
        response = make_response(render_staged(staged, fragment=True, in_index=True))
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
        utcnow() - import_jobs.STAGED_LIFETIME
    ).replace(tzinfo=None):
        abort(404)
    if import_jobs.fail_if_orphaned(db.session, staged):
        db.session.commit()  # a job a stopped process left: the page says so, not spin
        db.session.refresh(staged)
    return staged


PHASES = {
    "queued": _l("Waiting to start"),
    "converting": _l("Converting the file"),
    "reading": _l("Reading the file"),
    "validating": _l("Checking"),
    "writing": _l("Writing the results"),
    "figures": _l("Calculating figures and anonymity"),
    "alerts": _l("Opening alerts"),
    "done": _l("Finishing"),
}
FAILURES = {
    "interrupted": _l(
        "The work on the file stopped before it was done (the server was restarted). "
        "Nothing was imported."
    ),
    "no_longer_fits": _l(
        "The file no longer fits the organisation, which has changed since the check. "
        "Nothing was imported."
    ),
    "file_missing": _l("The uploaded file is no longer kept. Nothing was imported."),
    "restore_refused": _l("The earlier import could not be restored. Nothing was changed."),
    "error": _l("Something went wrong while the file was read or imported. Nothing was imported."),
}


def _done_message(staged: StagedImport) -> str:
    """What an import did, in words: imported, or replaced (and whether it can be undone)."""
    measurement = staged.measurement
    if (staged.preview or {}).get("restore_of") is not None:
        return _(
            "The import of %(file)s was restored. Follow-ups and plans were kept.",
            file=staged.file_name,
        )
    entry = db.session.get(ImportLog, staged.import_log_id) if staged.import_log_id else None
    if entry is None or not entry.replaced_earlier:
        return _("The results of %(name)s were imported.", name=measurement.name)
    restorable = imports.restorable_logs(db.session, measurement.id, file_area(), utcnow())
    if not restorable:
        return _("The results of %(name)s were replaced.", name=measurement.name)
    return _(
        "The results of %(name)s were replaced. For 30 days the earlier import can be "
        "restored from the measurement's import history.",
        name=measurement.name,
    )


def render_staged(
    staged: StagedImport,
    *,
    fragment: bool = False,
    confirm_form: ConfirmForm | None = None,
    in_index: bool = False,
    template: str | None = None,
) -> str:
    sort = request.args.get("sort", "row")
    key = SORT_KEYS.get(sort, SORT_KEYS["row"])
    errors = sorted((p for p in staged.problems if p["kind"] == "error"), key=key)
    others = [p for p in staged.problems if p["kind"] != "error"]
    template = template or ("imports/_staged.html" if fragment else "imports/staged.html")
    existing = (
        imports.existing_results(db.session, staged.measurement)
        if staged.state == "checked"
        else None
    )
    confirm_form = confirm_form or ConfirmForm()
    confirm_form.measurement_name.flags.required = existing is not None
    phase, progress = import_jobs.live(staged)
    restore: dict[str, Any] = {}
    earlier_id = import_jobs.restoring(staged)
    if earlier_id is not None:  # "Gendan": the earlier import and the one it replaces
        earlier = db.session.get(ImportLog, earlier_id)
        logs = imports.imported_logs(db.session, staged.measurement_id)
        restore = {"log": earlier, "current": logs[-1] if logs else None}
    return render_template(
        template,
        restore=restore,
        staged=staged,
        errors=errors,
        others=others,
        sort=sort,
        button_form=EmptyForm(),
        confirm_form=confirm_form,
        existing=existing,
        running=staged.state in import_jobs.RUNNING,
        phase_text=PHASES.get(phase, PHASES["queued"]),
        progress=progress,
        failure=FAILURES.get(staged.error, FAILURES["error"]) if staged.state == "failed" else "",
        done_message=_done_message(staged) if staged.state == "imported" else "",
        in_index=in_index,
        mapping_url=url_for("imports.mapping", token=staged.token),
    )


@bp.get("/staged/<token>")
def staged(token: str) -> str | Response:
    """The upload's page: its progress while it is checked or imported (htmx polls the
    progress part every second, and a link refreshes it without JavaScript), then the check,
    the import done, or why it failed."""
    staged = _staged_or_404(token)
    in_index = request.args.get("view") == "index"
    if htmx and request.args.get("part") == "progress":
        if staged.state in import_jobs.RUNNING:
            return make_response(
                render_staged(staged, in_index=in_index, template="imports/_progress.html")
            )
        # Done: the whole upload area makes way for the outcome, and the polling stops.
        response = make_response(render_staged(staged, fragment=True, in_index=in_index))
        response.headers["HX-Retarget"] = "#upload"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    if staged.state == "uploaded":  # waits for its mapping
        return redirect(url_for("imports.mapping", token=staged.token))
    return make_response(render_staged(staged))


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
    """'Import': the import starts in the background and the page shows its progress. A
    second confirm (a double click, another tab) starts nothing: it shows the first."""
    staged = _staged_or_404(token)
    url = url_for("imports.staged", token=token)
    if staged.state in ("checking", "importing", "imported"):
        return redirect(url)  # not checked yet, or imported already: its page says how far
    form = ConfirmForm()
    if staged.state != "checked" or not staged.ok:
        abort(400)
    if not form.validate_on_submit():  # CSRF is checked before the view: a field is too long
        return render_staged(staged, confirm_form=form), 400
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
        return render_staged(staged, confirm_form=form), 400
    if import_jobs.start_import(
        db.session, staged, update_organisation=bool(form.update_organisation.data)
    ):
        db.session.commit()
        import_jobs.submit(staged)
    else:
        db.session.rollback()  # a second confirm: the first one's import runs
    return redirect(url)


@bp.post("/staged/<token>/discard")
def discard(token: str) -> Response:
    staged = _staged_or_404(token)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if staged.state in import_jobs.RUNNING:
        abort(400)  # a job works on it: it ends by itself, then it can go
    measurement_id = staged.measurement_id
    imported = staged.state == "imported"
    import_jobs.discard(db.session, file_area(), staged)
    if not imported:
        audit.record(db.session, current_user, "import.discarded", "measurement", measurement_id)
    db.session.commit()
    if not imported:
        flash(_("The file was discarded. Nothing was imported."), "info")
    return redirect(url_for("imports.index"))

"""Bulk import of users and roles: upload, preview with each row's outcome, confirm.

Between preview and confirm the rows travel in a signed, timed token in the confirm form
(nothing is stored half-way, nothing is lost by reloading the preview); confirm checks the
rows again before it imports them.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, Length

from app.blueprints.admin import bp
from app.blueprints.admin.routes import invite
from app.extensions import db
from app.forms import KompasForm
from app.models import Role
from app.services import audit, user_import
from app.services import organisation as organisation_service
from app.services.mail import deliver
from app.vocabulary import role_label

STAGED_HOURS = 2


class UserImportForm(KompasForm):
    file = FileField(
        _l("File (CSV or XLSX)"),
        validators=[FileRequired(message=_l("Choose the file with the users."))],
        description=_l(
            "One row a role, under a header row: name, e-mail, unit code, role (Danish "
            "headers work too: navn, e-mail, enhed, rolle). At most %(rows)d rows.",
            rows=user_import.MAX_ROWS,
        ),
    )


class ConfirmUserImportForm(KompasForm):
    staged = HiddenField(validators=[DataRequired(), Length(max=4_000_000)])
    invite = BooleanField(
        _l("Send an invitation e-mail to each new user, with a link to set the password"),
        default=True,
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="user-import")


def _stage(rows: list[user_import.ImportRow]) -> str:
    cells = [[row.line, *row.cells()] for row in rows]
    return _serializer().dumps({"by": current_user.id, "rows": cells})


def _unstage(token: str) -> list[user_import.ImportRow] | None:
    try:
        data = _serializer().loads(token, max_age=STAGED_HOURS * 3600)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or data.get("by") != current_user.id:
        return None
    rows = data.get("rows")
    return user_import.rows_from_cells(rows) if isinstance(rows, list) else None


def _upload_page(form: UserImportForm, status: int = 200) -> tuple[str, int]:
    roles = [str(role_label(role)) for role in Role]
    return render_template(
        "admin/user_import.html",
        form=form,
        roles=roles,
        role_label=role_label,
        example_code=organisation_service.example_unit_code(db.session) or "A1",
    ), status


@bp.get("/users/import")
def import_users() -> tuple[str, int]:
    return _upload_page(UserImportForm())


@bp.post("/users/import")
def preview_users() -> tuple[str, int]:
    form = UserImportForm()
    if not form.validate_on_submit():
        return _upload_page(form, 400)
    try:
        rows = user_import.read_rows(form.file.data.stream)
    except user_import.UserImportError as unusable:
        form.file.errors = [str(unusable)]
        return _upload_page(form, 400)
    user_import.check(db.session, rows)
    confirm = ConfirmUserImportForm(formdata=None)
    confirm.staged.data = _stage(rows)
    return _render_preview(rows, confirm)


def _render_preview(
    rows: list[user_import.ImportRow], confirm: ConfirmUserImportForm, status: int = 200
) -> tuple[str, int]:
    good = [row for row in rows if row.ok]
    return render_template(
        "admin/user_import_preview.html",
        rows=rows,
        bad=[row for row in rows if not row.ok],
        new_users=len({row.email for row in good if not row.existing}),
        new_roles=sum(1 for row in good if not row.already),
        confirm=confirm,
        role_label=role_label,
    ), status


@bp.post("/users/import/confirm")
def confirm_users() -> tuple[str, int] | Response:
    confirm = ConfirmUserImportForm()
    if not confirm.validate_on_submit():
        abort(400)
    rows = _unstage(confirm.staged.data or "")
    if rows is None:
        flash(_("The preview is too old. Upload the file again."), "error")
        return redirect(url_for("admin.import_users"))
    result = user_import.apply(db.session, current_user, rows)
    invitations = [invite(user) for user in result.created] if confirm.invite.data else []
    audit.record(
        db.session,
        current_user,
        "user.bulk_imported",
        "user",
        created=len(result.created),
        roles_added=result.roles_added,
        skipped=result.skipped,
        invited=len(invitations),
    )
    db.session.commit()
    if invitations:
        deliver(invitations, current_app.config)
    flash(
        _(
            "Imported: %(users)d new users, %(roles)d roles added, %(skipped)d rows left out. "
            "%(invited)d invitations sent.",
            users=len(result.created),
            roles=result.roles_added,
            skipped=result.skipped,
            invited=len(invitations),
        ),
        "success",
    )
    return redirect(url_for("admin.users"))

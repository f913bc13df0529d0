from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager, selectinload
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app.blueprints.admin import bp
from app.blueprints.admin.forms import EmptyForm, MeasurementForm, RoleForm, UserForm
from app.extensions import db
from app.models import (
    Action,
    Measurement,
    Organisation,
    Questionnaire,
    Role,
    RoleAssignment,
    Unit,
    User,
)
from app.models.org import organisation_value
from app.policy import Permission, current_access, require
from app.services import audit, passwords, spreadsheets, user_mail
from app.services import organisation as organisation_service
from app.services import release as release_service
from app.services.mail import Mail, deliver
from app.services.users import (
    UNDO_DAYS,
    UserError,
    assign_role,
    create_user,
    mark_deleted,
    remove_role,
    set_active,
    undo_delete,
    undo_until,
)
from app.vocabulary import offered_questionnaire, role_label

USERS_PER_PAGE = 50


@bp.before_request
@login_required
def only_admins() -> None:
    require(Permission.ADMIN)


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, str(role_label(role))) for role in Role]


@bp.get("/users")
def users() -> str:
    return _render_users(UserForm(), request.args.get("q", "").strip())[0]


def _render_users(form: UserForm, query: str, status: int = 200) -> tuple[str, int]:
    """The users list (deleted users apart, with their undo while it lasts)."""
    stmt = (
        select(User)
        .where(User.deleted_at.is_(None))
        .options(selectinload(User.roles).selectinload(RoleAssignment.unit))
    )
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    page = db.paginate(stmt.order_by(User.name), per_page=USERS_PER_PAGE, error_out=False)
    undo_from = datetime.now(UTC) - timedelta(days=UNDO_DAYS)
    deleted = db.session.scalars(
        select(User)
        .where(User.deleted_at.is_not(None), User.deleted_at > undo_from)
        .order_by(User.deleted_at.desc())
        .limit(USERS_PER_PAGE)
    ).all()
    return render_template(
        "admin/users.html",
        page=page,
        query=query,
        form=form,
        role_label=role_label,
        deleted=deleted,
        undo_until=undo_until,
        button_form=EmptyForm(),
    ), status


@bp.post("/users")
def create() -> str | Response:
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                db.session,
                current_user,
                email=form.email.data or "",
                name=form.name.data or "",
                language=form.language.data or "da",
            )
        except UserError:
            form.email.errors = [_("A user with this e-mail exists already.")]
        else:
            invitation = invite(user) if form.invite.data else None
            db.session.commit()
            if invitation is not None:
                deliver([invitation], current_app.config)
                flash(
                    _(
                        "%(name)s was created and invited by e-mail. Give them a role.",
                        name=user.name,
                    ),
                    "success",
                )
            else:
                flash(
                    _(
                        "%(name)s was created. Give them a role and send an invitation.",
                        name=user.name,
                    ),
                    "success",
                )
            return redirect(url_for("admin.user", user_id=user.id))
    return _render_users(form, query="", status=400)  # type: ignore[return-value]


def invite(user: User) -> Mail:
    """A new set-password link (older ones stop working) in an invitation e-mail; the caller
    commits, then sends."""
    token = passwords.make_set_password_token(user)
    user.invited_at = datetime.now(UTC)
    audit.record(db.session, current_user, "user.invited", "user", user.id)
    link = url_for("auth.set_password", token=token, _external=True)
    organisation = organisation_value(db.session, Organisation.name)
    return user_mail.invitation(
        user, link, current_app.config["SET_PASSWORD_LINK_HOURS"], organisation or ""
    )


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _render_user(
    user: User, role_form: RoleForm | None = None, link: str | None = None, status: int = 200
) -> tuple[str, int]:
    role_form = role_form or RoleForm()
    role_form.role.choices = _role_choices()
    example = organisation_service.example_unit_code(db.session)
    if example:
        role_form.unit_code.description = _(
            "The unit id, e.g. %(code)s. Start typing to pick from the list.", code=example
        )
    # The roles with their units in one query (a join, not a second select).
    assignments = db.session.scalars(
        select(RoleAssignment)
        .join(RoleAssignment.unit)
        .where(RoleAssignment.user_id == user.id)
        .options(contains_eager(RoleAssignment.unit))
        .order_by(RoleAssignment.id)
    ).all()
    unit_options = db.session.execute(
        select(Unit.code, Unit.name).where(Unit.active).order_by(Unit.code).limit(5000)
    ).all()
    return render_template(
        "admin/user.html",
        user=user,
        assignments=assignments,
        role_form=role_form,
        button_form=EmptyForm(),
        unit_options=unit_options,
        link=link,
        role_label=role_label,
        undo_until=undo_until,
        undo_days=UNDO_DAYS,
    ), status


@bp.get("/users/<int:user_id>")
def user(user_id: int) -> tuple[str, int]:
    return _render_user(_user_or_404(user_id))


@bp.post("/users/<int:user_id>/roles")
def add_role(user_id: int) -> tuple[str, int] | Response:
    user = _user_or_404(user_id)
    form = RoleForm()
    form.role.choices = _role_choices()
    if form.validate_on_submit():
        unit = db.session.scalar(
            select(Unit).where(Unit.code == (form.unit_code.data or "").strip())
        )
        if unit is None:
            form.unit_code.errors = [_("There is no unit with this id.")]
        else:
            added = assign_role(db.session, current_user, user, unit, Role(form.role.data))
            db.session.commit()
            if added:
                flash(_("The role was added."), "success")
            else:
                flash(_("%(name)s holds this role on this unit already.", name=user.name), "info")
            return redirect(url_for("admin.user", user_id=user.id))
    return _render_user(user, role_form=form, status=400)


@bp.post("/users/<int:user_id>/roles/<int:assignment_id>/delete")
def delete_role(user_id: int, assignment_id: int) -> Response:
    if not EmptyForm().validate_on_submit():
        abort(400)
    assignment = db.session.get(RoleAssignment, assignment_id)
    if assignment is None or assignment.user_id != user_id:
        abort(404)
    try:
        remove_role(db.session, current_user, assignment)
    except UserError:
        flash(
            _("You are the last administrator: make someone else an administrator first."),
            "error",
        )
        return redirect(url_for("admin.user", user_id=user_id))
    db.session.commit()
    flash(_("The role was removed."), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/active")
def toggle_active(user_id: int) -> Response:
    user = _user_or_404(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        set_active(db.session, current_user, user, not user.active)
    except UserError as refused:
        flash(
            _("%(name)s is deleted: undo the deletion to bring them back.", name=user.name)
            if str(refused) == "deleted"
            else _("You cannot deactivate yourself."),
            "error",
        )
        return redirect(url_for("admin.user", user_id=user.id))
    db.session.commit()
    flash(
        _("%(name)s was activated.", name=user.name)
        if user.active
        else _("%(name)s was deactivated and can no longer sign in.", name=user.name),
        "success",
    )
    return redirect(url_for("admin.user", user_id=user.id))


@bp.post("/users/<int:user_id>/set-password-link")
def set_password_link(user_id: int) -> tuple[str, int]:
    user = _user_or_404(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    token = passwords.make_set_password_token(user)  # ends the user's sessions, older links
    audit.record(db.session, current_user, "user.set_password_link", "user", user.id)
    db.session.commit()
    if user.id == current_user.id:
        login_user(user)  # an admin making their own link stays signed in here
    link = url_for("auth.set_password", token=token, _external=True)
    return _render_user(user, link=link)


@bp.post("/users/<int:user_id>/invite")
def invite_again(user_id: int) -> Response:
    """Send the invitation e-mail again, with a new link (the older one stops working)."""
    user = _user_or_404(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not user.active:
        flash(_("%(name)s is deactivated: activate them first.", name=user.name), "error")
        return redirect(url_for("admin.user", user_id=user.id))
    invitation = invite(user)
    db.session.commit()
    if user.id == current_user.id:
        login_user(user)  # an admin inviting themself stays signed in here
    deliver([invitation], current_app.config)
    flash(_("The invitation was sent to %(email)s.", email=user.email), "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.get("/measurements")
def measurements() -> str:
    return _render_measurements(MeasurementForm())[0]


def _choices(form: MeasurementForm, current: Measurement | None = None) -> None:
    questionnaires = db.session.scalars(select(Questionnaire).order_by(Questionnaire.name)).all()
    form.questionnaire_id.choices = [
        SelectChoice(q.id, q.name)
        for q in questionnaires
        if offered_questionnaire(q.code) or (current and current.questionnaire_id == q.id)
    ]
    others = db.session.scalars(
        select(Measurement).order_by(Measurement.year.desc(), Measurement.name)
    ).all()
    form.remeasure_of_id.choices = [SelectChoice(0, str(_("— not a re-measurement —")))] + [
        SelectChoice(m.id, m.name) for m in others if current is None or m.id != current.id
    ]


def _render_measurements(form: MeasurementForm, status: int = 200) -> tuple[str, int]:
    _choices(form)
    rows = db.session.scalars(
        select(Measurement)
        .options(selectinload(Measurement.questionnaire))
        .order_by(Measurement.year.desc(), Measurement.name)
    ).all()
    return render_template("admin/measurements.html", form=form, measurements=rows), status


def _apply_form(form: MeasurementForm, measurement: Measurement) -> None:
    form.populate_obj(measurement)
    measurement.name = (form.name.data or "").strip()
    measurement.remeasure_of_id = form.remeasure_of_id.data or None
    for name in ("yellow_from", "green_from", "psychological_safety_cutoff"):
        setattr(measurement, name, float(getattr(form, name).data))


@bp.post("/measurements")
def create_measurement() -> tuple[str, int] | Response:
    form = MeasurementForm()
    _choices(form)
    if form.validate_on_submit():
        name = (form.name.data or "").strip()
        if db.session.scalar(select(Measurement.id).where(Measurement.name == name)):
            form.name.errors = [_("A measurement with this name exists already.")]
        else:
            measurement = Measurement(name=name)
            _apply_form(form, measurement)
            db.session.add(measurement)
            db.session.flush()
            audit.record(
                db.session,
                current_user,
                "measurement.created",
                "measurement",
                measurement.id,
                name=name,
            )
            db.session.commit()
            flash(_("The measurement %(name)s was created.", name=name), "success")
            return redirect(url_for("admin.measurements"))
    return _render_measurements(form, status=400)


@bp.route("/measurements/<int:measurement_id>", methods=["GET", "POST"])
def measurement(measurement_id: int) -> tuple[str, int] | Response:
    """Edit a measurement's timeline and rules; its figures are recomputed with the new
    cut-offs, so traffic lights and alerts follow at once."""
    from app.services import alerts
    from app.services.figures import compute_figures

    record = db.session.get(Measurement, measurement_id)
    if record is None:
        abort(404)
    form = MeasurementForm(obj=record) if request.method == "GET" else MeasurementForm()
    if request.method == "GET":
        form.remeasure_of_id.data = record.remeasure_of_id or 0
    _choices(form, record)
    status = 200
    if request.method == "POST":
        name = (form.name.data or "").strip()
        clash = db.session.scalar(
            select(Measurement.id).where(Measurement.name == name, Measurement.id != record.id)
        )
        if form.validate_on_submit() and not clash:
            had_results = record.figures_computed_at is not None
            questionnaire_before = record.questionnaire_id
            _apply_form(form, record)
            record.questionnaire_id = questionnaire_before  # results hang on its questions
            if had_results:
                outcome = compute_figures(db.session, record, current_user)
                if outcome.ok:
                    alerts.open_alerts(db.session, record, raised_codes=outcome.raised)
            audit.record(
                db.session,
                current_user,
                "measurement.changed",
                "measurement",
                record.id,
                name=record.name,
            )
            db.session.commit()
            flash(_("The measurement %(name)s was saved.", name=record.name), "success")
            return redirect(url_for("admin.measurements"))
        if clash:
            form.name.errors = [_("A measurement with this name exists already.")]
        status = 400
    access = current_access()
    return render_template(
        "admin/measurement.html",
        form=form,
        record=record,
        measurement=record,
        release=release_service.status(db.session, record, held=access.hold_results),
        may_release=access.may_release_results(db.session),
    ), status


@bp.get("/users/<int:user_id>/export.json")
def export_user(user_id: int) -> Response:
    """Everything Kompas holds about one person (the right of access)."""
    import json

    from app.services.retention import export_user as collect

    user = _user_or_404(user_id)
    audit.record(db.session, current_user, "user.exported", "user", user.id)
    db.session.commit()
    response = make_response(json.dumps(collect(db.session, user), ensure_ascii=False, indent=1))
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = spreadsheets.content_disposition(
        f"kompas-user-{user.id}.json"
    )
    return response


@bp.route("/users/<int:user_id>/delete", methods=["GET", "POST"])
def delete_user(user_id: int) -> str | Response:
    """Asks first (GET: what happens), then deletes undoably: the account is deactivated at
    once and deleted for good by the retention purge after UNDO_DAYS days."""
    user = _user_or_404(user_id)
    if request.method == "GET":
        if user.deleted_at is not None:
            return redirect(url_for("admin.user", user_id=user.id))
        owned = db.session.scalar(
            select(func.count(Action.id)).where(
                Action.owner_user_id == user.id, Action.deleted_at.is_(None)
            )
        )
        return render_template(
            "admin/user_delete.html",
            user=user,
            owned=owned or 0,
            days=UNDO_DAYS,
            button_form=EmptyForm(),
        )
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        mark_deleted(db.session, current_user, user, datetime.now(UTC))
    except UserError as refused:
        flash(
            _("You cannot delete yourself.")
            if str(refused) == "self"
            else _("You are the last administrator: make someone else an administrator first."),
            "error",
        )
        return redirect(url_for("admin.user", user_id=user.id))
    db.session.commit()
    flash(
        _(
            "%(name)s was deleted and can no longer sign in. You can undo this for %(n)d days.",
            name=user.name,
            n=UNDO_DAYS,
        ),
        "success",
    )
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/undelete")
def undelete_user(user_id: int) -> Response:
    user = _user_or_404(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        undo_delete(db.session, current_user, user, datetime.now(UTC))
    except UserError:
        flash(_("The deletion can no longer be undone."), "error")
        return redirect(url_for("admin.users"))
    db.session.commit()
    flash(_("%(name)s is back, with their roles.", name=user.name), "success")
    return redirect(url_for("admin.user", user_id=user.id))

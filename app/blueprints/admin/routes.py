from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app.blueprints.admin import bp
from app.blueprints.admin.forms import EmptyForm, MeasurementForm, RoleForm, UserForm
from app.extensions import db
from app.models import Measurement, Questionnaire, Role, RoleAssignment, Unit, User
from app.policy import Action, require
from app.services import audit, passwords
from app.services.users import (
    UserError,
    assign_role,
    create_user,
    remove_role,
    set_active,
)
from app.vocabulary import role_label

USERS_PER_PAGE = 50


@bp.before_request
@login_required
def only_admins() -> None:
    require(Action.ADMIN)


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, str(role_label(role))) for role in Role]


@bp.get("/users")
def users() -> str:
    query = request.args.get("q", "").strip()
    stmt = select(User).options(selectinload(User.roles).selectinload(RoleAssignment.unit))
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    page = db.paginate(stmt.order_by(User.name), per_page=USERS_PER_PAGE, error_out=False)
    return render_template(
        "admin/users.html", page=page, query=query, form=UserForm(), role_label=role_label
    )


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
            db.session.commit()
            flash(
                _(
                    "%(name)s was created. Give them a role and a set-password link.",
                    name=user.name,
                ),
                "success",
            )
            return redirect(url_for("admin.user", user_id=user.id))
    page = db.paginate(select(User).order_by(User.name), per_page=USERS_PER_PAGE, error_out=False)
    return render_template(
        "admin/users.html", page=page, query="", form=form, role_label=role_label
    ), 400  # type: ignore[return-value]


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
    assignments = db.session.scalars(
        select(RoleAssignment)
        .where(RoleAssignment.user_id == user.id)
        .options(selectinload(RoleAssignment.unit))
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
    remove_role(db.session, current_user, assignment)
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
    except UserError:
        flash(_("You cannot deactivate yourself."), "error")
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
    token = passwords.make_set_password_token(user)
    audit.record(db.session, current_user, "user.set_password_link", "user", user.id)
    db.session.commit()
    link = url_for("auth.set_password", token=token, _external=True)
    return _render_user(user, link=link)


@bp.get("/measurements")
def measurements() -> str:
    return _render_measurements(MeasurementForm())[0]


def _render_measurements(form: MeasurementForm, status: int = 200) -> tuple[str, int]:
    questionnaires = db.session.scalars(select(Questionnaire).order_by(Questionnaire.name)).all()
    form.questionnaire_id.choices = [SelectChoice(q.id, q.name) for q in questionnaires]
    rows = db.session.scalars(
        select(Measurement)
        .options(selectinload(Measurement.questionnaire))
        .order_by(Measurement.year.desc(), Measurement.name)
    ).all()
    return render_template("admin/measurements.html", form=form, measurements=rows), status


@bp.post("/measurements")
def create_measurement() -> tuple[str, int] | Response:
    form = MeasurementForm()
    questionnaire_ids = set(db.session.scalars(select(Questionnaire.id)))
    form.questionnaire_id.choices = [SelectChoice(q, str(q)) for q in questionnaire_ids]
    if form.validate_on_submit():
        name = (form.name.data or "").strip()
        if db.session.scalar(select(Measurement.id).where(Measurement.name == name)):
            form.name.errors = [_("A measurement with this name exists already.")]
        else:
            measurement = Measurement(name=name)
            form.populate_obj(measurement)
            measurement.name = name
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

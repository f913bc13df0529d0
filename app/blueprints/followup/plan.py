"""The action plan in one place (issue 18): themes and actions added, edited and deleted where
the plan is made, a dialogue proposal made an action with its owner and deadline, and the
plan printed for the notice board and the APV file.

Editing and deleting swap the very fragment the page includes (htmx); without JavaScript the
same links and forms lead to a page of their own and back. Deleting asks first and can be
undone ("Fortryd") for services.plan.UNDO_DAYS days.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app.blueprints.admin.forms import EmptyForm
from app.blueprints.followup import bp
from app.blueprints.followup.forms import ActionForm, StatusForm, ThemeForm
from app.blueprints.followup.routes import (
    STATUS_LABELS,
    _common,
    _context,
    _followup_or_404,
)
from app.extensions import db, htmx
from app.models import (
    Action,
    FollowUp,
    Measurement,
    OrganisationKind,
    PlanTheme,
    Step,
    Unit,
    User,
)
from app.policy import Permission as Can
from app.services import followup as service
from app.services import plan as plan_service
from app.services import spreadsheets
from app.vocabulary import organisation_kind


def owner_select(unit: Unit, keep: User | None = None) -> list[SelectChoice]:
    """The owner list of a form: the unit's people (services.plan.owner_choices)."""
    return [SelectChoice(0, str(_("— nobody chosen —")))] + [
        SelectChoice(u.id, u.name) for u in plan_service.owner_choices(db.session, unit, keep=keep)
    ]


def _theme_select(follow_up: FollowUp) -> list[SelectChoice]:
    return [SelectChoice(0, str(_("— no theme —")))] + [
        SelectChoice(t.id, t.title) for t in follow_up.themes
    ]


def _action_form(
    follow_up: FollowUp, unit: Unit, prefix: str, action: Action | None = None
) -> ActionForm:
    """An action's form: from the request on a POST, else from `action` (or empty)."""
    if request.method == "POST" or action is None:
        form = ActionForm(prefix=prefix)
    else:
        form = ActionForm(prefix=prefix, obj=action)
        form.theme_id.data = action.theme_id or 0
        form.owner_user_id.data = action.owner_user_id or 0
    form.theme_id.choices = _theme_select(follow_up)
    form.owner_user_id.choices = owner_select(unit, action.owner if action else None)
    return form


def _plan_url(measurement: Measurement, unit: Unit, anchor: str = "") -> str:
    url = url_for("followup.step", measurement_id=measurement.id, code=unit.code, step="plan")
    return url + (f"#{anchor}" if anchor else "")


def _fragment_context(measurement: Measurement, unit: Unit, follow_up: FollowUp) -> dict[str, Any]:
    return {
        "status_form": StatusForm(),
        "undo_days": plan_service.UNDO_DAYS,
        "button_form": EmptyForm(),
        **_common(measurement, unit, follow_up),
    }


def plan(
    measurement_id: int,
    code: str,
    theme_form: ThemeForm | None = None,
    action_form: ActionForm | None = None,
    status: int = 200,
) -> Any:
    measurement, unit = _context(measurement_id, code, Can.VIEW_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    if action_form is None:
        action_form = _action_form(follow_up, unit, "action")
    else:
        action_form.theme_id.choices = _theme_select(follow_up)
        action_form.owner_user_id.choices = owner_select(unit)
    figures = service.unit_figures(db.session, measurement, unit)
    unthemed = db.session.scalars(
        select(Action)
        .where(
            Action.follow_up_id == follow_up.id,
            Action.theme_id.is_(None),
            Action.deleted_at.is_(None),
        )
        .order_by(Action.id)
    ).all()
    escalated_here = db.session.scalars(
        select(Action).where(Action.escalated_to_unit_id == unit.id, Action.deleted_at.is_(None))
    ).all()
    return render_template(
        "followup/plan.html",
        theme_form=theme_form or ThemeForm(prefix="theme"),
        action_form=action_form,
        figures=figures,
        unthemed=unthemed,
        escalated_here=escalated_here,
        deleted_actions=plan_service.deleted_actions(db.session, follow_up),
        deleted_themes=plan_service.deleted_themes(follow_up),
        record=service.step_of(follow_up, Step.PLAN),
        active_step=Step.PLAN,
        **_fragment_context(measurement, unit, follow_up),
    ), status


@bp.post("/<int:measurement_id>/<code>/plan/themes")
@login_required
def add_theme(measurement_id: int, code: str) -> Any:
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    form = ThemeForm(prefix="theme")
    if not form.validate_on_submit():
        return plan(measurement_id, code, theme_form=form, status=400)
    figures = service.unit_figures(db.session, measurement, unit)
    title = (form.title.data or "").strip()
    current = figures.indicators.get(title) if figures is not None and figures.shown else None
    service.add_theme(
        db.session,
        current_user,
        follow_up,
        title=title,
        current_score=current,
        target_score=float(form.target_score.data) if form.target_score.data is not None else None,
        goal=form.goal.data or "",
        approach=form.approach.data or "",
    )
    service.save_step(db.session, current_user, follow_up, Step.PLAN, {})
    db.session.commit()
    flash(_("The theme was added."), "success")
    return redirect(_plan_url(measurement, unit, "themes"))


@bp.post("/<int:measurement_id>/<code>/plan/actions")
@login_required
def add_action(measurement_id: int, code: str) -> Any:
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    form = _action_form(follow_up, unit, "action")
    if not form.validate_on_submit():
        return plan(measurement_id, code, action_form=form, status=400)
    theme = next((t for t in follow_up.themes if t.id == form.theme_id.data), None)
    owner = db.session.get(User, form.owner_user_id.data) if form.owner_user_id.data else None
    service.add_action(
        db.session,
        current_user,
        follow_up,
        title=form.title.data or "",
        theme=theme,
        owner=owner,
        owner_name=form.owner_name.data or "",
        deadline=form.deadline.data,
    )
    service.save_step(db.session, current_user, follow_up, Step.PLAN, {})
    db.session.commit()
    flash(_("The action was added."), "success")
    return redirect(_plan_url(measurement, unit, "actions"))


# --- a dialogue proposal becomes an action ------------------------------------------------------


def _proposals(follow_up: FollowUp) -> list[str]:
    record = service.step_of(follow_up, Step.DIALOGUE)
    proposals = [p.strip() for p in (record.data or {}).get("proposals", "").splitlines()]
    return [p for p in proposals if p]


def proposal_form(follow_up: FollowUp, unit: Unit, index: int, text: str) -> ActionForm:
    """The form that makes proposal `index` an action: its text, a theme, owner, deadline."""
    form = _action_form(follow_up, unit, f"proposal-{index}")
    if request.method != "POST":
        form.title.data = text[:300]
    return form


@bp.route("/<int:measurement_id>/<code>/dialogue/proposals/<int:index>", methods=["GET", "POST"])
@login_required
def proposal_to_action(measurement_id: int, code: str, index: int) -> Any:
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    proposals = _proposals(follow_up)
    if not 0 <= index < len(proposals):
        abort(404)
    record = service.step_of(follow_up, Step.DIALOGUE)
    form = proposal_form(follow_up, unit, index, proposals[index])
    if form.validate_on_submit():
        theme = next((t for t in follow_up.themes if t.id == form.theme_id.data), None)
        owner = db.session.get(User, form.owner_user_id.data) if form.owner_user_id.data else None
        service.add_action(
            db.session,
            current_user,
            follow_up,
            title=form.title.data or "",
            theme=theme,
            owner=owner,
            owner_name=form.owner_name.data or "",
            deadline=form.deadline.data,
        )
        converted = set((record.data or {}).get("converted", []))
        converted.add(index)
        record.data = {**record.data, "converted": sorted(converted)}
        db.session.commit()
        flash(_("The proposal is now an action in the action plan."), "success")
        return redirect(
            url_for("followup.step", measurement_id=measurement.id, code=unit.code, step="dialogue")
            + "#proposals"
        )
    # A GET, or what was typed with what must be corrected: a page of its own (htmx: the
    # form alone, in place of the proposal's button).
    return render_template(
        "followup/_proposal_form.html"
        if htmx and request.method == "GET"
        else "followup/proposal.html",
        form=form,
        proposal=proposals[index],
        index=index,
        **_common(measurement, unit, follow_up),
    ), (400 if request.method == "POST" else 200)


# --- themes: edit, delete, undo -------------------------------------------------------------


def _theme_or_404(follow_up: FollowUp, theme_id: int) -> PlanTheme:
    theme = next((t for t in follow_up.themes if t.id == theme_id), None)
    if theme is None:
        abort(404)
    return theme


def _theme_fragment(
    measurement: Measurement, unit: Unit, follow_up: FollowUp, theme: PlanTheme, **extra: Any
) -> str:
    return render_template(
        "followup/_plan_theme.html",
        theme=theme,
        **extra,
        **_fragment_context(measurement, unit, follow_up),
    )


@bp.get("/<int:measurement_id>/<code>/plan/themes/<int:theme_id>")
@login_required
def theme(measurement_id: int, code: str, theme_id: int) -> Any:
    """One theme as the plan shows it (what "Cancel" swaps back in)."""
    measurement, unit = _context(measurement_id, code, Can.VIEW_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    found = _theme_or_404(follow_up, theme_id)
    if not htmx:
        return redirect(_plan_url(measurement, unit, f"theme-{found.id}"))
    return _theme_fragment(measurement, unit, follow_up, found)


@bp.route("/<int:measurement_id>/<code>/plan/themes/<int:theme_id>/edit", methods=["GET", "POST"])
@login_required
def edit_theme(measurement_id: int, code: str, theme_id: int) -> Any:
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    found = _theme_or_404(follow_up, theme_id)
    prefix = f"theme-{found.id}"
    form = (
        ThemeForm(prefix=prefix)
        if request.method == "POST"
        else ThemeForm(prefix=prefix, obj=found)
    )
    if form.validate_on_submit():
        plan_service.update_theme(
            db.session,
            current_user,
            found,
            title=form.title.data or "",
            target_score=float(form.target_score.data)
            if form.target_score.data is not None
            else None,
            goal=form.goal.data or "",
            approach=form.approach.data or "",
        )
        service.save_step(db.session, current_user, follow_up, Step.PLAN, {})
        db.session.commit()
        if htmx:
            return _theme_fragment(
                measurement, unit, follow_up, found, notice=_("The theme was saved.")
            )
        flash(_("The theme was saved."), "success")
        return redirect(_plan_url(measurement, unit, f"theme-{found.id}"))
    return _edit_page(
        "followup/_plan_theme_edit.html",
        measurement,
        unit,
        follow_up,
        theme=found,
        form=form,
    )


def _edit_page(
    fragment: str, measurement: Measurement, unit: Unit, follow_up: FollowUp, **context: Any
) -> tuple[str, int]:
    """The edit or confirm fragment for htmx; without JavaScript, a page that includes it."""
    status = 400 if request.method == "POST" else 200
    context.update(_fragment_context(measurement, unit, follow_up))
    if htmx:
        return render_template(fragment, **context), status
    return render_template(
        "followup/plan_edit.html",
        fragment=fragment,
        plan_url=_plan_url(measurement, unit),
        **context,
    ), status


@bp.route("/<int:measurement_id>/<code>/plan/themes/<int:theme_id>/delete", methods=["GET", "POST"])
@login_required
def delete_theme(measurement_id: int, code: str, theme_id: int) -> Any:
    """GET asks first (what goes with the theme); POST deletes, with "Fortryd"."""
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    found = _theme_or_404(follow_up, theme_id)
    form = EmptyForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _edit_page(
            "followup/_plan_theme_delete.html",
            measurement,
            unit,
            follow_up,
            theme=found,
            theme_actions=plan_service.live_actions_of_theme(db.session, found),
        )
    title, old_id = found.title, found.id
    key = plan_service.delete_theme(db.session, current_user, follow_up, found)
    db.session.commit()
    if htmx:
        return render_template(
            "followup/_plan_theme_deleted.html",
            old_id=old_id,
            snapshot=next(s for s in plan_service.deleted_themes(follow_up) if s["key"] == key),
            **_fragment_context(measurement, unit, follow_up),
        )
    flash(_("The theme “%(title)s” was deleted. You can undo it below.", title=title), "success")
    return redirect(_plan_url(measurement, unit, "deleted"))


@bp.post("/<int:measurement_id>/<code>/plan/themes/restore/<key>")
@login_required
def restore_theme(measurement_id: int, code: str, key: str) -> Any:
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        restored = plan_service.restore_theme(db.session, current_user, follow_up, key)
    except service.FollowUpError:
        abort(404)
    db.session.commit()
    if htmx:
        return _theme_fragment(
            measurement, unit, follow_up, restored, notice=_("The theme is back.")
        )
    flash(_("The theme “%(title)s” is back.", title=restored.title), "success")
    return redirect(_plan_url(measurement, unit, f"theme-{restored.id}"))


# --- actions: edit, delete, undo ------------------------------------------------------------


def _plan_action_or_404(follow_up: FollowUp, action_id: int, *, deleted: bool = False) -> Action:
    action = db.session.get(
        Action, action_id, execution_options={"include_deleted_actions": deleted}
    )
    if (
        action is None
        or action.follow_up_id != follow_up.id
        or (action.deleted_at is not None) != deleted
    ):
        abort(404)
    return action


def _action_fragment(
    measurement: Measurement, unit: Unit, follow_up: FollowUp, action: Action, **extra: Any
) -> str:
    return render_template(
        "followup/_plan_action.html",
        a=action,
        **extra,
        **_fragment_context(measurement, unit, follow_up),
    )


@bp.get("/<int:measurement_id>/<code>/plan/actions/<int:action_id>")
@login_required
def action_row(measurement_id: int, code: str, action_id: int) -> Any:
    """One action's row as the plan shows it (what "Cancel" swaps back in)."""
    measurement, unit = _context(measurement_id, code, Can.VIEW_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    action = _plan_action_or_404(follow_up, action_id)
    if not htmx:
        return redirect(_plan_url(measurement, unit, f"action-{action.id}"))
    return _action_fragment(measurement, unit, follow_up, action)


@bp.route("/<int:measurement_id>/<code>/plan/actions/<int:action_id>/edit", methods=["GET", "POST"])
@login_required
def edit_action(measurement_id: int, code: str, action_id: int) -> Any:
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    action = _plan_action_or_404(follow_up, action_id)
    form = _action_form(follow_up, unit, f"edit-{action.id}", action)
    if form.validate_on_submit():
        theme = next((t for t in follow_up.themes if t.id == form.theme_id.data), None)
        owner = db.session.get(User, form.owner_user_id.data) if form.owner_user_id.data else None
        plan_service.update_action(
            db.session,
            current_user,
            action,
            title=form.title.data or "",
            theme=theme,
            owner=owner,
            owner_name=form.owner_name.data or "",
            deadline=form.deadline.data,
        )
        db.session.commit()
        if htmx:
            if (theme.id if theme else None) != request.form.get("was_theme", type=int):
                # It moved to another theme: the plan again, so it shows where it now is.
                response = Response(status=204)
                response.headers["HX-Redirect"] = _plan_url(
                    measurement, unit, f"action-{action.id}"
                )
                return response
            return _action_fragment(
                measurement, unit, follow_up, action, notice=_("The action was saved.")
            )
        flash(_("The action was saved."), "success")
        return redirect(_plan_url(measurement, unit, f"action-{action.id}"))
    return _edit_page(
        "followup/_plan_action_edit.html", measurement, unit, follow_up, a=action, form=form
    )


@bp.route(
    "/<int:measurement_id>/<code>/plan/actions/<int:action_id>/delete", methods=["GET", "POST"]
)
@login_required
def delete_action(measurement_id: int, code: str, action_id: int) -> Any:
    """GET asks first; POST marks the action deleted, with "Fortryd"."""
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    action = _plan_action_or_404(follow_up, action_id)
    if request.method == "GET" or not EmptyForm().validate_on_submit():
        return _edit_page(
            "followup/_plan_action_delete.html", measurement, unit, follow_up, a=action
        )
    plan_service.delete_action(db.session, current_user, action)
    db.session.commit()
    if htmx:
        return render_template(
            "followup/_plan_action_deleted.html",
            a=action,
            undo_until=plan_service.undo_until(action),
            **_fragment_context(measurement, unit, follow_up),
        )
    flash(_("“%(title)s” was deleted. You can undo it below.", title=action.title), "success")
    return redirect(_plan_url(measurement, unit, "deleted"))


@bp.post("/<int:measurement_id>/<code>/plan/actions/<int:action_id>/restore")
@login_required
def restore_action(measurement_id: int, code: str, action_id: int) -> Any:
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    action = _plan_action_or_404(follow_up, action_id, deleted=True)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        plan_service.restore_action(db.session, current_user, action)
    except service.FollowUpError:
        abort(404)
    db.session.commit()
    if htmx and request.form.get("in_place"):
        return _action_fragment(
            measurement, unit, follow_up, action, notice=_("The action is back.")
        )
    flash(_("“%(title)s” is back in the plan.", title=action.title), "success")
    return redirect(_plan_url(measurement, unit, f"action-{action.id}"))


# --- the printable action plan -----------------------------------------------------------------


def _printable(measurement_id: int, code: str) -> dict[str, Any]:
    measurement, unit = _context(measurement_id, code, Can.VIEW_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    unthemed = db.session.scalars(
        select(Action)
        .where(
            Action.follow_up_id == follow_up.id,
            Action.theme_id.is_(None),
            Action.deleted_at.is_(None),
        )
        .order_by(Action.id)
    ).all()
    from app.models import Organisation

    return {
        "measurement": measurement,
        "unit": unit,
        "follow_up": follow_up,
        "unthemed": unthemed,
        "status_labels": STATUS_LABELS,
        "organisation": db.session.scalar(
            select(Organisation.name).order_by(Organisation.id).limit(1)
        )
        or "Kompas",
        "made_with": _("Made with the students of the class.")
        if organisation_kind() == OrganisationKind.SCHOOL
        else _("Made with the employees of the workplace."),
        "today": date.today(),
    }


@bp.get("/<int:measurement_id>/<code>/plan/print")
@login_required
def plan_print(measurement_id: int, code: str) -> str:
    """The action plan on one page, for the notice board and the APV file."""
    context = _printable(measurement_id, code)
    return render_template(
        "followup/plan_print.html",
        trail=_common(context["measurement"], context["unit"], context["follow_up"])["trail"],
        **context,
    )


@bp.get("/<int:measurement_id>/<code>/plan.pdf")
@login_required
def plan_pdf(measurement_id: int, code: str) -> Response:
    from types import SimpleNamespace

    from app.services.pdf import html_to_pdf, static_url

    context = _printable(measurement_id, code)
    html = render_template(
        "reports/pdf/action_plan.html",
        report=SimpleNamespace(organisation=context["organisation"], generated_on=date.today()),
        static=static_url,
        **context,
    )
    return spreadsheets.download(
        html_to_pdf(html).pdf,
        f"handlingsplan-{context['unit'].code}-{context['measurement'].year}.pdf",
        "application/pdf",
        inline=True,
    )

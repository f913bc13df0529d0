"""The action plan in one place (issue 18): themes and actions added, edited and deleted where
the plan is made, a dialogue proposal made an action with its owner and deadline, and the
plan printed for the notice board and the APV file.

Editing and deleting swap the very fragment the page includes (htmx); without JavaScript the
same links and forms lead to a page of their own and back. Deleting asks first and can be
undone ("Fortryd") for services.plan.UNDO_DAYS days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple, TypeVar

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
    _step_context,
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
from app.models.org import organisation_value
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


class _Plan(NamedTuple):
    """The plan a route works on: the measurement, the unit and its follow-up."""

    measurement: Measurement
    unit: Unit
    follow_up: FollowUp

    def url(self, anchor: str = "") -> str:
        return _plan_url(self.measurement, self.unit, anchor)

    def context(self) -> dict[str, Any]:
        """What every fragment of the plan needs."""
        return _fragment_context(self.measurement, self.unit, self.follow_up)

    def fragment(self, template: str, **context: Any) -> str:
        return render_template(template, **context, **self.context())


def _open(measurement_id: int, code: str, permission: Can) -> _Plan:
    """The plan of the unit, if the person may `permission` there; else 404."""
    return _Plan(*_step_context(measurement_id, code, permission, with_plan=True))


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


def _unthemed(follow_up: FollowUp) -> list[Action]:
    """The plan's live actions under no theme."""
    return list(
        db.session.scalars(
            select(Action)
            .where(
                Action.follow_up_id == follow_up.id,
                Action.theme_id.is_(None),
                Action.deleted_at.is_(None),
            )
            .order_by(Action.id)
        )
    )


def _theme_fields(form: ThemeForm) -> dict[str, Any]:
    """What a theme form says, as services.followup.add_theme and plan.update_theme take it."""
    return {
        "title": (form.title.data or "").strip(),
        "target_score": float(form.target_score.data)
        if form.target_score.data is not None
        else None,
        "goal": form.goal.data or "",
        "approach": form.approach.data or "",
    }


def _action_fields(follow_up: FollowUp, form: ActionForm) -> dict[str, Any]:
    """What an action form says, as services.followup.add_action and plan.update_action take
    it: the theme among the plan's own, the owner by id."""
    owner_id = form.owner_user_id.data
    return {
        "title": form.title.data or "",
        "theme": next((t for t in follow_up.themes if t.id == form.theme_id.data), None),
        "owner": db.session.get(User, owner_id) if owner_id else None,
        "owner_name": form.owner_name.data or "",
        "deadline": form.deadline.data,
    }


def plan(
    measurement_id: int,
    code: str,
    theme_form: ThemeForm | None = None,
    action_form: ActionForm | None = None,
    status: int = 200,
) -> Any:
    measurement, unit, follow_up = _open(measurement_id, code, Can.VIEW_FOLLOWUP)
    if action_form is None:
        action_form = _action_form(follow_up, unit, "action")
    else:
        action_form.theme_id.choices = _theme_select(follow_up)
        action_form.owner_user_id.choices = owner_select(unit)
    escalated_here = db.session.scalars(
        select(Action).where(Action.escalated_to_unit_id == unit.id, Action.deleted_at.is_(None))
    ).all()
    return render_template(
        "followup/plan.html",
        theme_form=theme_form or ThemeForm(prefix="theme"),
        action_form=action_form,
        figures=service.unit_figures(db.session, measurement, unit),
        unthemed=_unthemed(follow_up),
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
    measurement, unit, follow_up = _open(measurement_id, code, Can.EDIT_FOLLOWUP)
    form = ThemeForm(prefix="theme")
    if not form.validate_on_submit():
        return plan(measurement_id, code, theme_form=form, status=400)
    fields = _theme_fields(form)
    figures = service.unit_figures(db.session, measurement, unit)
    current = (
        figures.indicators.get(fields["title"]) if figures is not None and figures.shown else None
    )
    service.add_theme(db.session, current_user, follow_up, current_score=current, **fields)
    service.save_step(db.session, current_user, follow_up, Step.PLAN, {})
    db.session.commit()
    flash(_("The theme was added."), "success")
    return redirect(_plan_url(measurement, unit, "themes"))


@bp.post("/<int:measurement_id>/<code>/plan/actions")
@login_required
def add_action(measurement_id: int, code: str) -> Any:
    measurement, unit, follow_up = _open(measurement_id, code, Can.EDIT_FOLLOWUP)
    form = _action_form(follow_up, unit, "action")
    if not form.validate_on_submit():
        return plan(measurement_id, code, action_form=form, status=400)
    service.add_action(db.session, current_user, follow_up, **_action_fields(follow_up, form))
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
    measurement, unit, follow_up = _open(measurement_id, code, Can.EDIT_FOLLOWUP)
    proposals = _proposals(follow_up)
    if not 0 <= index < len(proposals):
        abort(404)
    record = service.step_of(follow_up, Step.DIALOGUE)
    form = proposal_form(follow_up, unit, index, proposals[index])
    if form.validate_on_submit():
        service.add_action(db.session, current_user, follow_up, **_action_fields(follow_up, form))
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


# --- a theme or an action, in place or on a page of its own ------------------------------------
#
# Themes and actions are edited, deleted and brought back the same way; these helpers are that
# way, the routes below only say which part of the plan and which service call.


@dataclass(frozen=True)
class _Part:
    """How the plan shows one theme or one action: its fragment, the name the fragment gives
    it, and the anchor it has on the plan ("theme-7", "action-12")."""

    fragment: str
    name: str
    anchor: str

    def id_of(self, item: PlanTheme | Action) -> str:
        return f"{self.anchor}-{item.id}"


THEME = _Part("followup/_plan_theme.html", "theme", "theme")
ACTION = _Part("followup/_plan_action.html", "a", "action")


def _show(p: _Plan, part: _Part, item: PlanTheme | Action) -> Any:
    """The item as the plan shows it (what "Cancel" swaps back in); without htmx, the plan."""
    if not htmx:
        return redirect(p.url(part.id_of(item)))
    return p.fragment(part.fragment, **{part.name: item})


def _changed(
    p: _Plan, part: _Part, item: PlanTheme | Action, notice: str, message: str, in_place: bool
) -> Any:
    """After a change that committed: htmx swaps the item back in saying `notice`; otherwise
    `message` is flashed and the plan opens at the item."""
    if htmx and in_place:
        return p.fragment(part.fragment, notice=notice, **{part.name: item})
    flash(message, "success")
    return redirect(p.url(part.id_of(item)))


def _edit_page(p: _Plan, fragment: str, **context: Any) -> tuple[str, int]:
    """The edit or confirm fragment for htmx; without JavaScript, a page that includes it.
    A POST that comes back here had something to correct (400)."""
    status = 400 if request.method == "POST" else 200
    if htmx:
        return p.fragment(fragment, **context), status
    page = p.fragment("followup/plan_edit.html", fragment=fragment, plan_url=p.url(), **context)
    return page, status


def _asks_first() -> bool:
    """A delete asks first: a GET (or a POST without a valid form) gets the question."""
    return request.method == "GET" or not EmptyForm().validate_on_submit()


def _deleted(p: _Plan, fragment: str, message: str, **context: Any) -> Any:
    """After a delete that committed: htmx swaps in what was deleted with "Fortryd"; otherwise
    `message` is flashed and the plan opens at its list of deleted items."""
    if htmx:
        return p.fragment(fragment, **context)
    flash(message, "success")
    return redirect(p.url("deleted"))


T = TypeVar("T")


def _restored(restore: Callable[[], T]) -> T:
    """Undo a delete: only with a valid form (400), only while it may be undone (404)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        item = restore()
    except service.FollowUpError:
        abort(404)
    db.session.commit()
    return item


# --- themes: edit, delete, undo -------------------------------------------------------------


def _theme_or_404(follow_up: FollowUp, theme_id: int) -> PlanTheme:
    theme = next((t for t in follow_up.themes if t.id == theme_id), None)
    if theme is None:
        abort(404)
    return theme


@bp.get("/<int:measurement_id>/<code>/plan/themes/<int:theme_id>")
@login_required
def theme(measurement_id: int, code: str, theme_id: int) -> Any:
    """One theme as the plan shows it (what "Cancel" swaps back in)."""
    p = _open(measurement_id, code, Can.VIEW_FOLLOWUP)
    return _show(p, THEME, _theme_or_404(p.follow_up, theme_id))


@bp.route("/<int:measurement_id>/<code>/plan/themes/<int:theme_id>/edit", methods=["GET", "POST"])
@login_required
def edit_theme(measurement_id: int, code: str, theme_id: int) -> Any:
    p = _open(measurement_id, code, Can.EDIT_FOLLOWUP)
    found = _theme_or_404(p.follow_up, theme_id)
    prefix = f"theme-{found.id}"
    form = (
        ThemeForm(prefix=prefix)
        if request.method == "POST"
        else ThemeForm(prefix=prefix, obj=found)
    )
    if not form.validate_on_submit():
        return _edit_page(p, "followup/_plan_theme_edit.html", theme=found, form=form)
    plan_service.update_theme(db.session, current_user, found, **_theme_fields(form))
    service.save_step(db.session, current_user, p.follow_up, Step.PLAN, {})
    db.session.commit()
    saved = _("The theme was saved.")
    return _changed(p, THEME, found, saved, saved, in_place=True)


@bp.route("/<int:measurement_id>/<code>/plan/themes/<int:theme_id>/delete", methods=["GET", "POST"])
@login_required
def delete_theme(measurement_id: int, code: str, theme_id: int) -> Any:
    """GET asks first (what goes with the theme); POST deletes, with "Fortryd"."""
    p = _open(measurement_id, code, Can.EDIT_FOLLOWUP)
    found = _theme_or_404(p.follow_up, theme_id)
    if _asks_first():
        return _edit_page(
            p,
            "followup/_plan_theme_delete.html",
            theme=found,
            theme_actions=plan_service.live_actions_of_theme(db.session, found),
        )
    title, old_id = found.title, found.id
    key = plan_service.delete_theme(db.session, current_user, p.follow_up, found)
    db.session.commit()
    return _deleted(
        p,
        "followup/_plan_theme_deleted.html",
        _("The theme “%(title)s” was deleted. You can undo it below.", title=title),
        old_id=old_id,
        snapshot=next(s for s in plan_service.deleted_themes(p.follow_up) if s["key"] == key),
    )


@bp.post("/<int:measurement_id>/<code>/plan/themes/restore/<key>")
@login_required
def restore_theme(measurement_id: int, code: str, key: str) -> Any:
    p = _open(measurement_id, code, Can.EDIT_FOLLOWUP)
    restored = _restored(
        lambda: plan_service.restore_theme(db.session, current_user, p.follow_up, key)
    )
    return _changed(
        p,
        THEME,
        restored,
        _("The theme is back."),
        _("The theme “%(title)s” is back.", title=restored.title),
        in_place=True,
    )


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


@bp.get("/<int:measurement_id>/<code>/plan/actions/<int:action_id>")
@login_required
def action_row(measurement_id: int, code: str, action_id: int) -> Any:
    """One action's row as the plan shows it (what "Cancel" swaps back in)."""
    p = _open(measurement_id, code, Can.VIEW_FOLLOWUP)
    return _show(p, ACTION, _plan_action_or_404(p.follow_up, action_id))


@bp.route("/<int:measurement_id>/<code>/plan/actions/<int:action_id>/edit", methods=["GET", "POST"])
@login_required
def edit_action(measurement_id: int, code: str, action_id: int) -> Any:
    p = _open(measurement_id, code, Can.EDIT_FOLLOWUP)
    action = _plan_action_or_404(p.follow_up, action_id)
    form = _action_form(p.follow_up, p.unit, f"edit-{action.id}", action)
    if not form.validate_on_submit():
        return _edit_page(p, "followup/_plan_action_edit.html", a=action, form=form)
    fields = _action_fields(p.follow_up, form)
    plan_service.update_action(db.session, current_user, action, **fields)
    db.session.commit()
    theme_id = fields["theme"].id if fields["theme"] else None
    if htmx and theme_id != request.form.get("was_theme", type=int):
        # It moved to another theme: the plan again, so it shows where it now is.
        response = Response(status=204)
        response.headers["HX-Redirect"] = p.url(ACTION.id_of(action))
        return response
    saved = _("The action was saved.")
    return _changed(p, ACTION, action, saved, saved, in_place=True)


@bp.route(
    "/<int:measurement_id>/<code>/plan/actions/<int:action_id>/delete", methods=["GET", "POST"]
)
@login_required
def delete_action(measurement_id: int, code: str, action_id: int) -> Any:
    """GET asks first; POST marks the action deleted, with "Fortryd"."""
    p = _open(measurement_id, code, Can.EDIT_FOLLOWUP)
    action = _plan_action_or_404(p.follow_up, action_id)
    if _asks_first():
        return _edit_page(p, "followup/_plan_action_delete.html", a=action)
    plan_service.delete_action(db.session, current_user, action)
    db.session.commit()
    return _deleted(
        p,
        "followup/_plan_action_deleted.html",
        _("“%(title)s” was deleted. You can undo it below.", title=action.title),
        a=action,
        undo_until=plan_service.undo_until(action),
    )


@bp.post("/<int:measurement_id>/<code>/plan/actions/<int:action_id>/restore")
@login_required
def restore_action(measurement_id: int, code: str, action_id: int) -> Any:
    p = _open(measurement_id, code, Can.EDIT_FOLLOWUP)
    action = _plan_action_or_404(p.follow_up, action_id, deleted=True)
    _restored(lambda: plan_service.restore_action(db.session, current_user, action))
    return _changed(
        p,
        ACTION,
        action,
        _("The action is back."),
        _("“%(title)s” is back in the plan.", title=action.title),
        in_place=bool(request.form.get("in_place")),
    )


# --- the printable action plan -----------------------------------------------------------------


def _printable(measurement_id: int, code: str) -> dict[str, Any]:
    measurement, unit, follow_up = _open(measurement_id, code, Can.VIEW_FOLLOWUP)
    unthemed = _unthemed(follow_up)
    from app.models import Organisation

    return {
        "measurement": measurement,
        "unit": unit,
        "follow_up": follow_up,
        "unthemed": unthemed,
        "status_labels": STATUS_LABELS,
        "organisation": organisation_value(db.session, Organisation.name) or "Kompas",
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
    return render_template("followup/plan_print.html", **context)


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

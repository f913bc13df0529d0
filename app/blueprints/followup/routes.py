"""The five-step follow-up of one unit, its action plan and its zero-tolerance alerts.

Every route names a measurement and a unit; the policy decides who may read (members,
committees) and who may write (leaders of the unit or above, HR). Forms keep what was typed
on an error, and kompas.js keeps a draft in the browser against a lost session.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import DateField
from wtforms.fields.choices import SelectChoice

from app.blueprints.admin.forms import EmptyForm
from app.blueprints.followup import bp
from app.blueprints.followup.forms import (
    AnalysisForm,
    DialogueForm,
    EscalateForm,
    EvaluationForm,
    PreparationForm,
    StatusForm,
    ask_the_guide,
)
from app.blueprints.results.routes import analysis_indicators_html, chosen_measurement
from app.extensions import db, htmx
from app.models import (
    STEPS,
    Action,
    ActionStatus,
    FollowUp,
    Measurement,
    OrganisationKind,
    RoleAssignment,
    Step,
    StepState,
    Unit,
    User,
    ZeroToleranceAlert,
)
from app.models.org import organisation_value
from app.policy import Permission as Can
from app.policy import current_access, may, require, unit_or_404
from app.services import alerts as alert_service
from app.services import board as board_service
from app.services import followup as service
from app.services import plan as plan_service
from app.services import results as results_service
from app.services import spreadsheets, step_choices, todo
from app.services.units import breadcrumbs
from app.vocabulary import colour_label, organisation_kind, term

STEP_FORMS = {
    Step.ANALYSIS: AnalysisForm,
    Step.PREPARATION: PreparationForm,
    Step.DIALOGUE: DialogueForm,
    Step.EVALUATION: EvaluationForm,
}
STEP_TITLES = {
    Step.ANALYSIS: _l("Analysis"),
    Step.PREPARATION: _l("Dialogue preparation"),
    Step.DIALOGUE: _l("Dialogue meeting"),
    Step.PLAN: _l("Action plan"),
    Step.EVALUATION: _l("Evaluation"),
}
STATUS_LABELS = {
    ActionStatus.NOT_STARTED: _l("Not started"),
    ActionStatus.STARTED: _l("Started"),
    ActionStatus.HALFWAY: _l("Halfway"),
    ActionStatus.NEARLY_DONE: _l("Nearly done"),
    ActionStatus.DONE: _l("Done"),
}
DEFAULT_INVITATION = _l(
    "Dear all,\n\nYou are invited to a dialogue meeting about the results of our wellbeing "
    "survey. Before the meeting, please think about:\n"
    "- What gives you energy at work, and what takes it?\n"
    "- What surprised you in our results?\n"
    "- What should we work on first, and what can you contribute?\n"
)
DEFAULT_AGENDA = _l(
    "1. Welcome and ground rules\n2. Individual reflection\n"
    "3. Joint dialogue on the chosen themes\n4. Action plans and agreements"
)
# A school holds the dialogue with a class and its students.
SCHOOL_INVITATION = _l(
    "Dear students,\n\nYou are invited to a dialogue in the class about the results of the "
    "wellbeing survey. Before we meet, please think about:\n"
    "- What gives you energy at school, and what takes it?\n"
    "- What surprised you in the class's results?\n"
    "- What should the class work on first, and what can you contribute?\n"
)
SCHOOL_AGENDA = _l(
    "1. Welcome and ground rules\n2. Individual reflection\n"
    "3. Dialogue in the class on the chosen themes\n4. The class's actions and agreements"
)


def preparation_template() -> dict[str, str]:
    """The preparation step's template text, in the organisation's words (a school's for a
    class and its students, a municipality's for the workplace)."""
    school = organisation_kind() == OrganisationKind.SCHOOL
    return {
        "invitation": str(SCHOOL_INVITATION if school else DEFAULT_INVITATION),
        "agenda": str(SCHOOL_AGENDA if school else DEFAULT_AGENDA),
        "duration": str(term("dialogue.duration")),
    }


# The indicator whose low score suggests an outside facilitator for the dialogue meeting
# (Measurement.psychological_safety_cutoff), as the questionnaire names its theme.
PSYCHOLOGICAL_SAFETY = "Min enhed – psykologisk tryghed"


def _context(measurement_id: int, code: str, action: Can) -> tuple[Measurement, Unit]:
    measurement = db.session.get(Measurement, measurement_id)
    if measurement is None or not measurement.anonymity_ok:
        abort(404)
    unit = unit_or_404(code, action)
    if not current_access().results_access(measurement).may(db.session, action, unit.id):
        abort(404)  # results not yet released by management to this person's roles
    return measurement, unit


def _followup_or_404(measurement: Measurement, unit: Unit) -> FollowUp:
    follow_up = service.find(db.session, measurement, unit)
    if follow_up is None:
        abort(404)
    return follow_up


def _step_urls(measurement: Measurement, unit: Unit) -> dict[Step, str]:
    """Each step's address, routed once: they differ only in the last segment (the step's
    name, a plain word)."""
    first = url_for("followup.step", measurement_id=measurement.id, code=unit.code, step="plan")
    stem = first[: -len("plan")]
    return {step: stem + step.value for step in STEPS}


def _common(measurement: Measurement, unit: Unit, follow_up: FollowUp | None) -> dict[str, Any]:
    access = current_access()
    return {
        "measurement": measurement,
        "unit": unit,
        "follow_up": follow_up,
        "steps": STEPS,
        "step_urls": _step_urls(measurement, unit) if follow_up else {},
        # Translated once per request: a page shows each several times (the plan's actions
        # list the five states in every row).
        "step_titles": {step: str(title) for step, title in STEP_TITLES.items()},
        "status_labels": {status: str(label) for status, label in STATUS_LABELS.items()},
        "current": service.current_step(follow_up),
        "due": {step: service.step_due(measurement, step) for step in STEPS},
        "states": {s.step: s for s in follow_up.steps} if follow_up else {},
        "may_edit": access.may(db.session, Can.EDIT_FOLLOWUP, unit.id),
        "may_update_actions": access.may(db.session, Can.UPDATE_ACTIONS, unit.id),
        "today": date.today(),
    }


@bp.get("/<int:measurement_id>/<code>/")
@login_required
def hub(measurement_id: int, code: str) -> str:
    measurement, unit = _context(measurement_id, code, Can.VIEW_FOLLOWUP)
    follow_up = service.find(db.session, measurement, unit)
    figures = service.unit_figures(db.session, measurement, unit)
    alerts = db.session.scalars(
        select(ZeroToleranceAlert)
        .where(
            ZeroToleranceAlert.measurement_id == measurement.id,
            ZeroToleranceAlert.unit_id == unit.id,
        )
        .options(selectinload(ZeroToleranceAlert.questions))
    ).all()
    route = service.routing(db.session, measurement, unit, figures) if figures is not None else None
    return render_template(
        "followup/hub.html",
        figures=figures,
        route=route,
        alerts=alerts,
        alert_state=alert_service.alert_state,
        department_leaders=_department_leaders(follow_up),
        start_form=EmptyForm(),
        **_common(measurement, unit, follow_up),
    )


def _department_leaders(follow_up: FollowUp | None) -> list[User]:
    if follow_up is None or follow_up.department_unit_id is None:
        return []
    from app.models import Role

    return list(
        db.session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.unit_id == follow_up.department_unit_id,
                RoleAssignment.role == Role.LEADER,
            )
        )
    )


@bp.post("/<int:measurement_id>/<code>/start")
@login_required
def start(measurement_id: int, code: str) -> Response:
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        service.start(db.session, current_user, measurement, unit)
    except service.FollowUpError:
        abort(404)
    db.session.commit()
    return redirect(
        url_for("followup.step", measurement_id=measurement.id, code=unit.code, step="analysis")
    )


def _step_or_404(name: str) -> Step:
    try:
        return Step(name)
    except ValueError:
        abort(404)


def _analysis_choices(measurement: Measurement) -> list[SelectChoice]:
    return [
        SelectChoice(value, label)
        for value, label in step_choices.focus_area_choices(db.session, measurement)
    ]


def _prepare_form(
    step: Step,
    measurement: Measurement,
    data: dict[str, Any] | None,
    *,
    saved: bool = False,
    stored: dict[str, Any] | None = None,
) -> Any:
    """The step's form: from `data` (what is stored), or from the request when it is None.
    `saved` gives what is stored even in a POST (the saved side of a conflict).

    From the request, the analysis form gets its focus areas only when some were sent that
    the step has not saved before (`stored`, what it holds now): those are checked against
    the list. `_with_choices` adds the list before a page shows the form."""
    form_class = STEP_FORMS[step]
    if data is not None:
        # Dates are stored as ISO strings; the form wants dates back.
        for name, value in list(data.items()):
            field_class = getattr(form_class, name, None)
            if isinstance(value, str) and getattr(field_class, "field_class", None) is DateField:
                try:
                    data[name] = date.fromisoformat(value)
                except ValueError:
                    data[name] = None
    if saved:
        form = form_class(formdata=None, data=data)
    else:
        form = form_class(data=data) if data is not None else form_class()
    if isinstance(form, AnalysisForm) and (data is not None or form.focus_areas.data):
        before = (stored or {}).get("focus_areas") or []
        if not (isinstance(before, list) and all(isinstance(v, str) for v in before)):
            before = []
        if data is None and set(form.focus_areas.data) <= set(before):
            form.focus_areas.accepted = frozenset(before)
        else:
            form.focus_areas.choices = _analysis_choices(measurement)
    if isinstance(form, EvaluationForm) and organisation_kind() == OrganisationKind.SCHOOL:
        ask_the_guide(form)
    return form


def _with_choices(form: Any, measurement: Measurement) -> Any:
    """The form with every choice it shows (an autosave checks only what was sent)."""
    if isinstance(form, AnalysisForm) and not form.focus_areas.choices:
        form.focus_areas.choices = _analysis_choices(measurement)
    return form


def _step_context(
    measurement_id: int, code: str, action: Can = Can.VIEW_FOLLOWUP, *, with_plan: bool = False
) -> tuple[Measurement, Unit, FollowUp]:
    """_context and _followup_or_404 (the follow-up with its steps, and its plan with
    `with_plan`) read in one query; the same checks in the same order, and 404 for whatever
    is missing or not allowed."""
    found = service.find_for_step(db.session, measurement_id, code, with_plan=with_plan)
    if found is None:
        abort(404)
    measurement, unit, follow_up = found
    if not measurement.anonymity_ok or not may(action, unit):
        abort(404)
    if not current_access().results_access(measurement).may(db.session, action, unit.id):
        abort(404)  # results not yet released by management to this person's roles
    if follow_up is None:
        abort(404)
    return measurement, unit, follow_up


@bp.route("/<int:measurement_id>/<code>/<step>", methods=["GET", "POST"])
@login_required
def step(measurement_id: int, code: str, step: str) -> Any:
    which = _step_or_404(step)
    if which == Step.PLAN:
        from app.blueprints.followup.plan import plan  # the plan's routes live there

        return plan(measurement_id, code)
    # The steps alone: a step page and its autosave never show the plan's themes and actions.
    measurement, unit, follow_up = _step_context(measurement_id, code)
    record = service.step_of(follow_up, which)
    # The page's frame (breadcrumbs, steps, dates) only where a page is shown: an autosave
    # that succeeds answers with a word and the new version.
    may_edit = current_access().may(db.session, Can.EDIT_FOLLOWUP, unit.id)
    # The version the form was loaded at travels with it: a save from an older one changes
    # nothing, and the writer sees what is saved next to what they typed (issue 17).
    version = record.version
    conflict = None
    if request.method == "POST":
        if not may_edit:
            abort(404)
        form = _prepare_form(which, measurement, None, stored=record.data)
        expected = request.form.get("version", type=int)
        if expected is not None:
            version = expected  # kept through a failed validation, so the check still holds
        if form.validate_on_submit():
            data = {k: _plain(v) for k, v in form.data.items() if k not in ("csrf_token", "state")}
            state = StepState(form.state.data) if form.state.data else None
            try:
                service.save_step(
                    db.session, current_user, follow_up, which, data, state,
                    expected_version=expected,
                )  # fmt: skip
            except service.StepConflict as stale:
                record = conflict = stale.step
                if htmx:
                    return render_template("followup/_save_conflict.html", record=record), 409
                # The form shows the saved version now: saving it again is the writer's choice.
                version = record.version
                status = 409
            else:
                if which == Step.EVALUATION:
                    _save_action_evaluation(follow_up)
                if htmx:
                    # Written before the commit, which expires everything loaded: the answer
                    # (a word and the new version) then reads nothing again. A commit that
                    # fails answers with an error, never with this.
                    saved = render_template("followup/_autosaved.html", record=record)
                    db.session.commit()
                    return saved
                db.session.commit()
                flash(_("Saved."), "success")
                return redirect(request.path)
        else:
            status = 400
    else:
        if which == Step.PREPARATION and may_edit:
            # Stored when first shown, so the printed invitation never has an empty agenda
            # (issue 18), whether or not anyone typed in the form.
            if plan_service.keep_template_text(record, preparation_template()):
                db.session.commit()
        data = dict(record.data or {})
        if which == Step.PREPARATION:
            for name, text in preparation_template().items():
                data.setdefault(name, text)
        data["state"] = (
            record.state.value if record.state != StepState.NOT_STARTED else "in_progress"
        )
        form = _prepare_form(which, measurement, data)
        status = 200
    _with_choices(form, measurement)
    common = _common(measurement, unit, follow_up)
    analysis: dict[str, Any] = {}
    if which == Step.ANALYSIS:
        figures_unit = unit
        if follow_up.uses_parent_figures and unit.parent is not None:
            figures_unit = unit.parent
        # The indicators side by side as prepared from the release (the costly part, the same
        # for everyone); the warning reads the one indicator it needs.
        analysis = {
            "figures_unit": figures_unit,
            "indicators_html": analysis_indicators_html(
                figures_unit, measurement, keep=request.method == "GET"
            ),
            "safety": step_choices.shown_indicator(
                db.session, measurement, figures_unit.id, PSYCHOLOGICAL_SAFETY
            ),
        }
    actions: list[Action] = []
    if which == Step.EVALUATION:
        actions = list(
            db.session.scalars(
                select(Action)
                .where(Action.follow_up_id == follow_up.id, Action.deleted_at.is_(None))
                .order_by(Action.id)
            )
        )
    proposals = []
    if which == Step.DIALOGUE:
        proposals = [p.strip() for p in (record.data or {}).get("proposals", "").splitlines()]
        proposals = [p for p in proposals if p]
    saved_form = None
    if conflict is not None:
        saved_form = _prepare_form(which, measurement, dict(conflict.data or {}), saved=True)
    return render_template(
        f"followup/{which.value}.html",
        form=form,
        record=record,
        version=version,
        conflict=conflict,
        saved_form=saved_form,
        proposals=proposals,
        actions=actions,
        psych_cutoff=measurement.psychological_safety_cutoff,
        active_step=which,
        **analysis,
        **common,
    ), status


def _save_action_evaluation(follow_up: FollowUp) -> None:
    """Each action's effect (1-5) and whether it carries over to next year's plan."""
    for action in db.session.scalars(
        select(Action).where(Action.follow_up_id == follow_up.id, Action.deleted_at.is_(None))
    ):
        effect = request.form.get(f"effect-{action.id}", "")
        rating = int(effect) if effect.isdigit() and 1 <= int(effect) <= 5 else None
        carry = request.form.get(f"carry-{action.id}") == "1"
        if (action.effect_rating, action.carry_over) != (rating, carry):
            action.effect_rating = rating
            action.carry_over = carry
    db.session.flush()


def _plain(value: Any) -> Any:
    """JSON-friendly form data (dates as ISO strings, decimals as floats)."""
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal
        return float(value)
    return value


def _action_or_404(follow_up: FollowUp, action_id: int) -> Action:
    action = db.session.get(Action, action_id)
    if action is None or action.follow_up_id != follow_up.id or action.deleted_at is not None:
        abort(404)
    return action


@bp.post("/<int:measurement_id>/<code>/actions/<int:action_id>/status")
@login_required
def action_status(measurement_id: int, code: str, action_id: int) -> Response:
    measurement, unit = _context(measurement_id, code, Can.UPDATE_ACTIONS)
    follow_up = _followup_or_404(measurement, unit)
    action = _action_or_404(follow_up, action_id)
    form = StatusForm()
    form.status.choices = [SelectChoice(int(s), str(STATUS_LABELS[s])) for s in ActionStatus]
    if not form.validate_on_submit():
        abort(400)
    expected = form.version.data if form.version.data is not None else action.version
    try:
        board_service.move(
            db.session,
            current_user,
            action,
            ActionStatus(form.status.data),
            expected_version=expected,
            comment=form.comment.data or "",
        )
    except board_service.Conflict as conflict:
        current = conflict.action
        flash(
            _(
                "Someone else changed “%(title)s” first: it is now at “%(status)s”. Your change "
                "was not saved; look at it and try again.",
                title=current.title,
                status=STATUS_LABELS[ActionStatus(current.status)],
            ),
            "warning",
        )
    else:
        db.session.commit()
        flash(_("The action was updated."), "success")
    return redirect(
        url_for("followup.step", measurement_id=measurement.id, code=unit.code, step="plan")
        + "#actions"
    )


@bp.route("/<int:measurement_id>/<code>/actions/<int:action_id>/escalate", methods=["GET", "POST"])
@login_required
def escalate(measurement_id: int, code: str, action_id: int) -> Any:
    measurement, unit = _context(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    action = _action_or_404(follow_up, action_id)
    above = [u for u in breadcrumbs(db.session, unit)[:-1]]
    form = EscalateForm()
    form.to_unit.choices = [SelectChoice(0, str(_("— no unit —")))] + [
        SelectChoice(u.id, u.name) for u in reversed(above)
    ]
    if form.validate_on_submit():
        to_unit = next((u for u in above if u.id == form.to_unit.data), None)
        try:
            service.escalate(
                db.session,
                current_user,
                action,
                to_unit=to_unit,
                to_function=form.to_function.data or "",
            )
        except service.FollowUpError:
            form.to_function.errors = [_("Choose a unit above, or name a function.")]
        else:
            db.session.commit()
            flash(
                _("The action was passed on. It now shows on the receiver’s list too."), "success"
            )
            return redirect(
                url_for("followup.step", measurement_id=measurement.id, code=unit.code, step="plan")
                + "#actions"
            )
    return render_template(
        "followup/escalate.html", form=form, action=action, **_common(measurement, unit, follow_up)
    ), (400 if request.method == "POST" else 200)


@bp.get("/<int:measurement_id>/<code>/invitation")
@login_required
def invitation(measurement_id: int, code: str) -> str:
    measurement, unit = _context(measurement_id, code, Can.VIEW_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    record = service.step_of(follow_up, Step.PREPARATION)
    return render_template(
        "followup/invitation.html",
        data={**preparation_template(), **(record.data or {})},
        **_common(measurement, unit, follow_up),
    )


# --- the overview for HR, committees and department heads -----------------------------------

OVERVIEW_PER_PAGE = 200


def _overview_entries() -> tuple[Measurement | None, list[Any], list[Measurement]]:
    require(Can.VIEW_FOLLOWUP)
    access = current_access()
    measurements = results_service.measurements_with_figures(db.session)
    measurement = chosen_measurement(measurements)
    if measurement is None:
        return None, [], measurements
    # Scores, lights and alerts of results not yet released: only through admin and leader
    # roles (app.policy); a class team's or student council's list is empty until then.
    allowed = access.results_access(measurement).unit_ids(db.session, Can.VIEW_FOLLOWUP)
    today = date.today()
    entries = service.overview(db.session, measurement, allowed, today)
    # The same rules as the home page's counts (services.todo): a count and the list it
    # links to never disagree. Unknown filter values are left out, never an error.
    chosen = todo.chosen_filters(request.args)
    if chosen:
        entries = [
            e
            for e in entries
            if todo.matches(chosen, measurement, e.colour, e.follow_up, e.step, today)
        ]
    if request.args.get("overdue"):
        entries = [e for e in entries if e.overdue_actions or e.overdue_alerts]
    if request.args.get("alerts"):
        entries = [e for e in entries if e.open_alerts]
    query = request.args.get("q", "").strip().lower()
    if query:
        entries = [
            e for e in entries if query in e.unit.name.lower() or query in e.unit.code.lower()
        ]
    sort = request.args.get("sort", "unit")
    keys = {
        "unit": lambda e: e.unit.code,
        "step": lambda e: STEPS.index(e.step),
        "overdue": lambda e: -(e.overdue_actions + e.overdue_alerts),
        "score": lambda e: e.overall_score if e.overall_score is not None else 999,
        "behind": lambda e: (
            -todo.days_behind(measurement, e.follow_up, e.step, today),
            STEPS.index(e.step),
            e.unit.code,
        ),
    }
    entries.sort(key=keys.get(sort, keys["unit"]))
    return measurement, entries, measurements


OVERVIEW_FILTER_LABELS = {
    ("colour", "green"): _l("Green"),
    ("colour", "yellow"): _l("Yellow"),
    ("colour", "red"): _l("Red"),
    ("started", "yes"): _l("Started"),
    ("started", "no"): _l("Not started"),
    ("plan", "missing"): _l("No action plan yet"),
    ("plan", "made"): _l("Action plan made"),
    ("behind", "1"): _l("Behind schedule"),
    ("overdue", "1"): _l("Only overdue"),
    ("alerts", "1"): _l("Only with open alerts"),
}


def _filter_chips() -> list[tuple[str, str]]:
    """The filters in force, each with its words and the overview without it."""
    chosen = todo.chosen_filters(request.args)
    for flag in ("overdue", "alerts"):
        if request.args.get(flag):
            chosen[flag] = "1"
    query = request.args.get("q", "").strip()
    chips = []
    for name, value in chosen.items():
        label = (
            STEP_TITLES[Step(value)] if name == "step" else OVERVIEW_FILTER_LABELS[(name, value)]
        )
        rest = {k: v for k, v in request.args.items() if k not in (name, "page")}
        chips.append((str(label), url_for("followup.overview", **rest)))
    if query:
        rest = {k: v for k, v in request.args.items() if k not in ("q", "page")}
        label = _("Name or id contains “%(q)s”", q=query[:100])
        chips.append((label, url_for("followup.overview", **rest)))
    return chips


@bp.get("/overview")
@login_required
def overview() -> str:
    measurement, entries, measurements = _overview_entries()
    total = len(entries)
    pages = max(1, (total + OVERVIEW_PER_PAGE - 1) // OVERVIEW_PER_PAGE)
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    template = "followup/_overview_table.html" if htmx else "followup/overview.html"
    return render_template(
        template,
        measurement=measurement,
        measurements=measurements,
        entries=entries[(page - 1) * OVERVIEW_PER_PAGE : page * OVERVIEW_PER_PAGE],
        total=total,
        page=page,
        pages=pages,
        args=request.args,
        step_titles=STEP_TITLES,
        steps=STEPS,
        chips=_filter_chips() if measurement else [],
        clear_url=url_for(
            "followup.overview", **{k: v for k, v in request.args.items() if k == "m"}
        ),
    )


OVERVIEW_COLUMNS = (
    _l("Unit id"),
    _l("Unit"),
    _l("Traffic light"),
    _l("Overall score"),
    _l("Current step"),
    _l("Action plan by the deadline"),
    _l("Actions not started"),
    _l("Actions under way"),
    _l("Actions done"),
    _l("Overdue actions"),
    _l("Open alerts"),
    _l("Approved"),
)


def _overview_table() -> tuple[Measurement, list[list[Any]]]:
    """The overview's rows for the exports, in the page's words: "Not shown" and "Not
    started" where the page says so, the step's and the traffic light's names."""
    measurement, entries, _measurements = _overview_entries()
    if measurement is None:
        abort(404)
    rows = []
    for e in entries:
        rows.append(
            [
                e.unit.code,
                e.unit.name,
                colour_label(e.colour) if e.shown else _("Not shown"),
                round(e.overall_score, 1) if e.overall_score is not None else None,
                str(STEP_TITLES[e.step]) if e.follow_up else _("Not started"),
                "" if e.plan_on_time is None else (_("Yes") if e.plan_on_time else _("No")),
                e.actions.get(0, 0),
                sum(e.actions.get(s, 0) for s in (1, 2, 3)),
                e.actions.get(4, 0),
                e.overdue_actions,
                e.open_alerts,
                _("Yes") if e.follow_up and e.follow_up.approved_at else _("No"),
            ]
        )
    return measurement, rows


@bp.get("/overview.csv")
@login_required
def overview_csv() -> Response:
    measurement, rows = _overview_table()
    name = spreadsheets.export_file_name(_("follow-up"), measurement.name.lower(), extension="csv")
    return spreadsheets.csv_response([str(c) for c in OVERVIEW_COLUMNS], rows, name)


@bp.get("/overview.xlsx")
@login_required
def overview_xlsx() -> Response:
    measurement, rows = _overview_table()
    name = spreadsheets.export_file_name(_("follow-up"), measurement.name.lower(), extension="xlsx")
    return spreadsheets.xlsx_response(
        _("Follow-up"), [str(c) for c in OVERVIEW_COLUMNS], rows, name
    )


@bp.get("/<int:measurement_id>/<code>/invitation.pdf")
@login_required
def invitation_pdf(measurement_id: int, code: str) -> Response:
    """The invitation and meeting sheet as a PDF (WeasyPrint), for printing or e-mail."""
    from types import SimpleNamespace

    from flask_babel import format_date

    from app.models import Organisation
    from app.services.pdf import html_to_pdf, static_url

    measurement, unit = _context(measurement_id, code, Can.VIEW_FOLLOWUP)
    follow_up = _followup_or_404(measurement, unit)
    data = {**preparation_template(), **(service.step_of(follow_up, Step.PREPARATION).data or {})}
    meeting_day = None
    if data.get("meeting_date"):
        try:
            meeting_day = format_date(date.fromisoformat(data["meeting_date"]), "full")
        except ValueError:
            meeting_day = data["meeting_date"]
    organisation = organisation_value(db.session, Organisation.name) or "Kompas"
    html = render_template(
        "reports/pdf/invitation.html",
        report=SimpleNamespace(organisation=organisation, generated_on=date.today()),
        unit=unit,
        measurement=measurement,
        data=data,
        meeting_day=meeting_day,
        static=static_url,
    )
    return spreadsheets.download(
        html_to_pdf(html).pdf, f"invitation-{unit.code}.pdf", "application/pdf", inline=True
    )

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, render_template
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.orm import selectinload

from app.blueprints.followup.routes import STEP_TITLES
from app.blueprints.main import bp
from app.blueprints.results.routes import chosen_measurement, unit_results_html
from app.extensions import db
from app.models import (
    AuditEvent,
    FollowUp,
    FollowUpStep,
    Measurement,
    Role,
    Step,
    Unit,
    User,
    ZeroToleranceAlert,
)
from app.policy import Permission, current_access, require, unit_or_404
from app.services import followup as followup_service
from app.services import release as release_service
from app.services import results as results_service
from app.services import todo
from app.services.units import trail_and_children

NEXT_STEPS = {
    # %(partners)s: the organisation's word for those who own the follow-up with the leader
    # (a municipality's trio, a school's class team).
    Role.LEADER: _l(
        "When the results are released, analyse them with your %(partners)s, plan the "
        "dialogue meeting and make the action plan."
    ),
    Role.MEMBER: _l("See your unit's results and keep your actions moving on the status arrow."),
    Role.COMMITTEE: _l("Follow which units have action plans and how far they are."),
    Role.BOARD: _l("Read and download the annual follow-up report."),
}


@bp.get("/")
@login_required
def home() -> str:
    """The person's to-do list: what to do next on each unit they lead, what waits for them
    as department head, HR's and the committee's counts, the board's reports, the alerts."""
    access = current_access()
    roles = access.roles()
    context: dict[str, object] = {"roles": roles}
    if Role.ADMIN in roles:
        context["user_count"] = db.session.scalar(select(func.count(User.id)))
        context["unit_count"] = db.session.scalar(select(func.count(Unit.id)))
        context["measurements"] = list(
            db.session.scalars(select(Measurement).order_by(Measurement.year.desc()))
        )
    member_units = sorted({unit_id for role, unit_id in access.assignments if role == Role.MEMBER})
    context["member_units"] = (
        list(db.session.scalars(select(Unit).where(Unit.id.in_(member_units)).order_by(Unit.name)))
        if member_units
        else []
    )
    measurements = results_service.measurements_with_figures(db.session)
    # The newest measurement whose results reach this person: before management releases
    # one, a class team's, student council's or board's cards stay on the one before.
    shown = next(
        (
            m
            for m in measurements
            if access.results_released(m)
            or access.management().may_anywhere(Permission.VIEW_RESULTS)
        ),
        None,
    )
    today = date.today()
    context["todo"] = todo.for_person(db.session, access, shown, today)
    context["next_steps"] = NEXT_STEPS
    context["step_titles"] = STEP_TITLES
    context["today"] = today
    return render_template("main/home.html", **context)


@bp.get("/units")
@login_required
def units() -> str:
    """The units the user can open: their own role units, as the starting points."""
    require(Permission.VIEW_UNIT)
    access = current_access()
    if access.is_admin:
        roots = list(db.session.scalars(select(Unit).where(Unit.parent_id.is_(None))))
    else:
        ids = {u for role, u in access.assignments if role != Role.BOARD}
        roots = list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name)))
    return render_template("main/units.html", roots=roots)


@bp.get("/units/<code>")
@login_required
def unit(code: str) -> str:
    access = current_access()
    # One walk up the tree for the whole page: the unit, its chain and children, read at
    # once, decide whether the user may see it, the breadcrumbs, whether each of them is a
    # link, and the children the user may open.
    trail, children = trail_and_children(db.session, code)
    if not trail:
        abort(404)
    unit = trail[-1]
    access.learn_chain(unit.id, [u.id for u in reversed(trail)])
    if not access.may(db.session, Permission.VIEW_UNIT, unit.id):
        abort(404)
    return render_template("main/unit.html", **_unit_context(unit, trail, children))


# The unit page reads only how far the follow-up has come and how many alerts are open: in
# one query of plain SQL built once (no plan, no step texts, no ORM objects). It has a row
# whether or not the follow-up is started (the count's), and one per step when it is.
_follow_up = FollowUp.__table__
_step = FollowUpStep.__table__
_alert = ZeroToleranceAlert.__table__
_keys = {"measurement_id": bindparam("measurement_id"), "unit_id": bindparam("unit_id")}
_open_alerts = (
    select(func.count(_alert.c.id))
    .where(
        _alert.c.measurement_id == _keys["measurement_id"],
        _alert.c.unit_id == _keys["unit_id"],
        _alert.c.closed_at.is_(None),
    )
    .scalar_subquery()
)
_one = select(literal_column("1").label("one")).subquery()
_PROGRESS = select(
    _open_alerts.label("open_alerts"), _follow_up.c.id, _step.c.step, _step.c.state
).select_from(
    _one.outerjoin(
        _follow_up,
        (_follow_up.c.measurement_id == _keys["measurement_id"])
        & (_follow_up.c.unit_id == _keys["unit_id"]),
    ).outerjoin(_step, _step.c.follow_up_id == _follow_up.c.id)
)


def _progress(measurement_id: int, unit_id: int) -> tuple[bool, Step, int]:
    """Whether the unit's follow-up of the measurement is started, its current step
    (services.followup.step_reached) and the unit's open zero-tolerance alerts."""
    rows = db.session.execute(
        _PROGRESS, {"measurement_id": measurement_id, "unit_id": unit_id}
    ).all()
    states = {row.step: row.state for row in rows if row.step is not None}
    started = any(row.id is not None for row in rows)
    return started, followup_service.step_reached(states), rows[0].open_alerts or 0


def _unit_context(unit: Unit, trail: list[Unit], children: list[Unit]) -> dict[str, Any]:
    access = current_access()
    linkable = {u.id for u in trail if access.may(db.session, Permission.VIEW_UNIT, u.id)}
    children = access.visible_children(db.session, Permission.VIEW_UNIT, unit.id, children)
    may_view_results = access.may(db.session, Permission.VIEW_RESULTS, unit.id)
    measurements = results_service.measurements_with_figures(db.session)
    measurement = None
    results_html = None
    started = False
    current_step = Step.ANALYSIS
    open_alerts = 0
    held_back = False
    if may_view_results and measurements:
        measurement = chosen_measurement(measurements)
        held_back = access.held_back(db.session, measurement, unit.id)  # type: ignore[arg-type]
    if may_view_results and measurement is not None and not held_back:
        results_html = unit_results_html(unit, measurement, measurements)
        started, current_step, open_alerts = _progress(measurement.id, unit.id)
    return {
        "unit": unit,
        "trail": trail,
        "linkable": linkable,
        "children": children,
        "may_view_results": may_view_results,
        "held_back": held_back,
        "release": (
            release_service.status(db.session, measurement, held=access.hold_results)
            if measurement
            else None
        ),
        "may_release": access.may_release_results(db.session),
        "may_edit_followup": access.may(db.session, Permission.EDIT_FOLLOWUP, unit.id),
        "measurements": measurements,
        "measurement": measurement,
        "results_html": results_html,
        "follow_up": started,
        "current_step": current_step,
        "step_titles": STEP_TITLES,
        "open_alerts": open_alerts,
        "may_view_followup": access.may(db.session, Permission.VIEW_FOLLOWUP, unit.id),
    }


HISTORY_PER_PAGE = 100


@bp.get("/units/<code>/history")
@login_required
def history(code: str) -> str:
    """Every change to the unit's follow-ups, actions and alerts: who, when, what."""
    unit = unit_or_404(code, Permission.VIEW_FOLLOWUP)
    page = db.paginate(
        select(AuditEvent)
        .where(AuditEvent.unit_id == unit.id)
        .options(selectinload(AuditEvent.user))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()),
        per_page=HISTORY_PER_PAGE,
        error_out=False,
    )
    return render_template("main/history.html", unit=unit, page=page, labels=HISTORY_LABELS)


HISTORY_LABELS = {
    "followup.started": _l("Follow-up started"),
    "followup.analysis.saved": _l("Analysis saved"),
    "followup.preparation.saved": _l("Dialogue preparation saved"),
    "followup.dialogue.saved": _l("Dialogue meeting saved"),
    "followup.plan.saved": _l("Action plan saved"),
    "followup.evaluation.saved": _l("Evaluation saved"),
    "followup.plan.approved": _l("Action plan approved"),
    "followup.theme.added": _l("Theme added"),
    "action.created": _l("Action created"),
    "action.status": _l("Action moved on the status arrow"),
    "action.escalated": _l("Action passed on"),
    "followup.theme.edited": _l("Theme edited"),
    "followup.theme.deleted": _l("Theme deleted"),
    "followup.theme.restored": _l("Deleted theme brought back"),
    "action.edited": _l("Action edited"),
    "action.deleted": _l("Action deleted"),
    "action.restored": _l("Deleted action brought back"),
    "alert.reaction": _l("Reaction to a zero-tolerance alert recorded"),
    "role.assigned": _l("Role given"),
    "role.removed": _l("Role removed"),
}

"""The follow-up of a unit's results: five steps, the action plan, alerts and routing.

Routing follows the traffic light (seed 004): green units, and yellow units at or above the
organisation's average, run their follow-up themselves; a yellow unit below the average plans
it with its department head, a red one with the department head and HR; both are measured
again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.models import (
    STEPS,
    Action,
    ActionStatus,
    FollowUp,
    FollowUpStep,
    Measurement,
    PlanTheme,
    Route,
    Step,
    StepState,
    Unit,
    UnitFigures,
    User,
    ZeroToleranceAlert,
)
from app.services import audit
from app.services.units import ancestor_ids

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult


class FollowUpError(ValueError):
    """A change that cannot be made; the message is for the person who asked."""


# --- the timeline ---------------------------------------------------------------------------


def step_due(measurement: Measurement, step: Step) -> date | None:
    """Each step's due date, from the measurement's timeline.

    Analysis two weeks after the results are out; preparation a week before the dialogue
    deadline; then the dialogue, action-plan and evaluation dates as set.
    """
    if step == Step.ANALYSIS:
        released = measurement.results_released_on
        due = released + timedelta(days=14) if released else None
        if due and measurement.dialogue_deadline:
            due = min(due, measurement.dialogue_deadline)
        return due
    if step == Step.PREPARATION:
        deadline = measurement.dialogue_deadline
        return deadline - timedelta(days=7) if deadline else None
    if step == Step.DIALOGUE:
        return measurement.dialogue_deadline
    if step == Step.PLAN:
        return measurement.action_plan_deadline
    return measurement.evaluation_date


def current_step(follow_up: FollowUp | None) -> Step:
    """The first step that is not done (the evaluation when all are)."""
    if follow_up is None:
        return Step.ANALYSIS
    return step_reached({s.step: s.state for s in follow_up.steps})


def step_reached(states: Mapping[str, str]) -> Step:
    """current_step from the states of a follow-up's steps ({step: state}), read alone."""
    for step in STEPS:
        if states.get(step) != StepState.DONE:
            return step
    return Step.EVALUATION


# --- routing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Routing:
    colour: str | None
    route: Route
    department_unit_id: int | None
    remeasure: bool
    below_average: bool


def organisation_average(session: Session, measurement: Measurement) -> float | None:
    """The root's overall score: the organisation's average."""
    return session.scalar(
        select(UnitFigures.overall_score)
        .where(
            UnitFigures.measurement_id == measurement.id,
            UnitFigures.parent_unit_id.is_(None),
            UnitFigures.shown.is_(True),
        )
        .order_by(UnitFigures.respondents.desc().nulls_last())
        .limit(1)
    )


def department_of(session: Session, unit: Unit) -> int | None:
    """The unit's department: its ancestor just below the root (None for the root and for a
    department itself)."""
    chain = ancestor_ids(session, unit.id)  # unit, parent, ..., root
    return chain[-2] if len(chain) >= 3 else None


def routing(
    session: Session, measurement: Measurement, unit: Unit, figures: UnitFigures | None
) -> Routing:
    colour = figures.colour if figures is not None and figures.shown else None
    overall = figures.overall_score if figures is not None and figures.shown else None
    average = organisation_average(session, measurement)
    below = overall is not None and average is not None and overall < average
    department = department_of(session, unit)
    if colour == "red":
        return Routing(colour, Route.DEPARTMENT_HR, department, True, below)
    if colour == "yellow" and below:
        return Routing(colour, Route.DEPARTMENT, department, True, below)
    return Routing(colour, Route.UNIT, None, False, below)


def remeasure_date(measurement: Measurement) -> date:
    """When a red or low yellow unit is measured again: the measurement's date, else the end of
    January after the survey year (the seeds' "der måles igen i januar") — or after the year
    the results came in, if later (a school year's survey imported in the autumn after it),
    so the date is never already past when the follow-up starts."""
    if measurement.remeasure_on:
        return measurement.remeasure_on
    year = measurement.year
    if measurement.created_at is not None:
        year = max(year, measurement.created_at.year)
    return date(year + 1, 1, 31)


# --- follow-ups -----------------------------------------------------------------------------


def find(
    session: Session, measurement: Measurement, unit: Unit, *, with_plan: bool = True
) -> FollowUp | None:
    """The unit's follow-up of the measurement with its steps, and who changed them and its
    plan (themes and actions) unless `with_plan` is False (a page that shows only how far it
    has come)."""
    loads: list[Any] = [joinedload(FollowUp.steps)]  # five rows: in the same query
    if with_plan:
        loads = [
            selectinload(FollowUp.steps).selectinload(FollowUpStep.updated_by),
            # Deleted actions wait for "Fortryd" only: no plan shows them.
            selectinload(FollowUp.themes).selectinload(
                PlanTheme.actions.and_(Action.deleted_at.is_(None))
            ),
        ]
    return (
        session.scalars(
            select(FollowUp)
            .where(FollowUp.measurement_id == measurement.id, FollowUp.unit_id == unit.id)
            .options(*loads)
        )
        .unique()
        .one_or_none()
    )


def _find_with_context(*loads: Any) -> Any:
    """The measurement, the unit with a code and the unit's follow-up of the measurement (if
    any) in one statement, built once (at import): the step pages, their autosaves and the
    plan's routes run it on every request."""
    return (
        select(Measurement, Unit, FollowUp)
        .select_from(Measurement)
        .join(Unit, Unit.code == bindparam("unit_code"))
        .outerjoin(
            FollowUp,
            (FollowUp.measurement_id == Measurement.id) & (FollowUp.unit_id == Unit.id),
        )
        .where(Measurement.id == bindparam("measurement_id"))
        .options(*loads)
    )


# As `find` loads them: the steps alone, or the steps with who changed them and the plan.
_FIND_FOR_STEP = _find_with_context(joinedload(FollowUp.steps))
_FIND_FOR_PLAN = _find_with_context(
    selectinload(FollowUp.steps).selectinload(FollowUpStep.updated_by),
    selectinload(FollowUp.themes).selectinload(PlanTheme.actions.and_(Action.deleted_at.is_(None))),
)


def find_for_step(
    session: Session, measurement_id: int, unit_code: str, *, with_plan: bool = False
) -> tuple[Measurement, Unit, FollowUp | None] | None:
    """The measurement, the unit with this code and the unit's follow-up of the measurement
    with its steps (and its plan with `with_plan`, as `find` loads them), in one query: a
    step page and its autosave ask for all three on every request. None when the
    measurement or the unit is missing; the caller still asks the policy about both."""
    row = (
        session.execute(
            _FIND_FOR_PLAN if with_plan else _FIND_FOR_STEP,
            {"measurement_id": measurement_id, "unit_code": unit_code},
        )
        .unique()
        .first()
    )
    if row is None:
        return None
    measurement, unit, follow_up = row
    return measurement, unit, follow_up


def unit_figures(session: Session, measurement: Measurement, unit: Unit) -> UnitFigures | None:
    return session.get(UnitFigures, (measurement.id, unit.id))


def start(session: Session, actor: User | None, measurement: Measurement, unit: Unit) -> FollowUp:
    """The unit's follow-up, created with its five steps and its routing when missing."""
    existing = find(session, measurement, unit)
    if existing is not None:
        return existing
    figures = unit_figures(session, measurement, unit)
    if figures is None:
        raise FollowUpError("unit_not_in_measurement")
    route = routing(session, measurement, unit, figures)
    follow_up = FollowUp(
        measurement_id=measurement.id,
        unit_id=unit.id,
        uses_parent_figures=not figures.shown,
        colour=route.colour,
        route=route.route,
        department_unit_id=route.department_unit_id,
        remeasure=route.remeasure,
        remeasure_by=remeasure_date(measurement) if route.remeasure else None,
    )
    follow_up.steps = [FollowUpStep(step=step, state=StepState.NOT_STARTED) for step in STEPS]
    session.add(follow_up)
    session.flush()
    audit.record(
        session,
        actor,
        "followup.started",
        "follow_up",
        follow_up.id,
        unit_id=unit.id,
        route=route.route.value,
        colour=route.colour,
    )
    return follow_up


def step_of(follow_up: FollowUp, step: Step) -> FollowUpStep:
    return next(s for s in follow_up.steps if s.step == step)


class StepConflict(Exception):
    """Someone saved the step after the writer loaded it; `step` holds what is saved now."""

    def __init__(self, step: FollowUpStep) -> None:
        super().__init__(step.id)
        self.step = step


_STEPS = FollowUpStep.__table__
# The version claimed and the step written in one statement, built once (on the table: no
# ORM work per save). Of two saves that both loaded version 3 only one writes.
_CLAIM_AND_SAVE = (
    update(_STEPS)
    .where(
        _STEPS.c.id == bindparam("step_id"),
        _STEPS.c.version == bindparam("expected_version"),
    )
    .values(
        {
            name: bindparam(f"new_{name}", type_=_STEPS.c[name].type)
            for name in ("version", "data", "state", "updated_at", "updated_by_id")
        }
    )
)


def save_step(
    session: Session,
    actor: User,
    follow_up: FollowUp,
    step: Step,
    data: dict[str, Any],
    state: StepState | None = None,
    *,
    expected_version: int | None = None,
) -> FollowUpStep:
    """Keep what was written in the step; every save counts its version up.

    With `expected_version` (the version the writer's form was loaded at), a step saved since
    then is left as it is: StepConflict, holding what is saved now. The version is claimed by
    one conditional UPDATE (as the board's moves check theirs), so of two saves that both
    loaded version 3 only one writes. Saves without it (the plan's themes and actions, which
    only mark the step as worked on) never conflict.
    """
    record = step_of(follow_up, step)
    merged = {**(record.data or {}), **data}
    if state is None:
        state = StepState.IN_PROGRESS if record.state == StepState.NOT_STARTED else record.state
    now = _now()
    if expected_version is None:
        record.version = FollowUpStep.version + 1  # in SQL: no count is lost to a race
        record.data = merged
        record.state = state
        record.updated_at = now
        record.updated_by_id = actor.id
        session.flush()
    else:
        values = {
            "version": expected_version + 1,
            "data": merged,
            "state": state,
            "updated_at": now,
            "updated_by_id": actor.id,
        }
        claimed = session.execute(
            _CLAIM_AND_SAVE,
            {"step_id": record.id, "expected_version": expected_version}
            | {f"new_{name}": value for name, value in values.items()},
        )
        if cast("CursorResult[Any]", claimed).rowcount != 1:
            session.expire(record)  # read again: what the other writer saved, and by whom
            raise StepConflict(record)
        for name, value in values.items():
            set_committed_value(record, name, value)
        session.expire(record, ["updated_by"])  # the writer now: read again if asked for
    audit.record(
        session,
        actor,
        f"followup.{step.value}.saved",
        "follow_up",
        follow_up.id,
        unit_id=follow_up.unit_id,
        state=record.state.value,
        fields=sorted(data),
    )
    return record


def _now() -> Any:
    from app.models.base import utcnow

    return utcnow()


# --- the action plan ------------------------------------------------------------------------


def add_theme(
    session: Session,
    actor: User,
    follow_up: FollowUp,
    *,
    title: str,
    current_score: float | None,
    target_score: float | None,
    goal: str,
    approach: str,
) -> PlanTheme:
    position = len(follow_up.themes)
    theme = PlanTheme(
        follow_up_id=follow_up.id,
        title=title.strip(),
        current_score=current_score,
        target_score=target_score,
        goal=goal,
        approach=approach,
        position=position,
    )
    session.add(theme)
    session.flush()
    audit.record(
        session,
        actor,
        "followup.theme.added",
        "plan_theme",
        theme.id,
        unit_id=follow_up.unit_id,
        title=theme.title,
    )
    return theme


def add_action(
    session: Session,
    actor: User,
    follow_up: FollowUp,
    *,
    title: str,
    theme: PlanTheme | None = None,
    owner: User | None = None,
    owner_name: str = "",
    deadline: date | None = None,
) -> Action:
    action = Action(
        follow_up_id=follow_up.id,
        theme_id=theme.id if theme else None,
        unit_id=follow_up.unit_id,
        title=title.strip(),
        owner_user_id=owner.id if owner else None,
        owner_name="" if owner else owner_name.strip(),
        deadline=deadline,
        status=ActionStatus.NOT_STARTED,
    )
    session.add(action)
    session.flush()
    audit.record(
        session,
        actor,
        "action.created",
        "action",
        action.id,
        unit_id=follow_up.unit_id,
        title=action.title,
    )
    return action


def escalate(
    session: Session,
    actor: User,
    action: Action,
    *,
    to_unit: Unit | None = None,
    to_function: str = "",
) -> None:
    """Pass an action the unit cannot solve itself up to a unit above, or to a function."""
    if to_unit is not None and to_unit.id not in ancestor_ids(session, action.unit_id)[1:]:
        raise FollowUpError("escalate_upwards_only")
    if to_unit is None and not to_function.strip():
        raise FollowUpError("escalate_needs_receiver")
    action.escalated_to_unit_id = to_unit.id if to_unit else None
    action.escalated_to_function = to_function.strip()[:100]
    audit.record(
        session,
        actor,
        "action.escalated",
        "action",
        action.id,
        unit_id=action.unit_id,
        to_unit=to_unit.code if to_unit else None,
        to_function=action.escalated_to_function,
    )


def set_status(
    session: Session, actor: User, action: Action, status: ActionStatus, comment: str = ""
) -> None:
    """Move an action on the status arrow from its current version (no concurrent edit
    check: for callers that just read it, such as the demo)."""
    from app.services.board import move

    move(session, actor, action, status, expected_version=action.version, comment=comment)


def actions_by_status(session: Session, follow_up_ids: list[int]) -> dict[int, dict[int, int]]:
    rows = session.execute(
        select(Action.follow_up_id, Action.status, func.count())
        .where(Action.follow_up_id.in_(follow_up_ids), Action.deleted_at.is_(None))
        .group_by(Action.follow_up_id, Action.status)
    ).all()
    counts: dict[int, dict[int, int]] = {}
    for follow_up_id, status, count in rows:
        counts.setdefault(follow_up_id, {})[status] = count
    return counts


# Zero-tolerance alerts: app.services.alerts.


# --- overview and export ---------------------------------------------------------------------


@dataclass
class Standing:
    """Where a unit's follow-up of a measurement stands: what the follow-up overview and the
    to-do lists both print, read in one place (`standings`)."""

    unit: Unit
    shown: bool  # the unit's own figures are shown (else it works from its parent's)
    colour: str | None  # the traffic light of shown figures
    overall_score: float | None  # of shown figures
    follow_up: FollowUp | None
    step: Step
    overdue_actions: int
    open_alerts: int
    overdue_alerts: int


def standings(
    session: Session, measurement: Measurement, unit_ids: set[int] | None, today: date
) -> list[Standing]:
    """Every unit of the measurement within `unit_ids` (None: all), by code. Five queries,
    whatever the number of units; only the units asked for are read (a leader's few, not the
    whole organisation's). Deleted actions never count. A unit that a re-measurement measured
    only in part has an open alert but no figures: it is a row too (not shown), or HR would
    not see the alert, and the count of units with alerts would disagree with the list."""
    if unit_ids is not None and not unit_ids:
        return []
    rows_query = (
        select(Unit, UnitFigures.shown, UnitFigures.colour, UnitFigures.overall_score)
        .join(UnitFigures, UnitFigures.unit_id == Unit.id)
        .where(UnitFigures.measurement_id == measurement.id)
    )
    follow_ups_query = (
        select(FollowUp)
        .where(FollowUp.measurement_id == measurement.id)
        .options(selectinload(FollowUp.steps))
    )
    alerts_query = (
        select(
            ZeroToleranceAlert.unit_id,
            func.count(),
            func.count().filter(ZeroToleranceAlert.due_on < today),
        )
        .where(
            ZeroToleranceAlert.measurement_id == measurement.id,
            ZeroToleranceAlert.closed_at.is_(None),
        )
        .group_by(ZeroToleranceAlert.unit_id)
    )
    if unit_ids is not None:
        rows_query = rows_query.where(Unit.id.in_(unit_ids))
        follow_ups_query = follow_ups_query.where(FollowUp.unit_id.in_(unit_ids))
        alerts_query = alerts_query.where(ZeroToleranceAlert.unit_id.in_(unit_ids))
    rows = [tuple(row) for row in session.execute(rows_query)]
    follow_ups = {f.unit_id: f for f in session.scalars(follow_ups_query)}
    overdue_actions: dict[int, int] = {}
    if follow_ups:
        overdue_actions = dict(
            session.execute(
                select(Action.follow_up_id, func.count())
                .where(
                    Action.follow_up_id.in_([f.id for f in follow_ups.values()]),
                    Action.deleted_at.is_(None),
                    Action.deadline < today,
                    Action.status < ActionStatus.DONE,
                )
                .group_by(Action.follow_up_id)
            )
            .tuples()
            .all()
        )
    alerts = {unit_id: (n, late) for unit_id, n, late in session.execute(alerts_query)}
    listed = {row[0].id for row in rows}
    without_figures = [unit_id for unit_id in alerts if unit_id not in listed]
    if without_figures:
        rows += [
            (unit, False, None, None)
            for unit in session.scalars(select(Unit).where(Unit.id.in_(without_figures)))
        ]
    rows.sort(key=lambda row: row[0].code)
    result = []
    for unit, shown, colour, overall_score in rows:
        follow_up = follow_ups.get(unit.id)
        open_alerts, overdue_alerts = alerts.get(unit.id, (0, 0))
        result.append(
            Standing(
                unit=unit,
                shown=bool(shown),
                colour=colour if shown else None,
                overall_score=overall_score if shown else None,
                follow_up=follow_up,
                step=current_step(follow_up),
                overdue_actions=overdue_actions.get(follow_up.id, 0) if follow_up else 0,
                open_alerts=open_alerts,
                overdue_alerts=overdue_alerts,
            )
        )
    return result


@dataclass
class OverviewEntry(Standing):
    """A row of the follow-up overview: the standing, the plan's timeliness and the actions."""

    plan_on_time: bool | None = None  # None: no deadline yet, or not due
    actions: dict[int, int] = field(default_factory=dict)


def overview(
    session: Session, measurement: Measurement, unit_ids: set[int] | None, today: date
) -> list[OverviewEntry]:
    """`standings` with whether each plan was done by the measurement's deadline and the
    actions by status (one query more)."""
    found = standings(session, measurement, unit_ids, today)
    by_status = actions_by_status(session, [s.follow_up.id for s in found if s.follow_up])
    deadline = measurement.action_plan_deadline
    entries = []
    for standing in found:
        follow_up = standing.follow_up
        plan_done = None
        if follow_up is not None:
            plan_done = next((s for s in follow_up.steps if s.step == Step.PLAN), None)
        on_time: bool | None = None
        if deadline is not None:
            done_at = (
                plan_done.updated_at if plan_done and plan_done.state == StepState.DONE else None
            )
            if done_at is not None:
                on_time = done_at.date() <= deadline
            elif today > deadline:
                on_time = False
        entries.append(
            OverviewEntry(
                **{f.name: getattr(standing, f.name) for f in fields(Standing)},
                plan_on_time=on_time,
                actions=by_status.get(follow_up.id, {}) if follow_up else {},
            )
        )
    return entries


def followup_document(
    session: Session,
    measurement: Measurement,
    unit_ids: set[int] | None,
    results_unit_ids: set[int] | None = None,
) -> list[dict[str, Any]]:
    """The follow-up of every unit as JSON-ready data (`kompas export-followup`, the API).

    `unit_ids`: the units whose follow-up is given (None: all). `results_unit_ids`: those whose
    light, re-measurement and alerts may be given too (None: all) — they are results, which a
    school holds until management releases them; elsewhere they are null and empty."""
    from sqlalchemy.orm import aliased

    escalated_unit = aliased(Unit)
    follow_ups = session.scalars(
        select(FollowUp)
        .where(FollowUp.measurement_id == measurement.id)
        .options(selectinload(FollowUp.steps), selectinload(FollowUp.unit))
    ).all()
    actions: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(Action, User.name, escalated_unit.code)
        .outerjoin(User, User.id == Action.owner_user_id)
        .outerjoin(escalated_unit, escalated_unit.id == Action.escalated_to_unit_id)
        .where(Action.follow_up_id.in_([f.id for f in follow_ups]), Action.deleted_at.is_(None))
        .order_by(Action.id)
    ).all()
    for action, owner, escalated_code in rows:
        actions.setdefault(action.follow_up_id, []).append(
            {
                "id": action.id,
                "title": action.title,
                "owner": owner or action.owner_name or None,
                "deadline": action.deadline.isoformat() if action.deadline else None,
                "status": ActionStatus(action.status).name.lower(),
                "escalated_to": escalated_code or action.escalated_to_function or None,
            }
        )
    alerts: dict[int, list[dict[str, Any]]] = {}
    for alert in session.scalars(
        select(ZeroToleranceAlert)
        .where(ZeroToleranceAlert.measurement_id == measurement.id)
        .options(selectinload(ZeroToleranceAlert.questions))
        .order_by(ZeroToleranceAlert.id)
    ):
        alerts.setdefault(alert.unit_id, []).append(
            {
                "questions": [q.code for q in alert.questions],
                "opened": alert.opened_on.isoformat(),
                "due": alert.due_on.isoformat(),
                "reaction": alert.reaction or None,
                "closed": alert.closed_at.isoformat() if alert.closed_at else None,
                "closed_reason": alert.closed_reason or None,
                "follow_up_on": _iso(alert.follow_up_on),
            }
        )
    document = []
    by_unit = {f.unit_id: f for f in follow_ups}
    unit_rows = session.execute(
        select(Unit.id, Unit.code, UnitFigures.colour, UnitFigures.overall_score)
        .join(UnitFigures, UnitFigures.unit_id == Unit.id)
        .where(UnitFigures.measurement_id == measurement.id)
        .order_by(Unit.code)
    ).all()
    average = organisation_average(session, measurement)
    for unit_id, code, colour, overall in unit_rows:
        if unit_ids is not None and unit_id not in unit_ids:
            continue
        follow_up = by_unit.get(unit_id)
        steps = {s.step: s for s in follow_up.steps} if follow_up else {}
        results_given = results_unit_ids is None or unit_id in results_unit_ids
        document.append(
            {
                "unit": code,
                "colour": colour if results_given else None,
                "remeasure": results_given
                and (
                    follow_up.remeasure if follow_up else _needs_remeasure(colour, overall, average)
                ),
                "steps": {
                    step.value: {
                        "state": steps[step].state.value if step in steps else "not_started",
                        "due": _iso(step_due(measurement, step)),
                        "updated_at": _iso(steps[step].updated_at) if step in steps else None,
                    }
                    for step in STEPS
                },
                "actions": actions.get(follow_up.id, []) if follow_up else [],
                "alerts": alerts.get(unit_id, []) if results_given else [],
            }
        )
    return document


def _needs_remeasure(colour: str | None, overall: float | None, average: float | None) -> bool:
    """The routing rule without a follow-up: red, or yellow below the average."""
    if colour == "red":
        return True
    return colour == "yellow" and None not in (overall, average) and overall < average  # type: ignore[operator]


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None

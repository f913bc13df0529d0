"""What each person should do next: the to-do list their home page shows.

A leader (or a partner of the unit's follow-up) gets a card per unit they lead: traffic
light, current step and its deadline, overdue actions and open alerts. A department head
also gets the units below that are behind, the plans waiting for their approval and the
actions passed up to them. HR and the MED committee get counts that link to the filtered
follow-up overview; the counts and the overview's filters share the rules below, so a count
and the list it links to never disagree.

Every list is read with a fixed number of queries, whatever the number of units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from app.models import (
    STEPS,
    Action,
    ActionStatus,
    FollowUp,
    IssuedReport,
    Measurement,
    PlanApproval,
    Role,
    Step,
    StepState,
    Unit,
    ZeroToleranceAlert,
)
from app.policy import Access, Permission
from app.services.approval import pending_for
from app.services.followup import Standing, standings, step_due
from app.services.report_archive import archive

# How many rows a home-page list shows before "see all".
HOME_LIST_LENGTH = 8


# --- the rules shared by the home's counts and the overview's filters -----------------------


def steps_done(follow_up: FollowUp | None) -> bool:
    """Whether every step of the follow-up is done (nothing left to do this year)."""
    if follow_up is None:
        return False
    states = {s.step: s.state for s in follow_up.steps}
    return all(states.get(step) == StepState.DONE for step in STEPS)


def days_behind(
    measurement: Measurement, follow_up: FollowUp | None, step: Step, today: date
) -> int:
    """How many days the unit's current step is past its deadline (0: on time, no deadline,
    or all done)."""
    if steps_done(follow_up):
        return 0
    due = step_due(measurement, step)
    if due is None or due >= today:
        return 0
    return (today - due).days


def plan_made(follow_up: FollowUp | None) -> bool:
    if follow_up is None:
        return False
    return any(s.step == Step.PLAN and s.state == StepState.DONE for s in follow_up.steps)


@dataclass(frozen=True)
class Filter:
    """A filter of the follow-up overview: its query parameter, the values it accepts and
    the test of one unit (colour, follow-up, current step)."""

    name: str
    values: tuple[str, ...]
    test: Callable[[str, Measurement, str | None, FollowUp | None, Step, date], bool]


FILTERS: tuple[Filter, ...] = (
    Filter(
        "colour",
        ("green", "yellow", "red"),
        lambda value, _m, colour, _f, _s, _t: colour == value,
    ),
    Filter(
        "step",
        tuple(s.value for s in STEPS),
        lambda value, _m, _c, _f, step, _t: step.value == value,
    ),
    Filter(
        "started",
        ("yes", "no"),
        lambda value, _m, _c, follow_up, _s, _t: (follow_up is not None) == (value == "yes"),
    ),
    Filter(
        "plan",
        ("missing", "made"),
        lambda value, _m, _c, follow_up, _s, _t: plan_made(follow_up) == (value == "made"),
    ),
    Filter(
        "behind",
        ("1",),
        lambda _v, measurement, _c, follow_up, step, today: (
            days_behind(measurement, follow_up, step, today) > 0
        ),
    ),
)


def chosen_filters(args: Any) -> dict[str, str]:
    """The overview filters asked for in the query string that are known; anything else is
    left out (and so not applied), never an error."""
    chosen = {}
    for known in FILTERS:
        value = (args.get(known.name) or "").strip()
        if value in known.values:
            chosen[known.name] = value
    return chosen


def matches(
    chosen: dict[str, str],
    measurement: Measurement,
    colour: str | None,
    follow_up: FollowUp | None,
    step: Step,
    today: date,
) -> bool:
    return all(
        known.test(chosen[known.name], measurement, colour, follow_up, step, today)
        for known in FILTERS
        if known.name in chosen
    )


# --- units and where they stand --------------------------------------------------------------


@dataclass
class UnitStatus(Standing):
    """Where one unit's follow-up of the measurement stands, with the current step's deadline
    and how far behind it is."""

    due: date | None = None  # the current step's deadline
    days_behind: int = 0
    partner: bool = False  # on the list as a partner of the follow-up, not as its leader

    @property
    def done(self) -> bool:
        return steps_done(self.follow_up)

    @property
    def months_behind(self) -> int:
        """Whole months past the deadline, for "5 months overdue" in plain words."""
        if not self.days_behind or self.due is None:
            return 0
        today = date.fromordinal(self.due.toordinal() + self.days_behind)
        months = (today.year - self.due.year) * 12 + today.month - self.due.month
        return months - (1 if today.day < self.due.day else 0)


def unit_statuses(
    session: Session, measurement: Measurement, unit_ids: set[int] | None, today: date
) -> list[UnitStatus]:
    """The units of the measurement within `unit_ids` (None: all), ordered by code, as the
    follow-up overview reads them (`followup.standings`), with each step's deadline."""
    return [
        UnitStatus(
            **{f.name: getattr(standing, f.name) for f in fields(Standing)},
            due=step_due(measurement, standing.step),
            days_behind=days_behind(measurement, standing.follow_up, standing.step, today),
        )
        for standing in standings(session, measurement, unit_ids, today)
    ]


def worst_first(statuses: list[UnitStatus]) -> list[UnitStatus]:
    """Most days behind first; then the earlier step; then by code."""
    return sorted(statuses, key=lambda s: (-s.days_behind, STEPS.index(s.step), s.unit.code))


# --- the to-do list of one person -----------------------------------------------------------


@dataclass
class Counts:
    """HR's and the committee's numbers, each the size of a filtered overview."""

    red: int = 0
    yellow: int = 0
    not_started: int = 0
    plans_missing: int = 0
    with_alerts: int = 0
    behind: int = 0
    units: int = 0


@dataclass
class Todo:
    measurement: Measurement | None
    cards: list[UnitStatus] = field(default_factory=list)
    behind: list[UnitStatus] = field(default_factory=list)
    behind_total: int = 0
    approvals: list[PlanApproval] = field(default_factory=list)
    passed: list[Action] = field(default_factory=list)
    passed_total: int = 0
    counts: Counts | None = None
    reports: list[IssuedReport] = field(default_factory=list)
    reports_total: int = 0
    alerts: list[ZeroToleranceAlert] = field(default_factory=list)
    alerts_total: int = 0
    leads_department: bool = False
    # Units the person leads (or partners) that have no figures in the measurement.
    without_results: list[Unit] = field(default_factory=list)


def open_alerts(
    session: Session, access: Access, limit: int = HOME_LIST_LENGTH
) -> tuple[list[ZeroToleranceAlert], int]:
    """The open alerts the user must react to, newest first, and how many there are."""
    if not access.may_anywhere(Permission.EDIT_FOLLOWUP):
        return [], 0
    allowed = access.unit_ids(session, Permission.EDIT_FOLLOWUP)
    where: list[Any] = [ZeroToleranceAlert.closed_at.is_(None)]
    if allowed is not None:
        where.append(ZeroToleranceAlert.unit_id.in_(allowed))
    held = access.held_measurement_ids(session)
    if held:  # alerts of results not yet released: only through admin and leader roles
        early = access.management().unit_ids(session, Permission.EDIT_FOLLOWUP) or set()
        where.append(
            or_(
                ZeroToleranceAlert.measurement_id.not_in(held),
                ZeroToleranceAlert.unit_id.in_(early),
            )
        )
    total = session.scalar(select(func.count(ZeroToleranceAlert.id)).where(*where)) or 0
    if not total:
        return [], 0
    newest = session.scalars(
        select(ZeroToleranceAlert)
        .where(*where)
        .options(joinedload(ZeroToleranceAlert.unit), joinedload(ZeroToleranceAlert.measurement))
        .order_by(ZeroToleranceAlert.opened_on.desc(), ZeroToleranceAlert.id.desc())
        .limit(limit)
    )
    return list(newest), total


def passed_to(
    session: Session, access: Access, unit_ids: set[int], limit: int = HOME_LIST_LENGTH
) -> tuple[list[Action], int]:
    """Unfinished actions passed on to the units in `unit_ids`, from units the user may see:
    the earliest deadline first."""
    if not unit_ids:
        return [], 0
    where: list[Any] = [
        Action.escalated_to_unit_id.in_(unit_ids),
        Action.deleted_at.is_(None),
        Action.status < ActionStatus.DONE,
    ]
    allowed = access.unit_ids(session, Permission.VIEW_FOLLOWUP)
    if allowed is not None:
        where.append(Action.unit_id.in_(allowed))
    total = session.scalar(select(func.count(Action.id)).where(*where)) or 0
    if not total:
        return [], 0
    actions = session.scalars(
        select(Action)
        .where(*where)
        .options(joinedload(Action.unit), joinedload(Action.follow_up))
        .order_by(Action.deadline.is_(None), Action.deadline, Action.id)
        .limit(limit)
    )
    return list(actions), total


def count(statuses: list[UnitStatus]) -> Counts:
    return Counts(
        red=sum(1 for s in statuses if s.colour == "red"),
        yellow=sum(1 for s in statuses if s.colour == "yellow"),
        not_started=sum(1 for s in statuses if s.follow_up is None),
        plans_missing=sum(1 for s in statuses if not plan_made(s.follow_up)),
        with_alerts=sum(1 for s in statuses if s.open_alerts),
        behind=sum(1 for s in statuses if s.days_behind),
        units=len(statuses),
    )


def for_person(
    session: Session, access: Access, measurement: Measurement | None, today: date
) -> Todo:
    """Everything the person's home lists, as far as the policy lets them see it."""
    todo = Todo(measurement=measurement)
    roles = access.roles()
    led = {unit_id for role, unit_id in access.assignments if role == Role.LEADER}
    partnered = set(access.partner_unit_ids) - led
    if measurement is not None:
        visible = access.unit_ids(session, Permission.VIEW_FOLLOWUP)
        # A department head: a leader of a unit with units below it.
        below: set[int] = set()
        if led:
            below = access.subtree(session, frozenset(led)) - led
            todo.leads_department = bool(below)
        # Counts over many units are results: before a school's release only the person's
        # admin and leader roles count (a leader who also sits on the student council gets
        # no counts over the institution through it).
        scoped = access.results_access(measurement)
        scoped_roles = scoped.roles()
        wants_counts = Role.ADMIN in scoped_roles or Role.COMMITTEE in scoped_roles
        wanted: set[int] | None = led | partnered | below
        if wants_counts:
            wanted = scoped.unit_ids(session, Permission.VIEW_FOLLOWUP)
        elif visible is not None:
            wanted = wanted & visible if wanted is not None else visible
        statuses = unit_statuses(session, measurement, wanted, today) if wanted != set() else []
        todo.cards = worst_first(
            [s for s in statuses if s.unit.id in led or s.unit.id in partnered]
        )
        for card in todo.cards:
            card.partner = card.unit.id in partnered
        # The department head's own units count too: the overview they link to shows them.
        mine = led | below
        behind = worst_first([s for s in statuses if s.unit.id in mine and s.days_behind])
        todo.behind, todo.behind_total = behind[:HOME_LIST_LENGTH], len(behind)
        if wants_counts:
            todo.counts = count(statuses)
    missing = (led | partnered) - {card.unit.id for card in todo.cards}
    if missing:
        todo.without_results = list(
            session.scalars(select(Unit).where(Unit.id.in_(missing)).order_by(Unit.name))
        )
    todo.approvals = pending_for(session, access.user_id)
    if led:
        todo.passed, todo.passed_total = passed_to(session, access, led)
    if Role.BOARD in roles:
        reports = archive(session, access)
        todo.reports, todo.reports_total = reports[:HOME_LIST_LENGTH], len(reports)
    todo.alerts, todo.alerts_total = open_alerts(session, access)
    return todo

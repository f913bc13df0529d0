"""The iCalendar feed of one user: deadlines of the actions they own, and the dialogue
meetings of the units they lead or belong to."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Action,
    ActionStatus,
    FollowUp,
    FollowUpStep,
    Organisation,
    OrganisationKind,
    Role,
    RoleAssignment,
    Step,
    User,
)
from app.models.org import organisation_value
from app.services.reminders import COPENHAGEN

MEETING_LENGTH = timedelta(hours=2, minutes=30)  # a workplace's dialogue meeting (the seeds)
CLASS_DIALOGUE_LENGTH = timedelta(minutes=90)  # a class's dialogue: 45-90 minutes (the guide)


def feed(session: Session, user: User) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Kompas//Trivselsopfølgning//DA")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Kompas")
    actions = session.scalars(
        select(Action)
        .where(
            Action.owner_user_id == user.id,
            Action.deadline.is_not(None),
            Action.deleted_at.is_(None),
        )
        .options(selectinload(Action.unit))
    )
    for action in actions:
        event = Event()
        event.add("uid", f"action-{action.id}@kompas")
        event.add("summary", f"Deadline: {action.title}")
        event.add("dtstart", action.deadline)
        event.add("dtend", action.deadline + timedelta(days=1))  # type: ignore[operator]
        event.add(
            "description", f"{action.unit.name} · status {ActionStatus(action.status).value}/4"
        )
        event.add("dtstamp", action.updated_at)
        calendar.add_component(event)

    units = {
        unit_id
        for (unit_id,) in session.execute(
            select(RoleAssignment.unit_id).where(
                RoleAssignment.user_id == user.id,
                RoleAssignment.role.in_((Role.LEADER, Role.MEMBER)),
            )
        )
    }
    steps = session.scalars(
        select(FollowUpStep)
        .join(FollowUp, FollowUp.id == FollowUpStep.follow_up_id)
        .where(FollowUp.unit_id.in_(units), FollowUpStep.step == Step.PREPARATION)
        .options(selectinload(FollowUpStep.follow_up).selectinload(FollowUp.unit))
    )
    school = organisation_value(session, Organisation.kind) == OrganisationKind.SCHOOL
    length, title = (
        (CLASS_DIALOGUE_LENGTH, "Dialog i klassen") if school else (MEETING_LENGTH, "Dialogmøde")
    )
    for step in steps:
        when = _meeting_start(step.data or {})
        if when is None:
            continue
        event = Event()
        event.add("uid", f"dialogue-{step.follow_up_id}@kompas")
        event.add("summary", f"{title}: {step.follow_up.unit.name}")
        event.add("dtstart", when)
        event.add("dtend", when + length)
        if step.data.get("place"):
            event.add("location", step.data["place"])
        event.add("dtstamp", step.updated_at or datetime.now(COPENHAGEN))
        calendar.add_component(event)
    return calendar.to_ical()


def _meeting_start(data: dict) -> datetime | None:
    """The meeting's date and time as written in the preparation step (09.00, 9:30, 13)."""
    from datetime import date

    try:
        day = date.fromisoformat(data.get("meeting_date") or "")
    except ValueError:
        return None
    clock = (data.get("meeting_time") or "").replace(".", ":").strip()
    try:
        hours, _, minutes = clock.partition(":")
        at = time(int(hours), int(minutes or 0))
    except ValueError:
        at = time(9, 0)
    return datetime.combine(day, at, tzinfo=COPENHAGEN)

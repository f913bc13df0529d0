"""Keeping only what the law allows: measurements older than the retention period go, with
everything that hangs on them; a person's data can be exported and their login deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.models import (
    Action,
    ActionUpdate,
    AuditEvent,
    FollowUp,
    ImportLog,
    Measurement,
    Organisation,
    RoleAssignment,
    User,
    ZeroToleranceAlert,
)
from app.services import audit, prepared

DEFAULT_RETENTION_YEARS = 5
FORMER_USER = "former user"  # stored marker; shown translated


@dataclass(frozen=True)
class PurgedMeasurement:
    id: int
    name: str
    year: int


def retention_years(session: Session) -> int:
    years = session.scalar(select(Organisation.retention_years).order_by(Organisation.id).limit(1))
    return years or DEFAULT_RETENTION_YEARS


def expired(session: Session, today: date) -> list[Measurement]:
    """Measurements from more than `retention_years` ago: a 5-year period keeps this year's
    and the four before it."""
    oldest_kept = today.year - retention_years(session) + 1
    return list(
        session.scalars(
            select(Measurement).where(Measurement.year < oldest_kept).order_by(Measurement.year)
        )
    )


def purge(session: Session, actor: User | None, today: date) -> list[PurgedMeasurement]:
    """Delete expired measurements and what hangs on them: results, figures, follow-ups,
    actions and their history, alerts, import logs, archived reports (by the database's
    cascades). One audit event per measurement. Flushes; the caller commits."""
    gone = []
    for measurement in expired(session, today):
        gone.append(PurgedMeasurement(measurement.id, measurement.name, measurement.year))
        session.execute(delete(ImportLog).where(ImportLog.measurement_id == measurement.id))
        session.execute(
            update(Measurement)
            .where(Measurement.remeasure_of_id == measurement.id)
            .values(remeasure_of_id=None)
        )
        questionnaire = measurement.questionnaire
        session.delete(measurement)
        prepared.forget_all(session)  # other sections offer the measurement in their menu
        session.flush()
        audit.record(
            session,
            actor,
            "measurement.purged",
            "measurement",
            measurement.id,
            name=measurement.name,
            year=measurement.year,
        )
        # A questionnaire defined by that measurement's file goes with it when unused.
        if not questionnaire.is_template:
            used = session.scalar(
                select(func.count(Measurement.id)).where(
                    Measurement.questionnaire_id == questionnaire.id
                )
            )
            if not used:
                session.delete(questionnaire)
    session.flush()
    return gone


# --- one person's data ------------------------------------------------------------------------


def export_user(session: Session, user: User) -> dict[str, Any]:
    """Everything Kompas holds about one person, as JSON-ready data."""

    def iso(value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value

    roles = session.execute(
        select(RoleAssignment.role, RoleAssignment.unit_id).where(RoleAssignment.user_id == user.id)
    ).all()
    owned = session.scalars(select(Action).where(Action.owner_user_id == user.id)).all()
    moves = session.scalars(select(ActionUpdate).where(ActionUpdate.user_id == user.id)).all()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.user_id == user.id).order_by(AuditEvent.at)
    ).all()
    reactions = session.scalars(
        select(ZeroToleranceAlert).where(ZeroToleranceAlert.reacted_by_id == user.id)
    ).all()
    return {
        "user": {
            "email": user.email,
            "name": user.name,
            "language": user.language,
            "active": user.active,
            "created_at": iso(user.created_at),
            "last_login_at": iso(user.last_login_at),
            "reminders_enabled": user.reminders_enabled,
            "has_calendar_address": user.calendar_token is not None,
        },
        "roles": [{"role": role.value, "unit_id": unit_id} for role, unit_id in roles],
        "actions_owned": [
            {"id": a.id, "title": a.title, "deadline": iso(a.deadline), "status": a.status}
            for a in owned
        ],
        "status_updates": [
            {"action_id": u.action_id, "at": iso(u.at), "status": u.status, "comment": u.comment}
            for u in moves
        ],
        "alert_reactions": [
            {"alert_id": r.id, "reaction": r.reaction, "on": iso(r.reaction_on)} for r in reactions
        ],
        "history": [
            {
                "at": iso(e.at),
                "action": e.action,
                "object": e.object_type,
                "object_id": e.object_id,
                "details": e.details,
            }
            for e in events
        ],
    }


def delete_user(session: Session, actor: User | None, user: User) -> None:
    """Delete a login. Records that refer to the person by id stay and show "former user"
    (an action they owned) or nobody (who saved a step, approved a plan, imported a file).
    What people wrote is never rewritten: a name in free text is their words, and a name
    like "HR" or "e" is part of other words too."""
    user_id = user.id
    session.execute(
        update(Action)
        .where(Action.owner_user_id == user_id)
        .values(owner_user_id=None, owner_name=FORMER_USER)
    )
    session.execute(
        update(FollowUp).where(FollowUp.approved_by_id == user_id).values(approved_by_id=None)
    )
    session.execute(update(ImportLog).where(ImportLog.user_id == user_id).values(user_id=None))
    audit.record(session, actor, "user.deleted", "user", user_id)
    session.delete(user)
    session.flush()

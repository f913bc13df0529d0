"""Keeping only what the law allows: measurements older than the retention period go, with
everything that hangs on them; a person's data can be exported and their login deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.models import (
    Action,
    ActionUpdate,
    AuditEvent,
    FollowUp,
    ImportLog,
    IssuedReport,
    Measurement,
    Organisation,
    OrganisationKind,
    ReportJob,
    ReportWithdrawal,
    RoleAssignment,
    User,
    ZeroToleranceAlert,
)
from app.models.followup import INCLUDE_DELETED_ACTIONS
from app.models.org import organisation_value
from app.services import audit, imports, prepared

DEFAULT_RETENTION_YEARS = 5
MIN_RETENTION_YEARS, MAX_RETENTION_YEARS = 1, 10
# What the settings page suggests: a gymnasium keeps its surveys for 4 years (the ministry's
# guide), a municipality for 5 (the APV's and the workplace assessments' period).
SUGGESTED_RETENTION_YEARS = {OrganisationKind.SCHOOL: 4, OrganisationKind.MUNICIPALITY: 5}
FORMER_USER = "former user"  # stored marker; shown translated


@dataclass(frozen=True)
class PurgedMeasurement:
    id: int
    name: str
    year: int


@dataclass(frozen=True)
class PurgePreview:
    """What a purge today would delete (and which issued reports it keeps)."""

    retention_years: int
    oldest_kept_year: int
    measurements: list[PurgedMeasurement]
    follow_ups: int
    actions: int  # deleted ones waiting for their undo included: they go too
    alerts: int
    issued_reports_deleted: int  # only when the organisation's setting says so
    issued_reports_kept: int  # issued reports of the purged years that stay

    @property
    def empty(self) -> bool:
        return not self.measurements and not self.issued_reports_deleted


def retention_years(session: Session) -> int:
    years = organisation_value(session, Organisation.retention_years)
    return years or DEFAULT_RETENTION_YEARS


def purges_issued_reports(session: Session) -> bool:
    return bool(organisation_value(session, Organisation.purge_issued_reports))


def oldest_kept_year(session: Session, today: date, years: int | None = None) -> int:
    """A 5-year period keeps this year's measurements and the four before it."""
    return today.year - (years or retention_years(session)) + 1


def preview(
    session: Session,
    today: date,
    *,
    years: int | None = None,
    purge_reports: bool | None = None,
) -> PurgePreview:
    """Say what `purge` would delete today, without deleting anything. `years` and
    `purge_reports` ask what it would delete under settings not saved yet."""
    years = years or retention_years(session)
    measurements = expired(session, today, years)
    ids = [m.id for m in measurements]
    oldest_kept = oldest_kept_year(session, today, years)
    old_reports = (
        session.scalar(select(func.count(IssuedReport.id)).where(IssuedReport.year < oldest_kept))
        or 0
    )
    if purge_reports is None:
        purge_reports = purges_issued_reports(session)

    def count(statement: Any) -> int:
        return int(session.scalar(statement) or 0) if ids else 0

    return PurgePreview(
        retention_years=years,
        oldest_kept_year=oldest_kept,
        measurements=[PurgedMeasurement(m.id, m.name, m.year) for m in measurements],
        follow_ups=count(select(func.count(FollowUp.id)).where(FollowUp.measurement_id.in_(ids))),
        actions=count(
            select(func.count(Action.id))
            .join(FollowUp, FollowUp.id == Action.follow_up_id)
            .where(FollowUp.measurement_id.in_(ids))
            .execution_options(**{INCLUDE_DELETED_ACTIONS: True})
        ),
        alerts=count(
            select(func.count(ZeroToleranceAlert.id)).where(
                ZeroToleranceAlert.measurement_id.in_(ids)
            )
        ),
        issued_reports_deleted=old_reports if purge_reports else 0,
        issued_reports_kept=0 if purge_reports else old_reports,
    )


def expired(session: Session, today: date, years: int | None = None) -> list[Measurement]:
    """Measurements from more than `retention_years` (or `years`) ago: a 5-year period keeps
    this year's and the four before it."""
    oldest_kept = oldest_kept_year(session, today, years)
    return list(
        session.scalars(
            select(Measurement).where(Measurement.year < oldest_kept).order_by(Measurement.year)
        )
    )


def purge(
    session: Session, actor: User | None, today: date, file_area: Path | None = None
) -> list[PurgedMeasurement]:
    """Delete expired measurements and what hangs on them: results, figures, follow-ups,
    actions and their history, alerts, import logs (by the database's cascades). One audit
    event per measurement. Reports issued to the board for the purged years are kept: the
    board's archive is a record of its own; they go only where the organisation's
    `purge_issued_reports` says so. Then the kept import files that can no longer be
    restored (`purge_import_files`). Flushes; the caller commits."""
    gone = _purge_measurements(session, actor, today)
    if purges_issued_reports(session):
        _purge_issued_reports(session, actor, oldest_kept_year(session, today))
    from app.services.users import purge_deleted as purge_deleted_users

    purge_deleted_users(session, actor, datetime.now(UTC))  # deleted users whose undo is over
    if file_area is None and has_app_context():
        file_area = imports.file_area(current_app.config, current_app.instance_path)
    if file_area is not None:
        purge_import_files(session, file_area, datetime.now(UTC))
    return gone


def purge_import_files(session: Session, file_area: Path, now: datetime) -> int:
    """Remove kept import files older than 30 days that no "Gendan" can need any more: a file
    stays while it is a measurement's current import, and for 30 days after an import
    replaced it. Their logs forget the file. The number of files removed."""
    if not file_area.is_dir():
        return 0
    needed: set[str] = set()
    measurement_ids = session.scalars(
        select(ImportLog.measurement_id)
        .where(ImportLog.outcome == "imported", ImportLog.measurement_id.is_not(None))
        .distinct()
    )
    for measurement_id in list(measurement_ids):
        if measurement_id is None:
            continue
        logs = imports.imported_logs(session, measurement_id)
        needed.add(logs[-1].stored_file)
        needed.update(
            restorable.log.stored_file
            for restorable in imports.restorable_logs(
                session, measurement_id, file_area, now
            ).values()
        )
    oldest_kept = now.timestamp() - imports.RESTORE_PERIOD / timedelta(seconds=1)
    removed = 0
    for path in file_area.iterdir():
        # A young file may belong to an import whose transaction is still running.
        if path.name in needed or not path.is_file() or path.stat().st_mtime >= oldest_kept:
            continue
        path.unlink()
        session.execute(
            update(ImportLog).where(ImportLog.stored_file == path.name).values(stored_file="")
        )
        removed += 1
    session.flush()
    return removed


def _purge_issued_reports(session: Session, actor: User | None, oldest_kept: int) -> int:
    """Delete the board's issued reports from before `oldest_kept`, with their withdrawals.
    Core statements: the archive refuses ORM updates (`ArchiveIsImmutable`)."""
    ids = list(session.scalars(select(IssuedReport.id).where(IssuedReport.year < oldest_kept)))
    if not ids:
        return 0
    session.execute(delete(ReportWithdrawal).where(ReportWithdrawal.report_id.in_(ids)))
    session.execute(update(ReportJob).where(ReportJob.report_id.in_(ids)).values(report_id=None))
    session.execute(delete(IssuedReport).where(IssuedReport.id.in_(ids)))
    session.expire_all()  # issued reports loaded before are gone
    audit.record(session, actor, "issued_reports.purged", "issued_report", None, count=len(ids))
    session.flush()
    return len(ids)


def _purge_measurements(
    session: Session, actor: User | None, today: date
) -> list[PurgedMeasurement]:
    from app.services.plan import purge_deleted

    purge_deleted(session)  # actions deleted more than 30 days ago: "Fortryd" is over
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
            {
                "alert_id": r.id,
                "reaction": r.reaction,
                "on": iso(r.reaction_on),
                "involved": r.involved,
                "follow_up_on": iso(r.follow_up_on),
            }
            for r in reactions
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

"""Creating users and changing their roles, deleting them undoably; every change is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import desc, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Role, RoleAssignment, Unit, User
from app.services import audit
from app.services.passwords import set_password

# A deleted user can be brought back for this long; the retention purge then deletes for good.
UNDO_DAYS = 30


class UserError(ValueError):
    """A change that cannot be made, with a message for the person who asked."""


def create_user(
    session: Session,
    actor: User | None,
    *,
    email: str,
    name: str,
    language: str = "da",
    password: str | None = None,
) -> User:
    email = User.normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(email)
    user = User(email=email, name=name.strip(), language=language, active=True)
    if password:
        set_password(user, password)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.created", "user", user.id, email=email)
    return user


def assign_role(session: Session, actor: User | None, user: User, unit: Unit, role: Role) -> bool:
    """True when the role was added, False when the user held it already."""
    exists = session.scalar(
        select(RoleAssignment.id).where(
            RoleAssignment.user_id == user.id,
            RoleAssignment.unit_id == unit.id,
            RoleAssignment.role == role,
        )
    )
    if exists is not None:
        return False
    session.add(RoleAssignment(user_id=user.id, unit_id=unit.id, role=role))
    session.flush()
    audit.record(session, actor, "role.assigned", "user", user.id, unit_id=unit.id, role=role.value)
    return True


def _another_admin_remains(session: Session, user_id: int, assignment_id: int | None) -> bool:
    """Whether an active admin other than `user_id` (or than this one assignment of theirs)
    would remain: Kompas never runs without one."""
    others = select(RoleAssignment.id).join(User, User.id == RoleAssignment.user_id)
    others = others.where(RoleAssignment.role == Role.ADMIN, User.active.is_(True))
    if assignment_id is None:
        others = others.where(RoleAssignment.user_id != user_id)
    else:
        others = others.where(RoleAssignment.id != assignment_id)
    return session.scalar(others.limit(1)) is not None


def remove_role(session: Session, actor: User | None, assignment: RoleAssignment) -> None:
    """Raises UserError("last_admin") rather than remove the last active admin's role."""
    if assignment.role == Role.ADMIN and not _another_admin_remains(
        session, assignment.user_id, assignment.id
    ):
        raise UserError("last_admin")
    audit.record(
        session,
        actor,
        "role.removed",
        "user",
        assignment.user_id,
        unit_id=assignment.unit_id,
        role=assignment.role.value,
    )
    session.delete(assignment)
    session.flush()


def set_active(session: Session, actor: User | None, user: User, active: bool) -> None:
    if actor is not None and actor.id == user.id and not active:
        raise UserError("self")
    if active and user.deleted_at is not None:
        raise UserError("deleted")  # "Fortryd" brings a deleted user back, not "Aktivér"
    is_admin = any(assignment.role == Role.ADMIN for assignment in user.roles)
    if not active and is_admin and not _another_admin_remains(session, user.id, None):
        raise UserError("last_admin")
    user.active = active
    if not active:
        user.end_sessions()  # signed out everywhere for good: activating brings none back
    audit.record(
        session, actor, "user.activated" if active else "user.deactivated", "user", user.id
    )


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes for timezone-aware columns; they are UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def undo_until(user: User) -> datetime | None:
    """Until when a deleted user can be brought back (None: not deleted)."""
    if user.deleted_at is None:
        return None
    return _aware(user.deleted_at) + timedelta(days=UNDO_DAYS)


def mark_deleted(session: Session, actor: User | None, user: User, now: datetime) -> None:
    """Delete a user undoably: the account is deactivated and signed out everywhere at once
    (so it drops out of owner choices, reminders and sign-in), and the retention purge
    deletes it for good after UNDO_DAYS. Raises UserError("self") or ("last_admin")."""
    if actor is not None and actor.id == user.id:
        raise UserError("self")
    if user.deleted_at is not None:
        return
    is_admin = any(assignment.role == Role.ADMIN for assignment in user.roles)
    if is_admin and user.active and not _another_admin_remains(session, user.id, None):
        raise UserError("last_admin")
    audit.record(session, actor, "user.deletion_marked", "user", user.id, was_active=user.active)
    user.deleted_at = now
    user.active = False
    user.end_sessions()
    session.flush()


def undo_delete(session: Session, actor: User | None, user: User, now: datetime) -> None:
    """Bring a deleted user back as they were (active or not). Raises UserError("too_late")
    when the undo period is over or the user was not deleted."""
    until = undo_until(user)
    if until is None or until <= now:
        raise UserError("too_late")
    marked = session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.action == "user.deletion_marked",
            AuditEvent.object_type == "user",
            AuditEvent.object_id == user.id,
        )
        .order_by(desc(AuditEvent.at), desc(AuditEvent.id))
        .limit(1)
    )
    user.active = bool(marked.details.get("was_active", True)) if marked else True
    user.deleted_at = None
    audit.record(session, actor, "user.deletion_undone", "user", user.id)
    session.flush()


def purge_deleted(session: Session, actor: User | None, now: datetime) -> int:
    """Delete for good the users deleted more than UNDO_DAYS ago, with the one deletion rule
    (retention.delete_user: references go, written words stay); how many."""
    from app.services.retention import delete_user

    cutoff = now - timedelta(days=UNDO_DAYS)
    gone = session.scalars(
        select(User).where(User.deleted_at.is_not(None), User.deleted_at <= cutoff)
    ).all()
    for user in gone:
        delete_user(session, actor, user)
    return len(gone)

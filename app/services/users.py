"""Creating users and changing their roles; every change is audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Role, RoleAssignment, Unit, User
from app.services import audit
from app.services.passwords import set_password


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


def remove_role(session: Session, actor: User | None, assignment: RoleAssignment) -> None:
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
    user.active = active
    if not active:
        user.end_sessions()  # signed out everywhere for good: activating brings none back
    audit.record(
        session, actor, "user.activated" if active else "user.deactivated", "user", user.id
    )

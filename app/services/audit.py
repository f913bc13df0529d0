"""Writing audit events. Every change in Kompas goes through record()."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.models import AuditEvent, User


def record(
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int | None = None,
    *,
    unit_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        user_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        unit_id=unit_id,
        details=details,
    )
    session.add(event)
    return event

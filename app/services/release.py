"""Management's release of a measurement's results to every audience (issue 19).

Where the organisation holds results until released, class teams, the student council and
the board see a measurement's results only after this one step (app.policy decides who sees
what); the date and who released are shown to everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.models import Measurement, Organisation, User
from app.models.base import utcnow
from app.models.org import organisation_value
from app.services import audit


class AlreadyReleased(ValueError):
    """The results were released before: the first release's date and name stand."""


@dataclass(frozen=True)
class ReleaseStatus:
    held: bool  # the organisation holds results until released
    released_at: datetime | None
    released_by: str  # the name of who released, "" if unknown (the account was deleted)


def holds_results(session: Session) -> bool:
    return bool(organisation_value(session, Organisation.hold_results_until_released))


def status(session: Session, measurement: Measurement, *, held: bool) -> ReleaseStatus:
    """`held`: the organisation's rule, as the request's Access read it (no query again)."""
    name = ""
    if measurement.released_by_id is not None:
        user = session.get(User, measurement.released_by_id)
        name = user.name if user is not None else ""
    return ReleaseStatus(held, measurement.released_at, name)


def release(session: Session, measurement: Measurement, actor: User) -> None:
    """Release the measurement's results to every audience; once (flushes, never commits)."""
    if measurement.released_at is not None:
        raise AlreadyReleased(measurement.name)
    measurement.released_at = utcnow()
    measurement.released_by_id = actor.id
    audit.record(session, actor, "measurement.release_results", "measurement", measurement.id,
                 name=measurement.name)  # fmt: skip
    session.flush()

"""The organisation's own settings: its name, its kind (which sets the wording everywhere),
how long survey data is kept and whether a purge takes issued board reports along.

The kind is chosen by a person (at setup, `kompas create-admin --kind`, or on the settings
page), never inferred from a questionnaire or a file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from app.models import Organisation, OrganisationKind, Unit, User
from app.models.org import the_organisation
from app.services import audit
from app.services.retention import (
    MAX_RETENTION_YEARS,
    MIN_RETENTION_YEARS,
    SUGGESTED_RETENTION_YEARS,
)

MAX_NAME_LENGTH = 200


def example_unit_code(session: Session) -> str | None:
    """A unit id of the organisation's own for the examples on forms (a school's class, a
    municipality's team, never the other kind's): the first active unit with none below it."""
    child = aliased(Unit)
    return session.scalar(
        select(Unit.code)
        .where(
            Unit.active.is_(True),
            Unit.parent_id.is_not(None),
            ~exists().where(child.parent_id == Unit.id, child.active.is_(True)),
        )
        .order_by(Unit.code)
        .limit(1)
    )


class SettingsError(ValueError):
    """A setting out of its range; nothing was changed."""


@dataclass(frozen=True)
class Settings:
    name: str
    kind: OrganisationKind
    retention_years: int
    purge_issued_reports: bool


def current(session: Session) -> Organisation | None:
    return the_organisation(session)


def ensure(session: Session, name: str, kind: OrganisationKind | None = None) -> Organisation:
    """The organisation, created with `name` and `kind` if Kompas has none yet. A new one
    keeps the retention period suggested for its kind. An existing one is left as it is
    unless `kind` is given (a person chose it)."""
    organisation = current(session)
    if organisation is None:
        chosen = kind or OrganisationKind.MUNICIPALITY
        organisation = Organisation(
            name=name[:MAX_NAME_LENGTH] or "Kompas",
            kind=chosen,
            retention_years=SUGGESTED_RETENTION_YEARS[chosen],
            # A school's management releases results before class teams, the student
            # council and the board see them (the guide); a municipality shows them at once.
            hold_results_until_released=chosen == OrganisationKind.SCHOOL,
        )
        session.add(organisation)
    elif kind is not None:
        organisation.kind = kind
    session.flush()
    return organisation


def update(session: Session, actor: User | None, settings: Settings) -> Organisation:
    """Store the settings page's values (checked again here: the page is not the only caller).
    Flushes; the caller commits."""
    name = settings.name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise SettingsError("name")
    if not MIN_RETENTION_YEARS <= settings.retention_years <= MAX_RETENTION_YEARS:
        raise SettingsError("retention_years")
    organisation = current(session)
    if organisation is None:
        organisation = Organisation(name=name, kind=settings.kind)
        session.add(organisation)
    before = {
        "name": organisation.name,
        "kind": str(organisation.kind) if organisation.kind else None,
        "retention_years": organisation.retention_years,
        "purge_issued_reports": organisation.purge_issued_reports,
    }
    organisation.name = name
    organisation.kind = settings.kind
    organisation.retention_years = settings.retention_years
    organisation.purge_issued_reports = settings.purge_issued_reports
    session.flush()
    after = {
        "name": name,
        "kind": str(settings.kind),
        "retention_years": settings.retention_years,
        "purge_issued_reports": settings.purge_issued_reports,
    }
    changed: dict[str, Any] = {
        key: [before[key], value] for key, value in after.items() if before[key] != value
    }
    if changed:
        audit.record(
            session, actor, "organisation.updated", "organisation", organisation.id, **changed
        )
    return organisation

"""Unit pages' results sections, rendered from the release and kept in the database.

The results section is the costly part of a unit page and the same for everyone who may see
the unit's results. It is rendered once per unit, measurement and language (after an import,
or at the first view) and stored in `prepared_section`, which every app process reads. Each new
release deletes them all (`forget_all`, called where figures are computed): a section compares
with the parent, the organisation and last year, which other releases decide. A deploy that
changes the code, templates or translations changes the version, so nothing older is read.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import PreparedSection


def find(
    session: Session, measurement_id: int, unit_id: int, locale: str, version: str
) -> str | None:
    return session.scalar(
        select(PreparedSection.html).where(
            PreparedSection.measurement_id == measurement_id,
            PreparedSection.unit_id == unit_id,
            PreparedSection.locale == locale,
            PreparedSection.version == version,
        )
    )


def store(
    session: Session, measurement_id: int, unit_id: int, locale: str, version: str, html: str
) -> None:
    """Keep the section, replacing one of an older version. Flushes. If another process
    stores the same section first, the flush or commit raises IntegrityError: both rendered
    the same release, so the caller rolls back and carries on."""
    session.merge(
        PreparedSection(
            measurement_id=measurement_id,
            unit_id=unit_id,
            locale=locale,
            version=version,
            html=html,
        )
    )
    session.flush()


def stored_units(session: Session, measurement_id: int, locale: str, version: str) -> set[int]:
    return set(
        session.scalars(
            select(PreparedSection.unit_id).where(
                PreparedSection.measurement_id == measurement_id,
                PreparedSection.locale == locale,
                PreparedSection.version == version,
            )
        )
    )


def forget_all(session: Session) -> None:
    """A new release: every section is made anew from what the releases now say."""
    session.execute(delete(PreparedSection))

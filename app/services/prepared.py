"""Parts of pages rendered from the release and kept in the database.

Three kinds, each the same for everyone who may see the unit's results, kept per unit,
measurement and language in `prepared_section` (which every app process reads) and rendered
once (after an import, or at the first view):

- a unit page's results section (`locale` is the language alone);
- the figures of the unit's row in the results overview (`row_key`: also how indicators are
  shown, 0-100 or 1-5, which HR chooses);
- the analysis step's indicators side by side (`analysis_key`).

Each new release deletes them all (`forget_all`, called where figures are computed and where
the reference figures or the indicator display change): a part compares with the parent, the
organisation and last year, which other releases decide. A deploy that changes the code,
templates or translations changes the version, so nothing older is read.

A part is kept under its version: the code's and the organisation's count of releases
(`Organisation.prepared_epoch`, which `forget_all` counts up in the release's transaction),
as read in the same statement as the figures it was rendered from, or before them. A part
rendered from a release that another process replaced meanwhile, and stored after it, is
therefore never read: it carries the old count.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NewType

from sqlalchemy import String, bindparam, cast, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from app.models import Organisation, PreparedSection
from app.models.org import organisation_row

# A version parts are kept under ("code version:count"), only ever as read from the database
# by `find`, `current_version` or the overview's rows, before the figures a part is rendered
# from: a part is stored under what was read, never under a version made up afterwards.
KeptVersion = NewType("KeptVersion", str)

_section = PreparedSection.__table__
_EPOCH = func.coalesce(organisation_row(Organisation.prepared_epoch).scalar_subquery(), 0)
# The version a part is kept under now: the code's (bound as "code_version") and the count.
CURRENT_VERSION = (
    bindparam("code_version", type_=String) + literal(":") + cast(_EPOCH, String)
).label("kept_version")
# Read by every unit page: built once, on the table (plain SQL, no ORM work). The part kept
# under the current version, and that version (for a part rendered now).
_FIND = select(
    select(_section.c.html)
    .where(
        _section.c.measurement_id == bindparam("measurement_id"),
        _section.c.unit_id == bindparam("unit_id"),
        _section.c.locale == bindparam("locale"),
        _section.c.version == CURRENT_VERSION,
    )
    .scalar_subquery(),
    CURRENT_VERSION,
)


def find(
    session: Session, measurement_id: int, unit_id: int, locale: str, code_version: str
) -> tuple[str | None, KeptVersion]:
    """(the unit's part of this kind kept under the current version, or None; that
    version): a part rendered after this call, from figures read after it, is kept under it."""
    keys = {"measurement_id": measurement_id, "unit_id": unit_id, "locale": locale}
    html, version = session.execute(_FIND, {**keys, "code_version": code_version}).one()
    return html, KeptVersion(version)


def current_version(session: Session, code_version: str) -> KeptVersion:
    """The version parts rendered from figures read after this call are kept under."""
    return KeptVersion(str(session.scalar(select(CURRENT_VERSION), {"code_version": code_version})))


def store(
    session: Session,
    measurement_id: int,
    unit_id: int,
    locale: str,
    version: KeptVersion,
    html: str,
) -> None:
    """Keep the section, replacing one of an older version (`store_many`). If another
    process stores the same section first, this or the commit raises IntegrityError: both
    rendered the same release, so the caller rolls back and carries on."""
    store_many(session, measurement_id, {unit_id: html}, locale, version)


def stored_units(
    session: Session, measurement_id: int, locale: str, version: KeptVersion
) -> set[int]:
    return set(
        session.scalars(
            select(PreparedSection.unit_id).where(
                PreparedSection.measurement_id == measurement_id,
                PreparedSection.locale == locale,
                PreparedSection.version == version,
            )
        )
    )


# The `locale` column keeps the kind beside the language (String(10)): "da" a unit page's
# section, "da:r100" / "da:r5" an overview row on the 0-100 / 1-5 scale, "da:a" the analysis.
_DISPLAY_KEYS = {"score": "100", "scale": "5"}


def row_key(locale: str, display: str) -> str:
    """Where an overview row's figures are kept: by language and indicator display."""
    return f"{locale}:r{_DISPLAY_KEYS.get(display, display)}"[:10]


def analysis_key(locale: str) -> str:
    """Where the analysis step's indicator table is kept, by language."""
    return f"{locale}:a"[:10]


# Every part of a kind kept for a measurement; with a list of units, those units' parts.
_FIND_ALL = select(_section.c.unit_id, _section.c.html).where(
    _section.c.measurement_id == bindparam("measurement_id"),
    _section.c.locale == bindparam("key"),
    _section.c.version == bindparam("version"),
)
_FIND_SOME = _FIND_ALL.where(_section.c.unit_id.in_(bindparam("unit_ids", expanding=True)))
# Above this many units, every part of the measurement is read and the others left out: one
# short statement instead of one with a parameter per unit (which the driver parses anew).
MANY = 40


def find_many(
    session: Session,
    measurement_id: int,
    unit_ids: Collection[int],
    key: str,
    version: KeptVersion,
) -> dict[int, str]:
    """The parts kept for these units ({unit id: html}), in one query."""
    if not unit_ids:
        return {}
    keys = {"measurement_id": measurement_id, "key": key, "version": version}
    if len(unit_ids) <= MANY:
        rows = session.execute(_FIND_SOME, {**keys, "unit_ids": list(unit_ids)})
        return dict(rows.tuples().all())
    wanted = unit_ids if isinstance(unit_ids, set | frozenset | dict) else set(unit_ids)
    found = session.execute(_FIND_ALL, keys).tuples().all()
    return {unit_id: html for unit_id, html in found if unit_id in wanted}


# Plain SQL, built once: a first view stores its section on the way (no unit of work).
_REPLACED = delete(_section).where(
    _section.c.measurement_id == bindparam("measurement_id"),
    _section.c.locale == bindparam("locale"),
    _section.c.unit_id.in_(bindparam("unit_ids", expanding=True)),
)


def store_many(
    session: Session, measurement_id: int, parts: dict[int, str], key: str, version: KeptVersion
) -> None:
    """Keep several units' parts of one kind, replacing those of an older version, in two
    statements. An IntegrityError here or at the commit means another process kept
    the same ones a moment before: both rendered the same release; the caller rolls back."""
    if not parts:
        return
    keys = {"measurement_id": measurement_id, "locale": key}
    session.execute(_REPLACED, {**keys, "unit_ids": list(parts)})
    session.execute(
        insert(_section),
        [
            {**keys, "unit_id": unit_id, "version": version, "html": html}
            for unit_id, html in parts.items()
        ],
    )


def forget_all(session: Session) -> None:
    """A new release: every section is made anew from what the releases now say, and the
    count goes up, so that no part rendered from the old release is read again, also one
    that another process stores after this transaction."""
    session.execute(delete(PreparedSection))
    session.execute(update(Organisation).values(prepared_epoch=Organisation.prepared_epoch + 1))

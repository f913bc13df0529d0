"""The unit tree as plain rows, kept per process while no unit changes.

Every page about a unit finds it by its code and asks whether the user may see it, which for
anyone but an admin means walking up the tree (app/policy.py). On PostgreSQL each of those
is a round trip to the database, and under load every round trip is a chance to wait for a
CPU. The tree changes seldom (units are written only by imports and HR), so each process
keeps it, keyed by the change stamp of the area units belong to (Area.OTHER, see
app/services/changes.py): a change anywhere makes the next request read it again.

Only views that read the stamps first (@stamped) use it; elsewhere the stamps are not known
and the database is asked, as before.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Unit
from app.models.changes import Area
from app.services.changes import snapshot

_EXTENSION = "kompas_unit_directory"
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class UnitRow:
    id: int
    code: str
    name: str
    unit_type: str | None
    parent_id: int | None
    active: bool


@dataclass(frozen=True)
class UnitDirectory:
    by_id: dict[int, UnitRow]
    by_code: dict[str, UnitRow]

    def chain(self, unit_id: int) -> list[int]:
        """As units.ancestor_ids: the unit itself, its parent, ... up to the root."""
        chain: list[int] = []
        current = self.by_id.get(unit_id)
        while current is not None and len(chain) <= len(self.by_id):  # a cycle cannot loop
            chain.append(current.id)
            current = self.by_id.get(current.parent_id) if current.parent_id else None
        return chain


def current(session: Session) -> UnitDirectory | None:
    """The tree as of the stamps this request read; None outside a @stamped view (or in a
    transaction that has written)."""
    stamps = snapshot(session, (Area.OTHER,))
    if stamps is None:
        return None
    extensions = current_app.extensions
    with _lock:
        kept = extensions.get(_EXTENSION)
    if kept is not None and kept[0] == stamps:
        return kept[1]  # type: ignore[no-any-return]
    rows = [
        UnitRow(*row)
        for row in session.execute(
            select(Unit.id, Unit.code, Unit.name, Unit.unit_type, Unit.parent_id, Unit.active)
        )
    ]
    directory = UnitDirectory({r.id: r for r in rows}, {r.code: r for r in rows})
    with _lock:
        extensions[_EXTENSION] = (stamps, directory)
    return directory


def find(session: Session, code: str) -> UnitRow | Unit | None:
    """The unit with this code: a row from the directory, else the model from the
    database."""
    directory = current(session)
    if directory is not None:
        return directory.by_code.get(code)
    return session.scalar(select(Unit).where(Unit.code == code))

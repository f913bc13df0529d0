"""Change stamps, and caches of rendered HTML that are valid while the stamps they read stay.

Every transaction that writes something a page shows replaces the stamp of each area it
wrote in (table change_stamp, a row per Area) in the same commit. A cache keyed on the stamps
it read before reading the data can therefore never serve what a commit has since changed:
the next request reads a new stamp and misses. This holds across processes and servers,
since the stamps live in the database. Each process keeps its own cache, and with REDIS_URL
they share a tier in Redis (app/services/shared_pages.py); app servers stay stateless.

The stamps notice writes through the ORM session: objects flushed, and insert / update /
delete statements run through session.execute. A table not named in AREAS counts as
Area.OTHER, which every cache reads, so a new table can only make caches miss more, never
go stale. Writes that no cached page shows (the audit log, report jobs, staged imports, a
user's last sign-in) leave the stamps alone, so a busy morning of sign-ins does not empty
the caches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Hashable, Sequence
from functools import wraps
from itertools import chain
from typing import Any, ParamSpec, TypeVar

from cachetools import LRUCache
from flask import current_app
from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.models.changes import Area, ChangeStamp, new_stamp

AREAS: dict[str, Area] = {
    **dict.fromkeys(
        (
            "follow_up",
            "follow_up_step",
            "plan_theme",
            "zero_tolerance_alert",
        ),
        Area.PLANS,
    ),
    **dict.fromkeys(("action", "action_update"), Area.ACTIONS),
    **dict.fromkeys(
        (
            "measurement",
            "questionnaire",
            "question",
            "unit_result",
            "question_result",
            "unit_figures",
            "import_log",
        ),
        Area.RESULTS,
    ),
}
QUIET_TABLES = frozenset({"audit_event", "report_job", "staged_import", "change_stamp"})
QUIET_COLUMNS = {"user_account": frozenset({"last_login_at"})}
EVERY_AREA = tuple(Area)
_CHANGED = "kompas_changed"  # session.info: the areas this transaction wrote in
_SNAPSHOT = "kompas_stamps"  # session.info: the stamps @stamped read, by area
P = ParamSpec("P")
R = TypeVar("R")


def _area(table: str | None) -> Area | None:
    """The area a write to this table changes; None for a table no page shows."""
    if table in QUIET_TABLES:
        return None
    return AREAS.get(table or "", Area.OTHER)


def _shown_change(instance: Any) -> Area | None:
    table = getattr(instance, "__tablename__", None)
    area = _area(table)
    quiet = QUIET_COLUMNS.get(table or "")
    if area is None or not quiet:
        return area
    state = inspect(instance)
    if not state.persistent:
        return area  # new or deleted
    changed = any(attr.key not in quiet and attr.history.has_changes() for attr in state.attrs)
    return area if changed else None


def _note(session: Session, area: Area | None) -> None:
    if area is not None:
        session.info.setdefault(_CHANGED, set()).add(area)


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    for instance in chain(session.new, session.dirty, session.deleted):
        _note(session, _shown_change(instance))


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        _note(state.session, _area(getattr(table, "name", None)))


@event.listens_for(Session, "before_commit")
def _replace_stamps(session: Session) -> None:
    # before_commit runs before the commit's own flush: flush first, so its writes count.
    session.flush()
    for area in sorted(session.info.pop(_CHANGED, ())):  # one order: no deadlock between two
        replaced = session.execute(
            update(ChangeStamp).where(ChangeStamp.id == area).values(value=new_stamp())
        )
        if not replaced.rowcount:  # type: ignore[attr-defined]
            # The rows were deleted with everything else (`kompas demo --reset`, tests).
            present = set(session.scalars(select(ChangeStamp.id)))
            missing = [{"id": a, "value": new_stamp()} for a in Area if a not in present]
            session.execute(insert(ChangeStamp), missing)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def _clean(session: Session) -> bool:
    return not (session.info.get(_CHANGED) or session.new or session.dirty or session.deleted)


def _read(session: Session, areas: Collection[Area]) -> dict[int, int]:
    query = select(ChangeStamp.id, ChangeStamp.value).where(ChangeStamp.id.in_(list(areas)))
    return dict(session.execute(query).tuples().all())


def stamped(view: Callable[P, R]) -> Callable[P, R]:
    """For views that serve from these caches: reads every stamp before the view reads any
    data. A stamp read after the data could, on PostgreSQL, be newer than an object the view
    loaded before a commit elsewhere, and cache that object's old state under the new
    stamp. One query instead of one per cache asked."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from app.extensions import db

        if _SNAPSHOT not in db.session.info:  # read with the signed-in user, as a rule
            take_snapshot(db.session)
        return view(*args, **kwargs)

    return wrapper


def take_snapshot(session: Session) -> None:
    """Read every stamp now, for the caches asked until the next commit (see stamped)."""
    if _clean(session):
        session.info[_SNAPSHOT] = _read(session, EVERY_AREA)


def stamp_columns() -> list[Any]:
    """Every stamp as a column to read along with something else: the signed-in user is
    loaded first on every request (app/__init__.py), so the stamps come in the same round
    trip, and before any data a view reads (see stamped). See remember_stamps."""
    return [
        select(ChangeStamp.value).where(ChangeStamp.id == area).scalar_subquery()
        for area in EVERY_AREA
    ]


def remember_stamps(session: Session, values: Sequence[int | None]) -> None:
    """The values of stamp_columns(), as the snapshot stamped views use."""
    if _clean(session) and all(value is not None for value in values):
        session.info[_SNAPSHOT] = dict(zip(EVERY_AREA, values, strict=True))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_snapshot(session: Session, *_: Any) -> None:
    session.info.pop(_SNAPSHOT, None)


def current(session: Session, areas: Collection[Area] = EVERY_AREA) -> tuple[int, ...] | None:
    """The stamps of `areas` (as read by @stamped, else now); None when this session has
    written something not yet committed (its reads are not what others see) or a stamp is
    missing."""
    if not _clean(session):
        return None
    rows = session.info.get(_SNAPSHOT) or _read(session, areas)
    if any(area not in rows for area in areas):
        return None
    return tuple(rows[area] for area in sorted(areas))


def snapshot(session: Session, areas: Collection[Area]) -> tuple[int, ...] | None:
    """The stamps of `areas` as @stamped read them; None when there is no such snapshot (not
    a stamped view, or a commit since) or this session has written since."""
    rows = session.info.get(_SNAPSHOT)
    if not rows or not _clean(session) or any(area not in rows for area in areas):
        return None
    return tuple(rows[area] for area in sorted(areas))


class RenderedCache:
    """Rendered HTML (a string, or a tuple of strings) by key and the stamps of the areas it
    shows, per app and process, least recently used out first, bounded in bytes (`size`
    measures a value); and, with REDIS_URL, in the tier every process shares
    (app/services/shared_pages.py)."""

    def __init__(
        self,
        name: str,
        max_bytes: int,
        size: Callable[[Any], int] = len,
        areas: Collection[Area] = EVERY_AREA,
        load: Callable[[Any], Any] = lambda value: value,
    ) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self.size = size
        self.load = load  # a value as the shared tier returns it (str, tuple of str) -> kept
        self.areas = frozenset(areas) | {Area.OTHER}  # every page shows units and people
        self._lock = threading.Lock()  # gthread workers serve requests in threads

    def _entries(self) -> LRUCache[Hashable, Any]:
        entries = current_app.extensions.get(self.name)
        if entries is None:
            entries = current_app.extensions[self.name] = LRUCache(
                maxsize=self.max_bytes, getsizeof=self.size
            )
        return entries

    def get_or_make(self, session: Session, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value cached for key at the current stamps (in this process, else in the
        shared tier), else make() (cached when it can be)."""
        from app.services.shared_pages import shared_pages

        stamps = current(session, self.areas)
        if stamps is None:
            return make()
        full_key = (stamps, key)
        with self._lock:
            found = self._entries().get(full_key)
        if found is not None:
            return found
        shared = shared_pages()
        shared_key = shared.key(self.name, full_key) if shared is not None else ""
        if shared is not None and (found := shared.get(shared_key)) is not None:
            value = self.load(found)
            self._keep(full_key, value)
            return value
        value = make()
        if self._keep(full_key, value) and shared is not None:
            shared.put(shared_key, value)
        return value

    def _keep(self, full_key: Hashable, value: Any) -> bool:
        if self.size(value) > self.max_bytes:
            return False
        with self._lock:
            self._entries()[full_key] = value
        return True

"""The change stamp, and caches of rendered HTML that are valid while it stays.

Every transaction that writes something a page shows replaces the stamp (one row,
change_stamp) in the same commit, so a cache keyed on the stamp it read before reading the
data can never serve what a commit has since changed: the next request reads the new stamp
and misses. This holds across processes and servers, since the stamp lives in the database;
each process keeps its own cache (app servers stay stateless).

The stamp notices writes through the ORM session: objects flushed, and insert / update /
delete statements run through session.execute. Writes that no cached page shows (the audit
log, report jobs, staged imports, a user's last sign-in) leave it alone, so a busy morning of
sign-ins does not empty the caches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from itertools import chain
from typing import Any

from cachetools import LRUCache
from flask import current_app
from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.models.changes import STAMP_ROW, ChangeStamp, new_stamp

QUIET_TABLES = frozenset({"audit_event", "report_job", "staged_import", "change_stamp"})
QUIET_COLUMNS = {"user_account": frozenset({"last_login_at"})}
_CHANGED = "kompas_changed"  # session.info flag: this transaction wrote something shown


def _shows(instance: Any) -> bool:
    """Whether writing this object can change a page."""
    table = getattr(instance, "__tablename__", None)
    if table in QUIET_TABLES:
        return False
    quiet = QUIET_COLUMNS.get(table or "")
    if not quiet:
        return True
    state = inspect(instance)
    if not state.persistent:
        return True  # new or deleted
    return any(attr.key not in quiet and attr.history.has_changes() for attr in state.attrs)


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    if not session.info.get(_CHANGED) and any(
        _shows(instance) for instance in chain(session.new, session.dirty, session.deleted)
    ):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) not in QUIET_TABLES:
            state.session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _replace_stamp(session: Session) -> None:
    # before_commit runs before the commit's own flush: flush first, so its writes count.
    session.flush()
    if session.info.pop(_CHANGED, False):
        replaced = session.execute(
            update(ChangeStamp).where(ChangeStamp.id == STAMP_ROW).values(value=new_stamp())
        )
        if not replaced.rowcount:  # type: ignore[attr-defined]
            # The row was deleted with everything else (`kompas demo --reset`, tests).
            session.execute(insert(ChangeStamp).values(id=STAMP_ROW, value=new_stamp()))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def current(session: Session) -> int | None:
    """The stamp now; None when this session has written something not yet committed (its
    reads are not what others see) or the row is missing."""
    if session.info.get(_CHANGED) or session.new or session.dirty or session.deleted:
        return None
    return session.scalar(select(ChangeStamp.value).where(ChangeStamp.id == STAMP_ROW))


class RenderedCache:
    """Values (rendered HTML and what goes with it) by key and change stamp, per app and
    process; least recently used out first, bounded in bytes (`size` measures a value)."""

    def __init__(self, name: str, max_bytes: int, size: Callable[[Any], int]) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self.size = size
        self._lock = threading.Lock()  # gthread workers serve requests in threads

    def _entries(self) -> LRUCache[Hashable, Any]:
        entries = current_app.extensions.get(self.name)
        if entries is None:
            entries = current_app.extensions[self.name] = LRUCache(
                maxsize=self.max_bytes, getsizeof=self.size
            )
        return entries

    def get_or_make(self, session: Session, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value cached for key at the current stamp, else make() (cached when it can
        be)."""
        stamp = current(session)
        if stamp is None:
            return make()
        full_key = (stamp, key)
        with self._lock:
            found = self._entries().get(full_key)
        if found is not None:
            return found
        value = make()
        if self.size(value) <= self.max_bytes:
            with self._lock:
                self._entries()[full_key] = value
        return value

"""Walking the unit tree in the database (recursive CTEs work on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session, aliased

from app.models import Unit
from app.models.tree import ancestor_ids, subtree_ids, subtree_select

__all__ = [
    "ancestor_ids",
    "breadcrumbs",
    "subtree_ids",
    "subtree_select",
    "trail_and_children",
]


def _trail_query() -> Select[tuple[Unit]]:
    """The unit of :code, the units above it and its active children, in one query."""
    unit_id = select(Unit.id).where(Unit.code == bindparam("code")).scalar_subquery()
    chain = select(Unit.id, Unit.parent_id).where(Unit.id == unit_id).cte(recursive=True)
    parent = aliased(Unit)
    chain = chain.union_all(
        select(parent.id, parent.parent_id).join(chain, parent.id == chain.c.parent_id)
    )
    return (
        select(Unit)
        .where(or_(Unit.id.in_(select(chain.c.id)), (Unit.parent_id == unit_id) & Unit.active))
        .order_by(Unit.name, Unit.id)  # the children's order, as Unit.children has it
    )


# Built once: building a recursive query costs more than running it.
_TRAIL = _trail_query()


def trail_and_children(session: Session, code: str) -> tuple[list[Unit], list[Unit]]:
    """The breadcrumbs of the unit with this code (root first, the unit itself last; [] if
    there is no such unit) and its active children (by name), in one query: a unit page
    shows both."""
    found = session.scalars(_TRAIL, {"code": code}).all()
    unit = next((u for u in found if u.code == code), None)
    if unit is None:
        return [], []
    by_id = {u.id: u for u in found}
    trail: list[Unit] = []
    current: int | None = unit.id
    while current is not None and current in by_id:
        trail.append(by_id[current])
        current = by_id[current].parent_id
    children = [u for u in found if u.parent_id == unit.id and u.active]
    return trail[::-1], children


def breadcrumbs(session: Session, unit: Unit, chain: list[int] | None = None) -> list[Unit]:
    """Root first, the unit itself last. `chain`: the unit's ancestor_ids, if known."""
    ids = chain if chain is not None else ancestor_ids(session, unit.id)
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    return [units[i] for i in reversed(ids)]

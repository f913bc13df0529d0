"""Walking the unit tree in the database (recursive CTEs work on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import or_, select
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


def trail_and_children(session: Session, unit: Unit) -> tuple[list[Unit], list[Unit]]:
    """The unit's breadcrumbs (root first, the unit itself last) and its active children
    (by name), in one query: a unit page shows both."""
    chain = select(Unit.id, Unit.parent_id).where(Unit.id == unit.id).cte(recursive=True)
    parent = aliased(Unit)
    chain = chain.union_all(
        select(parent.id, parent.parent_id).join(chain, parent.id == chain.c.parent_id)
    )
    found = session.scalars(
        select(Unit)
        .where(or_(Unit.id.in_(select(chain.c.id)), (Unit.parent_id == unit.id) & Unit.active))
        .order_by(Unit.name, Unit.id)  # the children's order, as Unit.children has it
    ).all()
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

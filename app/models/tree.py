"""Walking the unit tree in the database, in one query each (recursive CTEs work on SQLite
and PostgreSQL). Every process asks the database: no process keeps its own copy of the tree,
so a move or an import is seen by every process at once."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from app.models.org import Unit


def ancestor_ids(session: Session, unit_id: int) -> list[int]:
    """The unit itself, its parent, ... up to the root, in that order ([] if it is unknown)."""
    chain = select(Unit.id, Unit.parent_id).where(Unit.id == unit_id).cte(recursive=True)
    parent = aliased(Unit)
    chain = chain.union_all(
        select(parent.id, parent.parent_id).join(chain, parent.id == chain.c.parent_id)
    )
    rows = session.execute(select(chain.c.id, chain.c.parent_id)).all()
    by_id = {row.id: row.parent_id for row in rows}
    ordered, current = [], unit_id
    while current is not None and current in by_id:
        ordered.append(current)
        current = by_id[current]
    return ordered


def subtree_ids(session: Session, root_ids: Iterable[int]) -> set[int]:
    """The given units and everything below them."""
    roots = list(root_ids)
    if not roots:
        return set()
    return set(session.scalars(subtree_select(roots)))


def subtree_select(root_ids: Iterable[int]) -> Select[tuple[int]]:
    """The ids of the given units and everything below them, as a query to use inside
    another (`Action.unit_id.in_(...)`): the database walks the tree, and a subtree of
    thousands of units is not sent back and forth as thousands of parameters."""
    tree = select(Unit.id).where(Unit.id.in_(list(root_ids))).cte(recursive=True)
    child = aliased(Unit)
    tree = tree.union(select(child.id).join(tree, child.parent_id == tree.c.id))
    return select(tree.c.id)

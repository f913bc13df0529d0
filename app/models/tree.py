"""Walking the unit tree in the database, in one query each (recursive CTEs work on SQLite
and PostgreSQL). Every process asks the database: no process keeps its own copy of the tree,
so a move or an import is seen by every process at once.

The two walks every page asks for (a unit's chain up, a subtree down) are built once, at
import, on the table itself with bound parameters: building a recursive query costs ~1 ms of
Python, and as plain SQL (no ORM entity) the session runs it without the ORM's work.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BindParameter, Select, bindparam, select
from sqlalchemy.orm import Session

from app.models.org import Unit

_unit = Unit.__table__


def _ancestors_query() -> Select[tuple[int, int | None]]:
    chain = (
        select(_unit.c.id, _unit.c.parent_id)
        .where(_unit.c.id == bindparam("unit_id"))
        .cte(recursive=True)
    )
    parent = _unit.alias()
    chain = chain.union_all(
        select(parent.c.id, parent.c.parent_id).join(chain, parent.c.id == chain.c.parent_id)
    )
    return select(chain.c.id, chain.c.parent_id)


def _subtree_query() -> Select[tuple[int]]:
    tree = (
        select(_unit.c.id)
        .where(_unit.c.id.in_(bindparam("root_ids", expanding=True)))
        .cte(recursive=True)
    )
    child = _unit.alias()
    tree = tree.union(select(child.c.id).join(tree, child.c.parent_id == tree.c.id))
    return select(tree.c.id)


_ANCESTORS = _ancestors_query()
_SUBTREE = _subtree_query()


def ancestor_ids(session: Session, unit_id: int) -> list[int]:
    """The unit itself, its parent, ... up to the root, in that order ([] if it is unknown)."""
    rows = session.execute(_ANCESTORS, {"unit_id": unit_id}).all()
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
    return set(session.scalars(_SUBTREE, {"root_ids": roots}))


def subtree_select(root_ids: Iterable[int] | BindParameter[int]) -> Select[tuple[int]]:
    """The ids of the given units and everything below them, as a query to use inside
    another (`Action.unit_id.in_(...)`): the database walks the tree, and a subtree of
    thousands of units is not sent back and forth as thousands of parameters. A bound
    parameter names one unit, given at each run (for a statement built once)."""
    roots = (
        _unit.c.id == root_ids
        if isinstance(root_ids, BindParameter)
        else _unit.c.id.in_(list(root_ids))
    )
    tree = select(_unit.c.id).where(roots).cte(recursive=True)
    child = _unit.alias()
    tree = tree.union(select(child.c.id).join(tree, child.c.parent_id == tree.c.id))
    return select(tree.c.id)

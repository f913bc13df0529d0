"""Who may do what to which unit — the one place every view asks.

A role held on a unit reaches either that unit alone (member) or the unit and all below it
(leader, committee, board). Admin (HR / survey owner) reaches everything. Views turn a "no"
into 404, so a forbidden object looks exactly like a missing one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from flask import abort, g
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Role, RoleAssignment, Unit, UnitPartner, User
from app.models.tree import ancestor_ids, subtree_ids


class Permission(enum.StrEnum):
    VIEW_UNIT = "view_unit"  # see that the unit exists: its page, name, place in the tree
    VIEW_RESULTS = "view_results"  # the shown results
    VIEW_FOLLOWUP = "view_followup"  # the follow-up and action plan, read-only
    EDIT_FOLLOWUP = "edit_followup"  # analysis, dialogue, plan, evaluation
    UPDATE_ACTIONS = "update_actions"  # move actions along the status arrow, comment
    VIEW_REPORTS = "view_reports"  # reports and the board archive
    ADMIN = "admin"  # users, roles, imports, measurements
    NAME_PARTNERS = "name_partners"  # name the unit's partners (the trio / class team)


# role -> (actions it grants, whether it reaches the whole subtree)
_GRANTS: dict[Role, tuple[frozenset[Permission], bool]] = {
    Role.LEADER: (
        frozenset(
            {
                Permission.VIEW_UNIT,
                Permission.VIEW_RESULTS,
                Permission.VIEW_FOLLOWUP,
                Permission.EDIT_FOLLOWUP,
                Permission.UPDATE_ACTIONS,
                Permission.VIEW_REPORTS,
                Permission.NAME_PARTNERS,
            }
        ),
        True,
    ),
    Role.MEMBER: (
        frozenset(
            {
                Permission.VIEW_UNIT,
                Permission.VIEW_RESULTS,
                Permission.VIEW_FOLLOWUP,
                Permission.UPDATE_ACTIONS,
            }
        ),
        False,
    ),
    Role.COMMITTEE: (
        frozenset(
            {
                Permission.VIEW_UNIT,
                Permission.VIEW_RESULTS,
                Permission.VIEW_FOLLOWUP,
                Permission.VIEW_REPORTS,
            }
        ),
        True,
    ),
    Role.BOARD: (frozenset({Permission.VIEW_REPORTS}), True),
}


# A partner (UnitPartner: the trio's TR and AMR, a teacher of the class team) edits the
# steps of that one unit with its leader, as long as they hold a member role there.
PARTNER_GRANTS = frozenset({Permission.EDIT_FOLLOWUP})


def grants(role: Role, action: Permission) -> bool:
    return role == Role.ADMIN or action in _GRANTS[role][0]


# The roles whose holders own actions: an action's owner list offers the members and leaders
# of the unit's own subtree, and only they write through ownership.
OWNER_ROLES = frozenset({Role.MEMBER, Role.LEADER})


def may_write_as_owner(access: Access, owner_user_id: int | None) -> bool:
    """The owner of an action moves it and comments on it, if they hold a member or leader
    role (or are an admin). Committee and board never write, even if made owner earlier."""
    if owner_user_id is None or owner_user_id != access.user_id:
        return False
    return access.is_admin or any(role in OWNER_ROLES for role, _ in access.assignments)


@dataclass
class Access:
    """What one user holds, loaded once per request."""

    user_id: int
    is_admin: bool
    assignments: list[tuple[Role, int]] = field(default_factory=list)  # (role, unit_id)
    # Units the user is a partner of and still holds a member role on (PARTNER_GRANTS).
    partner_unit_ids: frozenset[int] = frozenset()
    # Subtrees already walked in this request: a page often asks for two actions held
    # through the same roles (see and move), which would walk the same tree twice.
    _subtrees: dict[frozenset[int], set[int]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _chains: dict[int, list[int]] = field(default_factory=dict, repr=False, compare=False)

    def roles(self) -> set[Role]:
        return {role for role, _ in self.assignments} | ({Role.ADMIN} if self.is_admin else set())

    def may(self, session: Session, action: Permission, unit_id: int) -> bool:
        if self.is_admin:
            return True
        if action in PARTNER_GRANTS and unit_id in self.partner_unit_ids:
            return True
        chain: list[int] | None = None
        for role, held_on in self.assignments:
            if not grants(role, action):
                continue
            if held_on == unit_id:
                return True
            if _GRANTS[role][1]:
                if chain is None:
                    chain = self.ancestors(session, unit_id)
                if held_on in chain:
                    return True
        return False

    def may_everywhere_below(self, session: Session, action: Permission, unit_id: int) -> bool:
        """Whether the action is allowed on the unit and every unit below it: a role that
        reaches subtrees, held on the unit or above it (no need to list the subtree)."""
        if self.is_admin:
            return True
        deep = {u for role, u in self.assignments if grants(role, action) and _GRANTS[role][1]}
        return bool(deep) and not deep.isdisjoint(self.ancestors(session, unit_id))

    def visible_children(
        self, session: Session, action: Permission, unit_id: int, children: list[Unit]
    ) -> list[Unit]:
        """The children the action is allowed on, with one tree walk for all of them."""
        if self.may_everywhere_below(session, action, unit_id):
            return children
        direct = {held_on for role, held_on in self.assignments if grants(role, action)}
        direct |= self._partner_units(action)
        return [child for child in children if child.id in direct]

    def may_anywhere(self, action: Permission) -> bool:
        return (
            self.is_admin
            or any(grants(role, action) for role, _ in self.assignments)
            or bool(self._partner_units(action))
        )

    def _partner_units(self, action: Permission) -> frozenset[int]:
        return self.partner_unit_ids if action in PARTNER_GRANTS else frozenset()

    def unit_ids(self, session: Session, action: Permission) -> set[int] | None:
        """Every unit the action is allowed on; None means all of them (admin)."""
        if self.is_admin:
            return None
        direct = {u for role, u in self.assignments if grants(role, action)}
        direct |= self._partner_units(action)
        deep = frozenset(
            u for role, u in self.assignments if grants(role, action) and _GRANTS[role][1]
        )
        return direct | self.subtree(session, deep)

    def ancestors(self, session: Session, unit_id: int) -> list[int]:
        """ancestor_ids, read from the database once per request: a unit's chain also gives
        every chain above it (a page asks about the unit and then each of its breadcrumbs)."""
        if unit_id not in self._chains:
            self.learn_chain(unit_id, ancestor_ids(session, unit_id))
        return self._chains[unit_id]

    def learn_chain(self, unit_id: int, chain: list[int]) -> None:
        """The unit's ancestor_ids, when a page has read them already."""
        for position, ancestor in enumerate(chain):
            self._chains.setdefault(ancestor, chain[position:])
        self._chains.setdefault(unit_id, chain)  # [] for a unit that does not exist

    def subtree(self, session: Session, root_ids: frozenset[int]) -> set[int]:
        """subtree_ids, walked once per request for the same roots."""
        if root_ids not in self._subtrees:
            self._subtrees[root_ids] = subtree_ids(session, root_ids)
        return self._subtrees[root_ids]


def load_access(session: Session, user: User) -> Access:
    rows = [(assignment.role, assignment.unit_id) for assignment in user.roles]
    partner_units: frozenset[int] = frozenset()
    if any(role == Role.MEMBER for role, _ in rows):
        # One query, asked only of members: a partner who lost the member role on the unit
        # (or never had it) edits nothing through being named.
        partner_units = frozenset(
            session.scalars(
                select(UnitPartner.unit_id).join(
                    RoleAssignment,
                    (RoleAssignment.user_id == UnitPartner.user_id)
                    & (RoleAssignment.unit_id == UnitPartner.unit_id)
                    & (RoleAssignment.role == Role.MEMBER),
                ).where(UnitPartner.user_id == user.id)
            )
        )
    return Access(
        user_id=user.id,
        is_admin=any(role == Role.ADMIN for role, _ in rows),
        assignments=[(role, unit_id) for role, unit_id in rows if role != Role.ADMIN],
        partner_unit_ids=partner_units,
    )


def may_decide_approval(access: Access, approver_id: int | None) -> bool:
    """Only the named approver of a plan (or an admin) approves it or sends it back."""
    return access.is_admin or (approver_id is not None and approver_id == access.user_id)


def current_access() -> Access:
    """The signed-in user's access, cached on the request."""
    if "access" not in g:
        if not current_user.is_authenticated:
            g.access = Access(user_id=0, is_admin=False)
        else:
            g.access = load_access(db.session, current_user)
    return g.access


def may(action: Permission, unit: Unit | int) -> bool:
    unit_id = unit if isinstance(unit, int) else unit.id
    return current_access().may(db.session, action, unit_id)


def unit_or_404(code: str, action: Permission) -> Unit:
    """The unit with this code if the user may do the action on it; else 404, no hint."""
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None or not may(action, unit):
        abort(404)
    return unit


def require(action: Permission) -> None:
    """For pages that are not about one unit (admin pages): 404 unless allowed somewhere."""
    if not current_access().may_anywhere(action):
        abort(404)

"""Who may do what to which unit — the one place every view asks.

A role held on a unit reaches either that unit alone (member) or the unit and all below it
(leader, committee, board). Admin (HR / survey owner) reaches everything. Views turn a "no"
into 404, so a forbidden object looks exactly like a missing one.

The organisation's kind changes three rules (the ministry's guide for schools):
- a school's class is a unit below the institution with no units below it. The national
  survey's files give a class as the tree's leaf; `unit_type` is free text from the file
  ("Klasse", "class", "2.g", ...) and cannot be trusted to name it;
- a member on a class is the class team: it also runs the class's follow-up (EDIT_FOLLOWUP on
  that class), but never issues reports;
- the committee is the student council: nothing on a class (no results, follow-up, alerts);
- only management — a leader on the institution (a root unit) or an admin — issues reports
  to the board (ISSUE_REPORTS). A municipality's leaders issue for their subtree, as before.

Where the organisation holds results until released (a school's default), a measurement's
results, figures, alerts and exports reach only admins and leaders until management releases
them (Measurement.released_at): `Access.may_see_results` and `Access.results_access`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from flask import abort, g
from flask_login import current_user
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, aliased, joinedload

from app.extensions import db
from app.models import (
    Measurement,
    Organisation,
    OrganisationKind,
    Role,
    RoleAssignment,
    Unit,
    UnitPartner,
    User,
)
from app.models.org import organisation_row
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
    ISSUE_REPORTS = "issue_reports"  # issue a report to the board (for ever)


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
                Permission.ISSUE_REPORTS,
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


# What a member on a school's class (the class team) holds there beyond a member's grants.
CLASS_TEAM_GRANTS = frozenset({Permission.EDIT_FOLLOWUP})


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
    # The organisation's kind and release rule, read with the roles (no per-process state).
    school: bool = False
    hold_results: bool = False
    # Subtrees already walked in this request: a page often asks for two actions held
    # through the same roles (see and move), which would walk the same tree twice.
    _subtrees: dict[frozenset[int], set[int]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _chains: dict[int, list[int]] = field(default_factory=dict, repr=False, compare=False)
    # A school's classes and institutions (root units), read at the first question needing them.
    _classes: frozenset[int] | None = field(default=None, repr=False, compare=False)
    _roots: frozenset[int] | None = field(default=None, repr=False, compare=False)
    _management: Access | None = field(default=None, repr=False, compare=False)
    _held: frozenset[int] | None = field(default=None, repr=False, compare=False)

    def roles(self) -> set[Role]:
        return {role for role, _ in self.assignments} | ({Role.ADMIN} if self.is_admin else set())

    def may(self, session: Session, action: Permission, unit_id: int) -> bool:
        if self.is_admin:
            return True
        if action in PARTNER_GRANTS and unit_id in self.partner_unit_ids:
            return True
        chain: list[int] | None = None
        for role, held_on in self.assignments:
            if not self._grants(session, role, action, held_on):
                continue
            if held_on == unit_id:
                reached = True
            elif _GRANTS[role][1]:
                if chain is None:
                    chain = self.ancestors(session, unit_id)
                reached = held_on in chain
            else:
                reached = False
            if reached and not self._hidden_from(session, role, unit_id):
                return True
        return False

    def _grants(self, session: Session, role: Role, action: Permission, held_on: int) -> bool:
        """Whether the role held on that unit grants the action, by the organisation's kind."""
        if not self.school:
            return grants(role, action)
        if action == Permission.ISSUE_REPORTS:  # management only: a leader on the institution
            return role == Role.LEADER and held_on in self.roots(session)
        if role == Role.MEMBER and action in CLASS_TEAM_GRANTS:
            return held_on in self.classes(session)
        return grants(role, action)

    def _hidden_from(self, session: Session, role: Role, unit_id: int) -> bool:
        """A school's student council (committee) reaches nothing on a class."""
        return self.school and role == Role.COMMITTEE and unit_id in self.classes(session)

    def _deep(self, session: Session, action: Permission, *, whole: bool) -> frozenset[int]:
        """The units the action reaches the subtree of; `whole`: only roles that reach every
        unit below them (a school's student council stops above the classes)."""
        return frozenset(
            u
            for role, u in self.assignments
            if _GRANTS[role][1]
            and self._grants(session, role, action, u)
            and (role != Role.COMMITTEE or not self.school or not whole)
        )

    def may_everywhere_below(self, session: Session, action: Permission, unit_id: int) -> bool:
        """Whether the action is allowed on the unit and every unit below it: a role that
        reaches subtrees, held on the unit or above it (no need to list the subtree)."""
        if self.is_admin:
            return True
        deep = self._deep(session, action, whole=True)
        if unit_id in deep:  # held on the unit itself: no walk up the tree
            return True
        return bool(deep) and not deep.isdisjoint(self.ancestors(session, unit_id))

    def visible_children(
        self, session: Session, action: Permission, unit_id: int, children: list[Unit]
    ) -> list[Unit]:
        """The children the action is allowed on, with one tree walk for all of them."""
        if self.may_everywhere_below(session, action, unit_id):
            return children
        chain = self.ancestors(session, unit_id)
        for child in children:  # a child's chain is known from its parent's: no query
            self.learn_chain(child.id, [child.id, *chain])
        return [child for child in children if self.may(session, action, child.id)]

    def may_anywhere(self, action: Permission) -> bool:
        if self.is_admin or self._partner_units(action):
            return True
        if self.school and (action in CLASS_TEAM_GRANTS or action == Permission.ISSUE_REPORTS):
            return any(self._grants(db.session, role, action, u) for role, u in self.assignments)
        return any(grants(role, action) for role, _ in self.assignments)

    def _partner_units(self, action: Permission) -> frozenset[int]:
        return self.partner_unit_ids if action in PARTNER_GRANTS else frozenset()

    def unit_ids(self, session: Session, action: Permission) -> set[int] | None:
        """Every unit the action is allowed on; None means all of them (admin)."""
        if self.is_admin:
            return None
        direct = {
            u
            for role, u in self.assignments
            if self._grants(session, role, action, u) and not self._hidden_from(session, role, u)
        }
        direct |= self._partner_units(action)
        whole = self._deep(session, action, whole=True)
        found = direct | self.subtree(session, whole)
        council = self._deep(session, action, whole=False) - whole
        if council:  # the student council's subtrees without their classes
            found |= self.subtree(session, council) - self.classes(session)
        return found

    def classes(self, session: Session) -> frozenset[int]:
        """A school's classes: units below the institution with no unit below them."""
        if self._classes is None:
            child = aliased(Unit)
            self._classes = frozenset(
                session.scalars(
                    select(Unit.id).where(
                        Unit.parent_id.is_not(None),
                        ~exists().where(child.parent_id == Unit.id),
                    )
                )
            )
        return self._classes

    def roots(self, session: Session) -> frozenset[int]:
        """The institutions: units with no unit above them."""
        if self._roots is None:
            self._roots = frozenset(
                session.scalars(select(Unit.id).where(Unit.parent_id.is_(None)))
            )
        return self._roots

    # --- results held until management releases them ---

    def results_released(self, measurement: Measurement) -> bool:
        """Whether the measurement's results reach every audience (not only management)."""
        return not self.hold_results or measurement.released_at is not None

    def management(self) -> Access:
        """The same person with only the roles that see results before their release: admin
        and leaders (management and department leaders), sharing this request's tree walks."""
        if self._management is None:
            self._management = Access(
                user_id=self.user_id,
                is_admin=self.is_admin,
                assignments=[(r, u) for r, u in self.assignments if r == Role.LEADER],
                school=self.school,
                hold_results=self.hold_results,
                _subtrees=self._subtrees,
                _chains=self._chains,
                _classes=self._classes,
                _roots=self._roots,
            )
        return self._management

    def results_access(self, measurement: Measurement) -> Access:
        """Whose roles to ask about the measurement's results, figures, alerts and exports:
        this person's, or before the release only their admin and leader roles."""
        return self if self.results_released(measurement) else self.management()

    def held_measurement_ids(self, session: Session) -> frozenset[int]:
        """The measurements whose results (and alerts) reach only this person's admin and
        leader roles, as not yet released; empty where nothing is held or for an admin."""
        if not self.hold_results or self.is_admin:
            return frozenset()
        if self._held is None:
            self._held = frozenset(
                session.scalars(select(Measurement.id).where(Measurement.released_at.is_(None)))
            )
        return self._held

    def may_see_results(self, session: Session, measurement: Measurement, unit_id: int) -> bool:
        return self.results_access(measurement).may(session, Permission.VIEW_RESULTS, unit_id)

    def held_back(self, session: Session, measurement: Measurement, unit_id: int) -> bool:
        """The person may see the unit's results once released, but not yet: the page says
        "not yet released by management" instead of the figures."""
        return not self.may_see_results(session, measurement, unit_id) and self.may(
            session, Permission.VIEW_RESULTS, unit_id
        )

    def may_release_results(self, session: Session) -> bool:
        """Management releases: an admin (the survey owner) or a leader on the institution;
        only where the organisation holds results until released."""
        if not self.hold_results:
            return False
        return self.is_admin or any(
            role == Role.LEADER and u in self.roots(session) for role, u in self.assignments
        )

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


# Read on every request: built once.
_ORGANISATION_RULES = organisation_row(Organisation.kind, Organisation.hold_results_until_released)
# The signed-in account, its roles and the organisation's rules for access in one statement:
# every request of a signed-in person runs it (Flask-Login's user loader).
_SIGNED_IN = (
    select(
        User,
        organisation_row(Organisation.kind).scalar_subquery(),
        organisation_row(Organisation.hold_results_until_released).scalar_subquery(),
    )
    .where(User.id == bindparam("user_id"))
    .options(joinedload(User.roles))
)


@dataclass(frozen=True)
class OrganisationRules:
    """What access depends on in the organisation's settings, read with the account."""

    kind: OrganisationKind | None
    hold_results: bool


def load_signed_in(session: Session, user_id: int) -> tuple[User, OrganisationRules] | None:
    """The account with its roles, and the organisation's rules, in one query. Pass the rules
    to `remember_rules` once the session is found to be the account's (Flask-Login)."""
    row = session.execute(_SIGNED_IN, {"user_id": user_id}).unique().one_or_none()
    if row is None:
        return None
    user, kind, hold = row
    return user, OrganisationRules(kind, bool(hold))


def remember_rules(rules: OrganisationRules) -> None:
    """This request's organisation rules, read with the account: `current_access` asks the
    database for them only where they were not read this way (they never outlive the request)."""
    g.organisation_rules = rules


def load_access(session: Session, user: User, rules: OrganisationRules | None = None) -> Access:
    """The user's access; `rules` when already read in this request (else one query)."""
    rows = [(assignment.role, assignment.unit_id) for assignment in user.roles]
    partner_units: frozenset[int] = frozenset()
    if any(role == Role.MEMBER for role, _ in rows):
        # One query, asked only of members: a partner who lost the member role on the unit
        # (or never had it) edits nothing through being named.
        partner_units = frozenset(
            session.scalars(
                select(UnitPartner.unit_id)
                .join(
                    RoleAssignment,
                    (RoleAssignment.user_id == UnitPartner.user_id)
                    & (RoleAssignment.unit_id == UnitPartner.unit_id)
                    & (RoleAssignment.role == Role.MEMBER),
                )
                .where(UnitPartner.user_id == user.id)
            )
        )
    if rules is None:
        organisation = session.execute(_ORGANISATION_RULES).first()
        rules = OrganisationRules(
            organisation.kind if organisation is not None else None,
            organisation is not None and bool(organisation.hold_results_until_released),
        )
    return Access(
        user_id=user.id,
        is_admin=any(role == Role.ADMIN for role, _ in rows),
        assignments=[(role, unit_id) for role, unit_id in rows if role != Role.ADMIN],
        partner_unit_ids=partner_units,
        school=rules.kind == OrganisationKind.SCHOOL,
        hold_results=rules.hold_results,
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
            g.access = load_access(db.session, current_user, g.pop("organisation_rules", None))
            if "organisation_kind" not in g:  # read with the roles: app.vocabulary asks no more
                g.organisation_kind = (
                    OrganisationKind.SCHOOL if g.access.school else OrganisationKind.MUNICIPALITY
                )
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

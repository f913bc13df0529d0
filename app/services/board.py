"""The status-arrow board: which actions a person sees, moving them, and concurrent edits.

Two people moving the same card at once never overwrite each other silently: every move
names the version it was made from (the `version` column), and a stale one is refused with
the current state, so the person can look and apply it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from app.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    FollowUp,
    Measurement,
    PlanTheme,
    Unit,
    User,
)
from app.models.base import MAX_INTEGER, db_int
from app.policy import Access, may_write_as_owner
from app.policy import Permission as Can
from app.services import audit
from app.services.units import subtree_select

SOON_DAYS = 7
SCOPES = ("mine", "unit", "subtree")


@dataclass
class BoardFilter:
    """What the board shows; every field round-trips through the URL."""

    scope: str = "unit"
    unit: str = ""  # unit code for the unit and subtree scopes
    measurement: int | None = None
    theme: str = ""
    owner: str = ""  # a user id, or "" for everyone
    overdue: bool = False
    soon: bool = False
    escalated: bool = False

    @classmethod
    def from_args(cls, args: Any) -> BoardFilter:
        scope = args.get("scope", "unit")
        return cls(
            scope=scope if scope in SCOPES else "unit",
            unit=args.get("unit", "").strip(),
            measurement=args.get("m", type=db_int),
            theme=args.get("theme", "").strip(),
            owner=args.get("owner", "").strip(),
            overdue=bool(args.get("overdue")),
            soon=bool(args.get("soon")),
            escalated=bool(args.get("escalated")),
        )

    def as_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"scope": self.scope}
        for name in ("unit", "theme", "owner"):
            if getattr(self, name):
                args[name] = getattr(self, name)
        if self.measurement:
            args["m"] = self.measurement
        for name in ("overdue", "soon", "escalated"):
            if getattr(self, name):
                args[name] = "1"
        return args


@dataclass
class Card:
    action: Action
    unit: Unit
    theme: str
    owner: str
    escalated_to: str
    overdue: bool
    due_soon: bool
    measurement: Measurement


@dataclass
class FilterChoices:
    """What the theme and owner filters offer: everything in scope, whichever is chosen."""

    themes: list[str]
    owners: list[tuple[int, str]]  # (user id, name)


@dataclass
class Board:
    filter: BoardFilter
    unit: Unit | None
    cards: list[Card] = field(default_factory=list)
    # Cards per status in all, when the board holds only the first few of each column.
    counts: dict[int, int] | None = None
    choices: FilterChoices | None = None

    def column(self, status: ActionStatus) -> list[Card]:
        return [c for c in self.cards if c.action.status == status]

    def count(self, status: ActionStatus) -> int:
        if self.counts is None:
            return len(self.column(status))
        return self.counts.get(int(status), 0)

    @property
    def total(self) -> int:
        return len(self.cards) if self.counts is None else sum(self.counts.values())


# Most urgent first: the nearest deadline, those without one last.
_URGENCY = (Action.deadline.is_(None), Action.deadline, Action.id)


def _base_query() -> Select[Any]:
    escalated_unit = aliased(Unit)
    return (
        select(
            Action, Unit, PlanTheme.title, User.name, escalated_unit.name, FollowUp.measurement_id
        )
        .join(Unit, Unit.id == Action.unit_id)
        .join(FollowUp, FollowUp.id == Action.follow_up_id)
        .outerjoin(PlanTheme, PlanTheme.id == Action.theme_id)
        .outerjoin(User, User.id == Action.owner_user_id)
        .outerjoin(escalated_unit, escalated_unit.id == Action.escalated_to_unit_id)
    )


# The parts of the board's queries that never change, built once (every board adds its
# filter to them): building them was a tenth of a board's time.
_CARDS = _base_query()
_RANKED = select(
    Action.id,
    func.row_number().over(partition_by=Action.status, order_by=_URGENCY).label("rank"),
)
_SUMMARY = (
    select(Action.status, PlanTheme.title, Action.owner_user_id, User.name, func.count())
    .select_from(Action)
    .outerjoin(PlanTheme, PlanTheme.id == Action.theme_id)
    .outerjoin(User, User.id == Action.owner_user_id)
)


def _conditions(
    session: Session,
    access: Access,
    user: User,
    wanted: BoardFilter,
    unit: Unit | None,
    today: date,
) -> list[Any]:
    """The WHERE clauses of the filter, within what the user may see, but for the theme and
    owner chosen (_chosen): the lists those two filters offer come from these. Clauses name
    Action and FollowUp; a query using them joins those."""
    where: list[Any] = [Action.deleted_at.is_(None)]  # deleted ones wait for "Fortryd" only
    if wanted.scope == "mine":
        where.append(Action.owner_user_id == user.id)
    else:
        if unit is None:  # every unit the user may see
            visible = access.unit_ids(session, Can.VIEW_FOLLOWUP)
            if visible is not None:
                where.append(_on_units(visible))
        elif wanted.scope == "subtree":
            where.append(_on_units(subtree_select([unit.id])))
            # Only what the user may see, when that is not the whole subtree anyway.
            if not access.may_everywhere_below(session, Can.VIEW_FOLLOWUP, unit.id):
                visible = access.unit_ids(session, Can.VIEW_FOLLOWUP)
                if visible is not None:
                    where.append(_on_units(visible))
        else:
            where.append(_on_units({unit.id}))
            if not access.may(session, Can.VIEW_FOLLOWUP, unit.id):
                visible = access.unit_ids(session, Can.VIEW_FOLLOWUP)
                if visible is not None:
                    where.append(_on_units(visible))
    if wanted.measurement:
        where.append(FollowUp.measurement_id == wanted.measurement)
    if wanted.overdue:
        where += [Action.deadline < today, Action.status < ActionStatus.DONE]
    if wanted.soon:
        where += [
            Action.deadline >= today,
            Action.deadline <= today + timedelta(days=SOON_DAYS),
            Action.status < ActionStatus.DONE,
        ]
    if wanted.escalated:
        where.append(
            or_(Action.escalated_to_unit_id.is_not(None), Action.escalated_to_function != "")
        )
    return where


def _chosen(wanted: BoardFilter) -> list[Any]:
    """The WHERE clauses of the theme and owner chosen (they name PlanTheme and Action)."""
    where: list[Any] = []
    if wanted.theme:
        where.append(PlanTheme.title == wanted.theme)
    if wanted.owner.isdigit() and int(wanted.owner) <= MAX_INTEGER:
        where.append(Action.owner_user_id == int(wanted.owner))
    return where


def board(
    session: Session,
    access: Access,
    user: User,
    wanted: BoardFilter,
    unit: Unit | None,
    today: date,
    *,
    per_column: int | None = None,
) -> Board:
    """The cards the filter asks for, within what the user may see, most urgent first, with
    what the theme and owner filters offer and how many cards each status holds.

    With `per_column`, only the first that many of each status (the board's columns): a
    subtree of thousands of actions costs the same two queries. Without, every card (the
    list view and the exports), up to 2,000.
    """
    in_scope = _conditions(session, access, user, wanted, unit, today)
    where = in_scope + _chosen(wanted)
    query = _CARDS
    if per_column is None:
        query = query.where(*where).order_by(*_URGENCY).limit(2000)
    else:
        ranked = _joined(_RANKED, wanted)
        ranks = ranked.where(*where).subquery()
        query = (
            query.join(ranks, ranks.c.id == Action.id)
            .where(ranks.c.rank <= per_column)
            .order_by(Action.status, ranks.c.rank)
        )
    rows = session.execute(query).all()
    # The measurements (one or a few) read once, rather than again on every row; none when
    # the session holds them already (the board's page lists them all first).
    measurement_ids = sorted({row[-1] for row in rows})
    held = (
        session.identity_map.get(session.identity_key(Measurement, m_id))
        for m_id in measurement_ids
    )
    measurements = {m.id: m for m in held if isinstance(m, Measurement)}
    missing = [m_id for m_id in measurement_ids if m_id not in measurements]
    if missing:
        measurements.update(
            (m.id, m)
            for m in session.scalars(select(Measurement).where(Measurement.id.in_(missing)))
        )
    soon = today + timedelta(days=SOON_DAYS)
    cards = []
    for action, action_unit, theme, owner, escalated_unit, measurement_id in rows:
        open_ = action.status < ActionStatus.DONE and action.deadline is not None
        cards.append(
            Card(
                action=action,
                unit=action_unit,
                theme=theme or "",
                owner=owner or action.owner_name,
                measurement=measurements[measurement_id],
                escalated_to=escalated_unit or action.escalated_to_function,
                overdue=open_ and action.deadline < today,  # type: ignore[operator]
                due_soon=open_ and today <= action.deadline <= soon,  # type: ignore[operator]
            )
        )
    counts, choices = _summary(session, wanted, in_scope)
    return Board(
        filter=wanted,
        unit=unit,
        cards=cards,
        counts=counts if per_column is not None else None,
        choices=choices,
    )


def _joined(query: Select[Any], wanted: BoardFilter) -> Select[Any]:
    """The joins the filter's clauses need, for a query that selects from Action alone."""
    if wanted.measurement:
        query = query.join(FollowUp, FollowUp.id == Action.follow_up_id)
    if wanted.theme:
        query = query.outerjoin(PlanTheme, PlanTheme.id == Action.theme_id)
    return query


def _summary(
    session: Session, wanted: BoardFilter, in_scope: list[Any]
) -> tuple[dict[int, int], FilterChoices]:
    """Cards per status, and every theme and owner in scope whichever are chosen: one
    grouped query over the filter without its theme and owner, which are counted here."""
    query = _SUMMARY
    if wanted.measurement:
        query = query.join(FollowUp, FollowUp.id == Action.follow_up_id)
    rows = session.execute(
        query.where(*in_scope).group_by(
            Action.status, PlanTheme.title, Action.owner_user_id, User.name
        )
    ).all()
    owner = int(wanted.owner) if wanted.owner.isdigit() else None
    counts: dict[int, int] = {}
    themes: set[str] = set()
    owners: set[tuple[int, str]] = set()
    for status, theme, owner_id, name, n in rows:
        if theme:
            themes.add(theme)
        if owner_id is not None:
            owners.add((owner_id, name))
        if (not wanted.theme or theme == wanted.theme) and (owner is None or owner_id == owner):
            counts[status] = counts.get(status, 0) + n
    return counts, FilterChoices(
        themes=sorted(themes), owners=sorted(owners, key=lambda o: (o[1], o[0]))
    )


def _on_units(unit_ids: set[int] | Select[tuple[int]]) -> Any:
    """The action is on one of the units, or was passed on to one of them."""
    if isinstance(unit_ids, Select):
        return or_(Action.unit_id.in_(unit_ids), Action.escalated_to_unit_id.in_(unit_ids))
    if len(unit_ids) == 1:
        (unit_id,) = unit_ids
        return or_(Action.unit_id == unit_id, Action.escalated_to_unit_id == unit_id)
    ids = sorted(unit_ids)
    return or_(Action.unit_id.in_(ids), Action.escalated_to_unit_id.in_(ids))


class Rights:
    """may_move and may_edit for every card of one board, the same answers as the functions
    below, with the units the user may act on read once (Access.may walks up the tree from
    each card's unit: a query per card)."""

    def __init__(self, session: Session, access: Access, user: User) -> None:
        self._session = session
        self._access = access
        self._user_id = user.id
        self._units: dict[Can, set[int] | None] = {}

    def _allowed(self, what: Can, unit_id: int) -> bool:
        if what not in self._units:
            self._units[what] = self._access.unit_ids(self._session, what)
        units = self._units[what]
        return units is None or unit_id in units

    def may_move(self, action: Action) -> bool:
        return may_write_as_owner(self._access, action.owner_user_id) or self._allowed(
            Can.UPDATE_ACTIONS, action.unit_id
        )

    def may_edit(self, action: Action) -> bool:
        return self._allowed(Can.EDIT_FOLLOWUP, action.unit_id)


def may_move(session: Session, access: Access, user: User, action: Action) -> bool:
    """Members and leaders of the action's unit, and the action's owner if a member or
    leader anywhere (policy.may_write_as_owner), move it."""
    return may_write_as_owner(access, action.owner_user_id) or access.may(
        session, Can.UPDATE_ACTIONS, action.unit_id
    )


def may_edit(session: Session, access: Access, action: Action) -> bool:
    return access.may(session, Can.EDIT_FOLLOWUP, action.unit_id)


def may_see(session: Session, access: Access, user: User, action: Action) -> bool:
    if action.owner_user_id == user.id:
        return True
    if access.may(session, Can.VIEW_FOLLOWUP, action.unit_id):
        return True
    return action.escalated_to_unit_id is not None and access.may(
        session, Can.VIEW_FOLLOWUP, action.escalated_to_unit_id
    )


class Conflict(Exception):
    """Someone else changed the action first; `action` holds its current state."""

    def __init__(self, action: Action) -> None:
        super().__init__(action.id)
        self.action = action


def move(
    session: Session,
    actor: User,
    action: Action,
    status: ActionStatus,
    *,
    expected_version: int,
    comment: str = "",
) -> ActionUpdate:
    """Put the action at `status` on the arrow, if nobody changed it since `expected_version`.

    The UPDATE itself checks the version (SQLAlchemy's version counter), so two requests that
    both read version 3 cannot both write: the second raises Conflict. A move to the status
    the card already has is written (and checked) too: without a change SQLAlchemy would
    send no UPDATE, and a card moved meanwhile by someone else would not be noticed.
    """
    if action.version != expected_version:
        raise Conflict(action)
    before = action.status
    action.status = int(status)
    flag_modified(action, "status")  # an UPDATE, with its version check, even if unchanged
    if comment.strip():
        action.last_comment = comment.strip()[:1000]
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        fresh = session.get(Action, action.id)
        raise Conflict(fresh) from None  # type: ignore[arg-type]
    update = ActionUpdate(
        action_id=action.id, user_id=actor.id, status=int(status), comment=comment.strip()[:1000]
    )
    session.add(update)
    audit.record(
        session,
        actor,
        "action.status",
        "action",
        action.id,
        unit_id=action.unit_id,
        before=before,
        after=int(status),
    )
    session.flush()
    return update


def history(session: Session, action: Action) -> list[ActionUpdate]:
    return list(
        session.scalars(
            select(ActionUpdate)
            .where(ActionUpdate.action_id == action.id)
            .options(selectinload(ActionUpdate.user))
            .order_by(ActionUpdate.at.desc(), ActionUpdate.id.desc())
        )
    )

"""The status-arrow board: which actions a person sees, moving them, and concurrent edits.

Two people moving the same card at once never overwrite each other silently: every move
names the version it was made from (the `version` column), and a stale one is refused with
the current state, so the person can look and apply it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased, selectinload
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
from app.policy import Access
from app.policy import Action as Can
from app.services import audit
from app.services.units import subtree_ids

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
            measurement=args.get("m", type=int),
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
class Board:
    filter: BoardFilter
    unit: Unit | None
    cards: list[Card] = field(default_factory=list)

    def column(self, status: ActionStatus) -> list[Card]:
        return [c for c in self.cards if c.action.status == status]


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


def board(
    session: Session,
    access: Access,
    user: User,
    wanted: BoardFilter,
    unit: Unit | None,
    today: date,
) -> Board:
    """The cards the filter asks for, within what the user may see. One query for the cards
    (and, for the unit and subtree scopes, one each for the units asked for and those the
    user may see)."""
    query = _base_query()
    if wanted.scope == "mine":
        query = query.where(Action.owner_user_id == user.id)
    else:
        asked: set[int] | None = None
        if unit is not None and wanted.scope == "subtree":
            asked = subtree_ids(session, [unit.id])
        elif unit is not None:
            asked = {unit.id}
        if asked is not None:
            query = query.where(_on_units(asked))
        visible = access.unit_ids(session, Can.VIEW_FOLLOWUP)
        # Only what the user may see; implied (and left out) when they may see every unit
        # asked for, which spares the database a second list of the same ids.
        if visible is not None and (asked is None or not asked <= visible):
            query = query.where(_on_units(visible))
    if wanted.measurement:
        query = query.where(FollowUp.measurement_id == wanted.measurement)
    if wanted.theme:
        query = query.where(PlanTheme.title == wanted.theme)
    if wanted.owner.isdigit():
        query = query.where(Action.owner_user_id == int(wanted.owner))
    if wanted.overdue:
        query = query.where(Action.deadline < today, Action.status < ActionStatus.DONE)
    if wanted.soon:
        query = query.where(
            Action.deadline >= today,
            Action.deadline <= today + timedelta(days=SOON_DAYS),
            Action.status < ActionStatus.DONE,
        )
    if wanted.escalated:
        query = query.where(
            or_(Action.escalated_to_unit_id.is_not(None), Action.escalated_to_function != "")
        )
    query = query.order_by(Action.deadline.is_(None), Action.deadline, Action.id).limit(2000)
    rows = session.execute(query).all()
    # The measurements (one or a few) read once, rather than again on every row.
    measurement_ids = sorted({row[-1] for row in rows})
    measurements = (
        {
            m.id: m
            for m in session.scalars(select(Measurement).where(Measurement.id.in_(measurement_ids)))
        }
        if measurement_ids
        else {}
    )
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
                due_soon=open_ and today <= action.deadline <= today + timedelta(days=SOON_DAYS),  # type: ignore[operator]
            )
        )
    return Board(filter=wanted, unit=unit, cards=cards)


def _on_units(unit_ids: set[int]) -> Any:
    """The action is on one of the units, or was passed on to one of them."""
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
        return action.owner_user_id == self._user_id or self._allowed(
            Can.UPDATE_ACTIONS, action.unit_id
        )

    def may_edit(self, action: Action) -> bool:
        return self._allowed(Can.EDIT_FOLLOWUP, action.unit_id)


def may_move(session: Session, access: Access, user: User, action: Action) -> bool:
    """Members and leaders of the action's unit, and the action's owner, move it."""
    return action.owner_user_id == user.id or access.may(
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
    both read version 3 cannot both write: the second raises Conflict.
    """
    if action.version != expected_version:
        raise Conflict(action)
    before = action.status
    action.status = int(status)
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


def delete_action(session: Session, actor: User, action: Action) -> None:
    """Delete, keeping what it was in the audit trail."""
    audit.record(
        session,
        actor,
        "action.deleted",
        "action",
        action.id,
        unit_id=action.unit_id,
        title=action.title,
        status=action.status,
        owner=action.owner_label,
        deadline=action.deadline.isoformat() if action.deadline else None,
    )
    session.delete(action)
    session.flush()

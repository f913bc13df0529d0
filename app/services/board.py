"""The status-arrow board: which actions a person sees, moving them, and concurrent edits.

Two people moving the same card at once never overwrite each other silently: every move
names the version it was made from (the `version` column), and a stale one is refused with
the current state, so the person can look and apply it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from app.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    FollowUp,
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

    # The unit with everything below it: a department head sees the teams' actions, a team
    # leader (nothing below) just the team's; without a unit (HR) every unit. Opening on the
    # unit alone showed a department head or a school's education leader an empty board.
    scope: str = "subtree"
    unit: str = ""  # unit code for the unit and subtree scopes
    measurement: int | None = None
    theme: str = ""
    owner: str = ""  # a user id, or "" for everyone
    overdue: bool = False
    soon: bool = False
    escalated: bool = False

    @classmethod
    def from_args(cls, args: Any) -> BoardFilter:
        scope = args.get("scope", cls.scope)
        return cls(
            scope=scope if scope in SCOPES else cls.scope,
            unit=args.get("unit", "").strip(),
            measurement=args.get("m", type=db_int),
            theme=args.get("theme", "").strip(),
            owner=args.get("owner", "").strip(),
            overdue=bool(args.get("overdue")),
            soon=bool(args.get("soon")),
            escalated=bool(args.get("escalated")),
        )

    @property
    def narrowed(self) -> bool:
        """A filter beyond where the board looks (theme, owner, measurement, deadlines)."""
        return bool(
            self.measurement
            or self.theme
            or self.owner
            or self.overdue
            or self.soon
            or self.escalated
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


@dataclass(slots=True)
class CardAction:
    """The columns of an action that a card, the list view and the exports print (and the
    two its rights are decided by), read as plain values rather than as an ORM entity."""

    id: int
    title: str
    unit_id: int
    owner_user_id: int | None
    deadline: date | None
    status: int
    version: int
    last_comment: str


@dataclass(slots=True)
class CardUnit:
    id: int
    name: str


@dataclass(slots=True)
class Card:
    action: CardAction
    unit: CardUnit
    theme: str
    owner: str
    escalated_to: str
    overdue: bool
    due_soon: bool


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


# A card: its action's columns (the subquery "card"), and the names it prints, looked up per
# card (a scalar subquery each) rather than joined, so that PostgreSQL plans a query on one
# table: planning a six-table join around the ranked subquery took it 4-8 ms, more than
# running it. The outer query names the subquery's columns as text ("card.unit_id"), built
# once: SQLAlchemy building a new subquery's column collection on every request cost more
# than a millisecond.
_CARD_COLUMNS = (
    Action.id,
    Action.title,
    Action.unit_id,
    Action.owner_user_id,
    Action.owner_name,
    Action.deadline,
    Action.status,
    Action.version,
    Action.last_comment,
    Action.escalated_to_function,
    Action.theme_id,
    Action.escalated_to_unit_id,
)
_RANK = func.row_number().over(partition_by=Action.status, order_by=_URGENCY).label("rank")


def _of(subquery: str, name: str, type_: Any = None) -> Any:
    """The subquery's column, typed where SQLAlchemy must convert it (SQLite's dates)."""
    return literal_column(f"{subquery}.{name}", type_)


def _name_of(model: Any, column: str, key: str) -> Any:
    """The name a card prints, looked up by the card subquery's key: plain SQL, whose cache key
    is its text (SQLAlchemy walking four ORM subqueries for one took a third of the board's
    query time)."""
    table = model.__tablename__
    return literal_column(
        f"(SELECT {table}.{column} FROM {table} WHERE {table}.id = card.{key})"  # noqa: S608 - names of ours
    )


_CARD_NAMES = select(
    *(_of("card", c.key, c.type) for c in _CARD_COLUMNS[:10]),
    _name_of(Unit, "name", "unit_id"),
    _name_of(PlanTheme, "title", "theme_id"),
    _name_of(User, "name", "owner_user_id"),
    _name_of(Unit, "name", "escalated_to_unit_id"),
)
# The ranked cards also say how many their status holds in all (the column's count).
_IN_STATUS = func.count().over(partition_by=Action.status).label("in_status")
_RANKED_CARD_NAMES = _CARD_NAMES.add_columns(_of("card", "in_status"))
_BY_RANK = (_of("card", "status"), _of("card", "rank"))
_BY_URGENCY = (_of("card", "deadline").is_(None), _of("card", "deadline"), _of("card", "id"))

# The theme titles and the owners in scope (the filters' choices), as (theme, owner id, name)
# rows: a title with no owner, or an owner with no title.
_NO_ID = cast(null(), Integer)
_NO_TEXT = cast(null(), String)
_CHOICE_THEMES = (
    select(PlanTheme.title, _NO_ID, _NO_TEXT)
    .select_from(Action)
    .join(PlanTheme, PlanTheme.id == Action.theme_id)
)
_CHOICE_OWNERS = (
    select(_NO_TEXT, Action.owner_user_id, User.name)
    .select_from(Action)
    .join(User, User.id == Action.owner_user_id)
)


@dataclass(frozen=True)
class _Shape:
    """What a board query's SQL depends on; its values (the user, the unit, the units the
    user may see, the dates, the chosen measurement, theme and owner) are bound at each run.
    Each shape's statements are built once per process (_statement): SQLAlchemy keeps the
    cache key of a statement built once, and works it out anew, walking the whole query, for
    one built on every request (py-spy: ~8 % of a board)."""

    scope: str  # "mine", "all" (every unit the user may see), "subtree" or "unit"
    visible: bool  # also only on the units the user may see (bound as a list)
    measurement: bool
    overdue: bool
    soon: bool
    escalated: bool
    theme: bool = False
    owner: bool = False

    def in_scope(self) -> _Shape:
        """The shape without the chosen theme and owner: the filters' choices come from it."""
        return replace(self, theme=False, owner=False)


_USER: BindParameter[Any] = bindparam("user_id")
_UNIT: BindParameter[Any] = bindparam("unit_id")
_VISIBLE: BindParameter[Any] = bindparam("visible", expanding=True)
_TODAY: BindParameter[Any] = bindparam("today")
_SOON: BindParameter[Any] = bindparam("soon")


def _conditions(
    session: Session,
    access: Access,
    wanted: BoardFilter,
    unit: Unit | None,
    today: date,
) -> tuple[_Shape, dict[str, Any]]:
    """The shape of the filter, within what the user may see, and the values to bind."""
    values: dict[str, Any] = {
        "today": today,
        "soon": today + timedelta(days=SOON_DAYS),
        "user_id": access.user_id,
    }
    visible: set[int] | None = None
    if wanted.scope == "mine":
        scope = "mine"
    elif unit is None:  # every unit the user may see
        scope = "all"
        visible = access.unit_ids(session, Can.VIEW_FOLLOWUP)
    else:
        scope = "subtree" if wanted.scope == "subtree" else "unit"
        values["unit_id"] = unit.id
        # Only what the user may see, when that is not the whole scope anyway.
        everywhere = (
            access.may_everywhere_below(session, Can.VIEW_FOLLOWUP, unit.id)
            if scope == "subtree"
            else access.may(session, Can.VIEW_FOLLOWUP, unit.id)
        )
        if not everywhere:
            visible = access.unit_ids(session, Can.VIEW_FOLLOWUP)
    if visible is not None:
        values["visible"] = sorted(visible)
    if wanted.measurement:
        values["measurement_id"] = wanted.measurement
    owner = wanted.owner.isdigit() and int(wanted.owner) <= MAX_INTEGER
    if wanted.theme:
        values["theme"] = wanted.theme
    if owner:
        values["owner_id"] = int(wanted.owner)
    shape = _Shape(
        scope=scope,
        visible=visible is not None,
        measurement=bool(wanted.measurement),
        overdue=wanted.overdue,
        soon=wanted.soon,
        escalated=wanted.escalated,
        theme=bool(wanted.theme),
        owner=owner,
    )
    return shape, values


def _where(shape: _Shape) -> list[Any]:
    """The WHERE clauses of the shape. Clauses name Action, FollowUp and PlanTheme; a query
    using them joins those (_joined)."""
    where: list[Any] = [Action.deleted_at.is_(None)]  # deleted ones wait for "Fortryd" only
    if shape.scope == "mine":
        where.append(Action.owner_user_id == _USER)
    elif shape.scope == "subtree":
        where.append(_on_units(subtree_select(_UNIT)))
    elif shape.scope == "unit":
        where.append(or_(Action.unit_id == _UNIT, Action.escalated_to_unit_id == _UNIT))
    if shape.visible:
        where.append(_on_units(_VISIBLE))
    if shape.measurement:
        where.append(FollowUp.measurement_id == bindparam("measurement_id"))
    if shape.overdue:
        where += [Action.deadline < _TODAY, Action.status < ActionStatus.DONE]
    if shape.soon:
        where += [Action.deadline >= _TODAY, Action.deadline <= _SOON]
        where.append(Action.status < ActionStatus.DONE)
    if shape.escalated:
        where.append(
            or_(Action.escalated_to_unit_id.is_not(None), Action.escalated_to_function != "")
        )
    if shape.theme:
        where.append(PlanTheme.title == bindparam("theme"))
    if shape.owner:
        where.append(Action.owner_user_id == bindparam("owner_id"))
    return where


def _joined(query: Select[Any], shape: _Shape) -> Select[Any]:
    """The joins the shape's clauses need, for a query that selects from Action alone."""
    if shape.measurement:
        query = query.join(FollowUp, FollowUp.id == Action.follow_up_id)
    if shape.theme:
        query = query.outerjoin(PlanTheme, PlanTheme.id == Action.theme_id)
    return query


def _build(kind: str, shape: _Shape) -> Select[Any] | CompoundSelect:
    if kind == "cards":  # every card, most urgent first (the list view and the exports)
        chosen = _joined(select(*_CARD_COLUMNS), shape).where(*_where(shape))
        listed = chosen.order_by(*_URGENCY).limit(2000).subquery("card")
        return _CARD_NAMES.select_from(listed).order_by(*_BY_URGENCY)
    if kind == "columns":  # the first per_column of each status, and how many it holds
        ranking = _joined(select(*_CARD_COLUMNS, _RANK, _IN_STATUS), shape)
        ranked = ranking.where(*_where(shape)).subquery("card")
        return (
            _RANKED_CARD_NAMES.select_from(ranked)
            .where(_of("card", "rank") <= bindparam("per_column"))
            .order_by(*_BY_RANK)
        )
    # "choices": every theme title and every owner in scope, whichever are chosen, each once
    # (grouped by theme and owner, a whole organisation's board read 20,000 pairs; by theme,
    # each plan's own "Psykologisk tryghed" apart). Without the theme and owner filters: the
    # choices offer every one in scope (and PlanTheme is joined here only).
    shape = shape.in_scope()
    themes = _joined(_CHOICE_THEMES, shape).where(*_where(shape)).group_by(PlanTheme.title)
    owners = _joined(_CHOICE_OWNERS, shape).where(*_where(shape))
    return union_all(themes, owners.group_by(Action.owner_user_id, User.name))


# Each shape's statements, built at its first board in this process. At most a few hundred
# (scopes x flags); they hold no values, only the SQL, so every request binds its own.
_STATEMENTS: dict[tuple[str, _Shape], Select[Any] | CompoundSelect] = {}


def _statement(kind: str, shape: _Shape) -> Select[Any] | CompoundSelect:
    statement = _STATEMENTS.get((kind, shape))
    if statement is None:
        statement = _STATEMENTS[kind, shape] = _build(kind, shape)
    return statement


def board(
    session: Session,
    access: Access,
    wanted: BoardFilter,
    unit: Unit | None,
    today: date,
    *,
    per_column: int | None = None,
    choices: bool = True,
) -> Board:
    """The cards the filter asks for, within what the user may see, most urgent first, with
    what the theme and owner filters offer and how many cards each status holds.

    With `per_column`, only the first that many of each status (the board's columns), and
    how many each holds: a subtree of thousands of actions costs the same query. Without,
    every card (the list view and the exports), up to 2,000. The filters' choices (a second
    query) only where `choices` asks for them: the page's filters show them, a board swapped
    in after a move does not.
    """
    shape, values = _conditions(session, access, wanted, unit, today)
    if per_column is None:
        query = _statement("cards", shape)
    else:
        query = _statement("columns", shape)
        values["per_column"] = per_column
    cards = []
    counts: dict[int, int] = {}
    soon = values["soon"]
    for row in session.execute(query, values):
        (
            action_id,
            title,
            unit_id,
            owner_user_id,
            owner_name,
            deadline,
            status,
            version,
            last_comment,
            escalated_to_function,
            unit_name,
            theme,
            owner,
            escalated_unit,
        ) = row[:14]
        if per_column is not None:
            counts[status] = row[14]
        open_ = status < ActionStatus.DONE and deadline is not None
        cards.append(
            Card(
                action=CardAction(
                    action_id,
                    title,
                    unit_id,
                    owner_user_id,
                    deadline,
                    status,
                    version,
                    last_comment,
                ),
                unit=CardUnit(unit_id, unit_name),
                theme=theme or "",
                owner=owner or owner_name,
                escalated_to=escalated_unit or escalated_to_function,
                overdue=open_ and deadline < today,
                due_soon=open_ and today <= deadline <= soon,
            )
        )
    return Board(
        filter=wanted,
        unit=unit,
        cards=cards,
        counts=counts if per_column is not None else None,
        choices=_choices(session, shape, values) if choices else None,
    )


def _choices(session: Session, shape: _Shape, values: dict[str, Any]) -> FilterChoices:
    """Every theme and owner in scope whichever are chosen: one query over the filter
    without its theme and owner, each title and each owner once."""
    themes: set[str] = set()
    owners: set[tuple[int, str]] = set()
    for theme, owner_id, name in session.execute(_statement("choices", shape.in_scope()), values):
        if theme:
            themes.add(theme)
        if owner_id is not None:
            owners.add((owner_id, name))
    return FilterChoices(themes=sorted(themes), owners=sorted(owners, key=lambda o: (o[1], o[0])))


def _on_units(unit_ids: Select[tuple[int]] | BindParameter[Any]) -> Any:
    """The action is on one of the units (a subquery, or a bound list), or was passed on to
    one of them."""
    return or_(Action.unit_id.in_(unit_ids), Action.escalated_to_unit_id.in_(unit_ids))


class Rights:
    """may_move and may_edit for every card of one board, the same answers as the functions
    below. A card on a unit the user holds a role on is asked of Access.may, per unit: the
    role held right there answers without walking the tree, so a leader's own board asks
    nothing more. Any other card's unit is looked up among the units the user may act on,
    read once (Access.may would walk up the tree from each: a query per unit)."""

    def __init__(self, session: Session, access: Access) -> None:
        self._session = session
        self._access = access
        self._held = {unit_id for _role, unit_id in access.assignments}
        self._units: dict[Can, set[int] | None] = {}
        self._asked: dict[tuple[Can, int], bool] = {}

    def _allowed(self, what: Can, unit_id: int) -> bool:
        if what not in self._units and unit_id in self._held:
            if (what, unit_id) not in self._asked:
                self._asked[what, unit_id] = self._access.may(self._session, what, unit_id)
            return self._asked[what, unit_id]
        if what not in self._units:
            self._units[what] = self._access.unit_ids(self._session, what)
        units = self._units[what]
        return units is None or unit_id in units

    def may_move(self, action: Action | CardAction) -> bool:
        return may_write_as_owner(self._access, action.owner_user_id) or self._allowed(
            Can.UPDATE_ACTIONS, action.unit_id
        )

    def may_edit(self, action: Action | CardAction) -> bool:
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
    # One flush: the UPDATE first (the action's table comes before those that name it), and
    # a stale version stops it before anything is written; the rollback drops the two rows.
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        fresh = session.get(Action, action.id)
        raise Conflict(fresh) from None  # type: ignore[arg-type]
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

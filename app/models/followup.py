"""The five-step follow-up of a unit's results, its action plan and zero-tolerance alerts."""

from __future__ import annotations

import enum
import weakref
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
    with_loader_criteria,
)

from app.extensions import db
from app.models.base import str_enum, utcnow
from app.models.org import Unit
from app.models.survey import Measurement
from app.models.user import User


class Step(enum.StrEnum):
    ANALYSIS = "analysis"
    PREPARATION = "preparation"
    DIALOGUE = "dialogue"
    PLAN = "plan"
    EVALUATION = "evaluation"


STEPS: tuple[Step, ...] = tuple(Step)


class StepState(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Route(enum.StrEnum):
    """Who plans the follow-up, from the traffic light (seed 004)."""

    UNIT = "unit"  # green, or yellow above the organisation's average
    DEPARTMENT = "department"  # yellow below average: with the department head
    DEPARTMENT_HR = "department_hr"  # red: with the department head and HR


class ActionStatus(enum.IntEnum):
    """The status arrow: how far are we."""

    NOT_STARTED = 0
    STARTED = 1
    HALFWAY = 2
    NEARLY_DONE = 3
    DONE = 4


class FollowUp(db.Model):
    __tablename__ = "follow_up"
    __table_args__ = (UniqueConstraint("measurement_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measurement_id: Mapped[int] = mapped_column(
        ForeignKey("measurement.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    # True where the unit's own results are hidden and it works from its parent's figures.
    uses_parent_figures: Mapped[bool] = mapped_column(Boolean, default=False)
    colour: Mapped[str | None] = mapped_column(String(10))
    route: Mapped[Route] = mapped_column(str_enum(Route), default=Route.UNIT)
    department_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("unit.id", ondelete="SET NULL")
    )
    remeasure: Mapped[bool] = mapped_column(Boolean, default=False)
    remeasure_by: Mapped[date | None] = mapped_column(Date)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    approved_by_body: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    measurement: Mapped[Measurement] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    department: Mapped[Unit | None] = relationship(foreign_keys=[department_unit_id])
    approved_by: Mapped[User | None] = relationship()
    steps: Mapped[list[FollowUpStep]] = relationship(
        back_populates="follow_up", cascade="all, delete-orphan", order_by="FollowUpStep.id"
    )
    themes: Mapped[list[PlanTheme]] = relationship(
        back_populates="follow_up", cascade="all, delete-orphan", order_by="PlanTheme.position"
    )


class FollowUpStep(db.Model):
    """One of the five steps: its state and what was written in it (a JSON document whose
    fields are those of the step's form)."""

    __tablename__ = "follow_up_step"
    __table_args__ = (UniqueConstraint("follow_up_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_up.id", ondelete="CASCADE"))
    step: Mapped[Step] = mapped_column(str_enum(Step))
    state: Mapped[StepState] = mapped_column(str_enum(StepState), default=StepState.NOT_STARTED)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Counted up by every save (services.followup.save_step): the step's form carries the
    # version it was loaded at, and a save from an older one is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)

    follow_up: Mapped[FollowUp] = relationship(back_populates="steps")
    updated_by: Mapped[User | None] = relationship()


class PlanTheme(db.Model):
    """A chosen theme of the action plan (Trivselskompasset): where we are, where we want to
    be, and how we get there."""

    __tablename__ = "plan_theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(
        ForeignKey("follow_up.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    current_score: Mapped[float | None] = mapped_column()
    target_score: Mapped[float | None] = mapped_column()
    goal: Mapped[str] = mapped_column(Text, default="")
    approach: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    follow_up: Mapped[FollowUp] = relationship(back_populates="themes")
    actions: Mapped[list[Action]] = relationship(back_populates="theme", order_by="Action.id")


class Action(db.Model):
    """An action on the status arrow: Activity · Who owns it · Deadline · How far are we."""

    __tablename__ = "action"
    # Deleted actions only ("Fortryd", the retention purge): an index of every action's
    # deleted_at led SQLite's planner to read every action through it for the board's
    # "deleted_at IS NULL", rather than the unit's actions through unit_id (a department's
    # board on 20,000 actions: 17.5 -> 7.1 ms of SQL).
    __table_args__ = (
        Index(
            "ix_action_deleted_at",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(
        ForeignKey("follow_up.id", ondelete="CASCADE"), index=True
    )
    theme_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_theme.id", ondelete="SET NULL"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    owner_name: Mapped[str] = mapped_column(String(200), default="")
    deadline: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[int] = mapped_column(Integer, default=ActionStatus.NOT_STARTED)
    # Passed up: to a unit above, or to a named function (MED committee, facilities, ...).
    escalated_to_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("unit.id", ondelete="SET NULL"), index=True
    )
    escalated_to_function: Mapped[str] = mapped_column(String(100), default="")
    effect_rating: Mapped[int | None] = mapped_column(Integer)  # 1-5, at the evaluation
    carry_over: Mapped[bool] = mapped_column(Boolean, default=False)
    last_comment: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Deleting an action only marks it, so "Fortryd" can bring it back; every list leaves
    # marked actions out, and the retention purge removes them for good.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own dict

    follow_up: Mapped[FollowUp] = relationship()
    theme: Mapped[PlanTheme | None] = relationship(back_populates="actions")
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_user_id])
    escalated_to_unit: Mapped[Unit | None] = relationship(foreign_keys=[escalated_to_unit_id])
    updates: Mapped[list[ActionUpdate]] = relationship(
        order_by="ActionUpdate.at.desc()", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def owner_label(self) -> str:
        if self.owner is not None:
            return self.owner.name
        if self.owner_name == "former user":  # the marker left by deleting a user
            from flask_babel import gettext

            return gettext("former user")
        return self.owner_name


# Execution option for the few queries that must see deleted actions (the "Fortryd" lists
# and the undo itself): `.execution_options(include_deleted_actions=True)`.
INCLUDE_DELETED_ACTIONS = "include_deleted_actions"


_NOT_DELETED = with_loader_criteria(
    Action, lambda cls: cls.deleted_at.is_(None), include_aliases=True
)


# The copy of each statement with the criteria, by the statement it was made from: a
# statement built once and run on every request is copied once, so SQLAlchemy works out the
# copy's cache key (which it keeps on the copy) once, not on every run (0.2-0.6 ms each time).
# Weak keys: a statement built for one request takes its copy with it when it goes.
_WITH_CRITERIA: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


@event.listens_for(Session, "do_orm_execute")
def _leave_deleted_actions_out(state: ORMExecuteState) -> None:
    """A deleted action waits only for "Fortryd": every ORM query of every list, count,
    export, report and lazy load leaves it out, without each one having to remember a filter
    (SQLAlchemy's with_loader_criteria recipe). Refreshing an object already loaded is left
    alone, so an action deleted in this request can still be read. A statement on tables only
    (no ORM entity) is run as plain SQL, which loader criteria never change: it is left as it
    is."""
    if (
        state.is_select
        and state.is_orm_statement
        and not state.is_column_load
        and not state.execution_options.get(INCLUDE_DELETED_ACTIONS, False)
    ):
        statement = state.statement
        copied = _WITH_CRITERIA.get(statement)
        if copied is None:
            copied = _WITH_CRITERIA[statement] = statement.options(_NOT_DELETED)
        state.statement = copied


class ActionUpdate(db.Model):
    """One move on the status arrow, with an optional comment: who, when, where to."""

    __tablename__ = "action_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User | None] = relationship()


# The zero-tolerance questions an alert is about: those the release raises an alert for at
# the unit (never a count, only which questions).
zero_tolerance_alert_question = Table(
    "zero_tolerance_alert_question",
    db.metadata,
    Column(
        "alert_id",
        ForeignKey("zero_tolerance_alert.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "question_id",
        ForeignKey("question.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class AlertClosedReason(enum.StrEnum):
    OPEN = ""  # still open
    REACTED = "reacted"  # the leader documented a reaction
    UNIT_GONE = "unit_gone"  # the unit no longer exists (closed after an import)


class ZeroToleranceAlert(db.Model):
    """Answers other than "no" to zero-tolerance questions at a shown unit: one alert per unit
    and measurement, listing every question with hits; the leader closes it with one
    documented reaction. Never who answered what."""

    __tablename__ = "zero_tolerance_alert"
    __table_args__ = (UniqueConstraint("measurement_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measurement_id: Mapped[int] = mapped_column(
        ForeignKey("measurement.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    reaction: Mapped[str] = mapped_column(Text, default="")
    reaction_on: Mapped[date | None] = mapped_column(Date)
    involved: Mapped[str] = mapped_column(Text, default="")
    follow_up_on: Mapped[date | None] = mapped_column(Date)  # when the reaction is looked at again
    reacted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_reason: Mapped[str] = mapped_column(String(20), default=AlertClosedReason.OPEN)

    unit: Mapped[Unit] = relationship()
    measurement: Mapped[Measurement] = relationship()
    reacted_by: Mapped[User | None] = relationship()
    questions: Mapped[list[Any]] = relationship(
        "Question",
        secondary=zero_tolerance_alert_question,
        order_by="(Question.position, Question.id)",
    )


class UnitPartner(db.Model):
    """Someone who owns a unit's follow-up with its leader: in a municipality the trio's
    union rep (TR) and safety rep (AMR), in a school a teacher of the class team. Named by
    the leader among the people with a member role on the unit; they edit the steps too."""

    __tablename__ = "unit_partner"
    __table_args__ = (UniqueConstraint("unit_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    # "union_rep" | "safety_rep" | "teacher" | "other"
    function: Mapped[str] = mapped_column(String(20), default="other")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    unit: Mapped[Unit] = relationship()
    user: Mapped[User] = relationship()


class PlanApproval(db.Model):
    """One approver's part in one round of approving a unit's action plan.

    Sending the plan for approval opens a round: a row per named approver (the department
    head; for a red unit also HR). Each approves or sends it back with a comment; the plan is
    approved when every approver of the newest round has approved (FollowUp.approved_at).
    """

    __tablename__ = "plan_approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(
        ForeignKey("follow_up.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int] = mapped_column(Integer, default=1)
    approver_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    approver_name: Mapped[str] = mapped_column(String(200), default="")  # kept if the user goes
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    message: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(20), default="")  # "" | approved | returned
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str] = mapped_column(Text, default="")

    follow_up: Mapped[FollowUp] = relationship()
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

"""The organisation and its tree of units."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TypeVar

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    ScalarSelect,
    Select,
    String,
    func,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Mapped, Session, mapped_column, relationship

from app.extensions import db
from app.models.base import str_enum, utcnow


class OrganisationKind(enum.StrEnum):
    SCHOOL = "school"
    MUNICIPALITY = "municipality"


class Organisation(db.Model):
    """One row: Kompas serves one organisation per installation. Its kind sets the wording."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(
        str_enum(OrganisationKind),
        default=OrganisationKind.MUNICIPALITY,
    )
    retention_years: Mapped[int] = mapped_column(Integer, default=5)
    # A purge deletes old measurements; issued board reports stay unless this says otherwise.
    purge_issued_reports: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Results of a new measurement wait for management's release (Measurement.released_at)
    # before class teams, the student council and the board see them. A school's default.
    hold_results_until_released: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )
    # "score": indicators as 0-100 scores; "scale": as averages on the survey's 1-5 scale, as
    # the ministry publishes them (the 0-100 score still available beside).
    indicator_display: Mapped[str] = mapped_column(
        String(10), default="score", server_default="score"
    )
    # Counts the new releases of prepared sections (app/services/prepared.py): a section is
    # kept under the count it was rendered at and read only under the current one.
    prepared_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


_Value = TypeVar("_Value")
_Row = TypeVar("_Row", bound=tuple[object, ...])


def _first(statement: Select[_Row]) -> Select[_Row]:
    """The organisation's row: the first one, by id. On PostgreSQL an updated row moves in
    the heap, so "the first row" without an order is not always the same one. Every read of
    the organisation below goes through here."""
    return statement.order_by(Organisation.id).limit(1)


def organisation_row(*columns: InstrumentedAttribute[object]) -> Select[tuple[object, ...]]:
    """Some of the organisation's columns in one query."""
    return _first(select(*columns))


def organisation_id() -> ScalarSelect[int]:
    """The organisation's id, to join other tables to its row in one query."""
    return select(func.min(Organisation.id)).scalar_subquery()


def the_organisation(session: Session) -> Organisation | None:
    """The organisation Kompas serves (None before the first setup)."""
    return session.scalar(_first(select(Organisation)))


def organisation_value(session: Session, column: InstrumentedAttribute[_Value]) -> _Value | None:
    """One setting of the organisation, read from the same row as `the_organisation`."""
    return session.scalar(_first(select(column)))


class Unit(db.Model):
    """A node of the organisation: administration, department, workplace, team, class, ...

    `code` is the `unit_id` of the import format: stable across years, so last year's
    results of a unit are found by it.
    """

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_type: Mapped[str] = mapped_column(String(50), default="")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("unit.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.name")

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"

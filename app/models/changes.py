"""Change stamps: one row per area of data, whose value is replaced by a new random number
whenever a transaction that writes in that area commits (see app/services/changes.py)."""

from __future__ import annotations

import enum
import secrets
from typing import Any

from sqlalchemy import BigInteger, event
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Area(enum.IntEnum):
    """What a write touches. A cache keys on the stamps of the areas it shows, so that a
    card moved on a board does not throw away every results page."""

    OTHER = 1  # the organisation, units, users and roles, reports: anything not below
    PLANS = 2  # follow-ups, their steps and themes, zero-tolerance alerts
    RESULTS = 3  # measurements, questionnaires, imported results, figures
    ACTIONS = 4  # actions and their status updates: what the board moves, all day long


def new_stamp() -> int:
    """Random, not a counter: a database restored from a backup brings back the stamps of its
    own data, never a number that meanwhile stood for other data."""
    return secrets.randbits(62)


class ChangeStamp(db.Model):
    __tablename__ = "change_stamp"

    id: Mapped[int] = mapped_column(primary_key=True)  # an Area
    value: Mapped[int] = mapped_column(BigInteger)


@event.listens_for(ChangeStamp.__table__, "after_create")
def _first_stamps(_table: Any, connection: Any, **_: Any) -> None:
    """db.create_all() (tests) gets the rows the migration writes."""
    connection.execute(
        ChangeStamp.__table__.insert(), [{"id": area, "value": new_stamp()} for area in Area]
    )

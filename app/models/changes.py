"""The change stamp: one row whose value is replaced by a new random number whenever a
transaction that writes what pages show commits (see app/services/changes.py)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import BigInteger, event
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

STAMP_ROW = 1


def new_stamp() -> int:
    """Random, not a counter: a database restored from a backup brings back the stamp of its
    own data, never a number that meanwhile stood for other data."""
    return secrets.randbits(62)


class ChangeStamp(db.Model):
    __tablename__ = "change_stamp"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


@event.listens_for(ChangeStamp.__table__, "after_create")
def _first_stamp(_table: Any, connection: Any, **_: Any) -> None:
    """db.create_all() (tests) gets the row the migration writes."""
    connection.execute(ChangeStamp.__table__.insert().values(id=STAMP_ROW, value=new_stamp()))

"""Column helpers shared by the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import Enum

# The largest id or count a column holds everywhere (PostgreSQL's INTEGER). A larger number
# from a URL or a form is no id at all: looked up, it overflows the driver (a 500).
MAX_INTEGER = 2**31 - 1


def db_int(value: str) -> int:
    """`type=` for integer request arguments: a number out of the columns' range is none."""
    number = int(value)
    if not 0 <= number <= MAX_INTEGER:
        raise ValueError(value)
    return number


def utcnow() -> datetime:
    """Called per row (not at import), so every row gets its own timestamp."""
    return datetime.now(UTC)


def str_enum(enum_class: type[enum.StrEnum]) -> Enum:
    """A portable VARCHAR column that stores the enum's values ("leader"), not its names."""
    return Enum(
        enum_class,
        native_enum=False,
        length=20,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )

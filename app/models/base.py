"""Column helpers shared by the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import Enum


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

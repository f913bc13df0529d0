"""One package per feature: each has its blueprint, routes and forms."""

from __future__ import annotations

from typing import Any

from flask import session
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from app.models.base import MAX_INTEGER


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` no larger than a column holds: a larger one is not found (404), not an
    overflow in the database driver (500)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_INTEGER)
        super().__init__(map, *args, **kwargs)


def select_locale() -> str:
    """The signed-in user's language, else the session's, else Danish."""
    if current_user.is_authenticated and current_user.language:
        return str(current_user.language)
    return str(session.get("language") or "da")

"""One package per feature: each has its blueprint, routes and forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import session
from flask_login import current_user
from werkzeug.routing import IntegerConverter, Rule

from app.models.base import MAX_INTEGER


class BuiltWhenAskedRule(Rule):
    """werkzeug's URL rule, its two URL builders compiled when first asked for.

    werkzeug compiles them, as Python code, while each rule is added: 230 functions for
    Kompas's routes, 0.25 s of every app start (the command line, a worker, each test's
    app), most of them never used by that process. The builders are the same; only when
    they are made differs. Relies on werkzeug's `Rule._compile_builder`, `_build` and
    `_build_unknown` (Werkzeug is pinned in requirements.txt; tests/web/test_url_rules.py
    fails if they change)."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        attribute = "_build_unknown" if append_unknown else "_build"

        def build_when_first_asked(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            built = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, attribute, built)
            return built(*args, **kwargs)  # type: ignore[no-any-return]

        return build_when_first_asked


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

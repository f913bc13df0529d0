"""Page fragments rendered once and served again to the same asker while the data they show
has not changed (app/services/changes.py).

A fragment is cached by everything that can make it differ: who asks (the user and their
roles: a hit never shows what a miss would not), the language, today's date, the address
with its arguments, and whether htmx asks. Views check access before they ask the cache, so
a cached fragment is never a way around a check. The CSRF token, which is per session, is
kept out of the cache: rendered fragments hold a placeholder, and each answer gets the
asker's own token back.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from datetime import date

from flask import request
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app.extensions import db, htmx
from app.models.changes import Area
from app.policy import current_access
from app.services.changes import EVERY_AREA, RenderedCache

TOKEN_MARK = "__kompas-csrf-token__"  # noqa: S105 - a placeholder, not a secret
ADMIN = "any admin"  # who asks, for fragments every admin shares


def fragments(
    cache: RenderedCache,
    make: Callable[[], tuple[str, ...]],
    *key: Hashable,
    admins_share: bool = False,
) -> tuple[Markup, ...]:
    """The fragments make() renders (our own autoescaped templates), from the cache when
    nothing they show has changed since they were made for the same asker and address.

    admins_share: for fragments that depend on who asks only through what they may do
    (app/policy.py), never on who they are. An admin may do everything everywhere, so every
    admin is served the same fragment, and it can be made before any of them asks
    (app/services/warming.py)."""
    access = current_access()
    asker: tuple[Hashable, ...] = (
        (ADMIN,)
        if admins_share and access.is_admin
        else (current_user.id, access.is_admin, tuple(access.assignments))
    )
    full_key = (
        *asker,
        str(get_locale()),
        date.today(),
        request.path,
        tuple(sorted(request.args.items(multi=True))),
        bool(htmx),
        *key,
    )

    def render() -> tuple[str, ...]:
        token = generate_csrf()
        return tuple(part.replace(token, TOKEN_MARK) for part in make())

    token = generate_csrf()
    return tuple(
        Markup(part.replace(TOKEN_MARK, token))  # noqa: S704 - rendered by our templates
        for part in cache.get_or_make(db.session, full_key, render)
    )


def fragment_cache(
    name: str, max_bytes: int, areas: Collection[Area] = EVERY_AREA
) -> RenderedCache:
    """A RenderedCache of tuples of rendered fragments, kept while `areas` stay unchanged."""
    return RenderedCache(name, max_bytes, size=lambda parts: sum(map(len, parts)), areas=areas)

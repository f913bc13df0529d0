"""Rendered HTML shared by every app process and server, in Redis (when REDIS_URL is set).

The caches of app/services/changes.py are kept per process; without a shared tier, each of
the gunicorn workers on each server makes every page once for itself, and a worker started
afresh knows nothing. With Redis configured, a fragment one process made is found by all,
and a job can prepare pages before anyone asks (after an import: app/services/warming.py).

Entries are keyed by the change stamps they were made under, so an entry is never stale:
a change makes new keys, and the old ones age out (ENTRY_SECONDS; Redis's own maxmemory
policy bounds memory beyond that). Values are stored as JSON (rendered HTML: a string or a
list of strings), never pickled. Redis being away costs speed, never a page: every error
counts as a miss, logged once a minute at most.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
ENTRY_SECONDS = 24 * 3600
PREFIX = "kompas:pages"
_EXTENSION = "kompas_shared_pages"
_quiet_until = [0.0]


class SharedPages:
    def __init__(self, url: str, prefix: str) -> None:
        # Short timeouts: a page made anew is better than a page that waits for Redis.
        self.client = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix

    def key(self, cache_name: str, full_key: Any) -> str:
        # repr: the keys are tuples of plain values (ints, strings, dates, enums), whose
        # repr is the same in every process.
        digest = hashlib.sha256(repr(full_key).encode()).hexdigest()
        return f"{self.prefix}:{cache_name}:{digest}"

    def get(self, key: str) -> str | tuple[str, ...] | None:
        try:
            raw = self.client.get(key)
        except RedisError as error:
            _complain(error)
            return None
        if raw is None:
            return None
        value = json.loads(raw)
        return tuple(value) if isinstance(value, list) else str(value)

    def put(self, key: str, value: str | tuple[str, ...]) -> None:
        encoded = json.dumps(list(value) if isinstance(value, tuple) else str(value))
        try:
            self.client.set(key, encoded, ex=ENTRY_SECONDS)
        except RedisError as error:
            _complain(error)


def _complain(error: RedisError) -> None:
    if time.monotonic() >= _quiet_until[0]:
        _quiet_until[0] = time.monotonic() + 60
        log.warning("shared page cache unavailable, pages are made anew: %s", error)


def shared_pages() -> SharedPages | None:
    """The app's shared tier; None when REDIS_URL is not set (or SHARED_PAGES is off)."""
    app = current_app
    if _EXTENSION not in app.extensions:
        url = app.config.get("REDIS_URL")
        on = url and app.config.get("SHARED_PAGES", True)
        app.extensions[_EXTENSION] = SharedPages(url, PREFIX) if on else None
    return app.extensions[_EXTENSION]  # type: ignore[no-any-return]

"""Secrets that travel in URLs kept out of access logs.

Set-password links (sent by e-mail) and calendar feeds (subscribed by calendar apps) carry
their token in the path, so every log line of such a request, its Referer included, would
hold a working credential. gunicorn's access log (gunicorn.conf.py, RedactingLogger) and the
development server's (werkzeug's logger, filtered in create_app) write [redacted] instead.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_TOKEN_IN_PATH = re.compile(
    r"(?P<before>/auth/set-password/|/calendar/)(?P<token>[^/?#\s\"]+?)(?P<after>\.ics)?"
    r"(?=[/?#\s\"]|$)"
)


def redact(text: str) -> str:
    """`text` (a request line, path or URL) with every set-password or calendar token
    replaced by [redacted]."""
    return _TOKEN_IN_PATH.sub(lambda m: f"{m['before']}[redacted]{m['after'] or ''}", text)


def redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactingFilter(logging.Filter):
    """For the development server's request log (logger "werkzeug"): tokens in its
    arguments and message are written as [redacted]."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_value(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: redact_value(arg) for key, arg in record.args.items()}
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_werkzeug_filter() -> None:
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())

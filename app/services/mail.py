"""Outgoing e-mail: one way to send, used by invitations, approvals, issued reports and the
daily reminders.

Blueprints send *after* the request has committed (a message about a plan that was then
rolled back would be a lie). With no MAIL_SERVER set the messages go to the log, so the demo
and development work without a mail server.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def _truthy(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def deliver(mails: Iterable[Mail], settings: Mapping[str, Any]) -> int:
    """Send the mails over SMTP (MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS, MAIL_USERNAME,
    MAIL_PASSWORD, MAIL_FROM); return how many. A mail server that fails is logged, never
    raised: the work the user did is already saved, and the next reminder run repeats it."""
    messages = []
    for mail in mails:
        if not mail.to:
            continue
        message = EmailMessage()
        message["Subject"] = mail.subject
        message["From"] = str(settings.get("MAIL_FROM") or "kompas@localhost")
        message["To"] = mail.to
        message.set_content(mail.body)
        messages.append(message)
    if not messages:
        return 0
    server = str(settings.get("MAIL_SERVER") or "")
    if not server:
        for message in messages:
            log.info(
                "e-mail to %s (no MAIL_SERVER set): %s\n%s",
                message["To"],
                message["Subject"],
                message.get_content(),
            )
        return len(messages)
    try:
        with smtplib.SMTP(server, int(settings.get("MAIL_PORT") or 25), timeout=30) as smtp:
            if _truthy(settings.get("MAIL_USE_TLS")):
                smtp.starttls()
            if settings.get("MAIL_USERNAME"):
                smtp.login(str(settings["MAIL_USERNAME"]), str(settings.get("MAIL_PASSWORD", "")))
            for message in messages:
                smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        log.exception("could not send %d e-mail(s) through %s", len(messages), server)
        return 0
    return len(messages)

"""Daily reminders: a digest per person of what is overdue or due soon.

`kompas remind` runs this once a day (cron or a systemd timer). Owners with a login get
their actions that are overdue or due within 7 days; leaders get the overdue actions and the
open zero-tolerance alerts under them. "Today" is Copenhagen's date, whatever the server's
clock says, so a run just after midnight UTC does not send yesterday's list.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Action, ActionStatus, Role, RoleAssignment, User, ZeroToleranceAlert
from app.services.mail import Mail, deliver
from app.services.units import subtree_ids

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
SOON_DAYS = 7
log = logging.getLogger(__name__)


def copenhagen_today(now: datetime | None = None) -> date:
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(COPENHAGEN).date()


@dataclass
class Digest:
    user: User
    overdue: list[Action] = field(default_factory=list)
    due_soon: list[Action] = field(default_factory=list)
    team_overdue: list[Action] = field(default_factory=list)  # leaders: overdue under them
    alerts: list[ZeroToleranceAlert] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.due_soon or self.team_overdue or self.alerts)


def digests(session: Session, today: date) -> list[Digest]:
    """Who gets a reminder today, and about what. Users who switched reminders off, and
    inactive users, get none."""
    users = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.active.is_(True), User.reminders_enabled.is_(True))
        )
    }
    by_user = {user_id: Digest(user=user) for user_id, user in users.items()}
    soon = today + timedelta(days=SOON_DAYS)
    open_actions = session.scalars(
        select(Action)
        .where(
            Action.status < ActionStatus.DONE,
            Action.deadline.is_not(None),
            Action.deadline <= soon,
            Action.deleted_at.is_(None),
        )
        .options(selectinload(Action.unit))
        .order_by(Action.deadline, Action.id)
    ).all()
    for action in open_actions:
        digest = by_user.get(action.owner_user_id)  # type: ignore[arg-type]
        if digest is None:
            continue
        (digest.overdue if action.deadline < today else digest.due_soon).append(action)  # type: ignore[operator]

    leaders: dict[int, set[int]] = {}
    for user_id, unit_id in session.execute(
        select(RoleAssignment.user_id, RoleAssignment.unit_id).where(
            RoleAssignment.role == Role.LEADER
        )
    ):
        if user_id in by_user:
            leaders.setdefault(user_id, set()).add(unit_id)
    if leaders:
        alerts = session.scalars(
            select(ZeroToleranceAlert)
            .where(ZeroToleranceAlert.closed_at.is_(None))
            .options(
                selectinload(ZeroToleranceAlert.unit), selectinload(ZeroToleranceAlert.questions)
            )
            .order_by(ZeroToleranceAlert.due_on)
        ).all()
        overdue = [a for a in open_actions if a.deadline < today]  # type: ignore[operator]
        for user_id, units in leaders.items():
            below = subtree_ids(session, units)
            digest = by_user[user_id]
            digest.team_overdue = [
                a for a in overdue if a.unit_id in below and a.owner_user_id != user_id
            ]
            digest.alerts = [a for a in alerts if a.unit_id in below]
    return [d for d in by_user.values() if not d.empty]


def render(digest: Digest, base_url: str) -> tuple[str, str]:
    """Subject and plain-text body, in the user's language."""
    danish = digest.user.language != "en"
    lines: list[str] = []

    def section(title_da: str, title_en: str, items: Iterable[str]) -> None:
        items = list(items)
        if items:
            lines.append(title_da if danish else title_en)
            lines.extend(f"  - {item}" for item in items)
            lines.append("")

    def action_line(a: Action) -> str:
        return f"{a.title} ({a.unit.name}, {a.deadline.isoformat() if a.deadline else ''})"

    section(
        "Dine handlinger over deadline:", "Your overdue actions:", map(action_line, digest.overdue)
    )
    section(
        "Dine handlinger med deadline inden for 7 dage:",
        "Your actions due within 7 days:",
        map(action_line, digest.due_soon),
    )
    section(
        "Handlinger over deadline i dine enheder:",
        "Overdue actions in your units:",
        map(action_line, digest.team_overdue),
    )
    section(
        "Åbne nultoleranceadvarsler:",
        "Open zero-tolerance alerts:",
        (
            f"{a.unit.name}: {'; '.join(q.text for q in a.questions)} ({a.due_on.isoformat()})"
            for a in digest.alerts
        ),
    )
    lines.append(f"{base_url.rstrip('/')}/board/?scope=mine")
    subject = "Kompas: det, der venter på dig" if danish else "Kompas: what is waiting for you"
    greeting = f"Hej {digest.user.name}\n\n" if danish else f"Hello {digest.user.name}\n\n"
    return subject, greeting + "\n".join(lines)


def send(found: list[Digest], settings: Mapping[str, str], base_url: str) -> int:
    """E-mail the digests (app.services.mail: SMTP, or the log with no MAIL_SERVER set);
    how many were sent."""
    mails = []
    for digest in found:
        subject, body = render(digest, base_url)
        mails.append(Mail(digest.user.email, subject, body))
    return deliver(mails, settings)

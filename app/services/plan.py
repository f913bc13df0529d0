"""The action plan in one place: who may own an action, editing themes and actions, and
deletes that can be undone.

An action is deleted by marking it (`Action.deleted_at`): every list and count leaves it
out, "Fortryd" brings it back for UNDO_DAYS, and the retention purge removes it after that.
A theme has no such mark; deleting it keeps what it was (and which actions went with it) in
the plan step's data, `deleted_themes`, and "Fortryd" creates it again from that, with its
actions. Flushes; the caller commits.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.models import (
    Action,
    FollowUp,
    FollowUpStep,
    PlanTheme,
    Role,
    RoleAssignment,
    Step,
    Unit,
    User,
)
from app.models.base import utcnow
from app.services import audit
from app.services.followup import FollowUpError, step_of
from app.services.units import ancestor_ids, subtree_select

UNDO_DAYS = 30
DELETED_THEMES = "deleted_themes"  # key in the plan step's data


# --- who owns an action ----------------------------------------------------------------------


def owner_choices(session: Session, unit: Unit, *, keep: User | None = None) -> list[User]:
    """The people who may own an action of `unit`: active users with a member or leader role
    on the unit or a unit below it (a workplace's employees sit in its teams), and the
    leaders of the units above it. HR, the committee and the board own nothing (issue 18:
    "owners are the unit's people"). `keep`, an action's
    current owner, stays in the list even if no longer one of them, so editing the action
    never changes its owner by accident."""
    above = ancestor_ids(session, unit.id)[1:]
    users = list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                User.active.is_(True),
                User.deleted_at.is_(None),
                (
                    RoleAssignment.unit_id.in_(subtree_select([unit.id]))
                    & RoleAssignment.role.in_([Role.MEMBER, Role.LEADER])
                )
                | (RoleAssignment.unit_id.in_(above) & (RoleAssignment.role == Role.LEADER)),
            )
            .distinct()
            .order_by(User.name, User.id)
        )
    )
    if keep is not None and keep not in users:
        users.append(keep)
    return users


def may_own(session: Session, unit: Unit, user: User, *, current: int | None = None) -> bool:
    """A chosen owner is one of owner_choices (or the action's owner already)."""
    return user.id == current or user in owner_choices(session, unit)


# --- themes ------------------------------------------------------------------------------------


def update_theme(
    session: Session,
    actor: User,
    theme: PlanTheme,
    *,
    title: str,
    target_score: float | None,
    goal: str,
    approach: str,
) -> None:
    before = {"title": theme.title, "target_score": theme.target_score}
    theme.title = title.strip()
    theme.target_score = target_score
    theme.goal = goal
    theme.approach = approach
    session.flush()
    audit.record(
        session,
        actor,
        "followup.theme.edited",
        "plan_theme",
        theme.id,
        unit_id=theme.follow_up.unit_id,
        before=before,
        title=theme.title,
    )


def delete_theme(session: Session, actor: User, follow_up: FollowUp, theme: PlanTheme) -> str:
    """Delete the theme and mark its actions deleted; keep what it was for "Fortryd".
    Returns the key that restore_theme takes."""
    now = utcnow()
    live = live_actions_of_theme(session, theme)
    for action in live:
        action.deleted_at = now
        action.deleted_by_id = actor.id
    key = secrets.token_hex(8)
    snapshot = {
        "key": key,
        "title": theme.title,
        "current_score": theme.current_score,
        "target_score": theme.target_score,
        "goal": theme.goal,
        "approach": theme.approach,
        "position": theme.position,
        "action_ids": [a.id for a in live],
        "deleted_at": now.isoformat(),
        "deleted_by": actor.name,
    }
    record = step_of(follow_up, Step.PLAN)
    record.data = {
        **(record.data or {}),
        DELETED_THEMES: [*(record.data or {}).get(DELETED_THEMES, []), snapshot],
    }
    audit.record(
        session,
        actor,
        "followup.theme.deleted",
        "plan_theme",
        theme.id,
        unit_id=follow_up.unit_id,
        title=theme.title,
        actions=len(live),
    )
    # Actions deleted one by one before keep no link to a theme that is gone: their own
    # "Fortryd" brings them back without a theme (not lost to a dangling id).
    session.execute(
        update(Action)
        .where(Action.theme_id == theme.id)
        .values(theme_id=None)
        .execution_options(synchronize_session=False)
    )
    for action in live:
        action.theme_id = None
    follow_up.themes.remove(theme)
    session.delete(theme)
    session.flush()
    return key


def live_actions_of_theme(session: Session, theme: PlanTheme) -> list[Action]:
    return list(
        session.scalars(
            select(Action)
            .where(Action.theme_id == theme.id, Action.deleted_at.is_(None))
            .order_by(Action.id)
        )
    )


def deleted_themes(follow_up: FollowUp, now: datetime | None = None) -> list[dict[str, Any]]:
    """The themes deleted in the last UNDO_DAYS, newest first."""
    since = (now or utcnow()) - timedelta(days=UNDO_DAYS)
    kept = step_of(follow_up, Step.PLAN).data or {}
    found = [s for s in kept.get(DELETED_THEMES, []) if _when(s) >= since]
    return sorted(found, key=_when, reverse=True)


def _when(snapshot: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(snapshot["deleted_at"])


def restore_theme(session: Session, actor: User, follow_up: FollowUp, key: str) -> PlanTheme:
    """Create the deleted theme again, with the actions deleted with it."""
    snapshot = next((s for s in deleted_themes(follow_up) if s["key"] == key), None)
    if snapshot is None:
        raise FollowUpError("nothing_to_restore")
    theme = PlanTheme(
        follow_up_id=follow_up.id,
        title=snapshot["title"],
        current_score=snapshot["current_score"],
        target_score=snapshot["target_score"],
        goal=snapshot["goal"],
        approach=snapshot["approach"],
        position=snapshot["position"],
    )
    session.add(theme)
    session.flush()
    actions = session.scalars(
        select(Action)
        .where(
            Action.id.in_(snapshot["action_ids"]),
            Action.follow_up_id == follow_up.id,
            Action.deleted_at.is_not(None),
        )
        .execution_options(include_deleted_actions=True)
    )
    for action in actions:
        action.theme_id = theme.id
        action.deleted_at = None
        action.deleted_by_id = None
    record = step_of(follow_up, Step.PLAN)
    record.data = {
        **(record.data or {}),
        DELETED_THEMES: [s for s in record.data.get(DELETED_THEMES, []) if s["key"] != key],
    }
    session.flush()
    session.refresh(follow_up, ["themes"])
    audit.record(
        session,
        actor,
        "followup.theme.restored",
        "plan_theme",
        theme.id,
        unit_id=follow_up.unit_id,
        title=theme.title,
    )
    return theme


# --- actions -----------------------------------------------------------------------------------


def update_action(
    session: Session,
    actor: User,
    action: Action,
    *,
    title: str,
    theme: PlanTheme | None,
    owner: User | None,
    owner_name: str,
    deadline: date | None,
) -> None:
    before = {
        "title": action.title,
        "owner": action.owner_label,
        "deadline": action.deadline.isoformat() if action.deadline else None,
    }
    action.title = title.strip()
    action.theme_id = theme.id if theme else None
    action.owner_user_id = owner.id if owner else None
    action.owner_name = "" if owner else owner_name.strip()
    action.deadline = deadline
    session.flush()
    audit.record(
        session,
        actor,
        "action.edited",
        "action",
        action.id,
        unit_id=action.unit_id,
        before=before,
        title=action.title,
    )


def delete_action(session: Session, actor: User, action: Action) -> None:
    """Mark the action deleted ("Fortryd" for UNDO_DAYS); the audit trail keeps what it was."""
    action.deleted_at = utcnow()
    action.deleted_by_id = actor.id
    session.flush()
    audit.record(
        session,
        actor,
        "action.deleted",
        "action",
        action.id,
        unit_id=action.unit_id,
        title=action.title,
        status=action.status,
        owner=action.owner_label,
        deadline=action.deadline.isoformat() if action.deadline else None,
    )


def undo_until(action: Action) -> datetime | None:
    return action.deleted_at + timedelta(days=UNDO_DAYS) if action.deleted_at else None


def restore_action(session: Session, actor: User, action: Action) -> None:
    """Bring a deleted action back, within UNDO_DAYS. An action whose theme was deleted
    comes back without a theme (its theme's own "Fortryd" brings both)."""
    until = undo_until(action)
    if until is None or _aware(until) < utcnow():
        raise FollowUpError("nothing_to_restore")
    action.deleted_at = None
    action.deleted_by_id = None
    session.flush()
    audit.record(
        session,
        actor,
        "action.restored",
        "action",
        action.id,
        unit_id=action.unit_id,
        title=action.title,
    )


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; they are UTC."""
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def deleted_actions(session: Session, follow_up: FollowUp) -> list[Action]:
    """The plan's actions deleted in the last UNDO_DAYS that "Fortryd" can bring back one by
    one (not those that went with a deleted theme: that theme's undo brings them)."""
    with_themes = {i for s in deleted_themes(follow_up) for i in s["action_ids"]}
    since = utcnow() - timedelta(days=UNDO_DAYS)
    return [
        a
        for a in session.scalars(
            select(Action)
            .where(
                Action.follow_up_id == follow_up.id,
                Action.deleted_at.is_not(None),
                Action.deleted_at >= since,
            )
            .order_by(Action.deleted_at.desc(), Action.id)
            .execution_options(include_deleted_actions=True)
        )
        if a.id not in with_themes
    ]


def purge_deleted(session: Session, now: datetime | None = None) -> int:
    """Remove for good what was deleted more than UNDO_DAYS ago: marked actions, and the
    kept copies of deleted themes. Returns how many actions went."""
    cutoff = (now or utcnow()) - timedelta(days=UNDO_DAYS)
    gone = session.execute(
        delete(Action).where(Action.deleted_at.is_not(None), Action.deleted_at < cutoff)
    )
    for record in session.scalars(select(FollowUpStep).where(FollowUpStep.step == Step.PLAN)):
        kept = (record.data or {}).get(DELETED_THEMES)
        if kept:
            fresh = [s for s in kept if _aware(_when(s)) >= cutoff]
            if len(fresh) != len(kept):
                record.data = {**record.data, DELETED_THEMES: fresh}
    session.flush()
    return int(getattr(gone, "rowcount", 0) or 0)


# --- the preparation step's template text ------------------------------------------------------


def keep_template_text(record: FollowUpStep, template: dict[str, str]) -> bool:
    """Store the template text (invitation, agenda, ...) in a step where those fields were
    never saved, without counting its version up: a form loaded before holds the same text.
    Returns whether anything was stored."""
    data = dict(record.data or {})
    missing = {name: text for name, text in template.items() if name not in data}
    if not missing:
        return False
    record.data = {**data, **missing}
    return True

"""A unit's partners in the follow-up, and the approval of its action plan.

Partners (UnitPartner) own the dialogue and the plan with the unit's leader: in a
municipality the trio's union rep (TR) and safety rep (AMR), in a school the teachers of the
class team. The leader names them among the people with a member role on the unit; while they
keep that role they edit the unit's steps (app.policy.load_access).

Approval is a round of PlanApproval rows, one per named approver: the department head and,
for a red unit, HR too. Each approves or sends the plan back with a comment; the plan is
approved when every approver of the newest round has approved, and a plan sent back is sent
again as the next round. The blueprint e-mails both sides after its commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from app.models import (
    Action,
    FollowUp,
    PlanApproval,
    PlanTheme,
    Role,
    RoleAssignment,
    Route,
    Step,
    StepState,
    Unit,
    UnitPartner,
    User,
)
from app.models.base import utcnow
from app.services import audit
from app.services import followup as followup_service
from app.services.units import ancestor_ids

APPROVED, RETURNED = "approved", "returned"
MESSAGE_MAX = 2000
COMMENT_MAX = 2000
# What a partner does in the follow-up; a school's partners are the class team's teachers.
MUNICIPAL_FUNCTIONS = ("union_rep", "safety_rep", "other")
SCHOOL_FUNCTIONS = ("teacher", "other")


class ApprovalError(ValueError):
    """A step that cannot be taken; the message is a code the blueprint words."""


# --- partners -------------------------------------------------------------------------------


def partners(session: Session, unit_id: int) -> list[UnitPartner]:
    """The unit's partners, by name."""
    return list(
        session.scalars(
            select(UnitPartner)
            .join(User, User.id == UnitPartner.user_id)
            .where(UnitPartner.unit_id == unit_id)
            .options(joinedload(UnitPartner.user))
            .order_by(User.name)
        )
    )


def partner_candidates(session: Session, unit_id: int) -> list[User]:
    """Active people with a member role on the unit itself who are not partners yet."""
    already = select(UnitPartner.user_id).where(UnitPartner.unit_id == unit_id)
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.unit_id == unit_id,
                RoleAssignment.role == Role.MEMBER,
                User.active.is_(True),
                User.id.not_in(already),
            )
            .distinct()
            .order_by(User.name)
        )
    )


def add_partner(
    session: Session, actor: User, unit: Unit, user_id: int, function: str
) -> UnitPartner:
    if function not in MUNICIPAL_FUNCTIONS + SCHOOL_FUNCTIONS:
        raise ApprovalError("unknown_function")
    if user_id not in {u.id for u in partner_candidates(session, unit.id)}:
        raise ApprovalError("not_a_candidate")
    partner = UnitPartner(unit_id=unit.id, user_id=user_id, function=function)
    session.add(partner)
    session.flush()
    audit.record(
        session, actor, "unit.partner.added", "unit", unit.id, user_id=user_id, function=function
    )
    return partner


def remove_partner(session: Session, actor: User, partner: UnitPartner) -> None:
    audit.record(
        session,
        actor,
        "unit.partner.removed",
        "unit",
        partner.unit_id,
        user_id=partner.user_id,
        function=partner.function,
    )
    session.delete(partner)
    session.flush()


# --- who approves ---------------------------------------------------------------------------


@dataclass
class Approvers:
    """Who may approve a unit's plan, and who is chosen unless the sender changes it."""

    heads: list[tuple[User, Unit]]  # leaders of the units above, nearest first
    hr: list[User]  # admins
    needs_hr: bool  # a red unit: HR approves too
    default_head: User | None
    default_hr: User | None


def approvers(session: Session, follow_up: FollowUp, sender: User) -> Approvers:
    """The department head (leaders of the follow-up's department, or of the nearest unit
    above with a leader) and, for a red unit, HR. The sender never approves their own plan."""
    chain = ancestor_ids(session, follow_up.unit_id)[1:]  # the units above, nearest first
    rows = session.execute(
        select(User, Unit)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(Unit, Unit.id == RoleAssignment.unit_id)
        .where(
            RoleAssignment.unit_id.in_(chain),
            RoleAssignment.role == Role.LEADER,
            User.active.is_(True),
            User.id != sender.id,
        )
        .order_by(User.name)
    ).all()
    heads = sorted(((user, unit) for user, unit in rows), key=lambda r: chain.index(r[1].id))
    hr = list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.role == Role.ADMIN,
                User.active.is_(True),
                User.id != sender.id,
            )
            .distinct()
            .order_by(User.name)
        )
    )
    department = [u for u, unit in heads if unit.id == follow_up.department_unit_id]
    default_head = department[0] if department else (heads[0][0] if heads else None)
    needs_hr = follow_up.route == Route.DEPARTMENT_HR
    return Approvers(
        heads=heads,
        hr=hr,
        needs_hr=needs_hr,
        default_head=default_head,
        default_hr=hr[0] if needs_hr and hr else None,
    )


# --- the state of the approval --------------------------------------------------------------


@dataclass
class ApprovalState:
    """The newest round in words: none, waiting, returned or approved."""

    status: str  # "none" | "waiting" | "returned" | "approved"
    round: int = 0
    rows: list[PlanApproval] = field(default_factory=list)

    @property
    def waiting_for(self) -> list[PlanApproval]:
        return [r for r in self.rows if not r.decision]

    @property
    def returned(self) -> list[PlanApproval]:
        return [r for r in self.rows if r.decision == RETURNED]

    @property
    def approved(self) -> list[PlanApproval]:
        return [r for r in self.rows if r.decision == APPROVED]

    @property
    def sent_at(self) -> datetime | None:
        return self.rows[0].requested_at if self.rows else None


def state(session: Session, follow_up: FollowUp) -> ApprovalState:
    newest = session.scalar(
        select(func.max(PlanApproval.round)).where(PlanApproval.follow_up_id == follow_up.id)
    )
    if newest is None:
        return ApprovalState("approved" if follow_up.approved_at else "none")
    rows = list(
        session.scalars(
            select(PlanApproval)
            .where(PlanApproval.follow_up_id == follow_up.id, PlanApproval.round == newest)
            .options(joinedload(PlanApproval.requested_by))
            .order_by(PlanApproval.id)
        )
    )
    if any(r.decision == RETURNED for r in rows):
        status = "returned"
    elif all(r.decision == APPROVED for r in rows):
        status = "approved"
    else:
        status = "waiting"
    return ApprovalState(status, newest, rows)


def _open_round() -> ColumnElement[bool]:
    """Rows of their follow-up's newest round that nobody in that round has sent back."""
    later = aliased(PlanApproval)
    sent_back = aliased(PlanApproval)
    return and_(
        PlanApproval.decision == "",
        ~exists().where(
            later.follow_up_id == PlanApproval.follow_up_id, later.round > PlanApproval.round
        ),
        ~exists().where(
            sent_back.follow_up_id == PlanApproval.follow_up_id,
            sent_back.round == PlanApproval.round,
            sent_back.decision == RETURNED,
        ),
    )


def pending_for(session: Session, user_id: int) -> list[PlanApproval]:
    """What waits for this approver: their undecided rows of open rounds, newest first."""
    return list(
        session.scalars(
            select(PlanApproval)
            .where(PlanApproval.approver_id == user_id, _open_round())
            .options(
                joinedload(PlanApproval.follow_up).joinedload(FollowUp.unit),
                joinedload(PlanApproval.follow_up).joinedload(FollowUp.measurement),
                joinedload(PlanApproval.requested_by),
            )
            .order_by(PlanApproval.requested_at.desc(), PlanApproval.id.desc())
        )
    )


def is_open(session: Session, approval: PlanApproval) -> bool:
    """Whether the approver can still decide: undecided, in an open round."""
    return bool(
        session.scalar(select(exists().where(PlanApproval.id == approval.id, _open_round())))
    )


# --- sending and deciding -------------------------------------------------------------------


def plan_is_empty(session: Session, follow_up: FollowUp) -> bool:
    """No theme and no action: nothing to approve yet."""
    themes = exists().where(PlanTheme.follow_up_id == follow_up.id)
    actions = exists().where(Action.follow_up_id == follow_up.id, Action.deleted_at.is_(None))
    return not session.scalar(select(themes | actions))


def send(
    session: Session,
    actor: User,
    follow_up: FollowUp,
    chosen: list[User],
    message: str = "",
) -> list[PlanApproval]:
    """Open the next round: a row per chosen approver (each must be eligible; a red unit
    needs an admin among them)."""
    current = state(session, follow_up)
    if current.status == "waiting":
        raise ApprovalError("already_waiting")
    if follow_up.approved_at is not None:
        raise ApprovalError("already_approved")
    if plan_is_empty(session, follow_up):
        raise ApprovalError("empty_plan")
    eligible = approvers(session, follow_up, actor)
    allowed = {u.id for u, _unit in eligible.heads} | {u.id for u in eligible.hr}
    unique = list({u.id: u for u in chosen}.values())
    if not unique or any(u.id not in allowed for u in unique):
        raise ApprovalError("not_eligible")
    if (
        eligible.needs_hr
        and eligible.hr
        and not any(u.id in {h.id for h in eligible.hr} for u in unique)
    ):
        raise ApprovalError("needs_hr")
    number = current.round + 1
    now = utcnow()
    rows = [
        PlanApproval(
            follow_up_id=follow_up.id,
            round=number,
            approver_id=user.id,
            approver_name=user.name[:200],
            requested_by_id=actor.id,
            requested_at=now,
            message=message.strip()[:MESSAGE_MAX],
        )
        for user in unique
    ]
    session.add_all(rows)
    followup_service.save_step(session, actor, follow_up, Step.PLAN, {})
    session.flush()
    audit.record(
        session,
        actor,
        "followup.plan.sent_for_approval",
        "follow_up",
        follow_up.id,
        unit_id=follow_up.unit_id,
        round=number,
        approvers=[u.id for u in unique],
    )
    return rows


def decide(
    session: Session, actor: User, approval: PlanApproval, *, approve: bool, comment: str = ""
) -> ApprovalState:
    """The approver's answer. Sending back needs a comment; the last approval of the round
    approves the plan and finishes its step."""
    comment = comment.strip()[:COMMENT_MAX]
    if not is_open(session, approval):
        raise ApprovalError("not_open")
    if not approve and not comment:
        raise ApprovalError("comment_required")
    approval.decision = APPROVED if approve else RETURNED
    approval.decided_at = utcnow()
    approval.comment = comment
    session.flush()
    follow_up = approval.follow_up
    result = state(session, follow_up)
    if result.status == "approved":
        names = ", ".join(r.approver_name for r in result.rows)
        follow_up.approved_at = approval.decided_at
        follow_up.approved_by_id = actor.id
        follow_up.approved_by_body = names[:100]
        followup_service.save_step(
            session, actor, follow_up, Step.PLAN, {}, StepState.DONE
        )  # approved is done
    audit.record(
        session,
        actor,
        f"followup.plan.{approval.decision}",
        "follow_up",
        follow_up.id,
        unit_id=follow_up.unit_id,
        round=approval.round,
        approval_id=approval.id,
    )
    return result


def partners_without_access(session: Session, unit_id: int, named: list[UnitPartner]) -> set[int]:
    """The partners (by id) who can no longer edit the unit's steps: they lost the member
    role on it, or their account is deactivated or deleted (app.policy grants a partner
    nothing without the member role)."""
    if not named:
        return set()
    members = set(
        session.scalars(
            select(RoleAssignment.user_id).where(
                RoleAssignment.unit_id == unit_id,
                RoleAssignment.role == Role.MEMBER,
                RoleAssignment.user_id.in_([p.user_id for p in named]),
            )
        )
    )
    return {
        p.id
        for p in named
        if p.user_id not in members or not p.user.active or p.user.deleted_at is not None
    }


def decision_recipients(session: Session, approval: PlanApproval) -> list[User]:
    """Who hears the decision: the sender and the unit's partners who still have access
    (active, once each)."""
    people: dict[int, User] = {}
    if approval.requested_by is not None:
        people[approval.requested_by.id] = approval.requested_by
    named = partners(session, approval.follow_up.unit_id)
    gone = partners_without_access(session, approval.follow_up.unit_id, named)
    for partner in named:
        if partner.id not in gone:
            people.setdefault(partner.user_id, partner.user)
    return [u for u in people.values() if u.active and u.id != approval.approver_id]

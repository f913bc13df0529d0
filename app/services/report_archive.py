"""The annual report's draft (follow-up plan and local goals) and the archive of reports
issued to the board. Services flush; the caller commits.

An issued report is stored as the exact PDF with its date, issuer and the SHA-256 of the
data it was made from. It is never changed (the model refuses updates): issuing again adds
the next version.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.models import (
    AuditEvent,
    IssuedReport,
    ReportDraft,
    ReportWithdrawal,
    Role,
    RoleAssignment,
    Unit,
    User,
)
from app.models.tree import ancestor_ids
from app.policy import Access, Permission
from app.services import audit
from app.services import pdf as pdf_service
from app.services import reports as reports_service
from app.services.release import holds_results


def clean_goals(goals: dict[str, Any], themes: list[str]) -> dict[str, dict[str, Any]]:
    """Goals for known indicators only: a target on 0-100 (or none) and a criterion."""
    cleaned: dict[str, dict[str, Any]] = {}
    for theme in themes:
        goal = goals.get(theme) or {}
        raw_target = goal.get("target")
        target: float | None = None
        if raw_target is not None and raw_target != "":
            target = max(0.0, min(100.0, float(raw_target)))
        criterion = str(goal.get("criterion") or "").strip()[:500]
        if target is not None or criterion:
            cleaned[theme] = {"target": target, "criterion": criterion}
    return cleaned


class DraftConflict(Exception):
    """Someone saved the draft after the writer loaded it; `draft` holds what is saved now."""

    def __init__(self, draft: ReportDraft) -> None:
        super().__init__(draft.id)
        self.draft = draft


def save_draft(
    session: Session,
    actor: User | None,
    unit: Unit,
    year: int,
    *,
    followup_plan: str | None = None,
    goals: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> ReportDraft:
    """Keep the follow-up plan text and/or the local goals for the unit's annual report.

    With `expected_version` (the version the writer's form was loaded at; 0 when there was no
    draft yet), a draft saved since then is left as it is: DraftConflict. The UPDATE itself
    checks the version, and the unique (unit, year) the first INSERT, so two writers who
    loaded the same version cannot both write.
    """
    draft = reports_service.draft_for(session, unit, year)
    if draft is not None and expected_version is not None and draft.version != expected_version:
        raise DraftConflict(draft)
    if draft is not None and _unchanged(draft, followup_plan, goals):
        # Saving what is saved changes nothing: the version stays, and so does an approval
        # of it ("Issue …" saves the form first).
        return draft
    if draft is None:
        draft = ReportDraft(unit_id=unit.id, year=year, followup_plan="", goals={})
        session.add(draft)
    if followup_plan is not None:
        draft.followup_plan = followup_plan.strip()
    if goals is not None:
        draft.goals = goals
    draft.updated_by_id = actor.id if actor else None
    try:
        session.flush()
    except (StaleDataError, IntegrityError):
        session.rollback()
        fresh = reports_service.draft_for(session, unit, year)
        if fresh is None:
            raise
        raise DraftConflict(fresh) from None
    audit.record(
        session, actor, "report.draft.saved", "report_draft", draft.id, unit_id=unit.id,
        year=year, plan=followup_plan is not None, goals=sorted(goals) if goals else [],
    )  # fmt: skip
    return draft


def _unchanged(draft: ReportDraft, followup_plan: str | None, goals: dict[str, Any] | None) -> bool:
    same_plan = followup_plan is None or followup_plan.strip() == (draft.followup_plan or "")
    same_goals = goals is None or goals == (draft.goals or {})
    return same_plan and same_goals


# --- the named approval before issuing -------------------------------------------------------


class NotApproved(Exception):
    """The draft's current version has no approval: nothing is issued."""


class NotReleased(Exception):
    """The year's results are held until management releases them: the board gets nothing
    before the class teams and the student council do."""


class ApprovalRefused(Exception):
    """The approval (or its request) no longer fits: the draft changed, or the person is not
    the one asked."""


def is_approved(draft: ReportDraft | None) -> bool:
    """Whether the draft as it stands now was approved (a later edit needs approving again)."""
    return (
        draft is not None
        and draft.approved_at is not None
        and draft.approved_version is not None
        and draft.approved_version == draft.version
    )


def approval_candidates(session: Session, unit: Unit, asker: User | None) -> list[User]:
    """Who may be asked to approve the unit's annual report: the active leaders
    (management) of the unit or a unit above it, and the survey owners; never the asker."""
    chain = ancestor_ids(session, unit.id)
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                ((RoleAssignment.role == Role.LEADER) & RoleAssignment.unit_id.in_(chain))
                | (RoleAssignment.role == Role.ADMIN),
                User.active.is_(True),
                User.deleted_at.is_(None),
                User.id != (asker.id if asker else -1),
            )
            .distinct()
            .order_by(User.name, User.id)
        )
    )


def _set_approval(session: Session, draft: ReportDraft, version: int, **values: Any) -> None:
    """Write the approval columns without counting the draft's version up (a plain UPDATE,
    not the ORM's versioned one): approving is not editing. Only if the draft is still at
    `version`."""
    result = session.execute(
        update(ReportDraft)
        .where(ReportDraft.id == draft.id, ReportDraft.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ApprovalRefused("changed")
    session.expire(draft)


def request_approval(
    session: Session,
    actor: User,
    unit: Unit,
    year: int,
    approver: User,
    *,
    expected_version: int,
) -> ReportDraft:
    """Send the draft (as it is at `expected_version`) to `approver`; an earlier approval is
    dropped. A draft is started if there is none yet. Flushes; the caller commits and mails."""
    if approver.id not in {u.id for u in approval_candidates(session, unit, actor)}:
        raise ApprovalRefused("approver")
    draft = reports_service.draft_for(session, unit, year)
    if draft is None:
        if expected_version != 0:
            raise ApprovalRefused("changed")
        draft = save_draft(session, actor, unit, year, followup_plan="", goals={})
        expected_version = draft.version
    _set_approval(
        session, draft, expected_version, approver_id=approver.id,
        approval_requested_at=datetime.now(UTC), approved_at=None, approved_by_name="",
        approved_version=None,
    )  # fmt: skip
    audit.record(
        session, actor, "report.approval.requested", "report_draft", draft.id, unit_id=unit.id,
        year=year, approver_id=approver.id, version=expected_version,
    )  # fmt: skip
    return draft


def approve(session: Session, actor: User, draft: ReportDraft, *, version: int) -> ReportDraft:
    """The named approver approves the draft at `version` (what they read). Flushes."""
    if draft.approver_id is None or draft.approver_id != actor.id:
        raise ApprovalRefused("approver")
    _set_approval(
        session, draft, version, approved_at=datetime.now(UTC), approved_by_name=actor.name,
        approved_version=version,
    )  # fmt: skip
    audit.record(
        session, actor, "report.approved", "report_draft", draft.id, unit_id=draft.unit_id,
        year=draft.year, version=version,
    )  # fmt: skip
    return draft


def approval_requester(session: Session, draft: ReportDraft) -> User | None:
    """Who asked for the draft's approval last (from the audit trail)."""
    user_id = session.scalar(
        select(AuditEvent.user_id)
        .where(
            AuditEvent.action == "report.approval.requested",
            AuditEvent.object_type == "report_draft",
            AuditEvent.object_id == draft.id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return session.get(User, user_id) if user_id is not None else None


# --- withdrawal ------------------------------------------------------------------------------


WITHDRAWAL_REASON = 2000


class AlreadyWithdrawn(Exception):
    """The issued report was withdrawn before."""


def withdraw(session: Session, actor: User, issued: IssuedReport, reason: str) -> ReportWithdrawal:
    """Mark an issued report withdrawn, with who, when and why. The report and its PDF stay
    unchanged in the archive. Flushes."""
    reason = reason.strip()[:WITHDRAWAL_REASON]
    if not reason:
        raise ValueError("a reason is required")
    if withdrawal_of(session, issued.id) is not None:
        raise AlreadyWithdrawn(issued.id)
    withdrawal = ReportWithdrawal(
        report_id=issued.id, by_id=actor.id, by_name=actor.name, reason=reason
    )
    session.add(withdrawal)
    try:
        session.flush()
    except IntegrityError:  # withdrawn at the same moment by someone else
        session.rollback()
        raise AlreadyWithdrawn(issued.id) from None
    audit.record(
        session, actor, "report.withdrawn", "issued_report", issued.id, unit_id=issued.unit_id,
        year=issued.year, version=issued.version,
    )  # fmt: skip
    return withdrawal


def withdrawal_of(session: Session, report_id: int) -> ReportWithdrawal | None:
    return session.scalar(select(ReportWithdrawal).where(ReportWithdrawal.report_id == report_id))


def withdrawals(session: Session, report_ids: list[int]) -> dict[int, ReportWithdrawal]:
    """The withdrawals of the given issued reports, by report id."""
    if not report_ids:
        return {}
    return {
        w.report_id: w
        for w in session.scalars(
            select(ReportWithdrawal).where(ReportWithdrawal.report_id.in_(report_ids))
        )
    }


def next_version(session: Session, kind: str, unit_id: int, year: int) -> int:
    latest = session.scalar(
        select(func.max(IssuedReport.version)).where(
            IssuedReport.kind == kind, IssuedReport.unit_id == unit_id, IssuedReport.year == year
        )
    )
    return (latest or 0) + 1


def issue_annual(
    session: Session,
    actor: User | None,
    unit: Unit,
    year: int,
    *,
    today: date | None = None,
    report: reports_service.AnnualReport | None = None,
    on_stage: Any = None,
) -> IssuedReport:
    """Make the annual report from the current data and draft, and archive it as the next
    version. Only a draft whose current version was approved is issued (NotApproved).
    Flushes; the caller commits."""
    stage = on_stage or (lambda _name, _progress: None)
    draft = reports_service.draft_for(session, unit, year)
    if not is_approved(draft):
        raise NotApproved(unit.id)
    measurement = reports_service.annual_measurement(session, year)
    if measurement is not None and measurement.released_at is None and holds_results(session):
        raise NotReleased(unit.id)
    if report is None:
        stage("assembling", 10)
        report = reports_service.assemble_annual(session, unit, year, today=today)
    version = next_version(session, "annual", unit.id, year)
    issued = IssuedReport(
        kind="annual",
        unit_id=unit.id,
        year=year,
        version=version,
        title=_("Annual follow-up report %(year)s", year=year) + f" – {unit.name}",
        measurement_name=report.measurement_name,
        issued_by_id=actor.id if actor else None,
        issued_by_name=actor.name if actor else "Kompas",
        language=str(get_locale() or "da"),
        followup_plan=report.followup_plan,
        goals={i.theme: {"target": i.target, "criterion": i.criterion}
               for i in report.indicators if i.target is not None or i.criterion},
        data_sha256=reports_service.checksum(report),
        pdf_sha256="",
        size_bytes=0,
    )  # fmt: skip
    stage("rendering", 40)
    rendered = pdf_service.annual_pdf(report, issued=issued)
    stage("storing", 90)
    issued.pdf = rendered.pdf
    issued.pdf_sha256 = hashlib.sha256(rendered.pdf).hexdigest()
    issued.size_bytes = len(rendered.pdf)
    session.add(issued)
    # Two issues at the same moment: the unique (kind, unit, year, version) refuses the
    # second, which fails and can be issued again; no version is ever overwritten.
    session.flush()
    audit.record(
        session, actor, "report.issued", "issued_report", issued.id, unit_id=unit.id,
        year=year, version=issued.version, data_sha256=issued.data_sha256,
    )  # fmt: skip
    return issued


def archive(session: Session, access: Access) -> list[IssuedReport]:
    """The issued reports the user may see (VIEW_REPORTS on the report's unit), newest
    first; the PDFs themselves stay unloaded."""
    allowed = access.unit_ids(session, Permission.VIEW_REPORTS)
    query = select(IssuedReport).order_by(
        IssuedReport.year.desc(), IssuedReport.issued_at.desc(), IssuedReport.id.desc()
    )
    if allowed is not None:
        query = query.where(IssuedReport.unit_id.in_(allowed))
    return list(session.scalars(query))


def board_recipients(session: Session, unit: Unit) -> list[User]:
    """Who is told when the unit's annual report is issued: the active users with the board
    role (a school's board, a municipality's political committee) on the unit or a unit
    above it, by name. They may all read it (the board sees its subtree's reports)."""
    chain = ancestor_ids(session, unit.id)
    if not chain:
        return []
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                RoleAssignment.role == Role.BOARD,
                RoleAssignment.unit_id.in_(chain),
                User.active.is_(True),
                User.deleted_at.is_(None),
            )
            .distinct()
            .order_by(User.name, User.id)
        )
    )

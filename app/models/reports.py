"""Reports: the annual report's draft (follow-up plan, local goals), the archive of reports
issued to the board, and the background jobs that make them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow
from app.models.org import Unit
from app.models.user import User


class ReportDraft(db.Model):
    """What the leadership writes for the annual report of a unit (the organisation or a
    subtree) and a year: the follow-up plan and a local goal per indicator.

    `goals` is {indicator: {"target": 0-100 | null, "criterion": text}}. Issuing the report
    copies both into the archive, so later edits never change an issued report.
    """

    __tablename__ = "report_draft"
    __table_args__ = (UniqueConstraint("unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    followup_plan: Mapped[str] = mapped_column(Text, default="")
    goals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Counted up by every change (SQLAlchemy's version counter): the form carries the version
    # it was loaded at, and a save from an older one is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own dict

    # Issuing to the board needs a named approval of this very draft: the approver, and the
    # draft version they approved (a later edit needs approving again).
    approver_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    approval_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    approved_version: Mapped[int | None] = mapped_column(Integer)

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])


class IssuedReport(db.Model):
    """A report issued to the board: the exact PDF, when and by whom, and the SHA-256 of the
    data it was made from. Never changed: issuing again adds the next version."""

    __tablename__ = "issued_report"
    __table_args__ = (UniqueConstraint("kind", "unit_id", "year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "annual" | "unit"
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    measurement_name: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    issued_by_name: Mapped[str] = mapped_column(String(200), default="")  # kept if the user goes
    language: Mapped[str] = mapped_column(String(5), default="da")
    followup_plan: Mapped[str] = mapped_column(Text, default="")
    goals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary))

    unit: Mapped[Unit] = relationship()
    issued_by: Mapped[User | None] = relationship()


class ReportWithdrawal(db.Model):
    """An issued report taken back: it stays in the archive, marked withdrawn, with who and
    why (the issued report itself is never changed)."""

    __tablename__ = "report_withdrawal"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("issued_report.id", ondelete="CASCADE"), unique=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    by_name: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")

    report: Mapped[IssuedReport] = relationship()


class ArchiveIsImmutable(RuntimeError):
    """An issued report is never changed; issue a new version instead."""


@event.listens_for(IssuedReport, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: IssuedReport) -> None:
    raise ArchiveIsImmutable(f"issued report {target.id} cannot be changed")


class ReportJob(db.Model):
    """A report being made in the background: polled by the page, run by a thread of the app
    server or by an RQ worker (REDIS_URL). Kept in the database so any app server can answer
    the poll. The PDF of a preview waits here for its download; jobs are swept after a day."""

    __tablename__ = "report_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # "annual" | "unit"
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    issue: Mapped[bool] = mapped_column(Boolean, default=False)  # archive the result for the board
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed
    progress: Mapped[int] = mapped_column(Integer, default=0)  # 0-100
    stage: Mapped[str] = mapped_column(String(40), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    file_name: Mapped[str] = mapped_column(String(200), default="")
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("issued_report.id", ondelete="SET NULL")
    )
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

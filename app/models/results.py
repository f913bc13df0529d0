"""Imported aggregate results (counts only, never an individual answer) and the import log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow
from app.models.org import Unit
from app.models.survey import Measurement
from app.models.user import User


class UnitResult(db.Model):
    """A unit's figures in one measurement, and its place in the tree at that time."""

    __tablename__ = "unit_result"

    measurement_id: Mapped[int] = mapped_column(
        ForeignKey("measurement.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True
    )
    # The parent when this measurement was imported: units move, old results must not.
    parent_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="SET NULL"))
    # None where the file gave no figures of the unit's own: its children's sum counts.
    respondents: Mapped[int | None] = mapped_column(Integer)
    invited: Mapped[int | None] = mapped_column(Integer)
    has_own_rows: Mapped[bool] = mapped_column(Boolean, default=False)
    previous_codes: Mapped[str] = mapped_column(String(500), default="")  # "|"-separated
    # The unit's own answer counts, question id -> {"counts": [n_1, .., n_k], "dont_know": d}
    # (the distribution over the options) or {"n": n, "mean": m, "dont_know": d} (where the
    # survey tool gave no distribution). One document per unit, not a row per question:
    # the counts are only ever read whole, a measurement at a time (a recompute of its
    # release), and an import writes 5,000 rows instead of 260,000 with three key checks each.
    # A question deleted later is skipped when read (as its rows were deleted before).
    question_counts: Mapped[dict[str, dict[str, Any]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])


class ImportLog(db.Model):
    """Every import attempt that reached the database, kept when a re-import replaces results."""

    __tablename__ = "import_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    measurement_id: Mapped[int | None] = mapped_column(
        ForeignKey("measurement.id", ondelete="SET NULL"), index=True
    )
    file_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    file_format: Mapped[str] = mapped_column(String(10), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    units: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(20))  # imported | rejected | failed
    replaced_earlier: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The imported file, kept in the instance's file area for 30 days (relative path), so an
    # import that replaced another can be undone by restoring the earlier file ("Gendan").
    stored_file: Mapped[str] = mapped_column(String(255), default="", server_default="")
    restored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User | None] = relationship()
    measurement: Mapped[Measurement | None] = relationship()


class StagedImport(db.Model):
    """An uploaded file on its way in: uploaded -> (mapped) -> checked -> imported.

    The file itself waits in the instance's file area (`stored_file`, a name relative to
    IMPORT_FILES_DIR), never in a database row; `state`, `phase` and `progress` are what the
    background job (app/services/import_jobs.py) writes and the progress page reads, so any
    app server can show and confirm it. Deleted when the import is done or discarded, and
    swept when old (its file with it).

    state: "uploaded" (waiting for a mapping), "checking", "checked" (problems/preview set,
    `ok` says whether it may be imported), "importing", "imported", "failed" (`error`).
    """

    __tablename__ = "staged_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    measurement_id: Mapped[int] = mapped_column(ForeignKey("measurement.id", ondelete="CASCADE"))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    stored_file: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    # The mapping that turns the file into Kompas's own layout (app/domain/mapping.py), None
    # for a file already in it; the profile it was saved as, if any.
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_profile.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(20), default="checking")
    phase: Mapped[str] = mapped_column(String(40), default="")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    update_organisation: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    import_log_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_log.id", ondelete="SET NULL")
    )
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    preview: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")

    measurement: Mapped[Measurement] = relationship()


class ImportProfile(db.Model):
    """A saved mapping (app/domain/mapping.py) from a survey tool's layout to Kompas's own,
    offered again the next time a file of that layout comes in.

    kind: "results" or "references". `signature` is the header the mapping was made for
    (app.domain.mapping.signature), so the profile that fits a new file is found by it.
    """

    __tablename__ = "import_profile"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="results")
    name: Mapped[str] = mapped_column(String(120))
    signature: Mapped[str] = mapped_column(String(64), index=True, default="")
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

"""What a measurement may show, computed once per import (scores, suppression, audit) and
stored, so that pages only read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.extensions import db


class UnitFigures(db.Model):
    """A unit's figures in one measurement, after the anonymity rules.

    Hidden units keep only `shown=False` and the reason (never printed: every hidden unit says
    the same); their figures are never stored here. `questions` holds the shown questions
    (`app.domain.release`): {code: {"c": [n_1..n_k] | null, "n": answers, "dk": don't know,
    "mean", "score"}}; a zero-tolerance question has no counts, mean or score, only
    {"n", "zk": "none" | "few" | "exact" | "at_least" | "withheld", "zt": 0 | hits >= 3 | null,
    "za": the alert is raised here}, cumulative over the unit and every unit below it.
    """

    __tablename__ = "unit_figures"

    measurement_id: Mapped[int] = mapped_column(
        ForeignKey("measurement.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    parent_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="SET NULL"))
    shown: Mapped[bool] = mapped_column(Boolean)
    hidden_reason: Mapped[str | None] = mapped_column(String(30))
    respondents: Mapped[int | None] = mapped_column(Integer)
    invited: Mapped[int | None] = mapped_column(Integer)
    overall_score: Mapped[float | None] = mapped_column(Float)
    colour: Mapped[str | None] = mapped_column(String(10))
    indicators: Mapped[dict[str, float | None]] = mapped_column(JSON, default=dict)
    zero_tolerance_hits: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[dict[str, dict[str, Any]]] = deferred(
        mapped_column(JSON, default=dict, nullable=False)
    )
    hidden_questions: Mapped[dict[str, str]] = deferred(
        mapped_column(JSON, default=dict, nullable=False)
    )

    @property
    def response_rate(self) -> float | None:
        if not self.shown or not self.invited or self.respondents is None:
            return None
        return self.respondents / self.invited


class PreparedSection(db.Model):
    """A unit page's results section as rendered from the release, in one language.

    Made after an import (and at the first view after a deploy or in a language not made yet)
    and read by every app process. `version` names the code, templates and translations that
    rendered it (app.prepared_version) and the organisation's count of releases it was
    rendered at (Organisation.prepared_epoch, app/services/prepared.py): a deploy that changes
    any of them, or a new release, reads nothing older.
    Every release deletes them all, since a unit's comparison with last year reads another
    measurement's release.
    """

    __tablename__ = "prepared_section"

    measurement_id: Mapped[int] = mapped_column(
        ForeignKey("measurement.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    locale: Mapped[str] = mapped_column(String(10), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    html: Mapped[str] = mapped_column(Text)

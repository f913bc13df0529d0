"""Questionnaires (templates or defined by an import) and measurements."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow


class Questionnaire(db.Model):
    __tablename__ = "questionnaire"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "gym" and "apv" are the built-in templates; a questionnaire defined by an import gets
    # a code of its own.
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_template: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    questions: Mapped[list[Question]] = relationship(
        back_populates="questionnaire", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(db.Model):
    __tablename__ = "question"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "code"),
        CheckConstraint("direction IN ('higher_better', 'lower_better')", name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text, default="")
    theme: Mapped[str] = mapped_column(String(200), default="")  # "" = outside every indicator
    scale: Mapped[list[str]] = mapped_column(JSON)  # answer labels, option 1 first
    direction: Mapped[str] = mapped_column(String(20), default="higher_better")
    zero_tolerance: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="questions")


class Measurement(db.Model):
    """One survey round: a year, a questionnaire, its anonymity rules and its timeline."""

    __tablename__ = "measurement"
    __table_args__ = (
        CheckConstraint("threshold >= 3", name="threshold_min"),
        CheckConstraint("sensitive_threshold >= threshold", name="sensitive_threshold_min"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire.id", ondelete="RESTRICT"), index=True
    )
    threshold: Mapped[int] = mapped_column(Integer, default=5)
    sensitive_threshold: Mapped[int] = mapped_column(Integer, default=10)
    results_released_on: Mapped[date | None] = mapped_column(Date)
    dialogue_deadline: Mapped[date | None] = mapped_column(Date)
    action_plan_deadline: Mapped[date | None] = mapped_column(Date)
    evaluation_date: Mapped[date | None] = mapped_column(Date)
    # Traffic lights on the overall score (0-100): red below yellow_from, green from green_from.
    yellow_from: Mapped[float] = mapped_column(Float, default=55.0, server_default="55")
    green_from: Mapped[float] = mapped_column(Float, default=65.0, server_default="65")
    # Set when the figures are computed after an import; a failed anonymity audit blocks them.
    figures_computed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    anonymity_ok: Mapped[bool | None] = mapped_column(Boolean)
    # Follow-up rules (issue 6): reaction time for zero-tolerance alerts, the cut-off under
    # which psychological safety suggests an outside facilitator, and re-measurements.
    zero_tolerance_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    psychological_safety_cutoff: Mapped[float] = mapped_column(
        Float, default=55.0, server_default="55"
    )
    remeasure_on: Mapped[date | None] = mapped_column(Date)
    remeasure_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("measurement.id", ondelete="SET NULL")
    )
    anonymity_problems: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Management's one-click release of the results to class teams, the student council and the
    # board (where the organisation holds results until released); shown to everyone.
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship()


class MeasurementQuestionText(db.Model):
    """A question's wording as the measurement's file gave it, where it differs from the
    template's (the file's text wins for that measurement; the template is not changed)."""

    __tablename__ = "measurement_question_text"

    measurement_id: Mapped[int] = mapped_column(
        ForeignKey("measurement.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("question.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)


class ReferenceFigure(db.Model):
    """A published reference figure for a year: national, sector (stx, hhx, htx, hf, ...) or
    municipal, for an indicator or a question. Aggregates published by others, shown beside
    the organisation's own, marked with their source and year."""

    __tablename__ = "reference_figure"
    __table_args__ = (
        UniqueConstraint(
            "questionnaire_code", "year", "source", "label", "indicator", "question_code"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_code: Mapped[str] = mapped_column(String(50), default="gym")
    year: Mapped[int] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(20))  # "national" | "sector" | "municipality"
    label: Mapped[str] = mapped_column(String(100), default="")  # "Landsplan", "stx", "Aarhus"
    indicator: Mapped[str] = mapped_column(String(200), default="")  # "" for a question row
    question_code: Mapped[str] = mapped_column(String(50), default="")  # "" for an indicator
    average: Mapped[float | None] = mapped_column(Float)  # on the survey's 1-5 scale
    share: Mapped[float | None] = mapped_column(Float)  # per cent, e.g. "høj trivsel"
    count: Mapped[int | None] = mapped_column(Integer)  # answers behind the figure
    file_name: Mapped[str] = mapped_column(String(255), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

"""Computing a measurement's figures once per import: roll-up, scores, anonymity, audit.

Pages then only read `unit_figures`. A failing anonymity audit stores no figures at all and
marks the measurement as blocked, so nothing unsafe can be shown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import fmean
from typing import Any, NamedTuple

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.domain.anonymity import Suppression, audit, suppress
from app.domain.scoring import (
    QuestionCounts,
    RawUnit,
    TrafficLightCutoffs,
    mean_for_display,
    question_score,
    roll_up,
    theme_score,
    traffic_light,
    unit_counts,
)
from app.models import Measurement, Question, QuestionResult, Unit, UnitFigures, UnitResult, User
from app.services import audit as audit_log

log = logging.getLogger(__name__)


class QuestionInfo(NamedTuple):
    """What scoring needs of a question, as plain data (ORM attribute access is slow in the
    loop over every unit and question)."""

    code: str
    theme: str
    k: int
    direction: str
    zero_tolerance: bool


@dataclass(frozen=True)
class FiguresOutcome:
    units: int
    shown: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _raw_units(
    session: Session, measurement: Measurement, questions: dict[int, QuestionInfo]
) -> tuple[dict[str, RawUnit], dict[str, int]]:
    """Each unit's imported counts, keyed by unit code (the anonymity engine orders by it)."""
    rows = session.execute(
        select(
            Unit.id, Unit.code, UnitResult.parent_unit_id, UnitResult.has_own_rows,
            UnitResult.respondents, UnitResult.invited,
        )
        .join(UnitResult, UnitResult.unit_id == Unit.id)
        .where(UnitResult.measurement_id == measurement.id)
    ).all()  # fmt: skip
    code_of = {row.id: row.code for row in rows}
    ids = {row.code: row.id for row in rows}
    # A parent that exists in the organisation but was not in the file still joins the tree.
    parents = {row.id: row.parent_unit_id for row in rows}
    missing = {p for p in parents.values() if p is not None and p not in code_of}
    while missing:
        extra = session.execute(
            select(Unit.id, Unit.code, Unit.parent_id).where(Unit.id.in_(missing))
        ).all()
        for unit_id, code, parent_id in extra:
            code_of[unit_id], ids[code], parents[unit_id] = code, unit_id, parent_id
        missing = {p for _, _, p in extra if p is not None and p not in code_of}

    per_unit: dict[int, dict[str, QuestionCounts]] = {unit_id: {} for unit_id in code_of}
    results = session.execute(
        select(
            QuestionResult.unit_id, QuestionResult.question_id, QuestionResult.counts,
            QuestionResult.n, QuestionResult.mean, QuestionResult.dont_know,
        ).where(QuestionResult.measurement_id == measurement.id)
    )  # fmt: skip
    for unit_id, question_id, counts, n, mean, dont_know in results:
        code = questions[question_id].code
        if counts is not None:
            figures = QuestionCounts.from_distribution(
                [int(c) for c in counts.split(",")], dont_know
            )
        else:
            figures = QuestionCounts.from_mean(n, mean if n else 1, dont_know)
        per_unit[unit_id][code] = figures

    by_id = {row.id: row for row in rows}
    raw: dict[str, RawUnit] = {}
    for unit_id, code in code_of.items():
        row = by_id.get(unit_id)
        parent = parents.get(unit_id)
        raw[code] = RawUnit(
            parent=code_of.get(parent) if parent is not None else None,
            has_own_rows=bool(row and row.has_own_rows),
            questions=per_unit[unit_id],
            respondents=row.respondents if row else None,
            invited=row.invited if row else None,
        )
    return raw, ids


def compute_figures(
    session: Session, measurement: Measurement, actor: User | None = None
) -> FiguresOutcome:
    """Recompute and store the measurement's figures. Flushes; the caller commits."""
    questions = {
        q.id: QuestionInfo(q.code, q.theme, len(q.scale), q.direction, q.zero_tolerance)
        for q in session.scalars(
            select(Question).where(Question.questionnaire_id == measurement.questionnaire_id)
        )
    }
    by_code = {q.code: q for q in questions.values()}
    zero_tolerance = {q.code for q in questions.values() if q.zero_tolerance}
    raw, ids = _raw_units(session, measurement, questions)
    effective = roll_up(raw)
    counts = unit_counts(effective, zero_tolerance)
    rules = {
        "threshold": measurement.threshold,
        "sensitive_threshold": measurement.sensitive_threshold,
        "zero_tolerance_questions": zero_tolerance,
    }
    suppression = suppress(counts, **rules)
    problems = audit(counts, suppression, **rules)

    session.execute(delete(UnitFigures).where(UnitFigures.measurement_id == measurement.id))
    measurement.figures_computed_at = datetime.now(UTC)
    measurement.anonymity_ok = not problems
    measurement.anonymity_problems = problems[:20]
    if problems:
        # Never expected: the audit is the second line of defence behind the suppression.
        log.error("anonymity audit failed for measurement %s: %s", measurement.id, problems[:5])
        audit_log.record(
            session, actor, "figures.blocked", "measurement", measurement.id, problems=problems[:5]
        )
        session.flush()
        return FiguresOutcome(units=len(effective), shown=0, problems=problems)

    cutoffs = TrafficLightCutoffs(measurement.yellow_from, measurement.green_from)
    themes = _themes(questions.values())
    rows = [
        _figures_row(measurement.id, ids, code, unit, suppression, by_code, themes, cutoffs)
        for code, unit in effective.items()
    ]
    session.execute(insert(UnitFigures), rows)
    audit_log.record(
        session, actor, "figures.computed", "measurement", measurement.id,
        units=len(rows), shown=len(suppression.shown),
    )  # fmt: skip
    session.flush()
    return FiguresOutcome(units=len(rows), shown=len(suppression.shown), problems=[])


def _themes(questions: Iterable[QuestionInfo]) -> dict[str, list[QuestionInfo]]:
    """Indicators and their questions; "" (no indicator) is left out."""
    themes: dict[str, list[QuestionInfo]] = {}
    for question in questions:
        if question.theme:
            themes.setdefault(question.theme, []).append(question)
    return themes


def overall_themes(themes: dict[str, list[QuestionInfo]]) -> list[str]:
    """The indicators behind a unit's overall score and traffic light.

    Zero-tolerance themes are left out: offensive behaviour is followed up through alerts,
    and their sensitive threshold would leave most small units without a colour.
    """
    return [theme for theme, qs in themes.items() if not all(q.zero_tolerance for q in qs)]


def _figures_row(
    measurement_id: int,
    ids: dict[str, int],
    code: str,
    unit: RawUnit,
    suppression: Suppression,
    questions: dict[str, QuestionInfo],
    themes: dict[str, list[QuestionInfo]],
    cutoffs: TrafficLightCutoffs,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "measurement_id": measurement_id,
        "unit_id": ids[code],
        "parent_unit_id": ids.get(unit.parent) if unit.parent else None,
        "shown": code in suppression.shown,
        "hidden_reason": suppression.hidden.get(code),
        "respondents": None,
        "invited": None,
        "overall_score": None,
        "colour": None,
        "indicators": {},
        "zero_tolerance_hits": 0,
        "questions": {},
        "hidden_questions": {},
    }
    if not row["shown"]:
        return row  # a hidden unit keeps nothing but the fact that it is hidden
    hidden = dict(suppression.hidden_questions.get(code, {}))
    zt_hits = suppression.zt_hits.get(code, {})
    shown_questions: dict[str, dict[str, Any]] = {}
    scores: dict[str, float | None] = {}
    for question_code, figures in unit.questions.items():
        question = questions[question_code]
        if question_code in hidden:
            scores[question_code] = None
            if question.zero_tolerance and zt_hits.get(question_code, 0) > 0:
                # Figures hidden (e.g. under the sensitive threshold), but the unit still says
                # that there were hits, so the alert is raised (spec: Anonymity).
                shown_questions[question_code] = {
                    "c": None, "n": None, "dk": None, "mean": None, "score": None,
                    "zt": None, "zp": True,
                }  # fmt: skip
            continue
        score = question_score(figures, question.k, question.direction)  # type: ignore[arg-type]
        mean = mean_for_display(figures)
        scores[question_code] = score
        entry: dict[str, Any] = {
            "c": list(figures.distribution) if figures.distribution is not None else None,
            "n": figures.answers,
            "dk": figures.dont_know,
            "mean": float(mean) if mean is not None else None,
            "score": score,
        }
        if question.zero_tolerance:
            hits = zt_hits.get(question_code, 0)
            presence_only = (code, question_code) in suppression.zt_presence_only
            entry["zt"] = None if presence_only else hits
            entry["zp"] = presence_only and hits > 0
            # The unit's own distribution would show more than its residual group's hits.
            entry["c"] = None
        shown_questions[question_code] = entry
    indicators = {
        theme: theme_score(scores[q.code] for q in qs if q.code in unit.questions)
        for theme, qs in themes.items()
        if any(q.code in unit.questions for q in qs)
    }
    overall_parts = [indicators[t] for t in overall_themes(themes) if indicators.get(t) is not None]
    overall = fmean(overall_parts) if overall_parts else None  # type: ignore[arg-type]
    row.update(
        respondents=unit.respondents,
        invited=unit.invited,
        overall_score=overall,
        colour=traffic_light(overall, cutoffs),
        indicators=indicators,
        zero_tolerance_hits=sum(1 for hits in zt_hits.values() if hits > 0),
        questions=shown_questions,
        hidden_questions=hidden,
    )
    return row

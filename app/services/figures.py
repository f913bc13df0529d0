"""Making a measurement's release once per import (`app.domain.release`) and storing it.

Pages then only read `unit_figures`. A failing anonymity audit stores no figures at all and
marks the measurement as blocked, so nothing unsafe can be shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, aliased

from app.domain.release import (
    QuestionInfo,
    ReleaseRules,
    UnitRelease,
    build_release,
    remeasured_units,
)
from app.domain.scoring import QuestionCounts, RawUnit, roll_up
from app.models import Measurement, Question, QuestionResult, Unit, UnitFigures, UnitResult, User
from app.services import audit as audit_log
from app.services import prepared

__all__ = ["FiguresOutcome", "QuestionInfo", "compute_figures"]

log = logging.getLogger(__name__)


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
    """Make the measurement's release (`app.domain.release`) and store it. Flushes; the caller
    commits. A release whose audit fails stores nothing and blocks the measurement."""
    questions = {
        q.id: QuestionInfo(q.code, q.theme, len(q.scale), q.direction, q.zero_tolerance)
        for q in session.scalars(
            select(Question).where(Question.questionnaire_id == measurement.questionnaire_id)
        )
    }
    raw, ids = _raw_units(session, measurement, questions)
    rules = ReleaseRules(
        threshold=measurement.threshold,
        sensitive_threshold=measurement.sensitive_threshold,
        yellow_from=measurement.yellow_from,
        green_from=measurement.green_from,
    )
    release = build_release(roll_up(raw), questions.values(), rules)
    problems = release.problems

    session.execute(delete(UnitFigures).where(UnitFigures.measurement_id == measurement.id))
    prepared.forget_all(session)
    measurement.figures_computed_at = datetime.now(UTC)
    measurement.anonymity_ok = not problems
    measurement.anonymity_problems = problems[:20]
    if problems:
        # Never expected: the audit is the second line of defence behind the release rules.
        log.error("anonymity audit failed for measurement %s: %s", measurement.id, problems[:5])
        audit_log.record(
            session, actor, "figures.blocked", "measurement", measurement.id, problems=problems[:5]
        )
        session.flush()
        return FiguresOutcome(units=len(release.units), shown=0, problems=problems)

    units = list(release.units.values())
    if measurement.remeasure_of_id is not None:
        # Showing fewer units publishes less than the audited release: nothing can leak.
        whole = remeasured_units(
            {unit.code: unit.parent for unit in units},
            _first_tree(session, measurement.remeasure_of_id),
        )
        units = [unit for unit in units if unit.code in whole]
    rows = [_figures_row(measurement.id, ids, unit) for unit in units]
    if rows:
        session.execute(insert(UnitFigures), rows)
    shown = sum(1 for unit in units if unit.shown)
    audit_log.record(
        session, actor, "figures.computed", "measurement", measurement.id,
        units=len(rows), shown=shown,
    )  # fmt: skip
    session.flush()
    return FiguresOutcome(units=len(rows), shown=shown, problems=[])


def _first_tree(session: Session, first_id: int) -> dict[str, str | None]:
    """The units of the measurement a re-measurement follows up (code -> parent code): as its
    release stored them, else (no figures) the organisation as it is."""
    parent = aliased(Unit)
    rows = session.execute(
        select(Unit.code, parent.code)
        .join(UnitFigures, UnitFigures.unit_id == Unit.id)
        .outerjoin(parent, parent.id == UnitFigures.parent_unit_id)
        .where(UnitFigures.measurement_id == first_id)
    ).all()
    if not rows:
        rows = session.execute(
            select(Unit.code, parent.code)
            .outerjoin(parent, parent.id == Unit.parent_id)
            .where(Unit.active.is_(True))
        ).all()
    return {code: parent_code for code, parent_code in rows}


def _figures_row(measurement_id: int, ids: dict[str, int], unit: UnitRelease) -> dict[str, Any]:
    return {
        "measurement_id": measurement_id,
        "unit_id": ids[unit.code],
        "parent_unit_id": ids.get(unit.parent) if unit.parent else None,
        "shown": unit.shown,
        "hidden_reason": unit.hidden_reason,
        "respondents": unit.respondents,
        "invited": unit.invited,
        "overall_score": unit.overall_score,
        "colour": unit.colour,
        "indicators": unit.indicators,
        "zero_tolerance_hits": unit.zero_tolerance_hits,
        "questions": unit.questions,
        "hidden_questions": unit.hidden_questions,
    }

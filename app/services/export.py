"""Export documents for integrations and checks: exactly what a user would see on screen."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, undefer

from app.models import Measurement, Question, Unit, UnitFigures
from app.policy import Access, Permission
from app.services.results import scored_themes, zero_tolerance_statement


def results_document(session: Session, access: Access, measurement: Measurement) -> list[dict]:
    """One entry per unit the user may see results of, in unit-code order.

    A hidden unit carries its id, parent, name and `"shown": false` and nothing else; a hidden
    question is left out of its unit's `questions`. A question gives its answer count and, if
    not about zero tolerance, its counts, "don't know", mean and score. A zero-tolerance
    question gives only its answer count and its statement, cumulative over the unit and every
    unit below it (`results.zero_tolerance_statement`):
    `{"answers": n, "zero_tolerance": {"statement": "none" | "few" | "exact" | "at_least" |
    "withheld", "hits": 0 for "none", the number (3 or more) for "exact", else null,
    "alert": raised at this unit}}`. No count of 1 or 2, no mean, no score.
    """
    allowed = access.unit_ids(session, Permission.VIEW_RESULTS)
    parent = aliased(Unit)
    rows = session.execute(
        select(UnitFigures, Unit.code, Unit.name, parent.code)
        .join(Unit, Unit.id == UnitFigures.unit_id)
        .outerjoin(parent, parent.id == UnitFigures.parent_unit_id)
        .where(UnitFigures.measurement_id == measurement.id)
        .options(undefer(UnitFigures.questions))
        .order_by(Unit.code)
    ).all()
    questions = list(
        session.scalars(
            select(Question).where(Question.questionnaire_id == measurement.questionnaire_id)
        )
    )
    zero_tolerance = {q.code for q in questions if q.zero_tolerance}
    scored = set(scored_themes(questions))
    document = []
    for figures, code, name, parent_code in rows:
        if allowed is not None and figures.unit_id not in allowed:
            continue
        entry: dict[str, Any] = {"unit": code, "parent": parent_code, "name": name}
        if not figures.shown:
            entry["shown"] = False
            document.append(entry)
            continue
        entry.update(
            shown=True,
            respondents=figures.respondents,
            invited=figures.invited,
            response_rate=_round(figures.response_rate, 4),
            indicators={
                theme: _round(score)
                for theme, score in figures.indicators.items()
                if theme in scored
            },
            questions={
                question: _zero_tolerance(stored)
                if question in zero_tolerance
                else {
                    "answers": stored.get("n"),
                    "counts": stored.get("c"),
                    "dont_know": stored.get("dk"),
                    "mean": _round(stored.get("mean"), 3),
                    "score": _round(stored.get("score")),
                }
                for question, stored in figures.questions.items()
            },
        )
        document.append(entry)
    return document


def _zero_tolerance(stored: dict[str, Any]) -> dict[str, Any]:
    kind, hits = zero_tolerance_statement(stored) or ("withheld", None)
    return {
        "answers": stored.get("n"),
        "zero_tolerance": {"statement": kind, "hits": hits, "alert": bool(stored.get("za"))},
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)

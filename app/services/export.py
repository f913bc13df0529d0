"""Export documents for integrations and checks: exactly what a user would see on screen."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, undefer

from app.models import Measurement, Question, Unit, UnitFigures
from app.policy import Access, Action


def results_document(session: Session, access: Access, measurement: Measurement) -> list[dict]:
    """One entry per unit the user may see results of, in unit-code order.

    A hidden unit carries its id, parent, name and `"shown": false` and nothing else; a hidden
    question is left out of its unit's `questions`, except a zero-tolerance question with hits
    under the sensitive threshold, which says only `"zero_tolerance_hits": "some"`.
    """
    allowed = access.unit_ids(session, Action.VIEW_RESULTS)
    parent = aliased(Unit)
    rows = session.execute(
        select(UnitFigures, Unit.code, Unit.name, parent.code)
        .join(Unit, Unit.id == UnitFigures.unit_id)
        .outerjoin(parent, parent.id == UnitFigures.parent_unit_id)
        .where(UnitFigures.measurement_id == measurement.id)
        .options(undefer(UnitFigures.questions))
        .order_by(Unit.code)
    ).all()
    zero_tolerance = set(
        session.scalars(
            select(Question.code).where(
                Question.questionnaire_id == measurement.questionnaire_id,
                Question.zero_tolerance.is_(True),
            )
        )
    )
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
            indicators={theme: _round(score) for theme, score in figures.indicators.items()},
            questions={
                question: {
                    "counts": stored.get("c"),
                    "dont_know": stored.get("dk"),
                    "mean": _round(stored.get("mean"), 3),
                    "score": _round(stored.get("score")),
                    "zero_tolerance_hits": _hits(stored) if question in zero_tolerance else None,
                }
                for question, stored in figures.questions.items()
            },
        )
        document.append(entry)
    return document


def _hits(stored: dict[str, Any]) -> int | str | None:
    if stored.get("zp"):
        return "some"  # under the sensitive threshold: only that there were hits
    return stored.get("zt")


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)

"""The answer counts an import stored (one document per unit on unit_result), flattened to one
tuple per unit and question for tests to count and compare."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import select

from app.extensions import db
from app.models import UnitResult


class StoredAnswer(NamedTuple):
    measurement_id: int
    unit_id: int
    question_id: int
    counts: tuple[int, ...] | None  # None where the file gave n and mean
    n: int | None  # only where the file gave n and mean
    mean: float | None
    dont_know: int


def stored_answers(*where: Any) -> list[StoredAnswer]:
    """Every stored answer count (of the unit results matching `where`), in id order."""
    answers = []
    rows = db.session.execute(
        select(UnitResult.measurement_id, UnitResult.unit_id, UnitResult.question_counts).where(
            *where
        )
    )
    for measurement_id, unit_id, document in rows:
        for question_id, entry in document.items():
            counts = entry.get("counts")
            answers.append(
                StoredAnswer(
                    measurement_id,
                    unit_id,
                    int(question_id),
                    tuple(counts) if counts is not None else None,
                    entry.get("n"),
                    entry.get("mean"),
                    entry["dont_know"],
                )
            )
    return sorted(answers, key=lambda a: (a.measurement_id, a.unit_id, a.question_id))

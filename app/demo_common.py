"""What the municipal demo (app/demo.py) and the school demo (app/demo_school.py) build alike:
the unit tree's rows, a results file in the import format, its import through the real import,
and further demo users who sign in with the demo password.

Everything here is invented demo data; nothing is imported from a real survey.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.models import Measurement, Questionnaire, Role, Unit, User
from app.services.users import assign_role, create_user

# The import format's columns (docs: /work/shared/spec/import-format.md), without the
# question's wording (the school demo adds it, as the ministry's file has it).
RESULT_COLUMNS = [
    "unit_id",
    "unit_name",
    "parent_id",
    "unit_type",
    "invited",
    "respondents",
    "question_id",
    "n_1",
    "n_2",
    "n_3",
    "n_4",
    "n_5",
    "n_dont_know",
]


@dataclass
class DemoUnit:
    code: str
    name: str
    parent: str | None
    unit_type: str
    size: int = 0  # people in a team or class; 0 for units whose figures are their children's
    children: list[str] = field(default_factory=list)


def theme_level(rng: random.Random, base: float, spread: float) -> float:
    """A unit's level on a theme (0.05-0.95): how well it does, around `base`."""
    return min(0.95, max(0.05, rng.gauss(base, spread)))


def unit_randoms(seed: int, code: str, year: int) -> tuple[random.Random, random.Random]:
    """A unit's own randomness, stable across years, and that of one year, which only nudges
    it: the same demo every time it is built."""
    return (
        random.Random(f"{seed}:{code}"),  # noqa: S311 - invented demo data, not security
        random.Random(f"{seed}:{code}:{year}"),  # noqa: S311 - invented demo data
    )


class ResultsFile:
    """A results file in the import format (`;`): a unit-only row for a unit whose figures are
    the sum of its children, a row of answer counts per question for a unit with people."""

    def __init__(self, *, with_text: bool = False) -> None:
        self.with_text = with_text
        self.columns = (
            [*RESULT_COLUMNS[:7], "question_text", *RESULT_COLUMNS[7:]]
            if with_text
            else RESULT_COLUMNS
        )
        self._out = io.StringIO()
        self._writer = csv.writer(self._out, delimiter=";", lineterminator="\n")
        self._writer.writerow(self.columns)

    def unit_only(self, unit: DemoUnit) -> None:
        self._writer.writerow(
            [unit.code, unit.name, unit.parent or "", unit.unit_type]
            + [""] * (len(self.columns) - 4)
        )

    def answers(
        self,
        unit: DemoUnit,
        respondents: int,
        question: dict[str, Any],
        counts: list[int],
        dont_know: int,
    ) -> None:
        """One question's counts (`counts` per scale step, up to five) for `unit`."""
        row: list[Any] = [
            unit.code,
            unit.name,
            unit.parent,
            unit.unit_type,
            unit.size,
            respondents,
            question["code"],
        ]
        if self.with_text:
            row.append(question["text"])
        self._writer.writerow(row + counts + [""] * (5 - len(counts)) + [dont_know])

    def text(self) -> str:
        return self._out.getvalue()


def import_results(
    session: Session,
    measurement: Measurement,
    questionnaire: Questionnaire,
    content: str,
    *,
    file_name: str,
    year: int,
) -> None:
    """Import a demo results file into `measurement` through the real import, as a survey
    owner's file would go; a file that does not import is a bug in the demo (RuntimeError)."""
    from app.services import imports

    checked = imports.check(
        session,
        content.encode("utf-8"),
        file_name=file_name,
        year=year,
        questionnaire=questionnaire,
    )
    if not checked.ok:
        raise RuntimeError(f"{file_name} does not import: {checked.result.errors[:3]}")
    imports.apply(session, None, checked, measurement)


def demo_person(
    session: Session, like: User, email: str, name: str, unit: Unit, role: Role
) -> User:
    """A further demo user with `role` on `unit`, who signs in with the demo password (that of
    `like`, copied, not hashed again)."""
    user = create_user(session, None, email=email, name=name)
    user.password_hash = like.password_hash
    assign_role(session, None, user, unit, role)
    session.flush()
    return user

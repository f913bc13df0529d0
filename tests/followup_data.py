"""A small measured organisation for follow-up tests (on top of the `org` fixture's tree).

R ── A ── A1 (8 people, high scores: green)
│    └─ A2 (6 people, low scores: red)
└─ B ── B1 (7 people)
     └─ C1 (3 people: too few; hits on the zero-tolerance question)
"""

from __future__ import annotations

from datetime import date

from app.extensions import db
from app.models import Measurement
from app.services import imports
from app.services.measurements import find_or_prepare_measurement

HEADER = "unit_id;unit_name;parent_id;invited;question_id;n_1;n_2;n_3;n_4;n_5;n_dont_know\n"


def _rows(code: str, parent: str, people: int, level: int, hits: int = 0) -> str:
    """`level` 1..5: where most answers sit on the agree scale (5 = best)."""
    rows = []
    for question in ("PT-1", "PT-2", "MT-1"):
        counts = [0] * 5
        counts[level - 1] = people
        rows.append(
            f"{code};Enhed {code};{parent};{people};{question};" + ";".join(map(str, counts)) + ";0"
        )
    no = people - hits
    rows.append(f"{code};Enhed {code};{parent};{people};KA-1;{no};{hits};0;;;0")
    return "\n".join(rows) + "\n"


CSV = (
    HEADER
    + "R;Enhed R;;;;;;;;;\nA;Enhed A;R;;;;;;;;\nB;Enhed B;R;;;;;;;;\n"
    + _rows("A1", "A", 8, 5)
    + _rows("A2", "A", 6, 1)
    + _rows("B1", "B", 7, 4)
    + _rows("C1", "B", 3, 3, hits=2)
)


def measure(name: str = "APV 2026", year: int = 2026) -> Measurement:
    """Import the small file into a new measurement (inside an app context)."""
    measurement = find_or_prepare_measurement(db.session, name=name, year=year, template_code="apv")
    measurement.results_released_on = date(year, 3, 2)
    measurement.dialogue_deadline = date(year, 4, 30)
    measurement.action_plan_deadline = date(year, 6, 30)
    measurement.evaluation_date = date(year, 12, 15)
    checked = imports.check(
        db.session,
        CSV.encode(),
        file_name="small.csv",
        year=year,
        questionnaire=measurement.questionnaire,
    )
    assert checked.ok, checked.result.errors
    imports.apply(db.session, None, checked, measurement)
    db.session.commit()
    return measurement

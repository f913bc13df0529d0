"""The built-in questionnaire templates, shipped as data in app/data/questionnaires."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Question, Questionnaire

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "data" / "questionnaires"
TEMPLATE_CODES = ("gym", "apv")


def read_template(code: str) -> dict:
    with (TEMPLATE_DIR / f"{code}.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def load_templates(session: Session) -> list[Questionnaire]:
    """Create the built-in questionnaires that are missing; existing ones are left as they are
    (results may hang on their questions)."""
    created = []
    for code in TEMPLATE_CODES:
        if session.scalar(select(Questionnaire.id).where(Questionnaire.code == code)):
            continue
        data = read_template(code)
        questionnaire = Questionnaire(code=code, name=data["name"], is_template=True)
        questionnaire.questions = [
            Question(
                code=q["code"],
                text=q["text"],
                theme=q["theme"],
                scale=list(q["scale"]),
                direction=q["direction"],
                zero_tolerance=bool(q["zero_tolerance"]),
                position=position,
            )
            for position, q in enumerate(data["questions"])
        ]
        session.add(questionnaire)
        created.append(questionnaire)
    session.flush()
    return created

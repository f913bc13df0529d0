"""The built-in questionnaire templates, shipped as data in app/data/questionnaires."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import Session

from app.models import MeasurementQuestionText, Question, Questionnaire

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


def question_texts(session: Session, measurement_id: int) -> dict[int, str]:
    """question id -> the wording the measurement's file gave, where it differs from the
    template's (`MeasurementQuestionText`). Empty when the file used the template's."""
    rows = session.execute(
        select(MeasurementQuestionText.question_id, MeasurementQuestionText.text).where(
            MeasurementQuestionText.measurement_id == measurement_id
        )
    )
    return {question_id: text for question_id, text in rows}


def worded(questions: list[Question], texts: dict[int, str]) -> list[Question]:
    """The questions as a measurement asked them: where its file had its own wording, a
    detached copy carrying that text (never added to the session, so the template's own
    text is never changed); the others as they are."""
    if not texts:
        return questions
    return [
        question
        if question.id not in texts
        else Question(
            id=question.id,
            questionnaire_id=question.questionnaire_id,
            code=question.code,
            text=texts[question.id],
            theme=question.theme,
            scale=list(question.scale),
            direction=question.direction,
            zero_tolerance=question.zero_tolerance,
            position=question.position,
        )
        for question in questions
    ]


def select_as_asked(*columns: Any) -> Select[Any]:
    """`columns` of each question of the questionnaire ("questionnaire_id", bound at each
    run), in order, beside the measurement's own wording ("measurement_id"), where its file
    had one (`MeasurementQuestionText`, outer-joined). For statements built once."""
    return (
        select(*columns)
        .outerjoin(
            MeasurementQuestionText,
            and_(
                MeasurementQuestionText.question_id == Question.id,
                MeasurementQuestionText.measurement_id == bindparam("measurement_id"),
            ),
        )
        .where(Question.questionnaire_id == bindparam("questionnaire_id"))
        .order_by(Question.position)
    )


# Built once: every results section reads the questions.
_QUESTIONS_AS_ASKED = select_as_asked(Question, MeasurementQuestionText.text)


def questions_as_asked(
    session: Session, questionnaire_id: int, measurement_id: int
) -> list[Question]:
    """The questionnaire's questions in order, worded as the measurement's file asked them
    (`question_texts` and `worded` in one query: results pages ask for them on every view)."""
    rows = session.execute(
        _QUESTIONS_AS_ASKED,
        {"questionnaire_id": questionnaire_id, "measurement_id": measurement_id},
    ).all()
    texts = {question.id: text for question, text in rows if text is not None}
    return worded([question for question, _text in rows], texts)

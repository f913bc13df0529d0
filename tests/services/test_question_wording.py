"""The gym template accepts the ministry's own question wording: matched by question code,
the file's text is kept for that measurement and shown on its pages; the template is not
changed."""

from __future__ import annotations

import io
import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.domain.importing import QuestionSpec, parse_results
from app.extensions import db
from app.models import Measurement, MeasurementQuestionText, Question, Role
from app.services import imports, results
from app.services.measurements import find_or_prepare_measurement
from tests.conftest import login

TEMPLATE = json.loads(
    (Path(__file__).resolve().parents[2] / "app/data/questionnaires/gym.json").read_text("utf-8")
)
PLACEHOLDER = {q["code"]: q["text"] for q in TEMPLATE["questions"]}
# The wording of the ministry's questionnaire where the template has a placeholder.
MINISTRY = {
    "FT-01": "Jeg er god til at klare mig fagligt i skolen",
    "FT-02": "Jeg kan koncentrere mig i undervisningen",
}
CODES = ["FT-01", "FT-02", "FT-03"]


def gym_csv(wording: dict[str, str], codes: list[str] = CODES) -> str:
    """A small gymnasium file: an institution and two classes of 12 students, one row per
    class and question, the question text as the file's tool wrote it."""
    lines = [
        "unit_id;unit_name;parent_id;unit_type;question_id;question_text;n_1;n_2;n_3;n_4;n_5",
        "FG;Frederiksberg Gymnasium;;institution;;;;;;;",
    ]
    for unit in ("2024stxA", "2024stxB"):
        for code in codes:
            text = wording.get(code, PLACEHOLDER[code])
            lines.append(f"{unit};{unit};FG;klasse;{code};{text};1;1;2;4;4")
    return "\n".join(lines) + "\n"


def template_specs_from_json(codes: list[str] = CODES) -> list[QuestionSpec]:
    """The template's questions as the parser takes them, read from the shipped file."""
    return [
        QuestionSpec(
            q["code"],
            q["text"],
            q["theme"],
            tuple(q["scale"]),
            q["direction"],
            bool(q["zero_tolerance"]),
        )  # fmt: skip
        for q in TEMPLATE["questions"]
        if q["code"] in codes
    ]


def _import(
    name: str, content: str, year: int = 2026, own_wording: int | None = None
) -> Measurement:
    measurement = find_or_prepare_measurement(db.session, name=name, year=year, template_code="gym")
    checked = imports.check(
        db.session,
        content.encode(),
        file_name="gym.csv",
        year=year,
        questionnaire=measurement.questionnaire,
    )
    assert checked.ok, checked.result.errors
    if own_wording is None:
        own_wording = len([text for text in MINISTRY.values() if text in content])
    assert checked.preview["own_wording"] == own_wording
    imports.apply(db.session, None, checked, measurement)
    db.session.commit()
    return measurement


def test_the_parser_matches_by_code_and_keeps_the_files_text() -> None:
    specs = template_specs_from_json()
    result = parse_results(io.BytesIO(gym_csv(MINISTRY).encode()), template=specs)
    assert result.ok, result.errors
    assert result.question_texts == MINISTRY  # FT-03 has the template's text: not repeated
    assert [q.text for q in result.questions] == [PLACEHOLDER[c] for c in CODES]


def test_one_question_with_two_wordings_in_one_file_is_refused() -> None:
    specs = template_specs_from_json()
    content = gym_csv(MINISTRY) + "2024stxC;2024stxC;FG;klasse;FT-01;Noget helt andet;1;1;2;4;4\n"
    result = parse_results(io.BytesIO(content.encode()), template=specs)
    assert not result.ok
    assert [(p.code, p.row, p.column) for p in result.errors] == [
        ("question_mismatch", 9, "question_text")
    ]
    # Going back to the template's text after the file's own wording is a second wording too.
    back = f"2024stxC;2024stxC;FG;klasse;FT-01;{PLACEHOLDER['FT-01']};1;1;2;4;4\n"
    content = gym_csv(MINISTRY) + back
    assert not parse_results(io.BytesIO(content.encode()), template=specs).ok


def test_a_gym_file_with_the_ministrys_wording_imports_and_the_template_is_unchanged(
    app: Flask,
) -> None:
    with app.app_context():
        worded = _import("Trivsel 2026", gym_csv(MINISTRY))
        plain = _import("Trivsel 2025", gym_csv({}), year=2025)
        stored = dict(
            db.session.execute(
                select(Question.code, MeasurementQuestionText.text)
                .join(Question, Question.id == MeasurementQuestionText.question_id)
                .where(MeasurementQuestionText.measurement_id == worded.id)
            ).all()
        )
        assert stored == MINISTRY
        template = {q.code: q.text for q in worded.questionnaire.questions}
        assert template == PLACEHOLDER  # the template keeps its own text
        shown = {q.code: q.text for q in results.question_infos(db.session, worded)}
        assert shown["FT-01"] == MINISTRY["FT-01"] and shown["FT-03"] == PLACEHOLDER["FT-03"]
        other = {q.code: q.text for q in results.question_infos(db.session, plain)}
        assert other["FT-01"] == PLACEHOLDER["FT-01"]
        db.session.commit()  # the shown copies never reach the database
        db.session.expire_all()
        assert (
            db.session.scalar(select(Question.text).where(Question.code == "FT-01"))
            == (PLACEHOLDER["FT-01"])
        )


def test_a_reimport_replaces_the_wording(app: Flask) -> None:
    with app.app_context():
        measurement = _import("Trivsel 2026", gym_csv(MINISTRY))
        _import("Trivsel 2026", gym_csv({"FT-02": MINISTRY["FT-02"]}))
        texts = db.session.scalars(
            select(MeasurementQuestionText.text).where(
                MeasurementQuestionText.measurement_id == measurement.id
            )
        ).all()
        assert texts == [MINISTRY["FT-02"]]


def test_the_measurements_pages_show_the_files_wording(
    app: Flask, client: FlaskClient, make_user
) -> None:
    with app.app_context():
        _import("Trivsel 2026", gym_csv(MINISTRY))
    make_user("ejer@gym.dk", [(Role.ADMIN, "FG")])
    login(client, "ejer@gym.dk")
    html = client.get("/units/2024stxA").get_data(as_text=True)
    assert MINISTRY["FT-01"] in html and MINISTRY["FT-02"] in html
    assert PLACEHOLDER["FT-01"] not in html
    assert PLACEHOLDER["FT-03"] in html


def test_an_alert_lists_its_questions_in_the_files_wording(app: Flask) -> None:
    from app.models import ZeroToleranceAlert
    from app.services import alerts

    bullying = "Er du blevet mobbet af andre elever på gymnasiet i dette skoleår?"
    rows = [f"{unit};{unit};FG;klasse;MO-01;{bullying};9;2;1;;" for unit in ("2024stxA",)]
    with app.app_context():
        measurement = _import(
            "Trivsel 2026", gym_csv(MINISTRY) + "\n".join(rows) + "\n", own_wording=3
        )
        alert = db.session.scalar(
            select(ZeroToleranceAlert).where(ZeroToleranceAlert.measurement_id == measurement.id)
        )
        assert [line.question.text for line in alerts.statements(db.session, alert)] == [bullying]
        assert PLACEHOLDER["MO-01"] != bullying

"""What the analysis step reads on every view and autosave, in statements built once: its focus
areas (the measurement's themes and single questions, as few columns as the form needs) and
the one indicator its warning about psychological safety reads."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from app.models import Measurement, MeasurementQuestionText, Question, UnitFigures
from app.services.questionnaires import select_as_asked

# Built once (at import): the analysis step's page and autosave run it on every request.
_CHOICES = select_as_asked(
    Question.code,
    Question.theme,
    Question.zero_tolerance,
    func.coalesce(MeasurementQuestionText.text, Question.text),
)


def focus_area_choices(session: Session, measurement: Measurement) -> list[tuple[str, str]]:
    """(value, label) of every choice, in the questionnaire's order: first the themes
    (`theme:<name>`, each once, zero-tolerance questions' themes too), then the questions
    that are not zero-tolerance (`q:<code>`), worded as the measurement's file asked them.
    The same list as results.question_infos and themes_of give, without loading the
    questions themselves."""
    rows = session.execute(
        _CHOICES,
        {"measurement_id": measurement.id, "questionnaire_id": measurement.questionnaire_id},
    ).all()
    themes = dict.fromkeys(theme for _code, theme, _zt, _text in rows)
    choices = [(f"theme:{theme}", str(theme)) for theme in themes if theme]
    choices += [(f"q:{code}", text) for code, _theme, zt, text in rows if not zt]
    return choices


_INDICATORS = select(UnitFigures.shown, UnitFigures.indicators).where(
    UnitFigures.measurement_id == bindparam("measurement_id"),
    UnitFigures.unit_id == bindparam("unit_id"),
)


def shown_indicator(
    session: Session, measurement: Measurement, unit_id: int, theme: str
) -> float | None:
    """The unit's own indicator for the theme where its figures are shown, as
    `unit_view(...).indicators[theme].own` gives it, in one small query built once: no
    questions are read."""
    row = session.execute(
        _INDICATORS, {"measurement_id": measurement.id, "unit_id": unit_id}
    ).first()
    if row is None or not row.shown:
        return None
    value = (row.indicators or {}).get(theme)
    return float(value) if isinstance(value, int | float) else None

"""Finding or creating the measurement an import goes into."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Measurement, Questionnaire
from app.services.questionnaires import load_templates


class MeasurementError(ValueError):
    pass


def find_or_prepare_measurement(
    session: Session, *, name: str, year: int | None, template_code: str | None
) -> Measurement:
    """The named measurement; a new one (flushed, not committed) when there is none.

    A new measurement without a template gets an empty questionnaire of its own, which the
    imported file then defines.
    """
    measurement = session.scalar(select(Measurement).where(Measurement.name == name))
    questionnaire = None
    if template_code:
        load_templates(session)
        questionnaire = session.scalar(
            select(Questionnaire).where(Questionnaire.code == template_code)
        )
    if measurement is not None:
        if year is not None and measurement.year != year:
            raise MeasurementError(
                f"The measurement {name!r} is of {measurement.year}, not {year}."
            )
        if questionnaire is not None and measurement.questionnaire_id != questionnaire.id:
            raise MeasurementError(
                f"The measurement {name!r} uses the questionnaire "
                f"{measurement.questionnaire.code!r}, not {template_code!r}."
            )
        return measurement
    if year is None:
        raise MeasurementError(f"There is no measurement {name!r}: give --year to create it.")
    if questionnaire is None:
        questionnaire = Questionnaire(
            code=f"import-{uuid.uuid4().hex[:12]}", name=name, is_template=False
        )
        session.add(questionnaire)
    measurement = Measurement(
        name=name, year=year, threshold=5, sensitive_threshold=10, questionnaire=questionnaire
    )
    session.add(measurement)
    session.flush()
    return measurement

"""A re-measurement date is never already past when the follow-up starts (found on the school
demo: a survey of the 2025 school year imported in autumn 2026 said "Måles igen senest 31.
januar 2026")."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.models import Measurement
from app.services.followup import remeasure_date


def test_the_end_of_january_after_the_survey_year() -> None:
    measurement = Measurement(year=2026, created_at=datetime(2026, 3, 1, tzinfo=UTC))
    assert remeasure_date(measurement) == date(2027, 1, 31)


def test_a_survey_imported_in_a_later_year_is_measured_again_after_the_import() -> None:
    measurement = Measurement(year=2025, created_at=datetime(2026, 10, 20, tzinfo=UTC))
    assert remeasure_date(measurement) == date(2027, 1, 31)


def test_a_date_set_on_the_measurement_wins() -> None:
    measurement = Measurement(
        year=2025, created_at=datetime(2026, 10, 20, tzinfo=UTC), remeasure_on=date(2026, 12, 1)
    )
    assert remeasure_date(measurement) == date(2026, 12, 1)

"""The unit page's results section reads the unit's, its parent's and the organisation's
figures in one query, last year's with the codes it continues in another, then the questions,
and the display with the organisation's kind and the reference figures: four queries (nine
or ten before), the same figures as reading each on its own."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Unit
from app.services import results as results_service
from tests.followup_data import measure


def test_a_unit_view_reads_the_same_figures_as_one_by_one_in_few_queries(
    app: Flask, org: dict[str, str], count_queries: Callable[[], AbstractContextManager[list[str]]]
) -> None:
    with app.app_context():
        last_year = measure("APV 2025", 2025)
        this_year = measure("APV 2026", 2026)
        measurements = results_service.measurements_with_figures(db.session)
        units = list(db.session.scalars(select(Unit).order_by(Unit.code)))
        seen_parent = seen_root = seen_last_year = 0
        for unit in units:
            with count_queries() as statements:
                view = results_service.unit_view(
                    db.session, unit, this_year, measurements=measurements
                )
            assert len(statements) <= 4, [s[:60] for s in statements]
            own = results_service._figures(db.session, this_year.id, unit.id)
            assert view.figures is own
            parent_id = own.parent_unit_id if own else None
            assert view.parent is results_service._shown(
                results_service._figures(db.session, this_year.id, parent_id)
            )
            root = results_service._shown(results_service.organisation_root(db.session, this_year))
            assert view.organisation is (None if root is not None and own is root else root)
            before = results_service._shown(
                results_service._figures(db.session, last_year.id, unit.id)
            )
            assert view.last_year is before and view.previous is not None
            assert view.previous.id == last_year.id
            seen_parent += view.parent is not None
            seen_root += view.organisation is not None
            seen_last_year += view.last_year is not None
        assert seen_parent and seen_root and seen_last_year  # the comparisons were there

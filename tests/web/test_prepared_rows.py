"""The overview's rows and the analysis step's indicator table are prepared from the release
(issue 16): made once, read by every later view, and made anew after a new release."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.blueprints.results import routes as results_routes
from app.extensions import db
from app.models import Measurement, PreparedSection
from app.services import results as results_service
from app.services.figures import compute_figures
from tests.conftest import login
from tests.web.test_imports_web import setup_admin
from tests.web.test_prepared_and_access import _file, _import


def _never(*_: object, **__: object) -> None:
    raise AssertionError("made again instead of read")


def _new_release(app: Flask, measurement_id: int) -> None:
    """The measurement's figures computed again (as an import or a change of its rules)."""
    with app.app_context():
        compute_figures(db.session, db.session.get(Measurement, measurement_id))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(PreparedSection)) == 0


def _table(page: str) -> str:
    return re.search(r"<tbody>.*?</tbody>", page, re.S).group(0)  # type: ignore[union-attr]


def _indicators(page: str) -> str:
    found = re.search(r"<h2>Indikatorerne side om side</h2>.*?</table>", page, re.S)
    assert found is not None
    return found.group(0)


def _cells(page: str) -> list[str]:
    """Each row's figures (after the unit's name), in any order."""
    return sorted(re.findall(r"</th>(.*?)</tr>", _table(page), re.S))


def test_the_overview_rows_are_made_once_and_again_after_a_new_release(
    app: Flask, org, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    measurement_id = setup_admin(app, make_user, org)
    hr = app.test_client()
    login(hr, "hr@x.dk")
    _import(hr, measurement_id, _file("A"))
    first = hr.get("/results/").get_data(as_text=True)
    assert "Team 1" in first and "Team 3" in first
    with monkeypatch.context() as patch:
        patch.setattr(results_routes, "render_overview_cells", _never)
        again = hr.get("/results/?sort=overall").get_data(as_text=True)
        assert _cells(again) == _cells(first) and len(_cells(first)) == 6
        # The filter (htmx) reads the same rows.
        part = hr.get("/results/?q=team", headers={"HX-Request": "true"})
        assert part.status_code == 200 and "Team 2" in part.get_data(as_text=True)

    _new_release(app, measurement_id)
    made: list[int] = []
    real = results_routes.render_overview_cells

    def counting(rows, *args):  # noqa: ANN001, ANN202
        made.append(len(rows))
        return real(rows, *args)

    monkeypatch.setattr(results_routes, "render_overview_cells", counting)
    assert _table(hr.get("/results/").get_data(as_text=True)) == _table(first)
    assert made == [6]  # R, A, B and the three teams, once


def test_the_analysis_step_reads_its_prepared_indicator_table(
    app: Flask, org, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    measurement_id = setup_admin(app, make_user, org)
    hr = app.test_client()
    login(hr, "hr@x.dk")
    _import(hr, measurement_id, _file("A"))
    assert hr.post(f"/followup/{measurement_id}/A1/start").status_code == 302
    step = f"/followup/{measurement_id}/A1/analysis"
    first = _indicators(hr.get(step).get_data(as_text=True))
    assert "Team 1" in first
    with monkeypatch.context() as patch:
        patch.setattr(results_service, "unit_view", _never)
        assert _indicators(hr.get(step).get_data(as_text=True)) == first

    _new_release(app, measurement_id)
    calls: list[int] = []
    real = results_service.unit_view

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(results_service, "unit_view", counting)
    assert _indicators(hr.get(step).get_data(as_text=True)) == first
    assert calls == [1]


@pytest.mark.parametrize("code", ["AK-BF-001", "A B", "Ø/æ&x=1", "100%", "a+b?c#d", "'q'"])
def test_the_overviews_links_are_written_as_url_for_writes_them(app: Flask, code: str) -> None:
    from flask import url_for
    from markupsafe import escape

    measurement = Measurement(id=7)
    with app.test_request_context("/"):
        # Escaped for the href attribute, as a template would print url_for's.
        unit_href = results_routes._unit_href(measurement)(code)
        assert unit_href == escape(url_for("main.unit", code=code, m=7))
        assert results_routes._subtree_href(measurement)(code) == escape(
            url_for("results.overview", m=7, root=code)
        )

"""The results overview reads little, whatever the organisation's size (session 10): its rows
in one statement of plain columns, last year's overall score joined in, the previous
measurement found among those already read, the prepared row figures in one short statement;
and its rows built in Python print the same bytes as the Jinja loop they replace."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask
from markupsafe import Markup

from app.blueprints.results import routes as results_routes
from app.extensions import db
from app.models import Measurement, PreparedSection, Role
from app.services import prepared
from app.services import results as results_service
from tests.conftest import login
from tests.services.test_figures import load, team
from tests.web.test_imports_web import setup_admin
from tests.web.test_prepared_and_access import _file, _import
from tests.web.test_prepared_rows import _table
from tests.web.test_results_web import LAST_YEAR, THIS_YEAR

# The signed-in user and their access, the measurements, the display and reference figures,
# the questions' themes, the rows (with last year's and their prepared figures): 5 for HR
# (a leader's units one more), whatever the number of units (9 and 10 before session 10).
OVERVIEW_QUERIES = {"hr": 5, "leader": 6}


@pytest.mark.parametrize("extra_teams", [3, 2 * prepared.MANY])
def test_the_overview_asks_the_same_few_questions_for_a_small_or_a_large_organisation(
    app: Flask, org, make_user, count_queries, extra_teams: int
) -> None:
    measurement_id = setup_admin(app, make_user, org)
    make_user("leder.a@x.dk", [(Role.LEADER, "A")])
    hr = app.test_client()
    login(hr, "hr@x.dk")
    _import(hr, measurement_id, _file("A", extra_teams=extra_teams))
    leader = app.test_client()
    login(leader, "leder.a@x.dk")
    seen = {"hr": (hr, 6 + extra_teams), "leader": (leader, 3 + (extra_teams + 1) // 2)}
    for who, (client, units) in seen.items():
        first = client.get("/results/").get_data(as_text=True)  # row figures made and kept
        with count_queries() as statements:
            again = client.get("/results/")
        assert _table(again.get_data(as_text=True)) == _table(first)
        assert f"{units} enheder" in first
        assert len(statements) <= OVERVIEW_QUERIES[who], statements


def test_the_previous_measurement_found_among_those_read_is_the_one_the_database_gives(
    app: Flask,
) -> None:
    with app.app_context():
        load(LAST_YEAR, name="APV 2023", year=2023)
        load(LAST_YEAR, name="APV 2024", year=2024)
        load(THIS_YEAR, name="APV 2025", year=2025)
        load([team("A1", "A", 6, ("FT-01",))], name="Trivsel 2024", year=2024, template="gym")
        this_year = db.session.query(Measurement).filter_by(name="APV 2025").one()
        again = [team("A1", "A", 7)]
        load(again, name="Genmåling 2025", year=2025, remeasure_of_id=this_year.id)
        measurements = results_service.measurements_with_figures(db.session)
        assert len(measurements) == 5
        for measurement in measurements:
            asked = results_service.previous_measurement(db.session, measurement)
            found = results_service.previous_measurement(
                db.session, measurement, among=measurements
            )
            assert found is asked, measurement.name
        # Same questionnaire first: 2024's APV, not the newer-by-id gym measurement.
        assert (
            results_service.previous_measurement(db.session, this_year, among=measurements).name
            == "APV 2024"
        )  # type: ignore[union-attr]


def test_prepared_parts_are_read_alike_for_a_few_units_or_many(app: Flask, org, make_user) -> None:
    measurement_id = setup_admin(app, make_user, org)
    hr = app.test_client()
    login(hr, "hr@x.dk")
    _import(hr, measurement_id, _file("A", extra_teams=2 * prepared.MANY))
    assert hr.get("/results/").status_code == 200  # every row's figures kept
    with app.app_context():
        kept = {
            p.unit_id: p.html
            for p in db.session.query(PreparedSection).filter(
                PreparedSection.measurement_id == measurement_id,
                PreparedSection.locale == "da:r100",
            )
        }
        version = prepared.current_version(db.session, app.config["PREPARED_VERSION"])
        ids = sorted(kept)
        assert len(ids) > prepared.MANY + 5
        for wanted in (ids[:3], ids[: prepared.MANY], ids[: prepared.MANY + 5], ids, [-1]):
            found = prepared.find_many(db.session, measurement_id, wanted, "da:r100", version)
            assert found == {i: kept[i] for i in wanted if i in kept}
        assert prepared.find_many(db.session, measurement_id, ids, "da:r5", version) == {}
        assert prepared.find_many(db.session, measurement_id, ids, "da:r100", "old") == {}


# The overview's rows as the template printed them before they were built in Python.
JINJA_ROWS = """  <tbody>
  {% for row in rows %}
  <tr>
    <th scope="row" class="weight-normal kompas-depth-{{ (row.depth if row.depth < 6 else 6) if not flat else 0 }}">
      <a href="{{ unit_url(row.code) }}">{{ row.name }}</a>
      {% if row.has_children and not flat and row.code != root %}<a class="kompas-subtree d-print-none" href="{{ subtree_url(row.code) }}"><span class="sr-only">{{ _('Show only the part under %(name)s', name=row.name) }}</span><span aria-hidden="true">⤵</span></a>{% endif %}
    </th>
    {{ cells[row.unit_id] }}
  </tr>
  {% endfor %}
  </tbody>"""  # noqa: E501 - as the template had it


@pytest.mark.parametrize(("flat", "root"), [(False, ""), (True, ""), (False, "A&B")])
def test_the_rows_built_in_python_print_what_the_template_printed(
    app: Flask, flat: bool, root: str
) -> None:
    names = ["Åby <Kommune>", 'Team "1" & co', "Skolen's klasse", "Plain"]
    codes = ["A&B", "T 1/æ?x=1", "K#2+3", "plain-code_1.x~"]
    rows = [
        SimpleNamespace(unit_id=i, code=code, name=name, depth=depth, has_children=i % 2 == 0)
        for i, (code, name, depth) in enumerate(zip(codes * 2, names * 2, range(8), strict=True))
    ]
    cells = {i: f"<td>{i} &amp; figures</td>" for i in range(len(rows))}
    measurement = Measurement(id=7, name="M")
    with app.test_request_context("/results/"):
        # As the route routed each address before (werkzeug quoting every code).
        from urllib.parse import quote_plus

        from flask import url_for
        from werkzeug.routing import BaseConverter

        quoted = BaseConverter(app.url_map).to_url

        def unit_url(code: str) -> str:
            return url_for("main.unit", code="X", m=7).replace("X", quoted(code), 1)

        def subtree_url(code: str) -> str:
            base = url_for("results.overview", m=7, root="X")
            return base.replace("X", quote_plus(code, safe=results_routes.QUERY_SAFE))

        assert unit_url("A&B") == url_for("main.unit", code="A&B", m=7)
        assert subtree_url("T 1/æ?x=1") == url_for("results.overview", m=7, root="T 1/æ?x=1")
        expected = app.jinja_env.from_string(JINJA_ROWS).render(
            rows=rows,
            cells={i: Markup(html) for i, html in cells.items()},  # noqa: S704 - test markup
            flat=flat,
            root=root,
            unit_url=unit_url,
            subtree_url=subtree_url,
        )
        body = results_routes.overview_body(
            rows,  # type: ignore[arg-type]
            cells,
            measurement,
            flat=flat,
            root=root,
        )
        built = app.jinja_env.from_string("  <tbody>\n  {{ body }}\n  </tbody>").render(body=body)
    assert built == expected
    assert "&lt;Kommune&gt;" in built and "<td>3 &amp; figures</td>" in built

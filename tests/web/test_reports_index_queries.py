"""The reports page's unit choice (HR: the organisation and two levels below it; a leader:
their units and those just below) in one query, and its years from the measurements."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Role, Unit
from tests.conftest import login
from tests.followup_data import measure


def _offered(page: str) -> list[str]:
    select = page.split('id="unit" name="unit">', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]+)">', select)


def test_the_unit_choice_goes_two_levels_down_for_hr_and_one_below_a_leader(
    app: Flask, client: FlaskClient, org, make_user, count_queries
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    with app.app_context():
        a1 = db.session.query(Unit).filter_by(code="A1").one()
        db.session.add(Unit(code="A1x", name="Enhed A1x", unit_type="team", parent=a1))
        measurement = measure()  # its file may add units of its own
        year = measurement.year
        db.session.commit()
        units = db.session.query(Unit).all()
        parents = {u.id: u.parent_id for u in units}

        def depth(unit_id: int | None) -> int:
            return -1 if unit_id is None else 1 + depth(parents[unit_id])

        shallow = sorted(u.code for u in units if depth(u.id) <= 2)
        assert "A1x" not in shallow and {"R", "A1", "B1"} <= set(shallow)
    login(client, "hr@x.dk")
    client.get("/reports/")
    with count_queries() as statements:
        page = client.get("/reports/").get_data(as_text=True)
    assert _offered(page) == shallow  # by code; not A1x, three levels down
    assert f'<option value="{year}">{year}</option>' in page
    # The user and roles, the archive, the units, the measurements (years come from them).
    assert len(statements) <= 5, statements
    client.post("/auth/logout")
    leader = app.test_client()
    login(leader, "leder@x.dk")
    assert _offered(leader.get("/reports/").get_data(as_text=True)) == ["A", "A1", "A2"]

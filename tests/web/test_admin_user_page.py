"""HR's page of one user: every role with its unit, in the order given, in few questions."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Role, User
from tests.conftest import login


def test_the_user_page_lists_each_role_with_its_unit_in_few_questions(
    app: Flask, client: FlaskClient, org, make_user, count_queries
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    make_user("many@x.dk", [(Role.LEADER, "B1"), (Role.MEMBER, "A"), (Role.COMMITTEE, "R")])
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "many@x.dk"))
    login(client, "hr@x.dk")
    client.get(f"/admin/users/{user_id}")
    with count_queries() as statements:
        response = client.get(f"/admin/users/{user_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td>", page)
    assert rows == ["Enhed B1 (B1)", "Enhed A (A)", "Enhed R (R)"]  # as they were given
    # The signed-in user, the user, the example unit, the roles with their units, the
    # units offered.
    assert len(statements) <= 5, statements

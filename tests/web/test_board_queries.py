"""What a card move and the board ask the database, and that a move writes all or nothing.

A move answers with the board made before its commit (from what it wrote), so the user and
the action are not read again after it; the columns count their cards in the cards' query;
the filters' themes and owners are read only for the whole page.
"""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import Action, ActionUpdate, AuditEvent
from tests.conftest import login
from tests.web.test_board_web import actions  # noqa: F401 - the fixture

HX = {"HX-Request": "true"}


def _counts(page: str) -> dict[int, int]:
    """The count in each column's heading, by status."""
    return {
        int(status): int(n)
        for status, n in re.findall(
            r'id="column-(\d)">[^<]*<span class="kompas-muted">\((\d+)\)</span>', page
        )
    }


def _column_of(page: str, action_id: int) -> int:
    cards = re.split(r'data-status="(\d)"', page)
    for status, html in zip(cards[1::2], cards[2::2], strict=True):
        if f'id="card-{action_id}"' in html.split("</ol>")[0]:
            return int(status)
    raise AssertionError(f"card {action_id} is not on the board")


def test_a_move_answers_with_the_card_in_its_new_column_in_few_questions(
    app: Flask,
    client: FlaskClient,
    actions,
    count_queries,  # noqa: F811
) -> None:
    login(client, "leder@x.dk")
    board = client.get("/board/?unit=A1", headers=HX).get_data(as_text=True)
    before = _counts(board)
    assert _column_of(board, actions["later"]) == 0
    with count_queries() as statements:
        response = client.post(
            f"/board/actions/{actions['later']}/move",
            data={"status": 2, "version": 1, "was": 0, "return_to": "/board/?unit=A1"},
            headers=HX,
        )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # The user, the action, the update, its history row and audit event, then the board:
    # its unit's tree, the cards with their counts; nothing read again after the commit.
    assert len(statements) <= 9, statements
    assert _column_of(page, actions["later"]) == 2
    after = _counts(page)
    assert after[0] == before[0] - 1 and after[2] == before.get(2, 0) + 1
    assert 'data-focus="move-' + str(actions["later"]) + '-on"' in page
    assert "står nu på" in page or "is now at" in page
    with app.app_context():  # committed: another session sees all three rows
        assert db.session.get(Action, actions["later"]).version == 2
        assert db.session.scalar(select(func.count()).select_from(ActionUpdate)) == 1
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "action.status")
            )
            == 1
        )


def test_a_stale_move_writes_nothing_at_all(
    app: Flask,
    client: FlaskClient,
    actions,  # noqa: F811
) -> None:
    """The update, its history row and its audit event go in one flush: a version that is
    no longer current leaves none of them."""
    login(client, "leder@x.dk")
    assert (
        client.post(
            f"/board/actions/{actions['later']}/move",
            data={"status": 1, "version": 1, "return_to": "/board/?unit=A1"},
            headers=HX,
        ).status_code
        == 200
    )
    with app.app_context():
        # Someone else's move meanwhile, unseen by the next request's version check until
        # the UPDATE: the row is at version 3 while the form still says 2.
        action = db.session.get(Action, actions["later"])
        action.status = 3
        db.session.commit()
        assert action.version == 3
    response = client.post(
        f"/board/actions/{actions['later']}/move",
        data={"status": 2, "version": 3 - 1, "return_to": "/board/?unit=A1"},
        headers=HX,
    )
    assert response.status_code == 409
    assert _column_of(response.get_data(as_text=True), actions["later"]) == 3
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ActionUpdate)) == 1
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "action.status")
            )
            == 1
        )


def test_the_board_asks_few_questions_and_the_filters_only_on_the_page(
    client: FlaskClient,
    actions,
    count_queries,  # noqa: F811
) -> None:
    login(client, "leder@x.dk")
    client.get("/board/")
    with count_queries() as fragment:
        swapped = client.get("/board/?unit=A1&scope=subtree", headers=HX)
    with count_queries() as whole:
        page = client.get("/board/?unit=A1&scope=subtree")
    assert swapped.status_code == page.status_code == 200
    assert len(fragment) <= 6, fragment
    # The whole page also reads the measurements and the themes and owners it offers.
    assert len(whole) == len(fragment) + 2, whole
    assert 'id="owner"' in page.get_data(as_text=True)

"""What a card move and the board ask the database, and that a move writes all or nothing.

A move answers with the board made before its commit (from what it wrote), so the user and
the action are not read again after it; the columns count their cards in the cards' query;
the filters' themes and owners are read only for the whole page.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import Action, ActionUpdate, AuditEvent
from tests.conftest import login
from tests.web.test_board_web import _setup

HX = {"HX-Request": "true"}


@pytest.fixture
def actions(app: Flask, org, make_user) -> dict[str, int]:
    """Four actions on A1 (tests/web/test_board_web.py)."""
    return _setup(app, make_user)


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


def _history_and_audit_rows(app: Flask) -> tuple[int, int]:
    """The moves' history rows and their audit events, as another session reads them."""
    with app.app_context():
        history = db.session.scalar(select(func.count()).select_from(ActionUpdate))
        audit = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "action.status")
        )
    return history or 0, audit or 0


def test_a_move_answers_with_the_card_in_its_new_column_in_few_questions(
    app: Flask,
    client: FlaskClient,
    actions,
    count_queries,
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
    assert _history_and_audit_rows(app) == (1, 1)


def test_a_stale_move_writes_nothing_at_all(
    app: Flask,
    client: FlaskClient,
    actions,
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
    assert _history_and_audit_rows(app) == (1, 1)  # still only the first move's


def test_the_board_asks_few_questions_and_the_filters_only_on_the_page(
    client: FlaskClient,
    actions,
    count_queries,
) -> None:
    login(client, "leder@x.dk")
    client.get("/board/")
    with count_queries() as fragment:
        swapped = client.get("/board/?unit=A1&scope=subtree", headers=HX)
    with count_queries() as whole:
        page = client.get("/board/?unit=A1&scope=subtree")
    assert swapped.status_code == page.status_code == 200
    assert len(fragment) <= 5, fragment
    # The whole page also reads the measurements and the themes and owners it offers.
    assert len(whole) == len(fragment) + 2, whole
    assert 'id="owner"' in page.get_data(as_text=True)


def test_the_buttons_on_each_card_follow_the_move_rule_whoever_looks(
    app: Flask,
    actions,
    make_user,
) -> None:
    """The board decides the buttons per card from the roles held right on the card's unit
    where it can, and from the units below a role otherwise: the same answer as a move."""
    from app.models import Role, User
    from app.policy import load_access
    from app.services import board as service

    make_user("c@x.dk", [(Role.COMMITTEE, "R")])
    make_user("c1@x.dk", [(Role.COMMITTEE, "A1")])
    make_user("both@x.dk", [(Role.LEADER, "B"), (Role.MEMBER, "A1")])
    for email, board in [
        ("leder@x.dk", "/board/?unit=A&scope=subtree"),  # a role above the cards' unit
        ("m@x.dk", "/board/?unit=A1"),  # a role right on it
        ("owner@x.dk", "/board/?scope=mine"),  # the owner's card, from another unit
        ("c@x.dk", "/board/?unit=R&scope=subtree"),  # reads, moves nothing
        ("c1@x.dk", "/board/?unit=A1"),  # the same, with the role right on the unit
        ("both@x.dk", "/board/?unit=A1"),  # a deep role elsewhere, a member role here
    ]:
        viewer = app.test_client()
        login(viewer, email)
        response = viewer.get(board)
        assert response.status_code == 200, email
        page = response.get_data(as_text=True)
        checked = 0
        with app.app_context():
            user = db.session.scalar(select(User).where(User.email == email))
            access = load_access(db.session, user)
            for key in ("mine", "soon", "other", "later"):
                action = db.session.get(Action, actions[key])
                card = page.split(f'id="card-{action.id}"', 1)
                if len(card) == 1:
                    continue  # not on this board
                shown = "data-movable" in card[1].split(">", 1)[0]
                assert shown == service.may_move(db.session, access, user, action), (email, key)
                checked += 1
        assert checked, email

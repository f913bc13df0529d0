"""Rendered boards are cached while the change stamp stays: a change made anywhere (another
app server, a command, a plain session) shows at once, and access is never taken from the
cache."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from app import create_app
from app.extensions import db
from app.models import Action, AuditEvent, Role, Unit, User
from app.services import changes
from app.services.users import assign_role
from tests.conftest import login
from tests.web.test_board_web import _race_database

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def servers(app: Flask, tmp_path: Path) -> Iterator[tuple[Flask, Flask, int]]:
    """Two app servers (processes of their own caches) on one database, with members one@
    and two@ of A1 and one action there."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'shared.db'}"
    first = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    second = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    action_id = _race_database(first)
    yield first, second, action_id
    for server in (first, second):
        with server.app_context():
            db.session.remove()
            db.engine.dispose()


def _column_of(page: str, action_id: int) -> int:
    """The status of the column the card stands in."""
    card = page.index(f'id="card-{action_id}"')
    found = re.findall(r'data-status="(\d)"', page[:card])
    return int(found[-1])


def _stamp(app: Flask) -> int | None:
    with app.app_context():
        value = changes.current(db.session)
        db.session.remove()
        return value


def test_a_move_on_another_server_shows_at_once(servers) -> None:
    first, second, action_id = servers
    reader, mover = first.test_client(), second.test_client()
    login(reader, "one@x.dk")
    login(mover, "two@x.dk")
    url = "/board/?scope=unit&unit=A1"
    page = reader.get(url).get_data(as_text=True)
    assert _column_of(page, action_id) == 0
    assert reader.get(url).get_data(as_text=True) == page  # served from the cache
    assert len(first.extensions["kompas_board_html"]) == 1

    before = _stamp(first)
    assert (
        mover.post(
            f"/board/actions/{action_id}/move",
            data={"status": 3, "version": 1, "return_to": "/board/"},
        ).status_code
        == 302
    )
    assert _stamp(first) != before
    assert _column_of(reader.get(url).get_data(as_text=True), action_id) == 3

    # A write from outside any request (a command, a script through the models) counts too.
    with second.app_context():
        db.session.get(Action, action_id).title = "Nyt navn på handlingen"
        db.session.commit()
        db.session.remove()
    assert "Nyt navn på handlingen" in reader.get(url).get_data(as_text=True)


def test_access_is_checked_before_the_cache(servers) -> None:
    first, second, action_id = servers
    reader = first.test_client()
    login(reader, "one@x.dk")
    url = "/board/?scope=unit&unit=A1"
    assert reader.get(url).status_code == 200
    with second.app_context():
        one = db.session.scalar(select(User).where(User.email == "one@x.dk"))
        for assignment in one.roles:
            db.session.delete(assignment)
        b1 = db.session.scalar(select(Unit).where(Unit.code == "B1"))
        assign_role(db.session, None, one, b1, Role.MEMBER)
        db.session.commit()
        db.session.remove()
    # one@ is now a member of B1, not of A1: A1's board is not theirs any more.
    response = reader.get(url)
    assert response.status_code == 404
    assert "Samtidig" not in response.get_data(as_text=True)


def test_each_session_gets_its_own_csrf_token_from_a_cached_board(servers) -> None:
    first, _second, action_id = servers
    one, again = first.test_client(), first.test_client()
    login(one, "one@x.dk")
    login(again, "one@x.dk")  # the same user in another browser: another session
    first.config["WTF_CSRF_ENABLED"] = True
    url = "/board/?scope=unit&unit=A1"
    pages = [client.get(url).get_data(as_text=True) for client in (one, again)]
    assert len(first.extensions["kompas_board_html"]) == 1  # the second came from the cache
    tokens = [CSRF.findall(page) for page in pages]
    assert all(tokens) and tokens[0][-1] != tokens[1][-1]
    assert all("__kompas-csrf-token__" not in page for page in pages)
    response = again.post(
        f"/board/actions/{action_id}/move",
        data={"status": 1, "version": 1, "return_to": "/board/", "csrf_token": tokens[1][-1]},
    )
    assert response.status_code == 302  # accepted: the token is this session's


def test_what_no_page_shows_leaves_the_stamp(ctx: Flask, org, make_user) -> None:
    make_user("x@x.dk")
    stamp = changes.current(db.session)
    db.session.add(AuditEvent(action="test", object_type="none"))
    user = db.session.scalar(select(User).where(User.email == "x@x.dk"))
    user.last_login_at = db.func.now()
    db.session.commit()
    assert changes.current(db.session) == stamp

    user.name = "Et andet navn"
    assert changes.current(db.session) is None  # pending: this session's reads are its own
    db.session.commit()
    renamed = changes.current(db.session)
    assert renamed not in (None, stamp)

    db.session.execute(update(User).values(language="en"))  # a statement, not an object
    db.session.commit()
    assert changes.current(db.session) not in (None, renamed)

    stamp = changes.current(db.session)
    user.name = "Rullet tilbage"
    db.session.flush()
    db.session.rollback()
    assert changes.current(db.session) == stamp

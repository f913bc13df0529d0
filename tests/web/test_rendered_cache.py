"""Rendered pages are cached while the change stamps of what they show stay: a change made
anywhere (another app server, a command, a plain session) shows at once, a change elsewhere
keeps the cache, and access is never taken from the cache."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from app import create_app
from app.extensions import db
from app.models import Action, AuditEvent, Measurement, Role, Step, StepState, Unit, User
from app.models.changes import Area
from app.rendering import TOKEN_MARK
from app.services import changes, followup
from app.services.users import assign_role, create_user
from tests.conftest import PASSWORD, login
from tests.web.test_board_web import _race_database, _setup, move

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


def _mark_cached(app: Flask, cache: str = "kompas_board_html", text: str = "Samtidig") -> None:
    """Marks the one page in the app's cache, so that a page served from it shows."""
    entries = app.extensions[cache]
    ((key, parts),) = entries.items()
    entries[key] = (parts[0].replace(text, f"{text} (fra cachen)"), *parts[1:])


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
    _mark_cached(first)
    assert "(fra cachen)" in reader.get(url).get_data(as_text=True)

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
    pages = [one.get(url).get_data(as_text=True)]
    _mark_cached(first)
    pages.append(again.get(url).get_data(as_text=True))
    assert "(fra cachen)" in pages[1]
    tokens = [CSRF.findall(page) for page in pages]
    assert all(tokens) and tokens[0][-1] != tokens[1][-1]
    assert all(TOKEN_MARK not in page for page in pages)
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


def test_each_write_replaces_the_stamp_of_its_own_area(app: Flask, org, make_user) -> None:
    actions = _setup(app, make_user)

    def stamps() -> dict[Area, tuple[int, ...] | None]:
        return {area: changes.current(db.session, [area]) for area in Area}

    with app.app_context():
        before = stamps()
        db.session.get(Action, actions["mine"]).title = "Nyt navn"
        db.session.commit()
        after_plan = stamps()
        assert after_plan[Area.ACTIONS] != before[Area.ACTIONS]
        assert after_plan[Area.RESULTS] == before[Area.RESULTS]
        assert after_plan[Area.PLANS] == before[Area.PLANS]
        assert after_plan[Area.OTHER] == before[Area.OTHER]

        db.session.get(Measurement, actions["measurement"]).name = "Måling med nyt navn"
        db.session.commit()
        after_results = stamps()
        assert after_results[Area.RESULTS] != after_plan[Area.RESULTS]
        assert after_results[Area.ACTIONS] == after_plan[Area.ACTIONS]
        db.session.remove()


def test_the_results_overview_is_kept_over_moves_and_made_anew_after_results(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    actions = _setup(app, make_user)
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    app.extensions.pop("kompas_overview_html", None)
    assert "Enhed A1" in client.get("/results/").get_data(as_text=True)
    _mark_cached(app, "kompas_overview_html", "Enhed A1")
    assert "Enhed A1 (fra cachen)" in client.get("/results/").get_data(as_text=True)

    moved = move(client, actions["mine"], 2, 1)
    assert moved.status_code == 302
    assert "Enhed A1 (fra cachen)" in client.get("/results/").get_data(as_text=True)

    with app.app_context():
        db.session.get(Measurement, actions["measurement"]).green_from = 90
        db.session.commit()
        db.session.remove()
    page = client.get("/results/").get_data(as_text=True)
    assert "Enhed A1" in page and "(fra cachen)" not in page

    # ?root= is checked on every request, not taken from the cache.
    make_user("leder.b@x.dk", [(Role.LEADER, "B")])
    other = app.test_client()
    login(other, "leder.b@x.dk")
    assert other.get("/results/?root=B").status_code == 200
    assert other.get("/results/?root=A").status_code == 404


def test_the_unit_page_is_kept_over_moves_and_made_anew_when_its_follow_up_moves_on(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    actions = _setup(app, make_user)
    login(client, "leder@x.dk")
    app.extensions.pop("kompas_unit_html", None)
    assert "Analyse" in client.get("/units/A1").get_data(as_text=True)
    entries = app.extensions["kompas_unit_html"]
    ((key, parts),) = entries.items()
    entries[key] = (parts[0], parts[1].replace("<h1>", "<h1>(fra cachen) "))
    assert "(fra cachen)" in client.get("/units/A1").get_data(as_text=True)

    assert move(client, actions["mine"], 3, 1).status_code == 302  # no action is on the page
    assert "(fra cachen)" in client.get("/units/A1").get_data(as_text=True)

    with app.app_context():
        leader = db.session.scalar(select(User).where(User.email == "leder@x.dk"))
        unit = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        measurement = db.session.get(Measurement, actions["measurement"])
        follow_up = followup.find(db.session, measurement, unit)
        followup.save_step(db.session, leader, follow_up, Step.ANALYSIS, {}, StepState.DONE)
        db.session.commit()
        db.session.remove()
    page = client.get("/units/A1").get_data(as_text=True)
    assert "(fra cachen)" not in page and "Forberedelse" in page


def test_a_commit_inside_a_stamped_view_reads_the_stamps_again(ctx: Flask, org) -> None:
    with ctx.test_request_context("/"):

        @changes.stamped
        def view() -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
            before = changes.current(db.session)
            db.session.get(Unit, db.session.scalar(select(Unit.id).limit(1))).name = "Ny"
            db.session.commit()
            return before, changes.current(db.session)

        before, after = view()
        assert before is not None and after is not None and before != after


def test_admins_share_the_unit_page_and_nobody_else_gets_theirs(app: Flask, org, make_user) -> None:
    """What an admin sees of a unit page depends on what they may do (everything), not on
    who they are; a leader of the unit sees it by their own rights."""
    _setup(app, make_user)
    make_user("hr1@x.dk", [(Role.ADMIN, "R")])
    make_user("hr2@x.dk", [(Role.ADMIN, "R"), (Role.LEADER, "B")])
    first, second, leader = app.test_client(), app.test_client(), app.test_client()
    login(first, "hr1@x.dk")
    login(second, "hr2@x.dk")
    login(leader, "leder@x.dk")
    app.extensions.pop("kompas_unit_html", None)
    assert first.get("/units/A1").status_code == 200
    entries = app.extensions["kompas_unit_html"]
    ((key, parts),) = entries.items()
    entries[key] = (parts[0], parts[1].replace("<h1>", "<h1>(fra cachen) "))

    assert "(fra cachen)" in second.get("/units/A1").get_data(as_text=True)
    assert "(fra cachen)" not in leader.get("/units/A1").get_data(as_text=True)
    assert len(entries) == 2  # the admins' page and the leader's


def test_the_tree_each_process_keeps_follows_every_change_to_units(servers) -> None:
    """The unit page finds the unit, and a leader's rights, in the process's copy of the
    tree (app/services/unit_directory.py): a unit renamed or moved on another app server
    shows at once."""
    first, second, _ = servers
    with second.app_context():
        leader = create_user(db.session, None, email="l@x.dk", name="L", password=PASSWORD)
        assign_role(db.session, None, leader, db.session.scalar(select(Unit).filter_by(code="A")),
                    Role.LEADER)  # fmt: skip
        db.session.commit()
    client = first.test_client()
    login(client, "l@x.dk")
    assert "<title>Enhed A1 –" in client.get("/units/A1").get_data(as_text=True)
    assert client.get("/units/B1").status_code == 404

    with second.app_context():
        db.session.execute(update(Unit).where(Unit.code == "A1").values(name="Hold 1"))
        db.session.commit()
    assert "<title>Hold 1 –" in client.get("/units/A1").get_data(as_text=True)

    with second.app_context():  # B1 moves under A, A1 under B: the leader's rights follow
        ids = dict(db.session.execute(select(Unit.code, Unit.id)).tuples().all())
        db.session.execute(update(Unit).where(Unit.code == "B1").values(parent_id=ids["A"]))
        db.session.execute(update(Unit).where(Unit.code == "A1").values(parent_id=ids["B"]))
        db.session.commit()
        db.session.remove()
    assert client.get("/units/B1").status_code == 200
    assert client.get("/units/A1").status_code == 404


def test_a_unit_page_from_the_cache_asks_the_database_one_question(
    app: Flask, org, make_user
) -> None:
    """Who the user is, with the stamps in the same query: under load every round trip to
    the database is a chance to wait for a CPU (bench/load_bench.py)."""
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    client = app.test_client()
    login(client, "leder@x.dk")
    assert client.get("/units/A1").status_code == 200  # made, and the tree read
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001 - event signature
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/units/A1").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "change_stamp" in statements[0], statements

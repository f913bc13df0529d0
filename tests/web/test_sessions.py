"""Sessions and set-password links belong to one account, not to an id (issue 17).

A user's id is never given to another account, and every session and set-password link
carries the account's secret: sign-out, a password change, deactivation, deletion and a newer
set-password link change it, which ends every session and every older link at once.
"""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Role, User
from tests.conftest import PASSWORD, login


def _signed_in(client: FlaskClient) -> bool:
    response = client.get("/units/A1")
    if response.status_code == 302:
        assert "/auth/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def _new_user(client: FlaskClient, email: str) -> int:
    """An admin creates a user through the admin page, as HR does; the new user's id."""
    response = client.post("/admin/users", data={"name": email, "email": email, "language": "da"})
    assert response.status_code == 302, response.data[:500]
    return int(re.search(r"/admin/users/(\d+)", response.headers["Location"]).group(1))


def _set_password_link(client: FlaskClient, user_id: int) -> str:
    page = client.post(f"/admin/users/{user_id}/set-password-link").get_data(as_text=True)
    return re.search(r"http://localhost(/auth/set-password/[^<\s\"]+)", page).group(1)


def _signed_in_pair(app: Flask, email: str) -> tuple[FlaskClient, FlaskClient]:
    first, second = app.test_client(), app.test_client()
    login(first, email)
    login(second, email)
    assert _signed_in(first) and _signed_in(second)
    return first, second


def test_a_deleted_users_id_and_link_do_not_pass_to_the_next_user(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    """A link sent to a mistyped address, then the user deleted: the next user made must not
    get the id, nor can the old link set their password."""
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    typo = _new_user(client, "typo@x.dk")
    link = _set_password_link(client, typo)
    assert client.post(f"/admin/users/{typo}/delete").status_code == 302
    admin = _new_user(client, "new.admin@x.dk")
    client.post(f"/admin/users/{admin}/roles", data={"unit_code": "R", "role": "admin"})
    client.post("/auth/logout")
    assert client.get(link).status_code == 404
    response = client.post(link, data={"password": "taken over 123", "confirm": "taken over 123"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(User.password_hash).where(User.id == admin)) is None
    assert admin != typo  # ids are never reused


def test_a_deleted_users_session_does_not_sign_in_the_next_user(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    leaving = make_user("leaving@x.dk", [(Role.MEMBER, "A1")])
    theirs = app.test_client()
    login(theirs, "leaving@x.dk")
    assert _signed_in(theirs)
    login(client, "hr@x.dk")
    assert client.post(f"/admin/users/{leaving.id}/delete").status_code == 302
    successor = _new_user(client, "successor@x.dk")
    client.post(f"/admin/users/{successor}/roles", data={"unit_code": "A1", "role": "member"})
    assert not _signed_in(theirs)
    assert "successor" not in theirs.get("/").get_data(as_text=True)


def test_sign_out_ends_every_session_of_the_user(app: Flask, org, make_user) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    first, second = _signed_in_pair(app, "m@x.dk")
    assert first.post("/auth/logout").status_code == 302
    assert not _signed_in(second)
    assert not _signed_in(first)
    login(second, "m@x.dk")  # signing in again works
    assert _signed_in(second)


def test_a_copied_session_cookie_is_dead_after_sign_out(app: Flask, org, make_user) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    victim = app.test_client()
    login(victim, "m@x.dk")
    stolen = victim.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert _signed_in(thief)  # the copy works while the session lives
    victim.post("/auth/logout")
    thief.set_cookie("session", stolen)
    assert not _signed_in(thief)


def test_a_password_change_ends_the_other_sessions_but_not_this_one(
    app: Flask, org, make_user
) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    mine, other = _signed_in_pair(app, "m@x.dk")
    response = mine.post(
        "/auth/password",
        data={"current": PASSWORD, "password": "a new secret 1", "confirm": "a new secret 1"},
    )
    assert response.status_code == 302
    assert _signed_in(mine)
    assert not _signed_in(other)


def test_a_password_set_by_link_ends_every_session(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    user = make_user("m@x.dk", [(Role.MEMBER, "A1")])
    theirs = app.test_client()
    login(theirs, "m@x.dk")
    login(client, "hr@x.dk")
    link = _set_password_link(client, user.id)
    client.post("/auth/logout")
    response = client.post(link, data={"password": "my own secret", "confirm": "my own secret"})
    assert response.status_code == 302
    assert not _signed_in(theirs)


def test_deactivation_ends_sessions_for_good(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    """Activating the account again does not bring the old sessions back."""
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    user = make_user("m@x.dk", [(Role.MEMBER, "A1")])
    theirs = app.test_client()
    login(theirs, "m@x.dk")
    login(client, "hr@x.dk")
    assert client.post(f"/admin/users/{user.id}/active").status_code == 302  # deactivated
    assert not _signed_in(theirs)
    assert client.post(f"/admin/users/{user.id}/active").status_code == 302  # active again
    assert not _signed_in(theirs)
    login(theirs, "m@x.dk")
    assert _signed_in(theirs)


def test_a_newer_set_password_link_ends_the_older_one(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    user = make_user("m@x.dk", [(Role.MEMBER, "A1")])
    login(client, "hr@x.dk")
    older = _set_password_link(client, user.id)
    newer = _set_password_link(client, user.id)
    client.post("/auth/logout")
    assert client.get(older).status_code == 404
    assert client.get(newer).status_code == 200
    response = client.post(newer, data={"password": "my own secret", "confirm": "my own secret"})
    assert response.status_code == 302
    assert client.get(newer).status_code == 404


def test_an_admin_making_their_own_link_stays_signed_in_here_only(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    admin = make_user("hr@x.dk", [(Role.ADMIN, "R")])
    elsewhere = app.test_client()
    login(elsewhere, "hr@x.dk")
    login(client, "hr@x.dk")
    _set_password_link(client, admin.id)
    assert _signed_in(client)
    assert not _signed_in(elsewhere)


def test_signed_in_pages_and_exports_are_not_stored_by_caches(
    client: FlaskClient, org, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "R")])
    login(client, "leder@x.dk")
    for path in ("/", "/units/A1", "/board/export.csv", "/board/export.xlsx", "/auth/profile"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response.headers.get("Cache-Control", ""), path
    static = client.get("/static/css/kompas.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


def test_the_api_answers_401_json_when_signed_out(app: Flask, org, make_user) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    first, second = _signed_in_pair(app, "m@x.dk")
    first.post("/auth/logout")
    for client in (first, second):  # never signed in here / the session ended elsewhere
        response = client.get("/api/v1/measurements/1/results")
        assert response.status_code == 401
        assert response.is_json and response.get_json()["error"] == "unauthorized"
        assert "Location" not in response.headers
    assert app.test_client().get("/units/A1").status_code == 302  # pages still go to sign-in

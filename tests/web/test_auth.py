"""Sign-in, sign-out, passwords, CSRF and rate limits."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Role, User
from tests.conftest import PASSWORD, login


def test_sign_in_lands_on_home_in_danish(client: FlaskClient, org, make_user) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A")], name="Lise Leder")
    response = client.post("/auth/login", data={"email": "LEDER@x.dk ", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Velkommen, Lise Leder" in page
    assert 'lang="da"' in page


def test_wrong_password_and_unknown_email_answer_the_same(client: FlaskClient, org, make_user):
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    wrong = client.post("/auth/login", data={"email": "leder@x.dk", "password": "nope"})
    unknown = client.post("/auth/login", data={"email": "ghost@x.dk", "password": "nope"})
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "Forkert e-mail eller adgangskode." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_deactivated_user_cannot_sign_in_nor_learn_the_password_was_right(
    client: FlaskClient, org, make_user
) -> None:
    make_user("gone@x.dk", [(Role.MEMBER, "A1")], active=False)
    right = client.post("/auth/login", data={"email": "gone@x.dk", "password": PASSWORD})
    wrong = client.post("/auth/login", data={"email": "gone@x.dk", "password": "not it at all"})
    for response in (right, wrong):
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "Forkert e-mail eller adgangskode." in page
        assert "deaktiveret" not in page
    assert client.get("/").status_code == 302


def test_deactivating_a_signed_in_user_ends_their_access(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    user = make_user("m@x.dk", [(Role.MEMBER, "A1")])
    login(client, "m@x.dk")
    assert client.get("/units/A1").status_code == 200
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert client.get("/units/A1").status_code == 302


def test_sign_out_needs_post_and_ends_the_session(client: FlaskClient, org, make_user) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    login(client, "m@x.dk")
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_next_parameter_cannot_leave_the_site(client: FlaskClient, org, make_user) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    response = client.post(
        "/auth/login?next=https://evil.example/x", data={"email": "m@x.dk", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"
    client.post("/auth/logout")
    response = client.post(
        "/auth/login?next=/units/A1", data={"email": "m@x.dk", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/units/A1"


def test_change_password(client: FlaskClient, org, make_user) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    login(client, "m@x.dk")
    bad = client.post(
        "/auth/password",
        data={"current": "wrong", "password": "a new secret 1", "confirm": "a new secret 1"},
    )
    assert "Den nuværende adgangskode er forkert." in bad.get_data(as_text=True)
    short = client.post(
        "/auth/password", data={"current": PASSWORD, "password": "short", "confirm": "short"}
    )
    assert 'id="password-error"' in short.get_data(as_text=True)
    ok = client.post(
        "/auth/password",
        data={"current": PASSWORD, "password": "a new secret 1", "confirm": "a new secret 1"},
    )
    assert ok.status_code == 302
    client.post("/auth/logout")
    login(client, "m@x.dk", "a new secret 1")


def test_set_password_link_works_once(app: Flask, client: FlaskClient, org, make_user) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    new = make_user("new@x.dk", [(Role.MEMBER, "A1")])
    login(client, "hr@x.dk")
    page = client.post(f"/admin/users/{new.id}/set-password-link").get_data(as_text=True)
    link = re.search(r"http://localhost(/auth/set-password/[^<\s]+)", page).group(1)
    client.post("/auth/logout")
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": "my own secret", "confirm": "my own secret"})
    assert response.status_code == 302
    login(client, "new@x.dk", "my own secret")
    client.post("/auth/logout")
    assert client.get(link).status_code == 404  # used: the password changed, the link died
    assert client.get("/auth/set-password/forged.token").status_code == 404


def test_passwords_are_hashed_with_argon2(ctx, org, make_user) -> None:
    user = make_user("m@x.dk")
    stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_sign_in_is_audited(client: FlaskClient, ctx, org, make_user) -> None:
    user = make_user("m@x.dk", [(Role.MEMBER, "A1")])
    login(client, "m@x.dk")
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.user_id == user.id))
    assert "auth.login" in list(actions)


def test_language_switch_to_english_and_back(client: FlaskClient, org, make_user) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    login(client, "m@x.dk")
    client.post("/auth/language", data={"language": "en", "next": "/units/A1"})
    page = client.get("/units/A1").get_data(as_text=True)
    assert 'lang="en"' in page and "Sign out" in page
    client.post("/auth/language", data={"language": "da", "next": "/"})
    assert "Log ud" in client.get("/").get_data(as_text=True)


def test_templates_follow_a_forced_language_within_a_request(app: Flask) -> None:
    """The templates' catalogue is looked up once per request, yet a report made in another
    language inside the request (force_locale) is in that language, and after it the page
    is in the request's own again."""
    from flask import render_template_string
    from flask_babel import force_locale

    with app.test_request_context("/"):
        assert render_template_string("{{ _('Sign out') }}") == "Log ud"
        with force_locale("en"):
            assert render_template_string("{{ _('Sign out') }}") == "Sign out"
        assert render_template_string("{{ _('Sign out') }}") == "Log ud"


def test_csrf_token_is_required(app: Flask, org, make_user) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        response = client.post("/auth/login", data={"email": "m@x.dk", "password": PASSWORD})
        # Signed out, a form without a valid token leads back to sign-in; nothing happens.
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
        assert client.get("/").status_code == 302
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post(
            "/auth/login", data={"email": "m@x.dk", "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302
        assert client.post("/auth/logout").status_code == 400  # no token: refused
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_login_is_rate_limited(app: Flask) -> None:
    from app.extensions import limiter

    limited = create_app("testing", {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"})
    try:
        with limited.app_context():
            db.create_all()
        client = limited.test_client()
        statuses = [
            client.post("/auth/login", data={"email": "m@x.dk", "password": "x"}).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        assert client.get("/auth/login").status_code == 200  # showing the form is not limited
    finally:
        # The limiter is one object shared by every app in the process: switch it off again.
        limiter.reset()
        limiter.enabled = False


def test_production_refuses_to_start_without_secret_key(monkeypatch) -> None:
    import pytest

    from app import ConfigurationError
    from config import ProductionConfig

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "")
    with pytest.raises(ConfigurationError):
        create_app("production")


def test_production_cookies_are_secure() -> None:
    app = create_app("production", {"SECRET_KEY": "x" * 32})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True

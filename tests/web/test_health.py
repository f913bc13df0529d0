from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError


def test_healthz_reports_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "jobs": "in-process"}


def test_healthz_answers_503_when_the_database_is_gone(client: FlaskClient, monkeypatch) -> None:
    from app.extensions import db

    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unavailable"


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/auth/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]


def test_behind_the_proxy_https_brings_hsts() -> None:
    from app import create_app

    app = create_app("testing", {"BEHIND_PROXY": True})
    from app.extensions import db

    with app.app_context():
        db.create_all()
    response = app.test_client().get("/auth/login", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    plain = app.test_client().get("/auth/login")
    assert "Strict-Transport-Security" not in plain.headers

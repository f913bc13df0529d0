"""Security checks across the whole app: CSRF on every form, upload limits, session expiry,
no passwords in the logs."""

from __future__ import annotations

import io
import logging
import re

import pytest
from flask import Flask

from app.models import Role
from tests.conftest import PASSWORD, login


def _post_urls(app: Flask) -> list[str]:
    """Every POST route with plausible arguments (numbers where the route wants numbers)."""
    from werkzeug.routing import IntegerConverter

    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        values: dict[str, object] = {}
        for name in rule.arguments:
            numeric = isinstance(rule._converters.get(name), IntegerConverter)
            values[name] = 1 if numeric else {"code": "A1", "step": "analysis"}.get(name, "x")
        with app.test_request_context():
            from flask import url_for

            urls.append(url_for(rule.endpoint, **values))
    return urls


def test_every_form_is_refused_without_a_csrf_token(app: Flask, org, make_user) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        # Sign in with a token (the form has one), then try every POST route without one.
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post(
            "/auth/login", data={"email": "hr@x.dk", "password": PASSWORD, "csrf_token": token}
        )
        urls = _post_urls(app)
        assert len(urls) > 25
        refused = {
            url: client.post(url, data={"status": 1, "version": 1}).status_code for url in urls
        }
        assert {url: code for url, code in refused.items() if code != 400} == {}
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_an_upload_over_the_limit_is_refused(app: Flask, client, org, make_user) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.post(
            "/imports/check",
            data={"measurement_id": "1", "file": (io.BytesIO(b"x" * 4096), "big.csv")},
            content_type="multipart/form-data",
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert "Filen er for stor" in response.get_data(as_text=True)


def test_the_session_expires(app: Flask, client, org, make_user) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    response = client.post("/auth/login", data={"email": "m@x.dk", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 8 * 3600


def test_passwords_never_reach_the_log(client, org, make_user, caplog: pytest.LogCaptureFixture):
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    with caplog.at_level(logging.DEBUG):
        client.post("/auth/login", data={"email": "m@x.dk", "password": "wrong-secret-123"})
        client.post("/auth/login", data={"email": "m@x.dk", "password": PASSWORD})
        client.post(
            "/auth/password",
            data={"current": PASSWORD, "password": "new-secret-456", "confirm": "new-secret-456"},
        )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("wrong-secret-123", PASSWORD, "new-secret-456"):
        assert secret not in logged


def test_server_errors_show_a_reference_and_log_it(
    app: Flask, client, org, make_user, caplog
) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    login(client, "m@x.dk")

    def boom() -> str:
        raise RuntimeError("boom")

    original = app.view_functions["main.units"]
    app.view_functions["main.units"] = boom
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error page, not a raise
    try:
        with caplog.at_level(logging.ERROR, logger="kompas.errors"):
            response = client.get("/units")
    finally:
        app.view_functions["main.units"] = original
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    reference = re.search(r"Reference: ([0-9A-F]{8})", response.get_data(as_text=True))
    assert reference and reference.group(1) in caplog.text


SECRET = "eyJ1aWQiOjd9.Zx-9_aB.secret-part"  # noqa: S105 - a made-up token


def test_tokens_are_kept_out_of_access_logs() -> None:
    """Set-password and calendar tokens are in URLs (links in e-mails, calendar apps), so the
    access log of gunicorn and of the development server writes them as [redacted]."""
    import importlib.util
    from datetime import timedelta
    from pathlib import Path
    from types import SimpleNamespace

    from gunicorn.config import Config

    from app.services.access_log import redact

    for url, kept in [
        (f"GET /auth/set-password/{SECRET} HTTP/1.1", "GET /auth/set-password/[redacted] HTTP/1.1"),
        (f"/board/calendar/{SECRET}.ics", "/board/calendar/[redacted].ics"),
        (
            f"https://k.dk/auth/set-password/{SECRET}?x=1",
            "https://k.dk/auth/set-password/[redacted]?x=1",
        ),
        ("GET /units/A1?m=3 HTTP/1.1", "GET /units/A1?m=3 HTTP/1.1"),
    ]:
        assert redact(url) == kept

    # gunicorn: the logger class gunicorn.conf.py names
    path = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    spec = importlib.util.spec_from_file_location("gunicorn_conf", path)
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    logger = conf.logger_class(Config())
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/auth/set-password/{SECRET}",
        "PATH_INFO": f"/auth/set-password/{SECRET}",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://k.dk/board/calendar/{SECRET}.ics",
        "REMOTE_ADDR": "10.0.0.1",
    }
    response = SimpleNamespace(status="302 FOUND", sent=0, headers=[])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    atoms = logger.atoms(response, request, environ, timedelta(seconds=1))
    assert SECRET not in repr(atoms)
    assert atoms["r"] == "POST /auth/set-password/[redacted] HTTP/1.1"
    record = logging.LogRecord(
        "gunicorn.error", logging.ERROR, __file__, 1, "Error handling request %s",
        (environ["RAW_URI"],), None,
    )  # fmt: skip
    assert logger.error_log.filter(record) and SECRET not in record.getMessage()

    # the development server (werkzeug's logger)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    werkzeug_logger = logging.getLogger("werkzeug")
    werkzeug_logger.addHandler(handler)
    try:
        from app import create_app

        create_app("testing")
        werkzeug_logger.warning('"%s" %s %s', f"GET /board/calendar/{SECRET}.ics HTTP/1.1", 200, 9)
    finally:
        werkzeug_logger.removeHandler(handler)
    assert SECRET not in stream.getvalue() and "[redacted].ics" in stream.getvalue()

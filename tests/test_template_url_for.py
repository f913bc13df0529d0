"""Templates route addresses without values once per script root (app/__init__.py): that
must stop by itself when routing could differ per request."""

from __future__ import annotations

from flask import render_template_string

from app import create_app


def test_a_url_defaults_function_is_honoured_after_addresses_were_routed() -> None:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    template = "{{ url_for('auth.login') }} {{ url_for('static', filename='css/kompas.css') }}"
    with app.test_request_context("/"):
        assert render_template_string(template) == "/auth/login /static/css/kompas.css"

    @app.url_defaults
    def add_marker(endpoint: str, values: dict[str, str]) -> None:
        values.setdefault("marker", "1")

    with app.test_request_context("/"):
        assert render_template_string(template) == (
            "/auth/login?marker=1 /static/css/kompas.css?marker=1"
        )
    with app.test_request_context("/", base_url="http://x/sub"):
        assert render_template_string("{{ url_for('auth.login') }}") == "/sub/auth/login?marker=1"

"""Kompas: from wellbeing survey results to actions that are done, evaluated and reported."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Flask, g, request, session
from flask_login import current_user
from markupsafe import Markup

from app import read_transactions
from app.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate
from config import config_for


class ConfigurationError(RuntimeError):
    pass


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_for(config_name))
    if overrides:
        app.config.update(overrides)
    if app.config.get("REDIS_URL") and not app.config.get("RATELIMIT_STORAGE_URI"):
        # Rate limits in Redis, shared by every app server, whenever Redis is configured.
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    if not app.config.get("SECRET_KEY"):
        raise ConfigurationError(
            "SECRET_KEY is not set. Set it in the environment (a long random string), "
            "or set KOMPAS_ENV=development to run locally."
        )
    if app.config.get("BEHIND_PROXY"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.config.setdefault("PREPARED_VERSION", prepared_version())
    from app.services.access_log import install_werkzeug_filter

    install_werkzeug_filter()  # the development server's request log: no tokens from URLs
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    read_transactions.init_app(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def _locale() -> str:
    from app.blueprints import select_locale

    return select_locale()


def prepared_version() -> str:
    """What rendered a prepared results section (app/services/prepared.py): a digest of the
    app's code, templates and translations, the same in every process of one deploy. A deploy
    that changes any of them reads no section made before it."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".html", ".po"} and "static" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def register_extensions(app: Flask) -> None:
    # Imported for their side effect: the models must be known before migrate/db use them.
    from app import models  # noqa: F401
    from app.blueprints import select_locale

    # JSON columns are written and read with the app's one JSON codec (orjson): the import's
    # bulk writers make the same text (app/domain/json_text.py).
    from app.domain import json_text

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "json_serializer": json_text.dumps,
        "json_deserializer": json_text.loads,
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    }
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)  # batch mode: SQLite can ALTER too
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app, locale_selector=select_locale, default_translation_directories="translations"
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    # No sign-in page for integrations: signed out, /api/v1/* answers 401 (JSON, see the api
    # blueprint), not a redirect to an HTML form.
    login_manager.blueprint_login_views["api"] = None  # type: ignore[assignment]

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to see this page.")

    from app.policy import load_signed_in, remember_rules

    @login_manager.user_loader
    def load_user(session_id: str) -> Any:
        # "<id>:<secret>" (User.get_id): a session made before the secret changed, or for an
        # account since deleted, loads nobody.
        user_id, _, secret = session_id.partition(":")
        if not (user_id.isascii() and user_id.isdigit()) or not secret or len(user_id) > 18:
            return None
        found = load_signed_in(db.session, int(user_id))
        if found is None:
            return None
        user, rules = found
        if not hmac.compare_digest(user.auth_secret.encode(), secret.encode()):
            return None
        remember_rules(rules)
        return user


def register_blueprints(app: Flask) -> None:
    from app.blueprints import BoundedIntegerConverter, BuiltWhenAskedRule

    app.url_map.converters["int"] = BoundedIntegerConverter
    app.url_rule_class = BuiltWhenAskedRule
    from app.blueprints.admin import bp as admin_bp
    from app.blueprints.api import bp as api_bp
    from app.blueprints.auth import bp as auth_bp
    from app.blueprints.board import bp as board_bp
    from app.blueprints.followup import bp as followup_bp
    from app.blueprints.health import bp as health_bp
    from app.blueprints.imports import bp as imports_bp
    from app.blueprints.main import bp as main_bp
    from app.blueprints.reports import bp as reports_bp
    from app.blueprints.results import bp as results_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(results_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(followup_bp)
    app.register_blueprint(board_bp)
    app.register_blueprint(reports_bp)

    # After an import is committed (in its job): the results sections everyone will open,
    # made before they do.
    from app.blueprints.results import preparing
    from app.services import import_jobs

    if preparing.schedule not in import_jobs.imported_listeners:
        import_jobs.imported_listeners.append(preparing.schedule)


def register_request_hooks(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Pages and htmx fragments share URLs: caches must keep them apart.
        headers.add("Vary", "HX-Request")
        if request.endpoint != "static" and session.get("_user_id"):
            # What a signed-in user sees (pages, exports, reports) stays out of every cache,
            # the browser's included: no one at a shared computer reads it back after sign-out.
            headers.setdefault("Cache-Control", "no-store")
        return response

    @app.teardown_request
    def forget_access(_exc: BaseException | None) -> None:
        g.pop("access", None)


def register_errorhandlers(app: Flask) -> None:
    """Error pages in the user's language, each with a reference a user can quote to HR or
    support; server errors are logged with the same reference."""
    import logging
    import secrets

    from flask import render_template
    from werkzeug.exceptions import HTTPException, InternalServerError

    log = logging.getLogger("kompas.errors")

    def render_error(error: Exception) -> tuple[str, int]:
        code = error.code if isinstance(error, HTTPException) and error.code else 500
        reference = secrets.token_hex(4).upper()
        if code >= 500:
            original = getattr(error, "original_exception", None) or error
            log.error(
                "server error %s on %s %s",
                reference,
                request.method,
                request.path,
                exc_info=original,
            )
            from app.extensions import db

            try:
                db.session.rollback()  # nothing half-done is committed after an error
            except Exception:  # noqa: BLE001 - the database may be the very thing that failed
                log.warning("rollback failed after server error %s", reference)
        from flask_login import current_user
        from flask_wtf.csrf import CSRFError

        if isinstance(error, CSRFError) and not current_user.is_authenticated:
            # A form sent after the session ended: sign in again (drafts keep what was typed).
            from flask import redirect, url_for

            return redirect(url_for("auth.login", next=request.path))  # type: ignore[return-value]
        if request.headers.get("HX-Request"):
            # A fragment, not a whole page inside whatever the request was to update.
            return render_template("errors/_inline.html", code=code, reference=reference), code
        try:
            return render_template("errors/error.html", code=code, reference=reference), code
        except Exception:  # noqa: BLE001 - the page itself needs the database; do without
            log.exception("error page %s could not be rendered", reference)
            return _bare_error_page(code, reference), code

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, render_error)
    app.register_error_handler(InternalServerError, render_error)


def _bare_error_page(code: int, reference: str) -> str:
    """An error page that needs nothing: no database, no templates, both languages."""
    return (
        '<!doctype html><html lang="da"><head><meta charset="utf-8">'
        "<title>Kompas</title></head><body><main>"
        f"<h1>Noget gik galt ({code})</h1><p>Kompas kunne ikke gennemføre din forespørgsel. "
        f"Intet blev gemt. Prøv igen om lidt. Reference: {reference}.</p>"
        f'<p lang="en">Something went wrong. Nothing was saved. Try again in a moment. '
        f"Reference: {reference}.</p></main></body></html>"
    )


def register_template_helpers(app: Flask) -> None:
    import flask_babel

    from app import vocabulary
    from app.models import Role
    from app.policy import Permission, current_access

    # Templates translate through the request's catalogue, looked up once: flask_babel's own
    # `_` finds the locale and the catalogue again on every call, which was a fifth of a
    # results page (some 250 texts). Keyed by the locale object, so force_locale still works.
    def catalogue() -> Any:
        locale = getattr(g.get("_flask_babel"), "babel_locale", None)
        cached = g.get("kompas_catalogue")
        if cached is not None and locale is not None and cached[0] is locale:
            return cached[1]
        translations = flask_babel.get_translations()
        g.kompas_catalogue = (getattr(g.get("_flask_babel"), "babel_locale", None), translations)
        return translations

    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda text: catalogue().ugettext(text),
        ngettext=lambda one, many, n: catalogue().ungettext(one, many, n),
        pgettext=lambda context, text: catalogue().upgettext(context, text),
        npgettext=lambda context, one, many, n: catalogue().unpgettext(context, one, many, n),
        newstyle=True,
    )
    # The same functions as Jinja's newstyle ones (escaped where the template autoescapes,
    # always a format string), called directly: Jinja's `_` resolves `gettext` and calls it,
    # which calls the function above, each through the context (some 20 µs a text, a page
    # has 30-60 of them).
    from jinja2 import pass_eval_context
    from jinja2.nodes import EvalContext

    def formatted(eval_ctx: EvalContext, text: str, variables: dict[str, Any]) -> str:
        return (Markup(text) if eval_ctx.autoescape else text) % variables  # noqa: S704 - as Jinja

    @pass_eval_context
    def gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
        return formatted(eval_ctx, catalogue().ugettext(string), variables)

    @pass_eval_context
    def ngettext(
        eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: Any
    ) -> str:
        variables.setdefault("num", num)
        return formatted(eval_ctx, catalogue().ungettext(singular, plural, num), variables)

    @pass_eval_context
    def pgettext(eval_ctx: EvalContext, context: str, string: str, /, **variables: Any) -> str:
        variables.setdefault("context", context)
        return formatted(eval_ctx, catalogue().upgettext(context, string), variables)

    @pass_eval_context
    def npgettext(
        eval_ctx: EvalContext,
        context: str,
        singular: str,
        plural: str,
        num: int,
        /,
        **variables: Any,
    ) -> str:
        variables.setdefault("context", context)
        variables.setdefault("num", num)
        text = catalogue().unpgettext(context, singular, plural, num)
        return formatted(eval_ctx, text, variables)

    app.jinja_env.globals.update(
        _=gettext, gettext=gettext, ngettext=ngettext, pgettext=pgettext, npgettext=npgettext
    )
    app.jinja_env.globals["url_for"] = _template_url_for(app)
    app.jinja_env.filters["format_date"] = flask_babel.format_date
    app.jinja_env.filters["format_datetime"] = flask_babel.format_datetime
    app.jinja_env.filters["format_decimal"] = flask_babel.format_decimal
    app.jinja_env.filters["format_percent"] = flask_babel.format_percent

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "term": vocabulary.term,
            "Permission": Permission,
            "Role": Role,
            "access": current_access() if current_user.is_authenticated else None,
            "current_locale": _locale(),
            "draft_owner": _draft_owner(app),
        }


def _template_url_for(app: Flask) -> Any:
    """url_for for templates. Every page routes the same links that take no values (the menu,
    twice) and the same static files (style sheets, scripts, the icon sprite): the same for
    everyone, so each is routed once per script root and then read back. Any other address
    (values, a relative endpoint, outside a request) is routed by Flask as before."""
    from flask import has_request_context

    routed: dict[tuple[str, str, str], str] = {}

    def url_for(endpoint: str, **values: Any) -> str:
        plain = not values or (len(values) == 1 and isinstance(values.get("filename"), str))
        if (
            not plain
            or endpoint.startswith(".")
            or not has_request_context()
            or not _routes_alike_for_everyone(app)
        ):
            return app.url_for(endpoint, **values)
        key = (request.script_root, endpoint, values.get("filename", ""))
        url = routed.get(key)
        if url is None:
            url = app.url_for(endpoint, **values)
            if len(routed) < 1000:
                routed[key] = url
        return url

    return url_for


def _routes_alike_for_everyone(app: Flask) -> bool:
    """Whether an address without values is the same on every request of a script root: not
    when a url_defaults function may add values, nor with host or subdomain matching. Checked
    on every call (a few attribute reads), so a later change falls back to Flask by itself."""
    return (
        not any(app.url_default_functions.values())
        and not app.url_map.host_matching
        and not app.subdomain_matching
        and app.config.get("SERVER_NAME") is None
    )


def _draft_owner(app: Flask) -> str:
    """An opaque, stable name of the signed-in user for drafts kept in the browser (kompas.js
    keys them by it): one person's unsaved text is never put into another's form."""
    if not current_user.is_authenticated:
        return ""
    key = str(app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"draft-owner:{current_user.id}".encode(), "sha256").hexdigest()[:20]


def register_commands(app: Flask) -> None:
    from app.cli import kompas

    app.cli.add_command(kompas)

"""Configuration from the environment.

Development and tests run with no settings at all; production refuses to start without a
SECRET_KEY, so a forgotten variable never becomes a guessable session key.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        instance = BASE_DIR / "instance"
        instance.mkdir(exist_ok=True)
        return f"sqlite:///{instance / 'kompas.db'}"
    # Heroku-style URLs and plain "postgresql://" both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "100")) * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "da"
    BABEL_DEFAULT_TIMEZONE = "Europe/Copenhagen"
    LANGUAGES = ("da", "en")
    # With REDIS_URL, rate limits are kept in Redis (create_app) and reports made by RQ workers.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    # Per account (the e-mail typed, lower-cased), whatever the address: slows a spread guess.
    LOGIN_ACCOUNT_RATE_LIMIT = os.environ.get(
        "LOGIN_ACCOUNT_RATE_LIMIT", "10 per minute;50 per hour"
    )
    WTF_CSRF_TIME_LIMIT = None  # the session lifetime bounds the token; no lost forms after an hour
    SET_PASSWORD_LINK_HOURS = 72
    # Behind nginx (deploy/nginx.conf): trust one proxy's X-Forwarded-For/-Proto/-Host, so the
    # app sees https (secure cookies, HSTS) and the client's address (rate limits).
    BEHIND_PROXY = os.environ.get("KOMPAS_BEHIND_PROXY", "") in ("1", "true", "yes")
    # Outgoing e-mail (invitations, approvals, issued reports, reminders). With no MAIL_SERVER
    # the messages are written to the log instead (development, demo).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = os.environ.get("MAIL_PORT", "25")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "kompas@localhost")
    # Imported files are kept here for 30 days so a replaced import can be restored; with
    # several app servers it must be a directory they share. Unset: <instance>/import_files.
    IMPORT_FILES_DIR = os.environ.get("IMPORT_FILES_DIR", "")
    # Where a results file is checked and imported (app/services/import_jobs.py): "thread"
    # (the app server's own threads), "rq" (RQ workers; the default with REDIS_URL) or
    # "inline" (in the request; tests). Unset: chosen like REPORT_JOBS.
    IMPORT_JOBS = os.environ.get("IMPORT_JOBS", "")
    # The largest results file taken in (refused with a message before more is written);
    # MAX_UPLOAD_MB above bounds the whole request.
    IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("IMPORT_MAX_UPLOAD_MB", "100")) * 1024 * 1024


class DevelopmentConfig(Config):
    DEBUG = True
    SECRET_KEY = Config.SECRET_KEY or "dev-only-not-secret"  # noqa: S105 - never used in production


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-only-not-secret"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    WTF_CSRF_ENABLED = False  # tests that check CSRF switch it back on
    RATELIMIT_ENABLED = False  # the rate-limit test switches it back on
    # Jobs (reports, results sections after an import) in the request: no thread shares the
    # in-memory test database with the test. Tests of the other backends set their own.
    REPORT_JOBS = "inline"
    IMPORT_JOBS = "inline"
    # Never the development instance's files: a purge run by a test would remove them.
    IMPORT_FILES_DIR = str(Path(tempfile.gettempdir()) / f"kompas-test-import-files-{os.getpid()}")


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    """The config class for KOMPAS_ENV (default production: safe unless told otherwise)."""
    return CONFIGS[name or os.environ.get("KOMPAS_ENV", "production")]

from __future__ import annotations

import os

from flask import current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from app.blueprints.health import bp
from app.extensions import db


def _job_queue() -> str:
    """In-process jobs need nothing; with REDIS_URL set the queue must answer."""
    url = current_app.config.get("REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        return "in-process"
    try:
        import redis

        redis.Redis.from_url(url, socket_timeout=2).ping()
    except Exception:  # noqa: BLE001 - any failure means the queue is not usable
        return "unavailable"
    return "ok"


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """For load balancers and monitoring: 200 when the database (and the job queue, where
    there is one) answers, 503 when not."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "unavailable"
    jobs = _job_queue()
    healthy = database == "ok" and jobs != "unavailable"
    body = {"status": "ok" if healthy else "degraded", "database": database, "jobs": jobs}
    return jsonify(body), 200 if healthy else 503

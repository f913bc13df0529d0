from flask import Blueprint, Response, jsonify
from werkzeug.exceptions import Unauthorized

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(401)
def unauthorized(_error: Unauthorized) -> tuple[Response, int]:
    """Signed out (or the session ended): JSON a client can act on, never the sign-in page."""
    return jsonify(error="unauthorized", message="Sign in to use the API."), 401


from app.blueprints.api import routes  # noqa: E402, F401

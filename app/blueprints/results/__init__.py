from flask import Blueprint

bp = Blueprint("results", __name__, url_prefix="/results")

from app.blueprints.results import release, routes  # noqa: E402, F401

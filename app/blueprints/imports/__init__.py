from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/imports")

from app.blueprints.imports import references, restore, routes  # noqa: E402, F401

from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/imports")

from app.blueprints.imports import mapping, references, restore, routes  # noqa: E402, F401

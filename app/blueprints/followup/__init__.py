from flask import Blueprint

bp = Blueprint("followup", __name__, url_prefix="/followup")

from app.blueprints.followup import (  # noqa: E402, F401 - routes register on bp
    alert_list,
    alert_reaction,
    approval,
    plan,
    routes,
)

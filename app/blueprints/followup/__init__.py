from flask import Blueprint

bp = Blueprint("followup", __name__, url_prefix="/followup")

from app.blueprints.followup import routes  # noqa: E402, F401
from app.blueprints.followup import approval  # noqa: E402, F401
from app.blueprints.followup import alert_list  # noqa: E402, F401

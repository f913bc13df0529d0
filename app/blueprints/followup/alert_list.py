"""Every zero-tolerance alert the user may see, in one list: the home's "see all"."""

from __future__ import annotations

from datetime import date

from flask import render_template, request
from flask_login import login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app.blueprints.followup import bp
from app.extensions import db
from app.models import ZeroToleranceAlert
from app.policy import Permission, current_access, require

ALERTS_PER_PAGE = 50
STATES = ("open", "closed", "all")


@bp.get("/alerts")
@login_required
def alerts() -> str:
    """The alerts of the units the user may see the follow-up of, newest first; open ones
    unless another state is chosen (an unknown state shows the open ones)."""
    require(Permission.VIEW_FOLLOWUP)
    access = current_access()
    state = request.args.get("state", "open")
    if state not in STATES:
        state = "open"
    where = []
    allowed = access.unit_ids(db.session, Permission.VIEW_FOLLOWUP)
    if allowed is not None:
        where.append(ZeroToleranceAlert.unit_id.in_(allowed))
    held = access.held_measurement_ids(db.session)
    if held:  # alerts of results not yet released: only through admin and leader roles
        early = access.management().unit_ids(db.session, Permission.VIEW_FOLLOWUP) or set()
        where.append(
            or_(
                ZeroToleranceAlert.measurement_id.not_in(held),
                ZeroToleranceAlert.unit_id.in_(early),
            )
        )
    if state == "open":
        where.append(ZeroToleranceAlert.closed_at.is_(None))
    elif state == "closed":
        where.append(ZeroToleranceAlert.closed_at.is_not(None))
    page = db.paginate(
        select(ZeroToleranceAlert)
        .where(*where)
        .options(joinedload(ZeroToleranceAlert.unit), joinedload(ZeroToleranceAlert.measurement))
        .order_by(ZeroToleranceAlert.opened_on.desc(), ZeroToleranceAlert.id.desc()),
        per_page=ALERTS_PER_PAGE,
        error_out=False,
        count=False,
    )
    total = db.session.scalar(select(func.count(ZeroToleranceAlert.id)).where(*where)) or 0
    pages = max(1, (total + ALERTS_PER_PAGE - 1) // ALERTS_PER_PAGE)
    return render_template(
        "followup/alerts.html",
        alerts=page.items,
        total=total,
        page=min(page.page, pages),
        pages=pages,
        state=state,
        today=date.today(),
    )

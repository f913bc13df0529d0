"""The unit's partners (the trio / the class team) and the approval of its action plan.

The leader names partners on the follow-up hub; the leader or a partner sends the plan to a
named approver (the department head; for a red unit HR too), who finds it in their queue
("Til godkendelse"), approves it or sends it back with a comment. Both sides are e-mailed
after the commit. Only the named approver (or an admin) decides; anyone else gets 404.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from app.blueprints.admin.forms import EmptyForm
from app.blueprints.followup import bp
from app.extensions import db
from app.forms import KompasForm
from app.models import (
    Action,
    FollowUp,
    Measurement,
    OrganisationKind,
    PlanApproval,
    Step,
    StepState,
    Unit,
    UnitPartner,
    User,
)
from app.policy import Permission as Can
from app.policy import current_access, may_decide_approval, unit_or_404
from app.services import approval as service
from app.services import followup as followup_service
from app.services.mail import Mail, deliver
from app.services.units import breadcrumbs
from app.vocabulary import lazy_term, organisation_kind, term

FUNCTION_LABELS = {
    "union_rep": _l("Union representative (TR)"),
    "safety_rep": _l("Safety representative (AMR)"),
    "teacher": _l("Teacher in the class team"),
    "other": _l("Other"),
}


class PartnerForm(KompasForm):
    user_id = SelectField(_l("Person"), coerce=int)
    function = SelectField(_l("Function"))


class SendForm(KompasForm):
    head = SelectField(lazy_term("head"), coerce=int)
    # Checked by the service (a red unit needs HR; others may leave it out).
    hr = SelectField(lazy_term("approver.extra"), coerce=int, validate_choice=False)
    message = TextAreaField(
        _l("Message to the approver"),
        validators=[Length(max=service.MESSAGE_MAX)],
        description=_l("Optional: what the approver should know or look at."),
    )


class DecisionForm(KompasForm):
    comment = TextAreaField(
        _l("Comment"),
        validators=[Length(max=service.COMMENT_MAX)],
        description=_l("Required when you send the plan back: say what should be changed."),
    )


def _functions() -> list[str]:
    if organisation_kind() == OrganisationKind.SCHOOL:
        return list(service.SCHOOL_FUNCTIONS)
    return list(service.MUNICIPAL_FUNCTIONS)


def _partner_form(unit: Unit, candidates: list[User] | None = None) -> PartnerForm:
    form = PartnerForm(prefix="partner")
    people = (
        candidates if candidates is not None else service.partner_candidates(db.session, unit.id)
    )
    form.user_id.choices = [SelectChoice(u.id, u.name) for u in people]
    form.function.choices = [SelectChoice(f, str(FUNCTION_LABELS[f])) for f in _functions()]
    return form


# The hub and the plan step include _partners.html and _approval.html, which ask for their
# own data through these: the pages that include them need not know what they show.


def _without_access(unit_id: int, partners: list[UnitPartner]) -> set[int]:
    return service.partners_without_access(db.session, unit_id, partners)


@bp.app_template_global()
def partners_context(unit: Unit) -> dict[str, Any]:
    """The unit's partners, and the form to name one for those who may (the leader, HR).
    Those may see a partner who lost access marked so, to remove them; anyone else sees only
    the partners who can still edit."""
    access = current_access()
    may_name = access.may(db.session, Can.NAME_PARTNERS, unit.id)
    candidates = service.partner_candidates(db.session, unit.id) if may_name else []
    partners = service.partners(db.session, unit.id)
    without_access = _without_access(unit.id, partners)
    if not may_name:
        partners = [p for p in partners if p.id not in without_access]
    return {
        "partners": partners,
        "without_access": without_access,
        "form": _partner_form(unit, candidates) if may_name else None,
        "candidates": candidates,
        "may_name": may_name,
        "function_labels": FUNCTION_LABELS,
    }


@bp.app_template_global()
def approval_context(follow_up: FollowUp | None) -> dict[str, Any]:
    """The plan's approval in words, and the viewer's own open decision on it, if any."""
    if follow_up is None:
        return {"approval": None, "my_approval": None, "my_queue": 0, "plan_begun": False}
    approval_state = service.state(db.session, follow_up)
    access = current_access()
    mine = next((r for r in approval_state.waiting_for if r.approver_id == access.user_id), None)
    if approval_state.status != "waiting":
        mine = None
    plan = next((s for s in follow_up.steps if s.step == Step.PLAN), None)
    # The hub speaks of approval once the plan is begun (or was ever sent).
    begun = approval_state.status != "none" or (
        plan is not None and plan.state != StepState.NOT_STARTED
    )
    # The link to the viewer's own queue, when something waits for them (any unit).
    my_queue = len(service.pending_for(db.session, access.user_id)) if access.user_id else 0
    return {
        "approval": approval_state,
        "my_approval": mine,
        "my_queue": my_queue,
        "plan_begun": begun,
    }


# --- partners -------------------------------------------------------------------------------


def _unit_and_measurement(measurement_id: int, code: str, action: Can) -> tuple[Measurement, Unit]:
    measurement = db.session.get(Measurement, measurement_id)
    if measurement is None or not measurement.anonymity_ok:
        abort(404)
    return measurement, unit_or_404(code, action)


def _hub_url(measurement: Measurement, unit: Unit) -> str:
    return url_for("followup.hub", measurement_id=measurement.id, code=unit.code) + "#partners"


@bp.post("/<int:measurement_id>/<code>/partners")
@login_required
def add_partner(measurement_id: int, code: str) -> Response:
    measurement, unit = _unit_and_measurement(measurement_id, code, Can.NAME_PARTNERS)
    form = _partner_form(unit)
    if not form.validate_on_submit():
        flash(str(term("partners.choose")), "error")
        return redirect(_hub_url(measurement, unit))
    try:
        service.add_partner(
            db.session, current_user, unit, form.user_id.data, form.function.data or ""
        )
    except service.ApprovalError:
        abort(400)
    db.session.commit()
    flash(_("The partner was added. They can now edit the steps with you."), "success")
    return redirect(_hub_url(measurement, unit))


@bp.route("/<int:measurement_id>/<code>/partners/<int:partner_id>/remove", methods=["GET", "POST"])
@login_required
def remove_partner(measurement_id: int, code: str, partner_id: int) -> Any:
    """Asks first (GET), removes on the confirming POST."""
    measurement, unit = _unit_and_measurement(measurement_id, code, Can.NAME_PARTNERS)
    partner = db.session.get(UnitPartner, partner_id)
    if partner is None or partner.unit_id != unit.id:
        abort(404)
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        service.remove_partner(db.session, current_user, partner)
        db.session.commit()
        flash(_("The partner was removed."), "success")
        return redirect(_hub_url(measurement, unit))
    return render_template(
        "followup/remove_partner.html",
        form=form,
        partner=partner,
        has_access=partner.id not in _without_access(unit.id, [partner]),
        function_labels=FUNCTION_LABELS,
        measurement=measurement,
        unit=unit,
        trail=breadcrumbs(db.session, unit),
    )


# --- sending for approval -------------------------------------------------------------------


def _send_form(eligible: service.Approvers) -> SendForm:
    form = SendForm()
    form.head.choices = [
        SelectChoice(user.id, f"{user.name} ({unit.name})") for user, unit in eligible.heads
    ]
    hr_choices = [SelectChoice(user.id, user.name) for user in eligible.hr]
    if not eligible.needs_hr:
        hr_choices.insert(0, SelectChoice(0, str(term("approver.extra.none"))))
    form.hr.choices = hr_choices
    if request.method == "GET":
        form.head.data = eligible.default_head.id if eligible.default_head else None
        form.hr.data = eligible.default_hr.id if eligible.default_hr else 0
    return form


@bp.route("/<int:measurement_id>/<code>/plan/send", methods=["GET", "POST"])
@login_required
def send_for_approval(measurement_id: int, code: str) -> Any:
    measurement, unit = _unit_and_measurement(measurement_id, code, Can.EDIT_FOLLOWUP)
    follow_up = followup_service.find(db.session, measurement, unit)
    if follow_up is None:
        abort(404)
    approval_state = service.state(db.session, follow_up)
    plan_url = url_for("followup.step", measurement_id=measurement.id, code=unit.code, step="plan")
    if approval_state.status in ("waiting", "approved"):
        return redirect(plan_url + "#approval")
    eligible = service.approvers(db.session, follow_up, current_user)
    form = _send_form(eligible)
    empty = service.plan_is_empty(db.session, follow_up)
    if not empty and form.validate_on_submit():
        chosen_ids = [form.head.data] + ([form.hr.data] if form.hr.data else [])
        chosen = [db.session.get(User, i) for i in chosen_ids if i]
        try:
            rows = service.send(
                db.session,
                current_user,
                follow_up,
                [u for u in chosen if u is not None],
                form.message.data or "",
            )
        except service.ApprovalError as refused:
            if str(refused) == "needs_hr":
                form.hr.errors = [str(term("approver.extra.needed"))]
            else:
                form.head.errors = [_("Choose the approvers among the people listed.")]
        else:
            db.session.commit()
            _mail_approvers(rows, unit, measurement)
            flash(
                _(
                    "The action plan was sent for approval to %(names)s.",
                    names=", ".join(r.approver_name for r in rows),
                ),
                "success",
            )
            return redirect(plan_url + "#approval")
    return render_template(
        "followup/send_for_approval.html",
        form=form,
        eligible=eligible,
        empty=empty,
        approval=approval_state,
        measurement=measurement,
        unit=unit,
        follow_up=follow_up,
        trail=breadcrumbs(db.session, unit),
    ), (400 if request.method == "POST" else 200)


def _mail_approvers(rows: list[PlanApproval], unit: Unit, measurement: Measurement) -> None:
    mails = []
    for row in rows:
        approver = row.approver
        if approver is None:
            continue
        link = url_for("followup.approval", approval_id=row.id, _external=True)
        with force_locale(approver.language or "da"):
            body = _(
                "%(sender)s has sent the action plan of %(unit)s (%(measurement)s) to you "
                "for approval.",
                sender=current_user.name,
                unit=unit.name,
                measurement=measurement.name,
            )
            if row.message:
                body += "\n\n" + _("Message:") + "\n" + row.message
            body += "\n\n" + _("Read the plan, then approve it or send it back:") + "\n" + link
            subject = _("Action plan for approval: %(unit)s", unit=unit.name)
        mails.append(Mail(approver.email, subject, body + "\n"))
    deliver(mails, current_app.config)


# --- the approver's queue and decision ------------------------------------------------------


@bp.get("/approvals")
@login_required
def approvals() -> str:
    waiting = service.pending_for(db.session, current_user.id)
    return render_template("followup/approvals.html", waiting=waiting)


def _approval_or_404(approval_id: int) -> PlanApproval:
    row = db.session.get(PlanApproval, approval_id)
    if row is None or not may_decide_approval(current_access(), row.approver_id):
        abort(404)
    return row


@bp.route("/approvals/<int:approval_id>", methods=["GET", "POST"])
@login_required
def approval(approval_id: int) -> Any:
    row = _approval_or_404(approval_id)
    follow_up = row.follow_up
    unit, measurement = follow_up.unit, follow_up.measurement
    is_open = service.is_open(db.session, row)
    form = DecisionForm()
    if request.method == "POST":
        if not is_open:
            abort(404)
        decision = request.form.get("decision", "")
        if decision not in ("approve", "return"):
            abort(400)
        if form.validate_on_submit():
            try:
                result = service.decide(
                    db.session,
                    current_user,
                    row,
                    approve=decision == "approve",
                    comment=form.comment.data or "",
                )
            except service.ApprovalError:
                form.comment.errors = [_("Say what should be changed before you send it back.")]
            else:
                db.session.commit()
                _mail_decision(row, result, unit, measurement)
                if row.decision == service.APPROVED:
                    flash(_("You approved the action plan."), "success")
                else:
                    flash(_("The action plan was sent back with your comment."), "success")
                return redirect(url_for("followup.approvals"))
    actions = db.session.scalars(
        select(Action)
        .where(Action.follow_up_id == follow_up.id, Action.deleted_at.is_(None))
        .order_by(Action.id)
    ).all()
    return render_template(
        "followup/approval.html",
        row=row,
        form=form,
        is_open=is_open,
        follow_up=follow_up,
        unit=unit,
        measurement=measurement,
        actions=actions,
        approval=service.state(db.session, follow_up),
        trail=breadcrumbs(db.session, unit),
    ), (400 if request.method == "POST" else 200)


def _mail_decision(
    row: PlanApproval, result: service.ApprovalState, unit: Unit, measurement: Measurement
) -> None:
    link = url_for(
        "followup.step", measurement_id=measurement.id, code=unit.code, step="plan", _external=True
    )
    mails = []
    for person in service.decision_recipients(db.session, row):
        with force_locale(person.language or "da"):
            if row.decision == service.RETURNED:
                subject = _("The action plan was sent back: %(unit)s", unit=unit.name)
                body = _(
                    "%(approver)s has sent the action plan of %(unit)s (%(measurement)s) back "
                    "with this comment:",
                    approver=row.approver_name,
                    unit=unit.name,
                    measurement=measurement.name,
                )
                body += "\n\n" + row.comment + "\n\n"
                body += _("Correct the plan and send it again:") + "\n" + link
            elif result.status == "approved":
                subject = _("The action plan is approved: %(unit)s", unit=unit.name)
                body = _(
                    "The action plan of %(unit)s (%(measurement)s) is approved by %(names)s.",
                    unit=unit.name,
                    measurement=measurement.name,
                    names=", ".join(r.approver_name for r in result.rows),
                )
                if row.comment:
                    body += "\n\n" + row.comment
                body += "\n\n" + link
            else:
                subject = _("%(approver)s approved the action plan: %(unit)s",
                            approver=row.approver_name, unit=unit.name)  # fmt: skip
                body = _(
                    "%(approver)s has approved the action plan of %(unit)s. It still waits "
                    "for %(names)s.",
                    approver=row.approver_name,
                    unit=unit.name,
                    names=", ".join(r.approver_name for r in result.waiting_for),
                )
                body += "\n\n" + link
        mails.append(Mail(person.email, subject, body + "\n"))
    deliver(mails, current_app.config)

"""The annual report's named approval, the withdrawal of an issued report, and the local
goals read-only (issue 19).

- Approval: whoever may issue the unit's report sends the draft, as saved, to a named person
  (a leader of the unit or above, or a survey owner; never themselves), who is e-mailed; that
  person approves the version they read, and the asker is e-mailed. Issuing needs an approval
  of the draft's current version: a later edit needs approving again.
- Withdrawal: whoever may issue the unit's report withdraws an issued one with a reason, after
  confirming. The issued report and its PDF stay unchanged in the archive, marked withdrawn
  with who, when and why; the board members told of the issue are e-mailed the withdrawal.
- Local goals: everyone who may see the follow-up of a unit sees the goals and success
  criteria of the unit and the units above it, every year (no figures).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.blueprints.reports import bp
from app.blueprints.reports.forms import ApprovalRequestForm, ApproveForm, WithdrawForm
from app.blueprints.reports.routes import _report_unit
from app.extensions import db
from app.models import IssuedReport, OrganisationKind, ReportDraft, Role, Unit, User
from app.models.tree import ancestor_ids
from app.policy import Permission as Can
from app.policy import current_access, may, unit_or_404
from app.services import report_archive, report_mails
from app.services import reports as service
from app.services.mail import Mail, deliver
from app.vocabulary import organisation_kind, term

LANGUAGES = ("da", "en")


def may_issue(unit: Unit | int) -> bool:
    """Whether the user may issue (and withdraw) the unit's reports to the board: the policy's
    ISSUE_REPORTS (in a school, management only). Until the policy has it: who may write the
    follow-up, and in a school only a leader of the unit or a unit above it."""
    permission = getattr(Can, "ISSUE_REPORTS", None)
    if permission is not None:
        return may(permission, unit)
    if not may(Can.EDIT_FOLLOWUP, unit):
        return False
    if organisation_kind() != OrganisationKind.SCHOOL:
        return True
    access = current_access()
    if access.is_admin:
        return True
    chain = set(ancestor_ids(db.session, unit if isinstance(unit, int) else unit.id))
    return any(role == Role.LEADER and held in chain for role, held in access.assignments)


def approval_context(unit: Unit, year: int, draft: ReportDraft | None) -> dict[str, Any]:
    """What the annual page shows of the approval: its state, and the forms the user may use."""
    version = draft.version if draft else 0
    asking = None
    if may_issue(unit):
        asking = ApprovalRequestForm(data={"version": version}, formdata=None)
        candidates = report_archive.approval_candidates(db.session, unit, current_user)
        asking.approver.choices = [(0, _("Choose a person"))] + [(u.id, u.name) for u in candidates]
        if draft and draft.approver_id:
            asking.approver.data = draft.approver_id
    approving = None
    if draft and draft.approver_id == current_user.id and not report_archive.is_approved(draft):
        approving = ApproveForm(data={"version": version}, formdata=None)
    return {
        "approved": report_archive.is_approved(draft),
        "approval_draft": draft,
        "asking_form": asking,
        "approve_form": approving,
    }


def _mail(user: User, subject: Any, lines: list[Any]) -> Mail:
    return Mail(user.email, str(subject), "\n\n".join(str(line) for line in lines))


@bp.post("/annual/<code>/<int:year>/approval")
@login_required
def request_approval(code: str, year: int) -> Response:
    unit = _report_unit(code)
    if not may_issue(unit):
        abort(404)
    form = ApprovalRequestForm()
    candidates = report_archive.approval_candidates(db.session, unit, current_user)
    form.approver.choices = [(u.id, u.name) for u in candidates]
    url = url_for("reports.annual", code=unit.code, year=year)
    if not form.validate_on_submit():
        flash(_("Choose who approves the report."), "error")
        return redirect(url + "#approval-heading")
    approver = db.session.get(User, form.approver.data)
    if approver is None:
        abort(400)
    try:
        report_archive.request_approval(
            db.session, current_user, unit, year, approver, expected_version=form.version.data
        )
    except report_archive.ApprovalRefused:
        db.session.rollback()
        flash(_("The plan was saved again in the meantime. Check it and ask again."), "error")
        return redirect(url + "#approval-heading")
    db.session.commit()
    link = url_for("reports.annual", code=unit.code, year=year, _external=True)
    with force_locale(approver.language if approver.language in LANGUAGES else "da"):
        title = _("Annual follow-up report %(year)s", year=year) + f" – {unit.name}"
        mail = _mail(
            approver,
            _("Please approve: %(title)s", title=title),
            [
                _("Dear %(name)s", name=approver.name),
                _(
                    "%(asker)s asks you to approve “%(title)s” before it is issued to "
                    "%(audience)s.",
                    asker=current_user.name, title=title, audience=term("report.audience"),
                ),
                _("Read the report and approve it here: %(url)s", url=link),
                _("Sign in to Kompas to open the links."),
                _("Best regards, Kompas"),
            ],
        )  # fmt: skip
    deliver([mail], current_app.config)
    flash(_("%(name)s is asked to approve the report.", name=approver.name), "success")
    return redirect(url + "#approval-heading")


@bp.post("/annual/<code>/<int:year>/approve")
@login_required
def approve(code: str, year: int) -> Response:
    unit = _report_unit(code)
    draft = service.draft_for(db.session, unit, year)
    if draft is None or draft.approver_id != current_user.id:
        abort(404)
    form = ApproveForm()
    url = url_for("reports.annual", code=unit.code, year=year)
    if not form.validate_on_submit():
        abort(400)
    try:
        report_archive.approve(db.session, current_user, draft, version=form.version.data)
    except report_archive.ApprovalRefused:
        db.session.rollback()
        flash(
            _("The plan was changed after you opened it: nothing was approved. Read it again."),
            "error",
        )
        return redirect(url + "#approval-heading")
    db.session.commit()
    asker = report_archive.approval_requester(db.session, draft)
    if asker is not None and asker.active and asker.deleted_at is None:
        link = url_for("reports.issue", code=unit.code, year=year, _external=True)
        with force_locale(asker.language if asker.language in LANGUAGES else "da"):
            title = _("Annual follow-up report %(year)s", year=year) + f" – {unit.name}"
            mail = _mail(
                asker,
                _("Approved: %(title)s", title=title),
                [
                    _("Dear %(name)s", name=asker.name),
                    _("%(approver)s has approved “%(title)s”.", approver=current_user.name,
                      title=title),
                    _("It can be issued to %(audience)s now: %(url)s",
                      audience=term("report.audience"), url=link),
                    _("A change to the plan or the goals needs approving again."),
                    _("Best regards, Kompas"),
                ],
            )  # fmt: skip
        deliver([mail], current_app.config)
    flash(_("You have approved the report."), "success")
    return redirect(url + "#approval-heading")


@bp.route("/archive/<int:report_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(report_id: int) -> Any:
    """Withdraw an issued report: the reason, and a confirmation."""
    issued = db.session.get(IssuedReport, report_id)
    if issued is None or not may(Can.VIEW_REPORTS, issued.unit_id) or not may_issue(issued.unit):
        abort(404)
    withdrawn = report_archive.withdrawal_of(db.session, issued.id)
    form = WithdrawForm()
    status = 200
    if request.method == "POST" and withdrawn is None:
        if form.validate_on_submit():
            try:
                withdrawal = report_archive.withdraw(
                    db.session, current_user, issued, form.reason.data or ""
                )
            except report_archive.AlreadyWithdrawn:
                db.session.rollback()
            else:
                db.session.commit()
                # The board that was told of the issue is told of the withdrawal, and why.
                report_mails.tell_board_withdrawn(
                    db.session, issued, withdrawal, current_app.config
                )
                flash(_("The report is withdrawn. It stays in the archive, marked as such."),
                      "success")  # fmt: skip
                return redirect(url_for("reports.index") + "#archive-heading")
            withdrawn = report_archive.withdrawal_of(db.session, issued.id)
            status = 409
        else:
            status = 400
    return render_template(
        "reports/withdraw.html", issued=issued, form=form, withdrawn=withdrawn
    ), status


@bp.get("/goals/<code>")
@login_required
def goals(code: str) -> str:
    """The local goals and success criteria of the unit and the units above it, every year:
    read-only, for everyone who may see the unit's follow-up."""
    unit = unit_or_404(code, Can.VIEW_FOLLOWUP)
    chain = ancestor_ids(db.session, unit.id)
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(chain)))}
    drafts = list(
        db.session.scalars(
            select(ReportDraft)
            .where(ReportDraft.unit_id.in_(chain))
            .order_by(ReportDraft.year.desc(), ReportDraft.unit_id)
        )
    )
    rows = [
        (draft.year, units[draft.unit_id], draft.goals)
        for draft in sorted(drafts, key=lambda d: (-d.year, chain.index(d.unit_id)))
        if draft.goals and draft.unit_id in units
    ]
    return render_template("reports/goals.html", unit=unit, rows=rows)

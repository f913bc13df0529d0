"""Reports: the archive of reports issued to the board, the annual follow-up report (its
draft, preview, PDF and issue), the unit report for the dialogue meeting, and the jobs that
make long reports in the background.

Who may do what (app.policy):
- the archive and its downloads: VIEW_REPORTS on the report's unit (admin, leaders,
  committees and the board, each over their subtree); board users see nothing else;
- making an annual report (preview, PDF): VIEW_REPORTS and VIEW_RESULTS on its unit;
- writing the follow-up plan: EDIT_FOLLOWUP on its unit (leaders, HR); issuing to the board:
  ISSUE_REPORTS (a municipality's leaders; a school's management only); local goals: ADMIN;

The draft saves itself (htmx, a moment after typing) with the version it was loaded at, as
the follow-up steps do. Issuing saves what is typed first, then shows what will be sent (the
title, to whom, the plan as saved) and asks to confirm: an issued version is for ever.
- the unit report: VIEW_RESULTS on the unit, as its results page.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import aliased
from werkzeug.wrappers import Response

from app.blueprints.admin.forms import EmptyForm
from app.blueprints.reports import bp
from app.blueprints.reports.forms import IssueForm, draft_form
from app.extensions import db, htmx
from app.models import IssuedReport, Measurement, OrganisationKind, Role, Unit
from app.policy import Permission as Can
from app.policy import current_access, may, require, unit_or_404
from app.services import pdf as pdf_service
from app.services import report_archive, report_jobs, spreadsheets
from app.services import reports as service
from app.services import results as results_service
from app.vocabulary import organisation_kind


def _messages() -> dict[str, str]:
    return {
        "no_measurement": _("There is no measurement with results for that year."),
        "unit_not_measured": _("The unit is not part of that year’s measurement."),
        "error": _("Something went wrong while making the report. Please try again."),
        "interrupted": _(
            "Making the report was interrupted (the server was restarted). Please try again."
        ),
        "not_approved": _(
            "Nothing was issued: the plan was changed after it was approved. It needs "
            "approving again."
        ),
        "not_released": _(
            "Nothing was issued: the year's results have not been released yet. Release "
            "them first, then issue the report."
        ),
    }


def _stages() -> dict[str, str]:
    return {
        "queued": _("Waiting to start"),
        "assembling": _("Collecting the figures"),
        "rendering": _("Laying out the PDF"),
        "storing": _("Saving"),
        "done": _("Done"),
        "failed": _("Failed"),
    }


def _report_unit(code: str) -> Unit:
    """A unit the user may make reports on: reports and results there, else 404."""
    unit = unit_or_404(code, Can.VIEW_REPORTS)
    if not may(Can.VIEW_RESULTS, unit):
        abort(404)
    return unit


def _report_units() -> list[Any]:
    """Units to offer for an annual report (code and name): the organisation and two levels
    below it (HR), or the units the user holds a role with reports and results on, and those
    just below. One query either way."""
    access = current_access()
    offered = select(Unit.code, Unit.name).order_by(Unit.code)
    if access.is_admin:
        parent, grandparent = aliased(Unit), aliased(Unit)
        # A root, or a unit whose parent or grandparent is one (a missing one counts as None).
        return list(
            db.session.execute(
                offered.outerjoin(parent, parent.id == Unit.parent_id)
                .outerjoin(grandparent, grandparent.id == parent.parent_id)
                .where(
                    Unit.parent_id.is_(None)
                    | parent.parent_id.is_(None)
                    | grandparent.parent_id.is_(None)
                )
            )
        )
    held = {
        unit_id for role, unit_id in access.assignments if role in (Role.LEADER, Role.COMMITTEE)
    }
    if not held:
        return []
    return list(db.session.execute(offered.where((Unit.id.in_(held)) | (Unit.parent_id.in_(held)))))


@bp.get("/")
@login_required
def index() -> str:
    require(Can.VIEW_REPORTS)
    access = current_access()
    makes = access.may_anywhere(Can.VIEW_RESULTS)
    reports = report_archive.archive(db.session, access)
    from app.blueprints.reports.approval import may_issue

    measurements = results_service.measurements_with_figures(db.session) if makes else []
    # The years with an ordinary measurement that has figures (service.report_years), read
    # from the measurements the page lists anyway rather than asked again.
    years = sorted({m.year for m in measurements if m.remeasure_of_id is None}, reverse=True)
    return render_template(
        "reports/index.html",
        reports=reports,
        withdrawals=report_archive.withdrawals(db.session, [r.id for r in reports]),
        may_withdraw={r.id for r in reports if may_issue(r.unit_id)},
        units=_report_units() if makes else [],
        years=years,
        measurements=measurements,
        may_results=makes,
        may_followup=access.may_anywhere(Can.VIEW_FOLLOWUP),
    )


@bp.get("/annual")
@login_required
def choose() -> Response:
    """The index's form: on to the annual report of the chosen unit and year."""
    code = request.args.get("unit", "").strip()
    year = request.args.get("year", type=int)
    if not code or year is None:
        abort(404)
    _report_unit(code)
    return redirect(url_for("reports.annual", code=code, year=year))


def _year_measurement(unit: Unit, year: int) -> Measurement:
    """The year's measurement, if its results at `unit` reach this person, else 404.

    Asked per unit, not anywhere: before management releases a school's results only the
    person's admin and leader roles count, and a second role (student council elsewhere)
    must not open this unit's report through them."""
    measurement = service.annual_measurement(db.session, year)
    if measurement is None:
        abort(404)
    if not current_access().results_access(measurement).may(db.session, Can.VIEW_RESULTS, unit.id):
        abort(404)
    return measurement


def _readable(unit: Unit, year: int) -> list[int] | None:
    """The units whose figures, alerts and plans this person may read in `unit`'s annual
    report of `year` (None: all); 404 unless the year's results at `unit` reach them."""
    measurement = _year_measurement(unit, year)
    found = current_access().results_access(measurement).unit_ids(db.session, Can.VIEW_RESULTS)
    return None if found is None else sorted(found)


def _goal_themes(unit: Unit, year: int) -> tuple[list[str], set[str]]:
    """The year's themes, and those of them with zero tolerance: no score is ever published
    for these, so their local goal is in words only. 404 unless the year's results at
    `unit` reach this person."""
    measurement = _year_measurement(unit, year)
    questions = results_service.question_infos(db.session, measurement)
    themes = [theme for theme in results_service.themes_of(questions) if theme]
    return themes, results_service.zero_tolerance_themes(questions)


@bp.route("/annual/<code>/<int:year>", methods=["GET", "POST"])
@login_required
def annual(code: str, year: int) -> Any:
    """The annual report of a unit and a year: the follow-up plan and local goals to keep
    with it, a preview, a PDF, and issuing it to the board."""
    unit = _report_unit(code)
    themes, no_score = _goal_themes(unit, year)
    from app.blueprints.reports.approval import approval_context, may_issue

    may_write = may(Can.EDIT_FOLLOWUP, unit)
    # HR sets the local goals; in a school management does too (issue 19).
    may_goals = current_access().is_admin or (
        organisation_kind() == OrganisationKind.SCHOOL and may_issue(unit)
    )
    draft = service.draft_for(db.session, unit, year)
    goals = dict(draft.goals) if draft else {}
    if not goals and may_goals:
        # A new year starts from last year's goals (saved only when the form is saved).
        goals = service.latest_goals(db.session, unit, year)
    data: dict[str, Any] = {"followup_plan": draft.followup_plan if draft else ""}
    for index, theme in enumerate(themes):
        goal = goals.get(theme) or {}
        data[f"target_{index}"] = goal.get("target")
        data[f"criterion_{index}"] = goal.get("criterion") or ""
    form = draft_form(
        themes, goals=may_goals, no_score=no_score, data=data if request.method == "GET" else None
    )
    status = 200
    # The version the form was loaded at (0: no draft yet) travels with it: a save from an
    # older one changes nothing, and the writer sees what is saved next to what they typed.
    version = draft.version if draft else 0
    conflict = None
    if request.method == "POST":
        if not may_write:
            abort(404)
        expected = request.form.get("version", type=int)
        if expected is not None:
            version = expected  # kept through a failed validation, so the check still holds
        if form.validate_on_submit():
            new_goals = None
            if may_goals:
                new_goals = report_archive.clean_goals(
                    {
                        theme: {
                            # A zero-tolerance theme's goal is in words only (no score).
                            "target": None if theme in no_score else form[f"target_{index}"].data,
                            "criterion": form[f"criterion_{index}"].data,
                        }
                        for index, theme in enumerate(themes)
                    },
                    themes,
                )
            try:
                report_archive.save_draft(
                    db.session, current_user, unit, year,
                    followup_plan=form.followup_plan.data or "", goals=new_goals,
                    expected_version=expected,
                )  # fmt: skip
            except report_archive.DraftConflict as stale:
                if htmx:
                    return render_template("reports/_save_conflict.html", draft=stale.draft), 409
                # The form shows the saved version now: saving it again is the writer's choice.
                draft = conflict = stale.draft
                version = draft.version
                status = 409
            else:
                db.session.commit()
                saved = service.draft_for(db.session, unit, year)
                if htmx:
                    return render_template("reports/_autosaved.html", draft=saved)
                if request.form.get("next") == "issue":
                    # "Issue": what was typed is saved; now the page that shows what goes out.
                    return redirect(url_for("reports.issue", code=unit.code, year=year))
                if request.form.get("next") == "pdf":
                    # A draft PDF with what was just typed in it (the form's CSRF is checked).
                    return _start("annual", {"unit_id": unit.id, "year": year}, checked=True)
                flash(_("The follow-up plan and goals are saved."), "success")
                return redirect(url_for("reports.annual", code=unit.code, year=year))
        else:
            if htmx:
                return render_template("reports/_autosave_failed.html"), 400
            status = 400
    versions = list(
        db.session.scalars(
            select(IssuedReport)
            .where(IssuedReport.kind == "annual", IssuedReport.unit_id == unit.id,
                   IssuedReport.year == year)
            .order_by(IssuedReport.version.desc())
        )
    )  # fmt: skip
    return render_template(
        "reports/annual.html",
        unit=unit,
        year=year,
        themes=themes,
        form=form,
        draft=draft,
        version=version,
        conflict=conflict,
        may_write=may_write,
        may_issue=may(Can.ISSUE_REPORTS, unit),
        may_goals=may_goals,
        versions=versions,
        withdrawals=report_archive.withdrawals(db.session, [v.id for v in versions]),
        button_form=EmptyForm(),
        **approval_context(unit, year, draft),
    ), status


@bp.get("/annual/<code>/<int:year>/preview")
@login_required
def annual_preview(code: str, year: int) -> str:
    unit = _report_unit(code)
    readable = _readable(unit, year)
    try:
        report = service.assemble_annual(
            db.session, unit, year, readable=None if readable is None else set(readable)
        )
    except service.ReportUnavailable:
        abort(404)
    return render_template(
        "reports/annual_preview.html",
        unit=unit,
        report=report,
        charts=service.annual_charts(report),
        status_labels=service.status_labels(),
    )


def _start(
    kind: str, params: dict[str, Any], *, issue: bool = False, checked: bool = False
) -> Response:
    """Start a report job (`checked`: the caller validated its own form and CSRF token)."""
    if not checked and not EmptyForm().validate_on_submit():
        abort(400)
    busy = _busy()
    if busy is not None:
        return busy
    # The address it was asked at: the links in the e-mails about it lead back there.
    params = {**params, "language": str(get_locale() or "da"), "base_url": request.url_root}
    job = report_jobs.create(db.session, current_user, kind, params, issue=issue)
    db.session.commit()
    report_jobs.submit(job)
    return redirect(url_for("reports.job", token=job.token))


def _busy() -> Response | None:
    """To the page of the user's unfinished job, if they have one: one at a time."""
    job = report_jobs.under_way(db.session, current_user)
    db.session.commit()  # orphans failed
    if job is None:
        return None
    flash(_("You can make one report at a time: this one is still being made."), "info")
    return redirect(url_for("reports.job", token=job.token))


@bp.post("/annual/<code>/<int:year>/pdf")
@login_required
def annual_pdf(code: str, year: int) -> Response:
    unit = _report_unit(code)
    return _start("annual", {"unit_id": unit.id, "year": year, "readable": _readable(unit, year)})


@bp.route("/annual/<code>/<int:year>/issue", methods=["GET", "POST"])
@login_required
def issue(code: str, year: int) -> Any:
    """What issuing will send (title, version, who is told, the plan and goals as saved),
    and the confirmation. The form names the draft's version it showed: if the draft was
    saved again since, nothing is issued and the page shows the new text to confirm."""
    unit = _report_unit(code)
    if not may(Can.ISSUE_REPORTS, unit):  # in a school: management only (app.policy)
        abort(404)
    measurement = _year_measurement(unit, year)
    draft = service.draft_for(db.session, unit, year)
    version = draft.version if draft else 0
    approved = report_archive.is_approved(draft)
    # The board would read the figures before the class teams and the student council.
    held = not current_access().results_released(measurement)
    form = IssueForm(data={"version": version} if request.method == "GET" else None)
    status = 200
    changed = False
    if request.method == "POST":
        if form.validate_on_submit():
            if form.version.data != version:
                changed = True
                form.version.data, form.version.raw_data = version, [str(version)]
                status = 409
            elif not approved or held:
                # Issuing needs a named approval of the draft as it stands (issue 19), and
                # results released to everyone.
                status = 409
            else:
                return _start("annual", {"unit_id": unit.id, "year": year}, issue=True,
                              checked=True)  # fmt: skip
        else:
            status = 400
    return render_template(
        "reports/issue.html",
        unit=unit,
        year=year,
        form=form,
        draft=draft,
        changed=changed,
        approved=approved,
        held=held,
        measurement=measurement,
        title=_("Annual follow-up report %(year)s", year=year) + f" – {unit.name}",
        next_version=report_archive.next_version(db.session, "annual", unit.id, year),
        recipients=report_archive.board_recipients(db.session, unit),
    ), status


@bp.get("/jobs/<token>")
@login_required
def job(token: str) -> Any:
    found = report_jobs.find(db.session, token, current_user)
    if found is None:
        abort(404)
    context = {"job": found, "stages": _stages(), "messages": _messages()}
    if htmx:
        return render_template("reports/_job.html", **context)
    return render_template("reports/job.html", **context)


@bp.get("/jobs/<token>/download")
@login_required
def job_download(token: str) -> Response:
    found = report_jobs.find(db.session, token, current_user)
    if found is None or found.state != "done":
        abort(404)
    if found.report_id is not None:
        return redirect(url_for("reports.download", report_id=found.report_id))
    if not found.pdf:
        abort(404)
    return _pdf_response(found.pdf, found.file_name)


@bp.get("/archive/<int:report_id>/download")
@login_required
def download(report_id: int) -> Response:
    issued = db.session.get(IssuedReport, report_id)
    if issued is None or not may(Can.VIEW_REPORTS, issued.unit_id):
        abort(404)
    name = report_jobs.file_name(issued.kind, issued.unit.code, issued.year, issued.version)
    return _pdf_response(issued.pdf, name)


def _pdf_response(content: bytes, file_name: str) -> Response:
    response = make_response(content)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = spreadsheets.content_disposition(file_name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _unit_context(measurement_id: int, code: str) -> tuple[Measurement, Unit]:
    measurement = db.session.get(Measurement, measurement_id)
    if measurement is None or not measurement.anonymity_ok:
        abort(404)
    unit = unit_or_404(code, Can.VIEW_RESULTS)
    if not current_access().may_see_results(db.session, measurement, unit.id):
        abort(404)  # not yet released by management to this person's roles
    return measurement, unit


@bp.get("/unit/<int:measurement_id>/<code>")
@login_required
def unit(measurement_id: int, code: str) -> str:
    """The unit report for the dialogue meeting, as a page (the PDF's very contents)."""
    measurement, unit = _unit_context(measurement_id, code)
    report = service.assemble_unit(db.session, unit, measurement)
    return render_template("reports/unit.html", unit=unit, report=report, measurement=measurement)


@bp.get("/unit/<int:measurement_id>/<code>.pdf")
@login_required
def unit_pdf(measurement_id: int, code: str) -> Response:
    """The unit report as PDF. Made before from the same HTML (by this process or by any
    job): at once. Otherwise made in the background, like the annual report, and the page
    of that job says when it is ready: laying out a PDF takes about a second, which would
    hold up everyone else's pages on the app server on a busy results morning."""
    measurement, unit = _unit_context(measurement_id, code)
    name = report_jobs.file_name("unit", unit.code, measurement.year)
    html = pdf_service.unit_html(service.assemble_unit(db.session, unit, measurement))
    made = pdf_service.already_made(html)
    if made is not None:
        return _pdf_response(made.pdf, name)
    kept = report_jobs.made_unit_pdf(db.session, pdf_service.digest(html))
    if kept is not None:
        return _pdf_response(kept, name)
    language = str(get_locale() or "da")
    job = report_jobs.unit_job_under_way(
        db.session, current_user, unit.id, measurement.id, language
    )
    if job is None:
        busy = _busy()
        if busy is not None:
            return busy
        params = {"unit_id": unit.id, "measurement_id": measurement.id, "language": language}
        job = report_jobs.create(db.session, current_user, "unit", params)
        db.session.commit()
        report_jobs.submit(job)
        db.session.refresh(job)
        if job.state == "done" and job.pdf:  # the inline backend: made in this request
            return _pdf_response(job.pdf, name)
    return redirect(url_for("reports.job", token=job.token))  # type: ignore[return-value]

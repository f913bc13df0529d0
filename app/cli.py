"""`flask --app wsgi kompas ...`: the commands HR, operators and the demo use."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select, update

from app.blueprints.results import preparing
from app.extensions import db
from app.models import Role, Unit


@click.group()
def kompas() -> None:
    """Kompas commands."""


@kompas.command("load-templates")
@with_appcontext
def load_templates_command() -> None:
    """Load the built-in questionnaires (gym, apv) if they are missing."""
    from app.services.questionnaires import load_templates

    created = load_templates(db.session)
    db.session.commit()
    click.echo(f"Loaded {len(created)} questionnaire template(s).")


@kompas.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--unit", "unit_code", required=True, help="The root unit's id, e.g. AK.")
@click.option(
    "--kind",
    type=click.Choice(["school", "municipality"]),
    help="What the organisation is: it sets the wording everywhere. Required at the first "
    "setup; later it changes the kind (also on the organisation's settings page).",
)
@click.option("--organisation", "organisation_name", help="The organisation's name.")
@click.password_option()
@with_appcontext
def create_admin(
    email: str,
    name: str,
    unit_code: str,
    kind: str | None,
    organisation_name: str | None,
    password: str,
) -> None:
    """Create an HR / survey-owner user (creates the root unit and the organisation if they
    do not exist). The organisation's kind is chosen here, never guessed from an import."""
    from app.models import OrganisationKind
    from app.services import organisation
    from app.services.users import UserError, assign_role, create_user

    existing = organisation.current(db.session)
    if existing is None and kind is None:
        raise click.UsageError(
            "Choose what the organisation is: --kind school or --kind municipality."
        )
    organisation.ensure(
        db.session,
        organisation_name or unit_code,
        OrganisationKind(kind) if kind else None,
    )
    if existing is not None and organisation_name:
        existing.name = organisation_name[: organisation.MAX_NAME_LENGTH]
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        unit = Unit(code=unit_code, name=unit_code)
        db.session.add(unit)
        db.session.flush()
    from app.services.passwords import MIN_PASSWORD_LENGTH, WeakPassword

    try:
        user = create_user(db.session, None, email=email, name=name, password=password)
    except UserError as error:
        raise click.ClickException(f"A user with the e-mail {error} exists already.") from error
    except WeakPassword as error:
        raise click.ClickException(
            "The password is too easy to guess (common, a pattern or your name): choose "
            f"a longer one of at least {MIN_PASSWORD_LENGTH} characters."
        ) from error
    assign_role(db.session, None, user, unit, Role.ADMIN)
    db.session.commit()
    click.echo(f"Created admin {user.email}.")


@kompas.command("demo")
@click.option("--reset", is_flag=True, help="Delete all data first.")
@click.option("--school", is_flag=True, help="A gymnasium instead of a municipality.")
@with_appcontext
def demo(reset: bool, school: bool) -> None:
    """Build the demo organisation with a user per role and print their password once."""
    from app.demo import DEMO_LOGINS, build_demo

    if reset:
        # Units point at their parents (RESTRICT): cut those links before deleting.
        db.session.execute(update(Unit).values(parent_id=None))
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    elif db.session.scalar(select(Unit.id).limit(1)) is not None:
        raise click.ClickException("The database has data already. Use --reset to start over.")
    if school:
        _school_demo()
        return
    password = build_demo(db.session)
    db.session.commit()
    click.echo("Demo organisation Åby Kommune is ready. Sign in as:")
    for login in DEMO_LOGINS:
        click.echo(f"  {login.email:<32} {login.role.value:<10} on {login.unit_code}")
    click.echo(f"Password for all demo users (shown only now): {password}")


def _school_demo() -> None:
    from datetime import date

    from app.demo_school import (
        COLLEAGUES,
        SCHOOL_DOMAIN,
        SCHOOL_NAME,
        build_school_demo,
        newest_year,
        school_logins,
    )

    password = build_school_demo(db.session)
    db.session.commit()
    click.echo(f"Demo gymnasium {SCHOOL_NAME} is ready. Sign in as:")
    for login in school_logins(newest_year(date.today())):
        click.echo(f"  {login.email:<40} {login.what:<24} on {login.unit_code}")
    colleagues = ", ".join(f"{name}@{SCHOOL_DOMAIN}" for name, _ in COLLEAGUES)
    click.echo(f"  and the teacher's colleagues on the class teams: {colleagues}")
    click.echo(f"Password for all demo users (shown only now): {password}")


@kompas.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--measurement", "measurement_name", required=True, help="Name of the measurement.")
@click.option("--year", type=int, help="Year (needed when the measurement is new).")
@click.option("--template", type=click.Choice(["gym", "apv"]), help="Built-in questionnaire.")
@click.option("--dry-run", is_flag=True, help="Check and summarise; write nothing.")
@click.option("--language", type=click.Choice(["da", "en"]), default="da", show_default=True)
@click.option(
    "--prepare/--no-prepare",
    default=False,
    help="Prepare every unit's results page before returning (else at their first view, "
    "or on the worker with REDIS_URL).",
)
@click.option(
    "--timings",
    is_flag=True,
    envvar="KOMPAS_IMPORT_TIMINGS",
    help="Print each phase's time (app start included) on stderr.",
)
@with_appcontext
def import_command(
    file: Path,
    measurement_name: str,
    year: int | None,
    template: str | None,
    dry_run: bool,
    language: str,
    prepare: bool,
    timings: bool,
) -> None:
    """Import a results file (CSV or XLSX, see the import format) into a measurement.

    The file is read streamed from disk, once; the command returns when the release, its
    figures and alerts are committed."""
    import time

    from app.services import imports, report_jobs
    from app.services.measurements import MeasurementError, find_or_prepare_measurement

    phases: list[tuple[str, float]] = [("start", time.perf_counter())]

    def progress(phase: str, percent: int) -> None:
        if phases[-1][0] != phase:
            phases.append((phase, time.perf_counter()))

    try:
        measurement = find_or_prepare_measurement(
            db.session, name=measurement_name, year=year, template_code=template
        )
    except MeasurementError as error:
        raise click.ClickException(str(error)) from error
    checked = imports.check(
        db.session,
        file,
        file_name=file.name,
        year=measurement.year,
        questionnaire=measurement.questionnaire,
        threshold=measurement.threshold,
        progress=progress,
    )
    result = checked.result
    message = "message_da" if language == "da" else "message_en"
    for kind, problems in (("notice", result.notices), ("warning", result.warnings)):
        for problem in problems:
            click.echo(f"{kind}: {_where(problem)}{getattr(problem, message)}")
    if not result.ok:
        for problem in result.errors:
            click.echo(f"error: {_where(problem)}{getattr(problem, message)}", err=True)
        db.session.rollback()
        raise click.ClickException(f"{len(result.errors)} error(s); nothing was imported.")
    preview = checked.preview
    click.echo(
        f"{file.name}: {result.rows} rows, {preview['units']} units "
        f"({len(preview['new_units'])} new, {len(preview['changed_units'])} changed), "
        f"{preview['questions']} questions, {preview['respondents']} respondents, "
        f"{len(preview['units_under_threshold'])} units under the threshold"
    )
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was written.")
        return
    area = imports.file_area(current_app.config, current_app.instance_path)
    log = imports.apply(db.session, None, checked, measurement, file_area=area, progress=progress)
    progress("commit", 100)
    db.session.commit()
    progress("end", 100)
    replaced = " (replacing the earlier import)" if log.replaced_earlier else ""
    click.echo(f"Imported into {measurement.name!r}{replaced}.")
    if timings:
        _print_timings(phases)
    # The results pages are a cache (made at their first view otherwise): this command does
    # not wait for them unless asked; a worker prepares them when there is one.
    if prepare:
        preparing.prepare(current_app._get_current_object())  # type: ignore[attr-defined]
    elif report_jobs.backend(current_app) == "rq":
        preparing.schedule()
    else:
        click.echo("Results pages are prepared at their first view (or now: kompas prepare).")


def _print_timings(phases: list[tuple[str, float]]) -> None:
    """Each phase's seconds and share of the whole on stderr, app start (from the process's
    start, as Linux counts it) included."""
    import time

    now = time.perf_counter()
    rows: list[tuple[str, float]] = []
    started = _process_age()
    if started is not None:
        rows.append(("app start", started - (now - phases[0][1])))
    for (phase, begun), (_, ended) in zip(phases, phases[1:], strict=False):
        rows.append(("setup" if phase == "start" else phase, ended - begun))
    total = sum(seconds for _, seconds in rows) or 1.0
    for phase, seconds in rows:
        click.echo(f"timing: {phase:<10} {seconds:7.2f} s {seconds / total:6.1%}", err=True)
    click.echo(f"timing: {'total':<10} {total:7.2f} s", err=True)


def _process_age() -> float | None:
    """Seconds since this process started (Linux /proc), None where that cannot be read."""
    import os

    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            up = float(uptime.read().split()[0])
        return up - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@kompas.command("import-references")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--questionnaire", default="gym", show_default=True, help="Questionnaire code.")
@click.option("--year", type=int, help="Year, for a file without a year column.")
@click.option("--dry-run", is_flag=True, help="Check and summarise; write nothing.")
@with_appcontext
def import_references_command(
    file: Path, questionnaire: str, year: int | None, dry_run: bool
) -> None:
    """Import reference figures (the ministry's key figures: national, sector, municipal)."""
    from app.services import references

    parsed = references.check_file(
        db.session, file.read_bytes(), questionnaire_code=questionnaire, year=year
    )
    for problem in parsed.problems:
        where = f"row {problem.row}: " if problem.row else ""
        click.echo(f"error: {where}{problem.code} {problem.value}".rstrip(), err=True)
    if not parsed.ok:
        db.session.rollback()
        raise click.ClickException(f"{len(parsed.problems)} error(s); nothing was imported.")
    for group_year, _source, label, count in parsed.groups():
        click.echo(f"{label} {group_year}: {count} figures")
    click.echo(f"{parsed.suppressed_cells} suppressed cells left out.")
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was written.")
        return
    stored = references.import_references(
        db.session, None, parsed, questionnaire_code=questionnaire, file_name=file.name
    )
    db.session.commit()
    click.echo(f"Imported {stored} reference figures.")


@kompas.command("prepare")
@with_appcontext
def prepare_command() -> None:
    """Prepare every unit's results section of the newest measurement, as an import does
    (after a deploy, sections are otherwise made at their first view)."""
    made = preparing.prepare(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"Prepared {made} results sections.")


def _where(problem: object) -> str:
    row, column = getattr(problem, "row", None), getattr(problem, "column", None)
    value = getattr(problem, "value", "")
    parts = [f"row {row}" if row else "", f"column {column}" if column else ""]
    where = ", ".join(p for p in parts if p)
    shown = f" {value!r}" if value else ""
    return f"{where}{shown}: " if where or shown else ""


@kompas.command("export-results")
@click.option("--measurement", "measurement_name", required=True)
@click.option("--as", "as_email", help="Export what this user sees (default: what HR sees).")
@with_appcontext
def export_results(measurement_name: str, as_email: str | None) -> None:
    """Print a measurement's results as JSON, exactly as a user would see them on screen."""
    import json

    from app.models import Measurement, User
    from app.policy import Access, load_access
    from app.services.export import results_document

    measurement = db.session.scalar(select(Measurement).where(Measurement.name == measurement_name))
    if measurement is None:
        raise click.ClickException(f"There is no measurement {measurement_name!r}.")
    if not measurement.anonymity_ok:
        raise click.ClickException(
            "The measurement has no figures that passed the anonymity audit."
        )
    if as_email:
        user = db.session.scalar(select(User).where(User.email == User.normalise_email(as_email)))
        if user is None:
            raise click.ClickException(f"There is no user {as_email!r}.")
        access = load_access(db.session, user)
    else:
        access = Access(user_id=0, is_admin=True)
    document = results_document(db.session, access, measurement)
    click.echo(json.dumps(document, ensure_ascii=False, indent=1))


@kompas.command("export-followup")
@click.option("--measurement", "measurement_name", required=True)
@with_appcontext
def export_followup(measurement_name: str) -> None:
    """Print every unit's follow-up (steps, actions, alerts) as JSON for HR's reporting."""
    import json

    from app.models import Measurement
    from app.services.followup import followup_document

    measurement = db.session.scalar(select(Measurement).where(Measurement.name == measurement_name))
    if measurement is None or not measurement.anonymity_ok:
        raise click.ClickException(f"There is no measurement {measurement_name!r} with results.")
    click.echo(
        json.dumps(followup_document(db.session, measurement, None), ensure_ascii=False, indent=1)
    )


@kompas.command("remind")
@click.option("--today", "today_text", help="Pretend today is this date (YYYY-MM-DD).")
@click.option("--dry-run", is_flag=True, help="Say who would get what; send nothing.")
@with_appcontext
def remind(today_text: str | None, dry_run: bool) -> None:
    """E-mail today's digests: overdue and soon-due actions, and open alerts for leaders.

    Run it daily from cron or a systemd timer. SMTP comes from MAIL_SERVER, MAIL_PORT,
    MAIL_USERNAME, MAIL_PASSWORD, MAIL_USE_TLS and MAIL_FROM; with no MAIL_SERVER the
    digests are written to the log.
    """
    import os
    from datetime import date

    from flask import current_app

    from app.services import reminders

    today = date.fromisoformat(today_text) if today_text else reminders.copenhagen_today()
    found = reminders.digests(db.session, today)
    if dry_run:
        for digest in found:
            click.echo(
                f"{digest.user.email}: {len(digest.overdue)} overdue, {len(digest.due_soon)} due "
                f"soon, {len(digest.team_overdue)} overdue in their units, "
                f"{len(digest.alerts)} open alerts"
            )
        click.echo(f"{len(found)} digest(s) for {today.isoformat()}; dry run, nothing sent.")
        return
    settings = {key: value for key, value in os.environ.items() if key.startswith("MAIL_")}
    base_url = current_app.config.get("BASE_URL") or os.environ.get("BASE_URL", "http://localhost")
    sent = reminders.send(found, settings, base_url)
    click.echo(f"{sent} digest(s) for {today.isoformat()}.")


@kompas.command("purge")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@with_appcontext
def purge(dry_run: bool) -> None:
    """Delete measurements older than the retention period, with everything on them.

    Run it from cron or a systemd timer (see deploy/). The period is the organisation's
    retention setting (1-10 years, default 5; HR sets it on the organisation's page). Reports
    issued to the board are kept unless that page says a purge deletes them.
    """
    from datetime import date

    from app.services import retention

    today = date.today()
    if dry_run:
        plan = retention.preview(db.session, today)
        for measurement in plan.measurements:
            click.echo(f"would delete {measurement.name} ({measurement.year})")
        click.echo(
            f"{len(plan.measurements)} measurement(s) older than {plan.retention_years} years, "
            f"with {plan.follow_ups} follow-up(s), {plan.actions} action(s) and "
            f"{plan.alerts} alert(s)."
        )
        if plan.issued_reports_deleted:
            click.echo(
                f"would delete {plan.issued_reports_deleted} report(s) issued to the board "
                f"before {plan.oldest_kept_year} (the organisation's setting)."
            )
        elif plan.issued_reports_kept:
            click.echo(
                f"keeps {plan.issued_reports_kept} report(s) issued to the board before "
                f"{plan.oldest_kept_year}."
            )
        click.echo("Dry run, nothing deleted.")
        return
    gone = retention.purge(db.session, None, today)
    db.session.commit()
    for measurement in gone:
        click.echo(f"deleted {measurement.name} ({measurement.year})")
    click.echo(f"{len(gone)} measurement(s) deleted.")


@kompas.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Copy the whole database to FILE (SQLite backup API, or pg_dump's custom format)."""
    from app.services.backup import BackupError, backup

    try:
        backup(db.engine, file)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backup written to {file}.")


@kompas.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(file: Path, yes: bool) -> None:
    """Replace the database's contents with the backup in FILE."""
    from app.services.backup import BackupError, restore

    if not yes:
        click.confirm("This replaces everything in the database. Continue?", abort=True)
    db.session.remove()
    try:
        restore(db.engine, file)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored from {file}.")


@kompas.group("report")
def report_group() -> None:
    """Make report PDFs (the same documents as the web app), for automation."""


def _report_unit(code: str | None) -> Unit:
    if code:
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            raise click.ClickException(f"There is no unit {code!r}.")
        return unit
    roots = list(db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).limit(2)))
    if len(roots) != 1:
        raise click.ClickException("Name the unit with --unit (the organisation has no one root).")
    return roots[0]


@report_group.command("annual")
@click.option("--year", type=int, required=True)
@click.option("--unit", "unit_code", help="The report's unit (default: the organisation).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--language", type=click.Choice(["da", "en"]), default="da", show_default=True)
@with_appcontext
def report_annual(year: int, unit_code: str | None, output: Path, language: str) -> None:
    """Write the annual follow-up report of a unit (default: the organisation) as PDF."""
    import time

    from flask import current_app
    from flask_babel import force_locale

    from app.services import pdf, reports

    unit = _report_unit(unit_code)
    with current_app.test_request_context("/"), force_locale(language):
        start = time.perf_counter()
        try:
            report = reports.assemble_annual(db.session, unit, year)
        except reports.ReportUnavailable as error:
            raise click.ClickException(
                f"No annual report for {unit.code} {year}: {error}"
            ) from error
        assembled = time.perf_counter() - start
        rendered = pdf.annual_pdf(report)
    output.write_bytes(rendered.pdf)
    click.echo(
        f"Wrote {output} ({rendered.pages} pages, {len(rendered.pdf) // 1024} kB; "
        f"data {assembled:.2f} s, PDF {rendered.seconds:.2f} s; "
        f"data checksum {reports.checksum(report)})."
    )


@report_group.command("unit")
@click.option("--measurement", "measurement_name", required=True)
@click.option("--unit", "unit_code", required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--language", type=click.Choice(["da", "en"]), default="da", show_default=True)
@with_appcontext
def report_unit(measurement_name: str, unit_code: str, output: Path, language: str) -> None:
    """Write a unit's report for the dialogue meeting as PDF (hidden figures stay hidden)."""
    from flask import current_app
    from flask_babel import force_locale

    from app.models import Measurement
    from app.services import pdf, reports

    measurement = db.session.scalar(select(Measurement).where(Measurement.name == measurement_name))
    if measurement is None or not measurement.anonymity_ok:
        raise click.ClickException(f"There is no measurement {measurement_name!r} with results.")
    unit = _report_unit(unit_code)
    with current_app.test_request_context("/"), force_locale(language):
        rendered = pdf.unit_pdf(reports.assemble_unit(db.session, unit, measurement))
    output.write_bytes(rendered.pdf)
    click.echo(f"Wrote {output} ({rendered.pages} pages, {len(rendered.pdf) // 1024} kB).")

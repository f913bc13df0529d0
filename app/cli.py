"""`flask --app wsgi kompas ...`: the commands HR, operators and the demo use."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

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
@click.password_option()
@with_appcontext
def create_admin(email: str, name: str, unit_code: str, password: str) -> None:
    """Create an HR / survey-owner user (creates the root unit if it does not exist)."""
    from app.services.users import UserError, assign_role, create_user

    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        unit = Unit(code=unit_code, name=unit_code)
        db.session.add(unit)
        db.session.flush()
    try:
        user = create_user(db.session, None, email=email, name=name, password=password)
    except UserError as error:
        raise click.ClickException(f"A user with the e-mail {error} exists already.") from error
    assign_role(db.session, None, user, unit, Role.ADMIN)
    db.session.commit()
    click.echo(f"Created admin {user.email}.")


@kompas.command("demo")
@click.option("--reset", is_flag=True, help="Delete all data first.")
@with_appcontext
def demo(reset: bool) -> None:
    """Build the demo organisation with a user per role and print their password once."""
    from app.demo import DEMO_LOGINS, build_demo

    if reset:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    elif db.session.scalar(select(Unit.id).limit(1)) is not None:
        raise click.ClickException("The database has data already. Use --reset to start over.")
    password = build_demo(db.session)
    db.session.commit()
    click.echo("Demo organisation Åby Kommune is ready. Sign in as:")
    for login in DEMO_LOGINS:
        click.echo(f"  {login.email:<32} {login.role.value:<10} on {login.unit_code}")
    click.echo(f"Password for all demo users (shown only now): {password}")

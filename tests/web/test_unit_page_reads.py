"""The unit page reads how far the follow-up has come and the open alerts on their own (one
small query each, not the follow-up with its steps), and the unit with its chain and
children in one: what it says must stay what the follow-up holds."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import FollowUp, Measurement, Role, Step, StepState, Unit, User, ZeroToleranceAlert
from app.services import followup as followup_service
from tests.conftest import login
from tests.followup_data import measure


@pytest.fixture
def measured(app: Flask, org: dict[str, str]) -> int:
    with app.app_context():
        return measure().id


def _leader(app: Flask, make_user: Callable[..., User], code: str = "A") -> None:
    make_user("leder@x.dk", roles=[(Role.LEADER, code)])


def _follow_up(app: Flask, measurement_id: int, code: str, done: list[Step]) -> None:
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        measurement = db.session.get(Measurement, measurement_id)
        actor = db.session.scalar(select(User).where(User.email == "leder@x.dk"))
        follow_up = followup_service.start(db.session, actor, measurement, unit)  # type: ignore[arg-type]
        for step in done:
            followup_service.save_step(db.session, actor, follow_up, step, {}, StepState.DONE)  # type: ignore[arg-type]
        db.session.commit()


def _alert(app: Flask, measurement_id: int, code: str, *, closed: bool = False) -> None:
    with app.app_context():
        db.session.add(
            ZeroToleranceAlert(
                measurement_id=measurement_id,
                unit_id=db.session.scalar(select(Unit.id).where(Unit.code == code)),
                opened_on=db.func.current_date(),
                due_on=db.func.current_date(),
                closed_at=db.func.current_timestamp() if closed else None,
            )
        )
        db.session.commit()


def test_a_unit_page_says_the_follow_up_is_not_started(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], measured: int
) -> None:
    _leader(app, make_user)
    login(client, "leder@x.dk")
    page = client.get("/units/A1").get_data(as_text=True)
    assert "Opfølgningen på disse resultater er ikke startet." in page
    assert "Aktuelt trin" not in page


def test_a_unit_page_names_the_first_step_not_done_and_counts_only_open_alerts(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], measured: int
) -> None:
    _leader(app, make_user)
    _follow_up(app, measured, "A1", done=[Step.ANALYSIS, Step.DIALOGUE])
    _alert(app, measured, "A1")
    _alert(app, measured, "A2", closed=True)
    login(client, "leder@x.dk")
    page = client.get("/units/A1").get_data(as_text=True)
    # The preparation is the first step not done, though a later one is.
    assert "Aktuelt trin: Forberedelse af dialog" in page
    assert "1 åben nultoleranceadvarsel" in page
    other = client.get("/units/A2").get_data(as_text=True)
    assert "Opfølgningen på disse resultater er ikke startet." in other
    assert "nultoleranceadvars" not in other  # closed


def test_a_unit_page_with_every_step_done_is_at_the_evaluation(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], measured: int
) -> None:
    _leader(app, make_user)
    _follow_up(app, measured, "A1", done=list(Step))
    login(client, "leder@x.dk")
    page = client.get("/units/A1").get_data(as_text=True)
    assert "Aktuelt trin: Evaluering" in page
    assert "nultoleranceadvars" not in page
    with app.app_context():
        follow_up = db.session.scalar(select(FollowUp))
        assert followup_service.current_step(follow_up) == Step.EVALUATION


def test_a_unit_page_shows_its_trail_and_only_active_children(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], org: dict[str, str]
) -> None:
    with app.app_context():
        db.session.scalar(select(Unit).where(Unit.code == "A2")).active = False  # type: ignore[union-attr]
        db.session.commit()
    _leader(app, make_user)
    login(client, "leder@x.dk")
    page = client.get("/units/A").get_data(as_text=True)
    assert "Enhed A1" in page and "/units/A1" in page
    assert "Enhed A2" not in page
    # The root is above the leader's unit: named in the trail, not a link.
    assert "Enhed R" in page and 'href="/units/R"' not in page
    assert client.get("/units/NO-SUCH-UNIT").status_code == 404
    assert client.get("/units/B").status_code == 404  # exists, not the leader's

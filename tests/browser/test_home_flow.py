"""The home page is the to-do list, in a real browser (issue 18), in Danish, at laptop and
phone width, every page axe-checked: the leader's home takes her to the current step in one
click; the department head sees the plan waiting for his approval and opens it; HR's count of
red units opens the follow-up overview filtered to exactly those units."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Organisation,
    OrganisationKind,
    PlanApproval,
    Role,
    Step,
    StepState,
    Unit,
    UnitFigures,
)
from app.services import followup as followup_service
from app.services.users import assign_role, create_user
from tests.browser.conftest import AxePage, look
from tests.browser.conftest import sign_in as sign_in_afresh
from tests.followup_data import measure

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
TODAY = date.today()


@pytest.fixture
def organisation(live_app: Flask) -> dict[str, int]:
    """The small measured organisation, its timeline such that the action plan was due five
    months ago. Lise leads Enhed A2 (red) and has done the steps before the plan; Bo leads
    Enhed A above it and is asked to approve her plan; Hanne is HR."""
    with live_app.app_context():
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        measurement = measure()
        measurement.results_released_on = TODAY - timedelta(days=230)
        measurement.dialogue_deadline = TODAY - timedelta(days=190)
        measurement.action_plan_deadline = TODAY - timedelta(days=160)
        measurement.evaluation_date = TODAY + timedelta(days=60)
        users = {}
        for email, name, code, role in [
            ("leder@testby.dk", "Lise Dahl", "A2", Role.LEADER),
            ("bo@testby.dk", "Bo Holm", "A", Role.LEADER),
            ("hr@testby.dk", "Hanne Rasmussen", "R", Role.ADMIN),
        ]:
            user = create_user(db.session, None, email=email, name=name, password=PASSWORD)
            assign_role(db.session, None, user, _unit(code), role)
            users[email] = user
        follow_up = followup_service.start(
            db.session, users["leder@testby.dk"], measurement, _unit("A2")
        )
        for step in (Step.ANALYSIS, Step.PREPARATION, Step.DIALOGUE):
            followup_service.save_step(
                db.session, users["leder@testby.dk"], follow_up, step, {}, StepState.DONE
            )
        db.session.add(
            PlanApproval(
                follow_up_id=follow_up.id,
                round=1,
                approver_id=users["bo@testby.dk"].id,
                approver_name="Bo Holm",
                requested_by_id=users["leder@testby.dk"].id,
            )
        )
        db.session.commit()
        red = db.session.scalar(
            select(func.count())
            .select_from(UnitFigures)
            .where(
                UnitFigures.measurement_id == measurement.id,
                UnitFigures.shown.is_(True),
                UnitFigures.colour == "red",
            )
        )
        return {"measurement": measurement.id, "red": red}


def _unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def sign_in(tab: Page, email: str) -> None:
    sign_in_afresh(tab, email, PASSWORD)


def sign_out(tab: Page) -> None:
    tab.get_by_role("button", name="Log ud").click()
    tab.wait_for_url("**/auth/login**")


def test_each_role_goes_from_the_home_to_what_to_do_next(
    page: AxePage, organisation: dict[str, int]
) -> None:
    tab = page.page
    measurement_id = organisation["measurement"]

    # The leader: a card for her unit, its plan months overdue in words, one click onwards.
    sign_in(tab, "leder@testby.dk")
    card = tab.locator("#todo-A2")
    expect(card).to_contain_text("Rød")
    expect(card).to_contain_text("Handleplan")
    expect(card).to_contain_text("5 måneder over tid")
    page.check_accessibility()
    look(tab, "home-leader")
    card.get_by_role("link", name=re.compile(r"^Fortsæt")).click()
    tab.wait_for_url(f"**/followup/{measurement_id}/A2/plan")
    expect(tab.get_by_role("heading", level=1)).to_contain_text("Handleplan")
    page.check_accessibility()
    sign_out(tab)

    # The department head: the plan waiting for his approval, one click to decide on it.
    sign_in(tab, "bo@testby.dk")
    waiting = tab.get_by_role("region", name=re.compile("Handleplaner, der venter"))
    expect(waiting).to_contain_text("(1)")
    expect(waiting).to_contain_text("sendt af Lise Dahl")
    behind = tab.get_by_role("region", name=re.compile("Enheder, der er bagud"))
    expect(behind).to_contain_text("Enhed A2")
    page.check_accessibility()
    look(tab, "home-department-head")
    waiting.get_by_role("link", name="Enhed A2").click()
    tab.wait_for_url(re.compile(r"/followup/approvals/\d+$"))
    expect(tab.locator("main")).to_contain_text("Enhed A2")
    page.check_accessibility()
    sign_out(tab)

    # HR: the count of red units opens the overview with exactly those units and says so.
    sign_in(tab, "hr@testby.dk")
    red = tab.locator("#count-red a")
    expect(red).to_contain_text(f"{organisation['red']} ")
    page.check_accessibility()
    look(tab, "home-hr")
    red.click()
    tab.wait_for_url(re.compile(r"/followup/overview\?.*colour=red"))
    expect(tab.get_by_role("group", name="Filtre i brug")).to_contain_text("Rød")
    rows = tab.locator("#followup-table tbody tr")
    expect(rows).to_have_count(organisation["red"])
    page.check_accessibility()
    look(tab, "overview-red")
    # Removing the chip shows every unit again.
    tab.get_by_role("group", name="Filtre i brug").get_by_role(
        "link", name=re.compile("^Rød")
    ).click()
    expect(tab.get_by_role("group", name="Filtre i brug")).to_have_count(0)
    assert rows.count() > organisation["red"]
    page.check_accessibility()

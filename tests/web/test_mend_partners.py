"""A partner (the trio's TR or AMR, a teacher of a school's class team) who loses the member
role on the unit can no longer edit its steps; the hub then no longer lists them as a
partner like the others: the leader sees them marked "har ikke længere adgang" and removes
them; others see only the partners who still have access. Through HTTP, with the role taken
away by HR on the user's page."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, RoleAssignment, Unit, UnitPartner
from app.services import followup as followup_service
from tests.conftest import login
from tests.followup_data import measure

NO_ACCESS = "har ikke længere adgang"


@pytest.fixture
def trio(app: Flask, org, make_user) -> dict[str, int]:
    """A2's leader Lise with Tina (TR) and Anders (AMR) named as partners; A2's follow-up
    started. Mads is a member of A2 who is not a partner."""
    with app.app_context():
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        db.session.commit()
    ids = {
        "lise": make_user("lise@x.dk", [(Role.LEADER, "A2")], name="Lise Dahl").id,
        "hanne": make_user("hanne@x.dk", [(Role.ADMIN, "R")], name="Hanne HR").id,
        "tina": make_user("tina@x.dk", [(Role.MEMBER, "A2")], name="Tina TR").id,
        "anders": make_user("anders@x.dk", [(Role.MEMBER, "A2")], name="Anders AMR").id,
        "mads": make_user("mads@x.dk", [(Role.MEMBER, "A2")], name="Mads Berg").id,
    }
    with app.app_context():
        measurement = measure()
        ids["measurement"] = measurement.id
        a2 = db.session.scalar(select(Unit).where(Unit.code == "A2"))
        followup_service.start(db.session, None, measurement, a2)
        db.session.commit()
    lise = _as(app, "lise@x.dk")
    for who, function in (("tina", "union_rep"), ("anders", "safety_rep")):
        added = lise.post(
            f"/followup/{ids['measurement']}/A2/partners",
            data={"partner-user_id": ids[who], "partner-function": function},
        )
        assert added.status_code == 302, added.get_data(as_text=True)[:1000]
    return ids


def _as(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


def _hub(client: FlaskClient, ids: dict[str, int]) -> str:
    response = client.get(f"/followup/{ids['measurement']}/A2/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _partners_section(page: str) -> str:
    found = re.search(r'<section id="partners".*?</section>', page, re.S)
    assert found, "the hub shows the partners"
    return found.group(0)


def _take_member_role(app: Flask, hr: FlaskClient, user_id: int) -> None:
    with app.app_context():
        assignment_id = db.session.scalar(
            select(RoleAssignment.id).where(
                RoleAssignment.user_id == user_id, RoleAssignment.role == Role.MEMBER
            )
        )
    removed = hr.post(f"/admin/users/{user_id}/roles/{assignment_id}/delete")
    assert removed.status_code == 302


def _partner_id(app: Flask, user_id: int) -> int | None:
    with app.app_context():
        return db.session.scalar(select(UnitPartner.id).where(UnitPartner.user_id == user_id))


def test_a_partner_who_lost_the_member_role_is_marked_and_the_leader_removes_them(
    app: Flask, trio: dict[str, int]
) -> None:
    lise, hr = _as(app, "lise@x.dk"), _as(app, "hanne@x.dk")
    before = _partners_section(_hub(lise, trio))
    assert "Tina TR" in before and "Anders AMR" in before and NO_ACCESS not in before

    _take_member_role(app, hr, trio["tina"])
    # Tina can no longer edit the steps (the policy), ...
    tina = _as(app, "tina@x.dk")
    assert tina.get(f"/followup/{trio['measurement']}/A2/analysis").status_code == 404
    # ... and the leader sees that on the hub, beside a way to remove her.
    section = _partners_section(_hub(lise, trio))
    tina_line = re.search(r"<li[^>]*>(?:(?!</li>).)*Tina TR.*?</li>", section, re.S)
    anders_line = re.search(r"<li[^>]*>(?:(?!</li>).)*Anders AMR.*?</li>", section, re.S)
    assert tina_line and anders_line
    assert NO_ACCESS in tina_line.group(0) and NO_ACCESS not in anders_line.group(0)
    remove_url = (
        f"/followup/{trio['measurement']}/A2/partners/{_partner_id(app, trio['tina'])}/remove"
    )
    assert remove_url in tina_line.group(0)
    # Anyone else who sees the hub sees only the partners who can still edit.
    anders_view = _partners_section(_hub(_as(app, "anders@x.dk"), trio))
    assert "Anders AMR" in anders_view and "Tina TR" not in anders_view

    # The leader removes her: the page asks first, saying she has no access already.
    asked = lise.get(remove_url)
    assert asked.status_code == 200
    assert (
        "Tina TR (Tillidsrepræsentant (TR)) kan ikke længere redigere trinnene for Enhed A2: "
        "vedkommende har ikke længere en rolle på enheden" in asked.get_data(as_text=True)
    )
    assert lise.post(remove_url).status_code == 302
    assert _partner_id(app, trio["tina"]) is None
    after = _partners_section(_hub(lise, trio))
    assert "Tina TR" not in after and "Anders AMR" in after
    # Given the role back, she is among the people the leader can name again.
    with app.app_context():
        from app.models import User
        from app.services.users import assign_role

        unit = db.session.scalar(select(Unit).where(Unit.code == "A2"))
        assign_role(db.session, None, db.session.get(User, trio["tina"]), unit, Role.MEMBER)
        db.session.commit()
    assert re.search(rf'<option value="{trio["tina"]}">Tina TR', _hub(lise, trio))


def test_a_deactivated_partner_is_marked_too(app: Flask, trio: dict[str, int]) -> None:
    hr = _as(app, "hanne@x.dk")
    assert hr.post(f"/admin/users/{trio['anders']}/active").status_code == 302
    section = _partners_section(_hub(_as(app, "lise@x.dk"), trio))
    anders_line = re.search(r"<li[^>]*>(?:(?!</li>).)*Anders AMR.*?</li>", section, re.S)
    assert anders_line and NO_ACCESS in anders_line.group(0)


def test_a_school_teacher_who_left_the_class_team_is_marked(
    app: Flask, trio: dict[str, int]
) -> None:
    """In a school the partners are the class team's teachers; the same holds."""
    from sqlalchemy import update

    with app.app_context():
        db.session.execute(update(Organisation).values(kind=OrganisationKind.SCHOOL))
        db.session.execute(update(UnitPartner).values(function="teacher"))
        db.session.commit()
    _take_member_role(app, _as(app, "hanne@x.dk"), trio["tina"])
    page = _hub(_as(app, "lise@x.dk"), trio)
    section = _partners_section(page)
    assert "Klasseteam" in section
    tina_line = re.search(r"<li[^>]*>(?:(?!</li>).)*Tina TR.*?</li>", section, re.S)
    assert tina_line and NO_ACCESS in tina_line.group(0) and "Fjern" in tina_line.group(0)


def test_a_partner_who_lost_the_member_role_hears_no_approval_decision(
    app: Flask, trio: dict[str, int]
) -> None:
    """The decision on the plan goes to the sender and the partners who can still edit it."""
    from app.models import FollowUp, PlanApproval
    from app.services import approval as approval_service

    _take_member_role(app, _as(app, "hanne@x.dk"), trio["tina"])
    with app.app_context():
        follow_up = db.session.scalar(select(FollowUp))
        approval = PlanApproval(follow_up=follow_up, requested_by_id=trio["lise"])
        db.session.add(approval)
        db.session.flush()
        told = {u.id for u in approval_service.decision_recipients(db.session, approval)}
        db.session.rollback()
    assert trio["anders"] in told
    assert trio["tina"] not in told

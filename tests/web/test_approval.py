"""The unit's partners (the trio / the class team) and a real approval of the action plan:
sent to named approvers, decided only by them, e-mailed both ways (issue 18)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import (
    FollowUp,
    Organisation,
    OrganisationKind,
    PlanApproval,
    Role,
    RoleAssignment,
    Step,
    StepState,
    Unit,
    UnitPartner,
    User,
)
from app.services import approval as service
from app.services import followup as followup_service
from tests.conftest import Inbox, login
from tests.followup_data import measure

# A2 is red (tests/followup_data.py): its plan goes to the department head (leader of A) and HR.


@pytest.fixture
def people(app: Flask, org, make_user) -> dict[str, int]:
    with app.app_context():
        db.session.add(Organisation(name="Testby Kommune", kind=OrganisationKind.MUNICIPALITY))
        db.session.commit()
    ids = {
        "lise": make_user("lise@x.dk", [(Role.LEADER, "A2")], name="Lise Dahl").id,
        "bo": make_user("bo@x.dk", [(Role.LEADER, "A")], name="Bo Holm").id,
        "hanne": make_user("hanne@x.dk", [(Role.ADMIN, "R")], name="Hanne HR").id,
        "mads": make_user("mads@x.dk", [(Role.MEMBER, "A2")], name="Mads Berg").id,
        "tina": make_user("tina@x.dk", [(Role.MEMBER, "A2")], name="Tina TR").id,
        "other": make_user("other@x.dk", [(Role.LEADER, "B")], name="Ole Anden").id,
        "head_a1": make_user("a1@x.dk", [(Role.LEADER, "A1")], name="Anna Et").id,
    }
    with app.app_context():
        measurement = measure()
        ids["measurement"] = measurement.id
        a2 = db.session.scalar(select(Unit).where(Unit.code == "A2"))
        lise = db.session.get(User, ids["lise"])
        plan = followup_service.start(db.session, lise, measurement, a2)
        followup_service.add_action(db.session, lise, plan, title="Fast fredagsmøde")
        db.session.commit()
    return ids


def as_user(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    login(client, email)
    return client


def plan_url(people: dict[str, int]) -> str:
    return f"/followup/{people['measurement']}/A2/plan"


def send_url(people: dict[str, int]) -> str:
    return f"/followup/{people['measurement']}/A2/plan/send"


def rows(app: Flask) -> list[PlanApproval]:
    with app.app_context():
        found = list(db.session.scalars(select(PlanApproval).order_by(PlanApproval.id)))
        db.session.expunge_all()
        return found


def follow_up(app: Flask) -> FollowUp:
    with app.app_context():
        found = db.session.scalar(select(FollowUp).options())
        assert found is not None
        plan_state = next(s.state for s in found.steps if s.step == Step.PLAN)
        found.plan_state = plan_state  # type: ignore[attr-defined]
        db.session.expunge_all()
        return found


def send(app: Flask, people: dict[str, int], message: str = "Se tema 2.") -> None:
    lise = as_user(app, "lise@x.dk")
    response = lise.post(
        send_url(people), data={"head": people["bo"], "hr": people["hanne"], "message": message}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def decide(app: Flask, email: str, approval_id: int, decision: str, comment: str = "") -> int:
    client = as_user(app, email)
    return client.post(
        f"/followup/approvals/{approval_id}", data={"decision": decision, "comment": comment}
    ).status_code


def link_in(body: str) -> str:
    found = re.search(r"http://\S+", body)
    assert found, body
    return found.group(0)


# --- sending ----------------------------------------------------------------------------------


def test_the_send_form_preselects_the_department_head_and_hr_for_a_red_unit(
    app: Flask, people: dict[str, int]
) -> None:
    page = as_user(app, "lise@x.dk").get(send_url(people)).get_data(as_text=True)
    assert re.search(rf'<option selected value="{people["bo"]}">Bo Holm \(Enhed A\)', page)
    assert re.search(rf'<option selected value="{people["hanne"]}">Hanne HR', page)
    assert "Ole Anden" not in page  # a leader elsewhere is not eligible
    assert "Anna Et" not in page  # nor a leader beside or below


def test_sending_opens_a_round_and_mails_each_approver(
    app: Flask, people: dict[str, int], smtp_server: Inbox
) -> None:
    send(app, people, message="Se især tema 2.")
    opened = rows(app)
    assert [(r.round, r.approver_id, r.decision) for r in opened] == [
        (1, people["bo"], ""),
        (1, people["hanne"], ""),
    ]
    smtp_server.wait_for(2)
    assert len(smtp_server) == 2
    to_bo = smtp_server.to("bo@x.dk")[0]
    assert Inbox.subject(to_bo) == "Handleplan til godkendelse: Enhed A2"
    body = Inbox.body(to_bo)
    assert "Lise Dahl" in body and "Se især tema 2." in body
    assert link_in(body).endswith(f"/followup/approvals/{opened[0].id}")
    page = as_user(app, "mads@x.dk").get(plan_url(people)).get_data(as_text=True)
    assert "Afventer godkendelse fra Bo Holm og Hanne HR siden" in page
    assert "venter på din godkendelse" not in page
    assert "Godkend eller send tilbage" not in page
    page = as_user(app, "bo@x.dk").get(plan_url(people)).get_data(as_text=True)
    assert f'href="/followup/approvals/{opened[0].id}">Godkend eller send tilbage' in page
    assert ">1 plan venter på din godkendelse</a>" in page


def test_a_second_send_while_waiting_changes_nothing(app: Flask, people: dict[str, int]) -> None:
    send(app, people)
    again = as_user(app, "lise@x.dk").post(
        send_url(people), data={"head": people["bo"], "hr": people["hanne"]}
    )
    assert again.status_code == 302
    assert len(rows(app)) == 2


def test_an_approver_outside_the_list_is_refused_and_nothing_is_sent(
    app: Flask, people: dict[str, int], smtp_server: Inbox
) -> None:
    response = as_user(app, "lise@x.dk").post(
        send_url(people),
        data={"head": people["other"], "hr": people["hanne"], "message": "Behold mig"},
    )
    assert response.status_code == 400
    assert "Behold mig" in response.get_data(as_text=True)  # nothing typed is lost
    assert rows(app) == []
    assert smtp_server.wait_for(1, timeout=0.5) == []


def test_a_red_unit_cannot_leave_hr_out(app: Flask, people: dict[str, int]) -> None:
    response = as_user(app, "lise@x.dk").post(send_url(people), data={"head": people["bo"]})
    assert response.status_code == 400
    assert "En rød enheds plan godkendes også af HR" in response.get_data(as_text=True)
    assert rows(app) == []


def test_a_member_who_is_no_partner_cannot_send(app: Flask, people: dict[str, int]) -> None:
    response = as_user(app, "mads@x.dk").post(
        send_url(people), data={"head": people["bo"], "hr": people["hanne"]}
    )
    assert response.status_code == 404
    assert rows(app) == []


def test_the_old_text_box_is_gone(app: Flask, people: dict[str, int]) -> None:
    lise = as_user(app, "lise@x.dk")
    page = lise.get(plan_url(people)).get_data(as_text=True)
    assert "Markér planen som godkendt" not in page
    assert "Send til godkendelse" in page
    gone = lise.post(f"/followup/{people['measurement']}/A2/plan/approve", data={"body": "Mig"})
    assert gone.status_code in (404, 405)
    assert follow_up(app).approved_at is None


# --- deciding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["other@x.dk", "mads@x.dk", "lise@x.dk", "a1@x.dk"])
def test_only_the_named_approver_or_an_admin_sees_and_decides(
    app: Flask, people: dict[str, int], email: str
) -> None:
    send(app, people)
    bo_row = rows(app)[0]
    client = as_user(app, email)
    assert client.get(f"/followup/approvals/{bo_row.id}").status_code == 404
    assert decide(app, email, bo_row.id, "approve") == 404
    assert rows(app)[0].decision == ""
    assert as_user(app, "bo@x.dk").get(f"/followup/approvals/{bo_row.id}").status_code == 200
    assert as_user(app, "hanne@x.dk").get(f"/followup/approvals/{bo_row.id}").status_code == 200


def test_sending_back_needs_a_comment_and_mails_the_sender_and_partners(
    app: Flask, people: dict[str, int], smtp_server: Inbox
) -> None:
    with app.app_context():
        a2 = db.session.scalar(select(Unit).where(Unit.code == "A2"))
        lise = db.session.get(User, people["lise"])
        service.add_partner(db.session, lise, a2, people["tina"], "union_rep")
        db.session.commit()
    as_user(app, "tina@x.dk").post(
        send_url(people), data={"head": people["bo"], "hr": people["hanne"]}
    )
    smtp_server.wait_for(2)
    smtp_server.clear()
    bo_row = rows(app)[0]
    assert decide(app, "bo@x.dk", bo_row.id, "return", "") == 400
    assert rows(app)[0].decision == ""
    assert decide(app, "bo@x.dk", bo_row.id, "return", "Tema 2 mangler en deadline.") == 302
    assert rows(app)[0].decision == "returned"
    smtp_server.wait_for(1)
    (to_tina,) = smtp_server.to("tina@x.dk")  # the sender: the partner who sent it
    assert Inbox.subject(to_tina) == "Handleplanen er sendt tilbage: Enhed A2"
    assert "Tema 2 mangler en deadline." in Inbox.body(to_tina)
    assert link_in(Inbox.body(to_tina)).endswith(plan_url(people))
    page = as_user(app, "lise@x.dk").get(plan_url(people)).get_data(as_text=True)
    assert "Sendt tilbage af Bo Holm den" in page
    assert "Tema 2 mangler en deadline." in page
    assert "Send igen til godkendelse" in page
    # HR's row of the returned round no longer waits for her.
    assert (
        as_user(app, "hanne@x.dk")
        .get("/followup/approvals")
        .get_data(as_text=True)
        .count("Enhed A2")
        == 0
    )
    assert decide(app, "hanne@x.dk", rows(app)[1].id, "approve") == 404


def test_the_plan_is_approved_when_every_approver_of_the_newest_round_has(
    app: Flask, people: dict[str, int], smtp_server: Inbox
) -> None:
    send(app, people)
    assert decide(app, "bo@x.dk", rows(app)[0].id, "return", "Mere om tryghed.") == 302
    send(app, people)  # the next round
    second = [r for r in rows(app) if r.round == 2]
    assert [r.approver_id for r in second] == [people["bo"], people["hanne"]]
    smtp_server.wait_for(5)
    smtp_server.clear()
    assert decide(app, "bo@x.dk", second[0].id, "approve") == 302
    assert follow_up(app).approved_at is None  # HR has not approved yet
    smtp_server.wait_for(1)
    assert Inbox.subject(smtp_server.to("lise@x.dk")[0]) == (
        "Bo Holm har godkendt handleplanen: Enhed A2"
    )
    page = as_user(app, "lise@x.dk").get(plan_url(people)).get_data(as_text=True)
    assert "Afventer godkendelse fra Hanne HR" in page
    smtp_server.clear()
    assert decide(app, "hanne@x.dk", second[1].id, "approve") == 302
    done = follow_up(app)
    assert done.approved_at is not None
    assert done.approved_by_id == people["hanne"]
    assert done.approved_by_body == "Bo Holm, Hanne HR"
    assert done.plan_state == StepState.DONE  # type: ignore[attr-defined]
    smtp_server.wait_for(1)
    assert Inbox.subject(smtp_server.to("lise@x.dk")[0]) == ("Handleplanen er godkendt: Enhed A2")
    page = as_user(app, "mads@x.dk").get(plan_url(people)).get_data(as_text=True)
    assert "Godkendt af Bo Holm og Hanne HR den" in page
    hub = as_user(app, "mads@x.dk").get(f"/followup/{people['measurement']}/A2/")
    assert "Godkendt af Bo Holm og Hanne HR den" in hub.get_data(as_text=True)
    # A decided row cannot be decided again.
    assert decide(app, "bo@x.dk", second[0].id, "return", "Fortrudt") == 404


def test_the_queue_lists_what_waits_newest_first_with_a_total(
    app: Flask, people: dict[str, int]
) -> None:
    send(app, people)
    with app.app_context():
        a1 = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        anna = db.session.get(User, people["head_a1"])
        measurement_id = people["measurement"]
        from app.models import Measurement

        fu = followup_service.start(
            db.session, anna, db.session.get(Measurement, measurement_id), a1
        )
        followup_service.add_action(db.session, anna, fu, title="Makkerordning")
        bo = db.session.get(User, people["bo"])
        service.send(db.session, anna, fu, [bo])
        db.session.commit()
    page = as_user(app, "bo@x.dk").get("/followup/approvals").get_data(as_text=True)
    assert "2 handleplaner venter på din godkendelse." in page
    assert page.index("Enhed A1") < page.index("Enhed A2")  # newest first
    empty = as_user(app, "mads@x.dk").get("/followup/approvals").get_data(as_text=True)
    assert "0 handleplaner venter på din godkendelse." in empty


def test_pending_for_leaves_out_decided_returned_and_older_rounds(
    app: Flask, people: dict[str, int]
) -> None:
    send(app, people)
    decide(app, "bo@x.dk", rows(app)[0].id, "return", "Ret det.")
    send(app, people)
    with app.app_context():
        waiting_bo = service.pending_for(db.session, people["bo"])
        waiting_hanne = service.pending_for(db.session, people["hanne"])
        assert [(r.round, r.approver_id) for r in waiting_bo] == [(2, people["bo"])]
        assert [(r.round, r.approver_id) for r in waiting_hanne] == [(2, people["hanne"])]
        assert service.pending_for(db.session, people["lise"]) == []


# --- partners ---------------------------------------------------------------------------------


def hub_url(people: dict[str, int]) -> str:
    return f"/followup/{people['measurement']}/A2/"


def test_the_leader_names_a_partner_who_may_then_edit_the_steps(
    app: Flask, people: dict[str, int]
) -> None:
    lise = as_user(app, "lise@x.dk")
    hub = lise.get(hub_url(people)).get_data(as_text=True)
    assert "Trio" in hub and "Mads Berg" in hub
    mads = as_user(app, "mads@x.dk")
    analysis = f"/followup/{people['measurement']}/A2/analysis"
    assert mads.post(analysis, data={"notes": "Før", "state": "in_progress"}).status_code == 404
    added = lise.post(
        f"/followup/{people['measurement']}/A2/partners",
        data={"partner-user_id": people["mads"], "partner-function": "safety_rep"},
    )
    assert added.status_code == 302
    with app.app_context():
        partner = db.session.scalar(select(UnitPartner))
        assert (partner.user_id, partner.function) == (people["mads"], "safety_rep")
    mads = as_user(app, "mads@x.dk")
    assert mads.post(analysis, data={"notes": "Efter", "state": "in_progress"}).status_code == 302
    # The unit only, not the units beside or below it.
    with app.app_context():
        a1 = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        lise_user = db.session.get(User, people["lise"])
        from app.models import Measurement

        followup_service.start(
            db.session, lise_user, db.session.get(Measurement, people["measurement"]), a1
        )
        db.session.commit()
    assert (
        mads.post(
            f"/followup/{people['measurement']}/A1/analysis", data={"notes": "x", "state": "done"}
        ).status_code
        == 404
    )
    # A partner does not name partners.
    assert (
        mads.post(
            f"/followup/{people['measurement']}/A2/partners",
            data={"partner-user_id": people["tina"], "partner-function": "union_rep"},
        ).status_code
        == 404
    )


def test_a_partner_who_loses_the_member_role_gets_404(app: Flask, people: dict[str, int]) -> None:
    with app.app_context():
        a2 = db.session.scalar(select(Unit).where(Unit.code == "A2"))
        lise = db.session.get(User, people["lise"])
        service.add_partner(db.session, lise, a2, people["mads"], "union_rep")
        db.session.commit()
    mads = as_user(app, "mads@x.dk")
    analysis = f"/followup/{people['measurement']}/A2/analysis"
    assert mads.post(analysis, data={"notes": "Med", "state": "in_progress"}).status_code == 302
    with app.app_context():
        db.session.execute(
            RoleAssignment.__table__.delete().where(RoleAssignment.user_id == people["mads"])
        )
        db.session.commit()
    assert mads.post(analysis, data={"notes": "Uden", "state": "in_progress"}).status_code == 404
    assert mads.get(analysis).status_code == 404


def test_only_members_of_the_unit_can_be_named(app: Flask, people: dict[str, int]) -> None:
    lise = as_user(app, "lise@x.dk")
    response = lise.post(
        f"/followup/{people['measurement']}/A2/partners",
        data={"partner-user_id": people["bo"], "partner-function": "union_rep"},
    )
    assert response.status_code == 302  # back to the hub with the reason
    with app.app_context():
        assert db.session.scalar(select(UnitPartner)) is None


def test_removing_a_partner_asks_first(app: Flask, people: dict[str, int]) -> None:
    with app.app_context():
        a2 = db.session.scalar(select(Unit).where(Unit.code == "A2"))
        lise = db.session.get(User, people["lise"])
        partner_id = service.add_partner(db.session, lise, a2, people["mads"], "union_rep").id
        db.session.commit()
    url = f"/followup/{people['measurement']}/A2/partners/{partner_id}/remove"
    client = as_user(app, "lise@x.dk")
    asked = client.get(url).get_data(as_text=True)
    assert "Fjern Mads Berg?" in asked
    with app.app_context():
        assert db.session.get(UnitPartner, partner_id) is not None
    assert as_user(app, "mads@x.dk").post(url).status_code == 404
    assert as_user(app, "other@x.dk").get(url).status_code == 404
    assert client.post(url).status_code == 302
    with app.app_context():
        assert db.session.get(UnitPartner, partner_id) is None


def test_a_school_says_class_team_and_teacher_never_trio(
    app: Flask, people: dict[str, int]
) -> None:
    with app.app_context():
        db.session.scalar(
            select(Organisation).order_by(Organisation.id).limit(1)
        ).kind = OrganisationKind.SCHOOL
        db.session.commit()
    hub = as_user(app, "lise@x.dk").get(hub_url(people)).get_data(as_text=True)
    assert "Trio" not in hub
    assert "Klasseteam" in hub
    assert "Lærer i klasseteamet" in hub
    assert "Tillidsrepræsentant" not in hub


def test_a_green_unit_goes_to_the_department_head_alone(
    app: Flask, people: dict[str, int], smtp_server: Inbox
) -> None:
    anna = as_user(app, "a1@x.dk")
    assert anna.post(f"/followup/{people['measurement']}/A1/start").status_code == 302
    url = f"/followup/{people['measurement']}/A1/plan/send"
    # An empty plan is not sent: it says what is missing.
    refused = anna.post(url, data={"head": people["bo"], "hr": 0})
    assert refused.status_code == 400
    assert "Planen har endnu ingen temaer eller handlinger" in refused.get_data(as_text=True)
    assert rows(app) == []
    with app.app_context():
        a1 = db.session.scalar(select(FollowUp).join(FollowUp.unit).where(Unit.code == "A1"))
        followup_service.add_action(
            db.session, db.session.get(User, people["head_a1"]), a1, title="Makkerordning"
        )
        db.session.commit()
    page = anna.get(url).get_data(as_text=True)
    assert re.search(r'<option selected value="0">— ikke HR denne gang —', page)
    assert anna.post(url, data={"head": people["bo"], "hr": 0}).status_code == 302
    assert [(r.approver_id, r.requested_by_id) for r in rows(app)] == [
        (people["bo"], people["head_a1"])
    ]
    assert smtp_server.wait_for(1).to("bo@x.dk")


def test_signed_out_and_outsiders_reach_nothing(app: Flask, people: dict[str, int]) -> None:
    m = people["measurement"]
    signed_out = app.test_client()
    for url in ("/followup/approvals", f"/followup/{m}/A2/plan/send"):
        assert signed_out.get(url).headers["Location"].startswith("/auth/login")
    other = as_user(app, "other@x.dk")  # a leader elsewhere
    assert other.get(f"/followup/{m}/A2/plan/send").status_code == 404
    added = other.post(
        f"/followup/{m}/A2/partners",
        data={"partner-user_id": people["mads"], "partner-function": "union_rep"},
    )
    assert added.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(UnitPartner)) is None

"""The five-step follow-up in the web app: who may do what, routing, alerts, no lost input."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Action, ActionStatus, FollowUp, Role, Route, Unit, ZeroToleranceAlert
from tests.conftest import login
from tests.followup_data import measure


@pytest.fixture
def measured(app: Flask, org) -> int:
    with app.app_context():
        from app.models import Organisation, OrganisationKind

        if db.session.scalar(select(Organisation.id)) is None:
            db.session.add(Organisation(name="T", kind=OrganisationKind.MUNICIPALITY))
        return measure().id


def start(client: FlaskClient, measurement_id: int, code: str) -> None:
    response = client.post(f"/followup/{measurement_id}/{code}/start")
    assert response.status_code == 302, response.status_code


STEP_URLS = ["", "analysis", "preparation", "dialogue", "plan", "evaluation", "invitation"]


@pytest.mark.parametrize(
    ("role", "held_on", "target", "read", "write"),
    [
        (Role.ADMIN, "R", "A1", True, True),
        (Role.LEADER, "A", "A1", True, True),  # the unit below
        (Role.LEADER, "A", "A", True, True),  # own unit
        (Role.LEADER, "A1", "A", False, False),  # parent: no
        (Role.LEADER, "A1", "A2", False, False),  # sibling: no
        (Role.MEMBER, "A1", "A1", True, False),  # reads the plan, edits no step
        (Role.MEMBER, "A1", "A2", False, False),
        (Role.COMMITTEE, "R", "A1", True, False),
        (Role.BOARD, "R", "A1", False, False),
    ],
)
def test_step_access(
    app: Flask, client: FlaskClient, measured: int, make_user, role, held_on, target, read, write
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    admin = app.test_client()
    login(admin, "hr@x.dk")
    start(admin, measured, target)
    make_user("someone@x.dk", [(role, held_on)])
    login(client, "someone@x.dk")
    for step in STEP_URLS:
        url = f"/followup/{measured}/{target}/{step}"
        assert client.get(url).status_code == (200 if read else 404), url
    saved = client.post(
        f"/followup/{measured}/{target}/analysis",
        data={"strengths": "Godt", "state": "in_progress"},
    )
    assert saved.status_code == (302 if write else 404)
    started = client.post(f"/followup/{measured}/{target}/start")
    assert started.status_code == (302 if write else 404)


def test_the_five_steps_states_and_due_dates(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    login(client, "leder@x.dk")
    start(client, measured, "A1")
    hub = client.get(f"/followup/{measured}/A1/").get_data(as_text=True)
    assert hub.count('class="step"') == 5
    assert "16. mar. 2026" in hub  # analysis: two weeks after the results (2 March)
    assert "23. apr. 2026" in hub  # preparation: a week before the dialogue deadline
    assert "30. jun. 2026" in hub  # the action plan deadline
    client.post(f"/followup/{measured}/A1/analysis", data={"strengths": "x", "state": "done"})
    client.post(
        f"/followup/{measured}/A1/preparation", data={"place": "Kantinen", "state": "in_progress"}
    )
    with app.app_context():
        follow_up = db.session.scalar(select(FollowUp))
        states = {s.step.value: s.state.value for s in follow_up.steps}
        assert states == {
            "analysis": "done",
            "preparation": "in_progress",
            "dialogue": "not_started",
            "plan": "not_started",
            "evaluation": "not_started",
        }
        assert follow_up.steps[1].updated_by.email == "leder@x.dk"
    assert "Fortsæt med: Forberedelse af dialog" in client.get(
        f"/followup/{measured}/A1/"
    ).get_data(as_text=True)


def test_traffic_light_routing(app: Flask, client: FlaskClient, measured: int, make_user) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    for code in ("A1", "A2", "A"):
        start(client, measured, code)
    with app.app_context():
        routes = {
            f.unit.code: (f.route, f.remeasure, f.department.code if f.department else None)
            for f in db.session.scalars(select(FollowUp))
        }
    assert routes["A1"] == (Route.UNIT, False, None)  # green
    assert routes["A2"] == (Route.DEPARTMENT_HR, True, "A")  # red: department head and HR
    # A is yellow (57) and below the organisation's average (61): with its department head.
    assert routes["A"][:2] == (Route.DEPARTMENT, True)
    page = client.get(f"/followup/{measured}/A2/").get_data(as_text=True)
    assert "afdelingschefen og HR" in page and "måles igen" in page.lower()


def test_alert_at_the_nearest_shown_ancestor_says_nothing_about_the_child(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    with app.app_context():
        alerts = db.session.scalars(select(ZeroToleranceAlert)).all()
        assert [(a.unit.code, [q.code for q in a.questions]) for a in alerts] == [("B", ["KA-1"])]
        alert_id = alerts[0].id
    make_user("leder@x.dk", [(Role.LEADER, "B")])
    login(client, "leder@x.dk")
    page = client.get(f"/followup/alerts/{alert_id}").get_data(as_text=True)
    assert "Enhed B" in page
    # Attribute values hold the random CSRF token, which may well contain "C1".
    shown = re.sub(r'(value|content)="[^"]*"', "", page)
    assert "C1" not in shown and "B1" not in shown
    # Not closed without a reaction; the typed date comes back.
    refused = client.post(
        f"/followup/alerts/{alert_id}", data={"reaction": " ", "reaction_on": "2026-03-20"}
    )
    assert refused.status_code == 400 and 'value="2026-03-20"' in refused.get_data(as_text=True)
    done = client.post(
        f"/followup/alerts/{alert_id}",
        data={
            "reaction": "Samtale i teamet",
            "involved": "Leder, AMR",
            "reaction_on": "2026-03-20",
            "follow_up_on": "2026-06-20",
        },
    )
    assert done.status_code == 302
    with app.app_context():
        alert = db.session.get(ZeroToleranceAlert, alert_id)
        assert alert.closed_at is not None and alert.reaction == "Samtale i teamet"


def test_a_member_updates_actions_but_cannot_edit_the_plan(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    leader = app.test_client()
    login(leader, "leder@x.dk")
    start(leader, measured, "A1")
    leader.post(
        f"/followup/{measured}/A1/plan/actions",
        data={
            "action-title": "Trivselsrunde",
            "action-theme_id": "0",
            "action-owner_user_id": "0",
            "action-owner_name": "Karen",
        },
    )
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    login(client, "m@x.dk")
    with app.app_context():
        action_id = db.session.scalar(select(Action.id))
    moved = client.post(
        f"/followup/{measured}/A1/actions/{action_id}/status",
        data={"status": "2", "comment": "Halvvejs"},
    )
    assert moved.status_code == 302
    assert (
        client.post(
            f"/followup/{measured}/A1/plan/actions", data={"action-title": "Ny"}
        ).status_code
        == 404
    )
    assert (
        client.post(f"/followup/{measured}/A1/plan/themes", data={"theme-title": "Ny"}).status_code
        == 404
    )
    with app.app_context():
        action = db.session.get(Action, action_id)
        assert action.status == ActionStatus.HALFWAY and action.last_comment == "Halvvejs"


def test_nothing_typed_is_lost_on_a_failed_save(
    client: FlaskClient, measured: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    login(client, "leder@x.dk")
    start(client, measured, "A1")
    response = client.post(
        f"/followup/{measured}/A1/plan/actions",
        data={
            "action-title": "",
            "action-owner_name": "Bente Bo",
            "action-theme_id": "0",
            "action-owner_user_id": "0",
            "action-deadline": "not a date",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Bente Bo" in page and "not a date" in page
    long_text = "Vi talte længe om arbejdsmiljøet. " * 200  # over the 5,000-character limit
    too_long = client.post(
        f"/followup/{measured}/A1/dialogue", data={"notes": long_text, "state": "in_progress"}
    )
    assert too_long.status_code == 400
    assert long_text.strip() in too_long.get_data(as_text=True)


def test_escalation_shows_on_the_receivers_list(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    login(client, "leder@x.dk")
    start(client, measured, "A1")
    start(client, measured, "A")
    client.post(
        f"/followup/{measured}/A1/plan/actions",
        data={
            "action-title": "Nyt ventilationsanlæg",
            "action-theme_id": "0",
            "action-owner_user_id": "0",
        },
    )
    with app.app_context():
        action_id = db.session.scalar(select(Action.id))
        a_id = db.session.scalar(select(Unit.id).where(Unit.code == "A"))
    sideways = client.post(
        f"/followup/{measured}/A1/actions/{action_id}/escalate",
        data={"to_unit": "999", "to_function": ""},
    )
    assert sideways.status_code == 400
    client.post(
        f"/followup/{measured}/A1/actions/{action_id}/escalate",
        data={"to_unit": str(a_id), "to_function": ""},
    )
    receiver = client.get(f"/followup/{measured}/A/plan").get_data(as_text=True)
    assert "Nyt ventilationsanlæg" in receiver and "fra Enhed A1" in receiver


def test_proposal_becomes_an_action(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    login(client, "leder@x.dk")
    start(client, measured, "A1")
    client.post(
        f"/followup/{measured}/A1/dialogue",
        data={"proposals": "Fast fredagsmøde\nBedre onboarding", "state": "done"},
    )
    form = {"proposal-1-title": "Bedre onboarding", "proposal-1-theme_id": "0"}
    form["proposal-1-owner_user_id"] = "0"  # the form has the owner and deadline (issue 18)
    made = client.post(f"/followup/{measured}/A1/dialogue/proposals/1", data=form)
    assert made.status_code == 302
    assert client.post(f"/followup/{measured}/A1/dialogue/proposals/7").status_code == 404
    with app.app_context():
        assert db.session.scalars(select(Action.title)).all() == ["Bedre onboarding"]


def test_overview_and_exports_are_scoped(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    login(client, "leder@x.dk")
    start(client, measured, "A2")
    page = client.get(f"/followup/overview?m={measured}").get_data(as_text=True)
    assert "Enhed A2" in page and "Enhed B" not in page
    document = client.get(f"/api/v1/measurements/{measured}/followup").get_json()
    assert {entry["unit"] for entry in document} == {"A", "A1", "A2"}
    a2 = next(e for e in document if e["unit"] == "A2")
    assert a2["colour"] == "red" and a2["remeasure"] is True
    assert set(a2["steps"]) == {"analysis", "preparation", "dialogue", "plan", "evaluation"}
    assert client.get(f"/followup/overview.xlsx?m={measured}").status_code == 200
    csv_text = client.get(f"/followup/overview.csv?m={measured}").get_data(as_text=True)
    assert "A2" in csv_text and ";B;" not in csv_text


def test_export_followup_command(app: Flask, measured: int) -> None:
    result = app.test_cli_runner().invoke(
        args=["kompas", "export-followup", "--measurement", "APV 2026"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    b = next(e for e in document if e["unit"] == "B")
    assert [a["questions"] for a in b["alerts"]] == [["KA-1"]]
    assert b["alerts"][0]["reaction"] is None and b["alerts"][0]["closed"] is None


def test_new_cut_offs_recolour_the_units_at_once(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    from app.models import Measurement, UnitFigures

    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    form = {
        "name": "APV 2026",
        "year": "2026",
        "questionnaire_id": "1",
        "threshold": "5",
        "sensitive_threshold": "10",
        "yellow_from": "40",
        "green_from": "55",
        "zero_tolerance_days": "14",
        "psychological_safety_cutoff": "55",
        "remeasure_of_id": "0",
    }
    bad = client.post(f"/admin/measurements/{measured}", data={**form, "green_from": "30"})
    assert bad.status_code == 400 and 'value="30"' in bad.get_data(as_text=True)
    assert client.post(f"/admin/measurements/{measured}", data=form).status_code == 302
    with app.app_context():
        a = db.session.scalar(select(Unit.id).where(Unit.code == "A"))
        assert db.session.get(UnitFigures, (measured, a)).colour == "green"  # 57 >= 55 now
        assert db.session.get(Measurement, measured).zero_tolerance_days == 14


def test_evaluation_rates_each_action_and_carries_some_over(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    login(client, "leder@x.dk")
    start(client, measured, "A1")
    for title in ("Makkerordning", "Fredagsmøde"):
        client.post(
            f"/followup/{measured}/A1/plan/actions",
            data={"action-title": title, "action-theme_id": "0", "action-owner_user_id": "0"},
        )
    with app.app_context():
        first, second = db.session.scalars(select(Action.id).order_by(Action.id)).all()
    response = client.post(
        f"/followup/{measured}/A1/evaluation",
        data={
            "acted": "Ja",
            "state": "done",
            f"effect-{first}": "4",
            f"carry-{second}": "1",
            f"effect-{second}": "9",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        one, two = (db.session.get(Action, i) for i in (first, second))
        assert (one.effect_rating, one.carry_over) == (4, False)
        assert (two.effect_rating, two.carry_over) == (None, True)  # 9 is no rating
    page = client.get(f"/followup/{measured}/A1/evaluation").get_data(as_text=True)
    assert f'id="carry-{second}" name="carry-{second}" value="1" checked' in page


def test_the_invitation_as_a_pdf(app: Flask, client: FlaskClient, measured: int, make_user) -> None:
    from pypdf import PdfReader

    make_user("leder@x.dk", [(Role.LEADER, "A")])
    login(client, "leder@x.dk")
    start(client, measured, "A1")
    client.post(
        f"/followup/{measured}/A1/preparation",
        data={
            "meeting_date": "2026-04-21",
            "place": "Kantinen",
            "facilitator": "Ole",
            "state": "done",
        },
    )
    response = client.get(f"/followup/{measured}/A1/invitation.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    import io

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Kantinen" in text and "Ole" in text and "2026" in text
    make_user("sib@x.dk", [(Role.LEADER, "A2")])
    other = app.test_client()
    login(other, "sib@x.dk")
    assert other.get(f"/followup/{measured}/A1/invitation.pdf").status_code == 404


# --- two leaders on one step: no lost update (issue 17) --------------------------------------

VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')


def _version(page: str) -> str:
    found = VERSION.search(page)
    assert found, "the step's form carries the version it was loaded at"
    return found.group(1)


def _analysis_notes(app: Flask) -> str | None:
    with app.app_context():
        follow_up = db.session.scalar(select(FollowUp))
        return next(s for s in follow_up.steps if s.step.value == "analysis").data.get("notes")


@pytest.fixture
def two_leaders(app: Flask, measured: int, make_user) -> tuple[FlaskClient, FlaskClient, str]:
    """Lise and Bo lead A; both open the analysis of A1, as it was when the follow-up began."""
    make_user("lise@x.dk", [(Role.LEADER, "A")], name="Lise Dahl")
    make_user("bo@x.dk", [(Role.LEADER, "A")], name="Bo Holm")
    lise, bo = app.test_client(), app.test_client()
    login(lise, "lise@x.dk")
    login(bo, "bo@x.dk")
    start(lise, measured, "A1")
    url = f"/followup/{measured}/A1/analysis"
    # (Before versions, the form carried none: the tests then show the lost update itself.)
    lise_version = VERSION.search(lise.get(url).get_data(as_text=True))
    bo_version = VERSION.search(bo.get(url).get_data(as_text=True))
    loaded = lise_version.group(1) if lise_version else ""
    assert loaded == (bo_version.group(1) if bo_version else "")
    return lise, bo, loaded


def test_a_stale_autosave_is_refused_and_the_saved_text_kept(
    app: Flask, measured: int, two_leaders
) -> None:
    lise, bo, loaded = two_leaders
    url = f"/followup/{measured}/A1/analysis"
    autosave = {"HX-Request": "true"}
    saved = lise.post(
        url, data={"notes": "Lises tekst", "state": "in_progress", "version": loaded},
        headers=autosave,
    )  # fmt: skip
    assert saved.status_code == 200 and "Gemt" in saved.get_data(as_text=True)
    refused = bo.post(
        url, data={"notes": "Bos tekst", "state": "in_progress", "version": loaded},
        headers=autosave,
    )  # fmt: skip
    answer = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Ikke gemt" in answer and "Lise Dahl" in answer and "Gemt " not in answer
    assert _analysis_notes(app) == "Lises tekst"

    # The answer to Lise moved her form on to the new version (out of band), so her next
    # autosave and her "Gem" are not taken for stale ones.
    newer = _version(saved.get_data(as_text=True))
    assert newer != loaded and 'hx-swap-oob="true"' in saved.get_data(as_text=True)
    again = lise.post(
        url, data={"notes": "Lises tekst, rettet", "state": "in_progress", "version": newer},
        headers=autosave,
    )  # fmt: skip
    assert again.status_code == 200
    assert _analysis_notes(app) == "Lises tekst, rettet"


def test_a_stale_save_shows_both_texts_and_the_second_writer_chooses(
    app: Flask, measured: int, two_leaders
) -> None:
    lise, bo, loaded = two_leaders
    url = f"/followup/{measured}/A1/analysis"
    lise.post(url, data={"notes": "Lises tekst", "state": "in_progress", "version": loaded})
    refused = bo.post(url, data={"notes": "Bos tekst", "state": "done", "version": loaded})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert _analysis_notes(app) == "Lises tekst"
    # Both texts: Lise's as saved (read only, who and when), Bo's still in the form.
    assert "En anden har gemt dette trin, mens du skrev" in page
    saved_part, form_part = page.split('id="save-conflict"', 1)[-1].split("data-draft=", 1)
    assert "Lises tekst" in saved_part and "Lise Dahl" in saved_part
    assert "Bos tekst" in form_part and "Lises tekst" not in form_part
    assert re.search(r'<option selected value="done">|<option value="done" selected', form_part)
    # The form now names the saved version: saving it again is Bo's choice, and it stands.
    current = _version(form_part)
    assert current != loaded
    chosen = bo.post(url, data={"notes": "Bos tekst", "state": "done", "version": current})
    assert chosen.status_code == 302
    assert _analysis_notes(app) == "Bos tekst"


def test_two_saves_from_the_same_version_at_once_write_once(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    """Both pass the check in Python (each read version 1 before the other wrote): the
    conditional UPDATE lets one write, the other gets what the first saved."""
    from sqlalchemy.orm import Session

    from app.models import FollowUpStep, Step, User
    from app.services import followup as service

    make_user("lise@x.dk", [(Role.LEADER, "A")], name="Lise Dahl")
    make_user("bo@x.dk", [(Role.LEADER, "A")], name="Bo Holm")
    login(client, "lise@x.dk")
    start(client, measured, "A1")
    with app.app_context():
        first, second = Session(db.engine), Session(db.engine)
        try:
            loaded = []
            for session in (first, second):
                follow_up = session.scalar(select(FollowUp))
                loaded.append((follow_up, service.step_of(follow_up, Step.ANALYSIS).version))
            lise = first.scalar(select(User).where(User.email == "lise@x.dk"))
            bo = second.scalar(select(User).where(User.email == "bo@x.dk"))
            service.save_step(
                first, lise, loaded[0][0], Step.ANALYSIS, {"notes": "Lise"},
                expected_version=loaded[0][1],
            )  # fmt: skip
            first.commit()
            with pytest.raises(service.StepConflict) as refused:
                service.save_step(
                    second, bo, loaded[1][0], Step.ANALYSIS, {"notes": "Bo"},
                    expected_version=loaded[1][1],
                )  # fmt: skip
            assert refused.value.step.data["notes"] == "Lise"
            assert refused.value.step.updated_by.name == "Lise Dahl"
            second.rollback()
        finally:
            first.close()
            second.close()
        step = db.session.scalar(select(FollowUpStep).where(FollowUpStep.step == Step.ANALYSIS))
        assert step.data["notes"] == "Lise" and step.version == loaded[0][1] + 1

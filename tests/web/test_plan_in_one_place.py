"""The action plan in one place (issue 18): themes and actions edited and deleted where the
plan is made, deletes that ask first and can be undone, deleted actions gone from every list,
a proposal made an action with owner and deadline, owners from the unit's people, the plan
as a PDF, and an invitation that prints its agenda without anyone typing it."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Action,
    FollowUp,
    FollowUpStep,
    Measurement,
    Organisation,
    OrganisationKind,
    PlanTheme,
    Role,
    Step,
    User,
)
from app.models.base import utcnow
from tests.conftest import login
from tests.followup_data import measure

HX = {"HX-Request": "true"}


@pytest.fixture
def measured(app: Flask, org) -> int:
    with app.app_context():
        return measure().id


@pytest.fixture
def plan(app: Flask, client: FlaskClient, measured: int, make_user) -> dict[str, int]:
    """A1's plan, made by the leader of A: one theme with two actions (one overdue, owned by
    a member of A1), and the leader signed in."""
    member = make_user("medarbejder@x.dk", [(Role.MEMBER, "A1")], name="Mette Medarbejder")
    make_user("leder@x.dk", [(Role.LEADER, "A")], name="Lars Leder")
    login(client, "leder@x.dk")
    assert client.post(f"/followup/{measured}/A1/start").status_code == 302
    base = f"/followup/{measured}/A1/plan"
    client.post(
        f"{base}/themes", data={"theme-title": "Arbejdsmængde", "theme-goal": "Færre overtimer"}
    )
    with app.app_context():
        theme_id = db.session.scalar(select(PlanTheme.id))
    for title, deadline in (("Fast fredagsmøde", "2020-01-10"), ("Ny vagtplan", "2099-01-10")):
        response = client.post(
            f"{base}/actions",
            data={
                "action-title": title,
                "action-theme_id": str(theme_id),
                "action-owner_user_id": str(member.id),
                "action-deadline": deadline,
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        ids = dict(db.session.execute(select(Action.title, Action.id)).tuples().all())
    return {
        "measurement": measured,
        "theme": theme_id,
        "overdue": ids["Fast fredagsmøde"],
        "later": ids["Ny vagtplan"],
        "member": member.id,
    }


def url(plan: dict[str, int], tail: str, code: str = "A1") -> str:
    return f"/followup/{plan['measurement']}/{code}/{tail}"


def test_a_theme_is_edited_in_place_and_without_javascript(
    app: Flask, client: FlaskClient, plan: dict[str, int]
) -> None:
    edit = url(plan, f"plan/themes/{plan['theme']}/edit")
    # htmx gets the very fragment the plan page includes; the page without JS gets a page.
    fragment = client.get(edit, headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith("<article") and "<html" not in fragment
    assert 'value="Arbejdsmængde"' in fragment
    page = client.get(edit).get_data(as_text=True)
    assert "<html" in page and 'value="Arbejdsmængde"' in page
    # A bad value changes nothing and keeps what was typed.
    prefix = f"theme-{plan['theme']}-"
    bad = client.post(
        edit,
        data={prefix + "title": "Arbejdsmængde", prefix + "target_score": "500",
              prefix + "goal": "Mit lange mål"},
        headers=HX,
    )  # fmt: skip
    assert bad.status_code == 400 and "Mit lange mål" in bad.get_data(as_text=True)
    saved = client.post(
        edit,
        data={prefix + "title": "Arbejdsmængde og pauser", prefix + "target_score": "70",
              prefix + "goal": "Pauser hver dag"},
        headers=HX,
    )  # fmt: skip
    text = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "Arbejdsmængde og pauser" in text
    assert f'id="theme-{plan["theme"]}"' in text and "Fast fredagsmøde" in text
    with app.app_context():
        theme = db.session.get(PlanTheme, plan["theme"])
        assert (theme.title, theme.target_score, theme.goal) == (
            "Arbejdsmængde og pauser", 70, "Pauser hver dag"
        )  # fmt: skip


def test_deleting_a_theme_asks_first_and_can_be_undone(
    app: Flask, client: FlaskClient, plan: dict[str, int]
) -> None:
    delete = url(plan, f"plan/themes/{plan['theme']}/delete")
    question = client.get(delete).get_data(as_text=True)
    assert "Fast fredagsmøde" in question and "Ny vagtplan" in question  # what goes with it
    with app.app_context():
        assert db.session.get(PlanTheme, plan["theme"]) is not None  # asking deleted nothing
    gone = client.post(delete, headers=HX)
    assert gone.status_code == 200 and "Fortryd" in gone.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PlanTheme, plan["theme"]) is None
        assert all(a.deleted_at is not None for a in db.session.scalars(select(Action)))
    page = client.get(url(plan, "plan")).get_data(as_text=True)
    themes = page.split('id="themes"')[1].split("</section>")[0]
    assert "Arbejdsmængde" not in themes and "Fast fredagsmøde" not in themes
    restore = re.search(r'action="([^"]*/plan/themes/restore/[0-9a-f]+)"', page)
    assert restore is not None, "the plan offers the undo"
    assert client.post(restore.group(1)).status_code == 302
    with app.app_context():
        theme = db.session.scalar(select(PlanTheme))
        assert theme.title == "Arbejdsmængde" and theme.goal == "Færre overtimer"
        assert sorted(a.title for a in theme.actions) == ["Fast fredagsmøde", "Ny vagtplan"]
        assert all(a.deleted_at is None for a in theme.actions)
    # Undone once: the same undo again finds nothing.
    assert client.post(restore.group(1)).status_code == 404


def _visible_everywhere(app: Flask, client: FlaskClient, plan: dict[str, int]) -> dict[str, bool]:
    """Where the overdue action shows: board, follow-up overview, report, reminders, API,
    calendar, the plan page."""
    from app.services import reminders
    from app.services.reports import _actions

    title = "Fast fredagsmøde"
    board = client.get("/board/?scope=subtree&unit=A&view=list").get_data(as_text=True)
    overview = client.get(f"/followup/overview.csv?m={plan['measurement']}").get_data(as_text=True)
    a1_row = next(line for line in overview.splitlines() if line.startswith("A1"))
    api = client.get(f"/api/v1/measurements/{plan['measurement']}/followup").get_json()
    api_titles = [a["title"] for e in api for a in e["actions"]]
    plan_page = client.get(url(plan, "plan")).get_data(as_text=True)
    with app.app_context():
        digests = reminders.digests(db.session, date.today())
        reminded = any(a.title == title for d in digests for a in d.overdue + d.team_overdue)
        measurement = db.session.get(Measurement, plan["measurement"])
        units = {u for (u,) in db.session.execute(select(FollowUp.unit_id))}
        themes, _by_status, overdue, *_rest = _actions(db.session, measurement, units, date.today())
        member = db.session.get(User, plan["member"])
        from app.services.calendar import feed

        calendar = feed(db.session, member).decode()
    return {
        "board": title in board,
        "overview": a1_row.split(";")[-3] == "1",  # overdue actions
        "report": overdue == 1 and sum(t.total for t in themes) == 2,
        "reminders": reminded,
        "api": title in api_titles,
        "calendar": title in calendar,
        "plan": f'id="action-{plan["overdue"]}"' in plan_page,
    }


def test_a_deleted_action_is_gone_everywhere_and_comes_back_after_undo(
    app: Flask, client: FlaskClient, plan: dict[str, int], make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    hr = app.test_client()
    login(hr, "hr@x.dk")
    assert all(_visible_everywhere(app, hr, plan).values()), _visible_everywhere(app, hr, plan)
    delete = url(plan, f"plan/actions/{plan['overdue']}/delete")
    asked = client.get(delete, headers=HX)
    assert asked.status_code == 200 and "Slet" in asked.get_data(as_text=True)
    assert all(_visible_everywhere(app, hr, plan).values()), "asking deletes nothing"
    gone = client.post(delete, headers=HX).get_data(as_text=True)
    assert gone.lstrip().startswith("<tr") and "Fortryd" in gone
    assert not any(_visible_everywhere(app, hr, plan).values()), _visible_everywhere(app, hr, plan)
    # The board's own pages do not show it either.
    assert hr.get(f"/board/actions/{plan['overdue']}").status_code == 404
    back = client.post(url(plan, f"plan/actions/{plan['overdue']}/restore"), data={"in_place": "1"},
                       headers=HX)  # fmt: skip
    assert back.status_code == 200 and "Fast fredagsmøde" in back.get_data(as_text=True)
    assert all(_visible_everywhere(app, hr, plan).values())
    # The unit's history says who deleted it and who brought it back, in words.
    history = hr.get("/units/A1/history").get_data(as_text=True)
    assert "Handling slettet: Fast fredagsmøde" in history
    assert "Slettet handling hentet tilbage: Fast fredagsmøde" in history


def test_an_action_is_edited_in_place(
    app: Flask, client: FlaskClient, plan: dict[str, int]
) -> None:
    edit = url(plan, f"plan/actions/{plan['later']}/edit")
    fragment = client.get(edit, headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith("<tr") and 'value="Ny vagtplan"' in fragment
    prefix = f"edit-{plan['later']}-"
    data = {
        prefix + "title": "Ny vagtplan for weekender",
        prefix + "theme_id": str(plan["theme"]),
        prefix + "owner_user_id": str(plan["member"]),
        prefix + "deadline": "2099-02-01",
        "was_theme": str(plan["theme"]),
    }
    bad = client.post(edit, data={**data, prefix + "deadline": "1. februar"}, headers=HX)
    assert bad.status_code == 400 and "Ny vagtplan for weekender" in bad.get_data(as_text=True)
    saved = client.post(edit, data=data, headers=HX)
    assert saved.status_code == 200 and "Ny vagtplan for weekender" in saved.get_data(as_text=True)
    with app.app_context():
        action = db.session.get(Action, plan["later"])
        assert (action.title, action.deadline) == ("Ny vagtplan for weekender", date(2099, 2, 1))
    # Without JavaScript: a page, and back to the plan.
    assert "<html" in client.get(edit).get_data(as_text=True)
    assert client.post(edit, data=data).status_code == 302


def test_another_units_theme_or_action_is_404(
    app: Flask, client: FlaskClient, plan: dict[str, int], make_user
) -> None:
    # A2's plan, by the same leader: its ids through A1's address are unknown there.
    assert client.post(url(plan, "start", "A2")).status_code == 302
    client.post(url(plan, "plan/themes", "A2"), data={"theme-title": "Samarbejde"})
    client.post(url(plan, "plan/actions", "A2"), data={"action-title": "Makkerordning",
                "action-theme_id": "0", "action-owner_user_id": "0"})  # fmt: skip
    with app.app_context():
        action_id = db.session.scalar(select(Action.id).where(Action.title == "Makkerordning"))
        theme_id = db.session.scalar(select(PlanTheme.id).where(PlanTheme.title == "Samarbejde"))
    for tail in (
        f"plan/actions/{action_id}/edit",
        f"plan/actions/{action_id}/delete",
        f"plan/actions/{action_id}",
        f"plan/themes/{theme_id}/edit",
        f"plan/themes/{theme_id}/delete",
    ):
        assert client.get(url(plan, tail)).status_code == 404, tail
        assert client.post(url(plan, tail)).status_code in (404, 405), tail
    assert client.post(url(plan, f"plan/actions/{action_id}/restore")).status_code == 404
    # Someone without the right to edit A1 (a member, a leader elsewhere): 404 too.
    make_user("b@x.dk", [(Role.LEADER, "B")])
    for email in ("medarbejder@x.dk", "b@x.dk"):
        other = app.test_client()
        login(other, email)
        assert other.get(url(plan, f"plan/actions/{plan['later']}/edit")).status_code == 404
        assert other.post(url(plan, f"plan/actions/{plan['later']}/delete")).status_code == 404
        assert other.post(url(plan, f"plan/themes/{plan['theme']}/delete")).status_code == 404
    with app.app_context():
        assert db.session.get(Action, plan["later"]).deleted_at is None


def test_a_proposal_becomes_an_action_with_owner_and_deadline(
    app: Flask, client: FlaskClient, plan: dict[str, int]
) -> None:
    client.post(
        url(plan, "dialogue"),
        data={"proposals": "Bedre onboarding\nFælles frokost", "state": "done"},
    )
    proposal = url(plan, "dialogue/proposals/1")
    form = client.get(proposal, headers=HX).get_data(as_text=True)
    assert 'value="Fælles frokost"' in form and "proposal-1-owner_user_id" in form
    assert "proposal-1-deadline" in form
    typed = {
        "proposal-1-title": "Fælles frokost om fredagen",
        "proposal-1-theme_id": str(plan["theme"]),
        "proposal-1-owner_user_id": str(plan["member"]),
        "proposal-1-deadline": "not a date",
    }
    bad = client.post(proposal, data=typed)
    assert bad.status_code == 400 and "Fælles frokost om fredagen" in bad.get_data(as_text=True)
    assert (
        client.post(proposal, data={**typed, "proposal-1-deadline": "2099-03-01"}).status_code
        == 302
    )
    with app.app_context():
        action = db.session.scalar(select(Action).where(Action.title.startswith("Fælles")))
        assert action.owner_user_id == plan["member"] and action.deadline == date(2099, 3, 1)
        assert action.theme_id == plan["theme"]
    dialogue = client.get(url(plan, "dialogue")).get_data(as_text=True)
    assert "i handleplanen" in dialogue


def test_owners_are_the_units_people(
    app: Flask, client: FlaskClient, plan: dict[str, int], make_user
) -> None:
    for email, roles in (
        ("hr@x.dk", [(Role.ADMIN, "R")]),
        ("med@x.dk", [(Role.COMMITTEE, "R")]),
        ("udvalg@x.dk", [(Role.BOARD, "R")]),
        ("naboen@x.dk", [(Role.MEMBER, "A2")]),  # a sibling unit's employee
        ("direktor@x.dk", [(Role.LEADER, "R")]),  # a leader above
        ("kollega@x.dk", [(Role.MEMBER, "A")]),  # an employee above is not the unit's
    ):
        make_user(email, roles, name=email.split("@")[0].capitalize())
    page = client.get(url(plan, "plan")).get_data(as_text=True)
    select_html = page.split('id="action-owner_user_id"')[1].split("</select>")[0]
    offered = set(re.findall(r">([^<]+)</option>", select_html)) - {"— ingen valgt —"}
    assert offered == {"Mette Medarbejder", "Lars Leder", "Direktor"}
    # A workplace's people include those of its teams: A's plan offers A1's employee.
    assert client.post(url(plan, "start", "A")).status_code == 302
    page = client.get(url(plan, "plan", "A")).get_data(as_text=True)
    select_html = page.split('id="action-owner_user_id"')[1].split("</select>")[0]
    offered = set(re.findall(r">([^<]+)</option>", select_html)) - {"— ingen valgt —"}
    assert offered == {"Mette Medarbejder", "Naboen", "Kollega", "Lars Leder", "Direktor"}
    # Nobody else can be sent in either.
    with app.app_context():
        hr_id = db.session.scalar(select(User.id).where(User.email == "hr@x.dk"))
    response = client.post(url(plan, "plan/actions"), data={"action-title": "X",
                           "action-theme_id": "0", "action-owner_user_id": str(hr_id)})  # fmt: skip
    assert response.status_code == 400


def test_the_plan_prints_and_renders_as_pdf(
    app: Flask, client: FlaskClient, plan: dict[str, int]
) -> None:
    page = client.get(url(plan, "plan/print")).get_data(as_text=True)
    assert "Fast fredagsmøde" in page and "Mette Medarbejder" in page
    response = client.get(url(plan, "plan.pdf"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    text = " ".join(text.split())
    for expected in ("Arbejdsmængde", "Færre overtimer", "Fast fredagsmøde", "Mette Medarbejder",
                     "10. jan. 2020", "Ikke startet", "arbejdspladsens medarbejdere"):  # fmt: skip
        assert expected in text, expected


def test_the_invitation_prints_its_agenda_without_typing(
    app: Flask, client: FlaskClient, plan: dict[str, int]
) -> None:
    # Nobody has opened the preparation step: the printout has the agenda all the same.
    first = client.get(url(plan, "invitation.pdf"))
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(first.data)).pages)
    assert "Velkomst og spilleregler" in text
    # Shown once, the template text is stored in the step, so it stays as it was printed.
    assert client.get(url(plan, "preparation")).status_code == 200
    with app.app_context():
        record = db.session.scalar(
            select(FollowUpStep).where(FollowUpStep.step == Step.PREPARATION)
        )
        assert "Velkomst og spilleregler" in record.data["agenda"]
        assert record.data["invitation"].startswith("Kære")
        assert record.version == 1  # storing the template is no save: nobody's form is stale


def test_a_schools_invitation_is_for_the_class(
    app: Flask, client: FlaskClient, plan: dict[str, int]
) -> None:
    with app.app_context():
        db.session.scalar(select(Organisation)).kind = OrganisationKind.SCHOOL
        db.session.commit()
    page = client.get(url(plan, "invitation")).get_data(as_text=True)
    assert "elever" in page and "klassen" in page


def test_the_board_asks_before_deleting_and_can_undo(
    app: Flask, client: FlaskClient, plan: dict[str, int]
) -> None:
    action = plan["later"]
    asked = client.get(f"/board/actions/{action}/delete")
    assert asked.status_code == 200 and "Ny vagtplan" in asked.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Action, action).deleted_at is None
    done = client.post(f"/board/actions/{action}/delete")
    assert done.status_code == 302 and done.location.endswith(f"/board/actions/{action}/deleted")
    assert "Fortryd" in client.get(done.location).get_data(as_text=True)
    assert client.post(f"/board/actions/{action}/restore").status_code == 302
    with app.app_context():
        assert db.session.get(Action, action).deleted_at is None


def test_undo_lasts_30_days_and_the_purge_removes_what_is_older(
    app: Flask, client: FlaskClient, plan: dict[str, int]
) -> None:
    from app.services import retention

    with app.app_context():
        old, recent = db.session.get(Action, plan["overdue"]), db.session.get(Action, plan["later"])
        old.deleted_at = utcnow() - timedelta(days=31)
        recent.deleted_at = utcnow() - timedelta(days=29)
        db.session.commit()
    assert client.post(url(plan, f"plan/actions/{plan['overdue']}/restore")).status_code == 404
    with app.app_context():
        retention.purge(db.session, None, date.today())
        db.session.commit()
        left = select(Action.id).execution_options(include_deleted_actions=True)
        assert list(db.session.scalars(left)) == [plan["later"]]  # the older one is gone
    assert client.post(url(plan, f"plan/actions/{plan['later']}/restore")).status_code == 302


def test_who_may_print_the_plan_and_undo_on_the_board(
    app: Flask, client: FlaskClient, plan: dict[str, int], make_user
) -> None:
    """The printed plan is for those who may read the follow-up; the board's undo is for
    those who may edit the plan. Everyone else gets 404, like a missing one."""
    assert client.post(f"/board/actions/{plan['later']}/delete").status_code == 302
    make_user("b@x.dk", [(Role.LEADER, "B")])
    make_user("udvalg@x.dk", [(Role.BOARD, "R")])
    for email, reads in (("medarbejder@x.dk", True), ("b@x.dk", False), ("udvalg@x.dk", False)):
        other = app.test_client()
        login(other, email)
        for tail in ("plan/print", "plan.pdf"):
            assert other.get(url(plan, tail)).status_code == (200 if reads else 404), (email, tail)
        assert other.get(f"/board/actions/{plan['later']}/deleted").status_code == 404
        assert other.post(f"/board/actions/{plan['later']}/restore").status_code == 404
    with app.app_context():
        assert (
            db.session.get(
                Action, plan["later"], execution_options={"include_deleted_actions": True}
            ).deleted_at
            is not None
        )


def test_a_query_that_forgets_the_deleted_filter_still_leaves_deleted_actions_out(
    app: Flask, client: FlaskClient, plan: dict[str, int]
) -> None:
    """No list has to remember `deleted_at IS NULL`: plain queries, counts, joins and lazy
    loads all leave a deleted action out; only an explicit option sees it (for "Fortryd")."""
    from sqlalchemy import func

    assert client.post(url(plan, f"plan/actions/{plan['overdue']}/delete")).status_code in (
        200,
        302,
    )
    with app.app_context():
        assert db.session.scalars(select(Action.title)).all() == ["Ny vagtplan"]
        assert db.session.scalar(select(func.count()).select_from(Action)) == 1
        assert db.session.scalar(select(func.count(Action.id))) == 1
        joined = select(PlanTheme.title).join(Action, Action.theme_id == PlanTheme.id)
        assert len(db.session.execute(joined).all()) == 1
        theme = db.session.get(PlanTheme, plan["theme"])
        assert [a.title for a in theme.actions] == ["Ny vagtplan"]
        assert db.session.get(Action, plan["overdue"]) is None
        everything = select(Action.title).execution_options(include_deleted_actions=True)
        assert sorted(db.session.scalars(everything)) == ["Fast fredagsmøde", "Ny vagtplan"]

"""The home page is each role's to-do list (issue 18): the leader's unit cards with one
"Fortsæt" to the current step, the department head's units behind, plans to approve and
actions passed up, HR's and MED's counts linking to the filtered overview, the political
committee's reports, and the alerts with their total and "se alle"."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Action,
    ActionStatus,
    FollowUp,
    IssuedReport,
    Measurement,
    Organisation,
    OrganisationKind,
    PlanApproval,
    Role,
    Step,
    StepState,
    Unit,
    User,
    ZeroToleranceAlert,
)
from app.services import followup as followup_service
from app.services import imports
from app.services.measurements import find_or_prepare_measurement
from tests.conftest import login
from tests.followup_data import CSV, _rows

TODAY = date.today()
# The measurement's timeline, relative to today: the action plan was due about five months
# ago; the evaluation is still ahead.
RELEASED = TODAY - timedelta(days=230)
DIALOGUE = TODAY - timedelta(days=190)
PLAN_DEADLINE = TODAY - timedelta(days=160)
EVALUATION = TODAY + timedelta(days=60)


def _measure(csv: str = CSV, year: int | None = None, name: str = "APV") -> int:
    year = year or TODAY.year
    measurement = find_or_prepare_measurement(
        db.session, name=f"{name} {year}", year=year, template_code="apv"
    )
    measurement.results_released_on = RELEASED
    measurement.dialogue_deadline = DIALOGUE
    measurement.action_plan_deadline = PLAN_DEADLINE
    measurement.evaluation_date = EVALUATION
    checked = imports.check(
        db.session,
        csv.encode(),
        file_name="t.csv",
        year=year,
        questionnaire=measurement.questionnaire,
    )
    assert checked.ok, checked.result.errors
    imports.apply(db.session, None, checked, measurement)
    db.session.commit()
    return measurement.id


@pytest.fixture
def measured(app: Flask, org) -> int:
    with app.app_context():
        return _measure()


def _unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def _follow_up(measurement_id: int, code: str, done: tuple[Step, ...] = ()) -> FollowUp:
    """Start the unit's follow-up with the given steps done (inside an app context)."""
    measurement = db.session.get(Measurement, measurement_id)
    actor = db.session.scalar(select(User).limit(1))
    follow_up = followup_service.start(db.session, actor, measurement, _unit(code))
    for step in done:
        followup_service.save_step(db.session, actor, follow_up, step, {}, StepState.DONE)
    db.session.commit()
    return follow_up


def _action(follow_up: FollowUp, title: str, deadline: date, **changes: object) -> Action:
    actor = db.session.scalar(select(User).limit(1))
    action = followup_service.add_action(
        db.session, actor, follow_up, title=title, deadline=deadline
    )
    for name, value in changes.items():
        setattr(action, name, value)
    db.session.commit()
    return action


def _home(client: FlaskClient) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _card(html: str, code: str) -> str:
    assert f'id="todo-{code}"' in html, f"no card for {code}"
    return (
        html.split(f'id="todo-{code}"')[1]
        .split('class="kompas-todo-card"')[0]
        .split("</ul>\n</section>")[0]
    )


def _rows_in_overview(client: FlaskClient, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    return re.findall(r'<th scope="row"[^>]*><a href="/followup/\d+/([^/]+)/"', html)


DONE_BEFORE_PLAN = (Step.ANALYSIS, Step.PREPARATION, Step.DIALOGUE)


def test_leader_sees_a_card_per_unit_with_one_click_to_the_overdue_plan(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A2")])
    make_user("other@x.dk", [(Role.LEADER, "B1")])
    with app.app_context():
        follow_up = _follow_up(measured, "A2", DONE_BEFORE_PLAN)
        _action(follow_up, "Overdue", TODAY - timedelta(days=3))
        _action(follow_up, "Done late", TODAY - timedelta(days=3), status=ActionStatus.DONE)
        _action(follow_up, "Later", TODAY + timedelta(days=30))
        _action(
            follow_up,
            "Deleted",
            TODAY - timedelta(days=3),
            deleted_at=datetime.now(UTC),
        )
    login(client, "leder@x.dk")
    html = _home(client)
    card = _card(html, "A2")
    assert "Rød" in card  # the traffic light in words, not colour only
    assert "Handleplan" in card
    assert "5 måneder over tid" in card
    # overdue actions: only the unfinished, undeleted one past its deadline
    assert re.search(r"Handlinger over deadline: <a[^>]*>1</a>", card)
    continue_url = f"/followup/{measured}/A2/plan"
    assert f'href="{continue_url}"' in card
    assert client.get(continue_url).status_code == 200
    assert "Enhed B1" not in html  # another leader's unit never appears
    assert "todo-A1" not in html


def test_a_unit_not_started_starts_at_the_analysis_in_one_click(
    client: FlaskClient, measured: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A1")])
    login(client, "leder@x.dk")
    card = _card(_home(client), "A1")
    assert "Ikke startet" in card
    start_url = f"/followup/{measured}/A1/start"
    assert f'action="{start_url}"' in card
    response = client.post(start_url)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/followup/{measured}/A1/analysis")


def test_department_head_sees_units_behind_plans_to_approve_and_actions_passed_up(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    head = make_user("chef@x.dk", [(Role.LEADER, "A")])
    make_user("leder@x.dk", [(Role.LEADER, "A2")])
    with app.app_context():
        waiting = _follow_up(measured, "A2", DONE_BEFORE_PLAN)
        approval = PlanApproval(follow_up_id=waiting.id, approver_id=head.id, round=1)
        other_b = _follow_up(measured, "B1", DONE_BEFORE_PLAN)
        db.session.add_all(
            [approval, PlanApproval(follow_up_id=other_b.id, approver_id=None, round=1)]
        )
        passed = _action(waiting, "Needs the department", TODAY + timedelta(days=9))
        passed.escalated_to_unit_id = _unit("A").id
        gone = _action(waiting, "Deleted passed", TODAY, deleted_at=datetime.now(UTC))
        gone.escalated_to_unit_id = _unit("A").id
        db.session.commit()
        approval_id = approval.id
    login(client, "chef@x.dk")
    html = _home(client)
    behind = html.split('id="behind-heading"')[1].split("</section>")[0]
    # A and A1 have not started (analysis due long ago) and A2 is at the plan: all behind, the
    # ones behind the longest first; B1 (not his) never.
    assert behind.index("Enhed A1") < behind.index("Enhed A2")
    assert "Enhed B1" not in html
    assert "(3)" in behind
    approvals = html.split('id="approvals-heading"')[1].split("</section>")[0]
    assert f'href="/followup/approvals/{approval_id}"' in approvals
    assert "Enhed A2" in approvals
    passed_section = html.split('id="passed-heading"')[1].split("</section>")[0]
    assert "Needs the department" in passed_section
    assert "Deleted passed" not in passed_section
    assert "(1)" in passed_section
    # "se alle" opens the overview with just the units behind
    link = re.search(r'href="(/followup/overview\?[^"]*behind=1[^"]*)"', behind)
    assert link
    assert _rows_in_overview(client, link.group(1).replace("&amp;", "&")) == ["A", "A1", "A2"]


def test_hr_counts_each_link_to_an_overview_with_exactly_those_units(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    with app.app_context():
        _follow_up(measured, "A1", (*DONE_BEFORE_PLAN, Step.PLAN))
        _follow_up(measured, "A2")
        alerts = db.session.scalar(
            select(func.count(func.distinct(ZeroToleranceAlert.unit_id))).where(
                ZeroToleranceAlert.closed_at.is_(None)
            )
        )
    assert alerts, "the test data raises a zero-tolerance alert"
    login(client, "hr@x.dk")
    html = _home(client)
    counted = {}
    for key in ("red", "yellow", "not-started", "plans-missing", "alerts", "behind"):
        item = re.search(
            rf'<li id="count-{key}"><a href="([^"]+)"><strong[^>]*>(\d+)</strong>', html
        )
        assert item, key
        url, number = item.group(1).replace("&amp;", "&"), int(item.group(2))
        counted[key] = number
        assert len(_rows_in_overview(client, url)) == number, key
    assert counted["red"] >= 1
    assert counted["alerts"] == alerts
    # five units with results have not started, A1 has its plan: six of seven miss one
    assert counted["not-started"] == 5
    assert counted["plans-missing"] == 6
    # HR's measurement cards are links
    assert f'href="/followup/overview?m={measured}"' in html


def test_med_counts_only_their_own_part_of_the_tree(
    client: FlaskClient, measured: int, make_user
) -> None:
    make_user("med@x.dk", [(Role.COMMITTEE, "B")])
    login(client, "med@x.dk")
    html = _home(client)
    item = re.search(r'<li id="count-not-started"><a href="([^"]+)"><strong[^>]*>(\d+)', html)
    assert item
    assert int(item.group(2)) == 3  # B, B1 and C1
    assert sorted(_rows_in_overview(client, item.group(1).replace("&amp;", "&"))) == [
        "B",
        "B1",
        "C1",
    ]


def test_alerts_on_the_home_newest_first_with_the_total_and_see_all(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    make_user("leder@x.dk", [(Role.LEADER, "A1")])
    with app.app_context():
        _measure(CSV, year=TODAY.year - 1, name="Last year")
        _measure(CSV, year=TODAY.year, name="This year")
        open_alerts = list(
            db.session.scalars(
                select(ZeroToleranceAlert).where(ZeroToleranceAlert.closed_at.is_(None))
            )
        )
        total = len(open_alerts)
        newest = max(open_alerts, key=lambda a: (a.opened_on, a.id))
        newest_id, alert_unit = newest.id, newest.unit.code
        assert newest.measurement.name == f"This year {TODAY.year}"
    login(client, "hr@x.dk")
    html = _home(client)
    section = html.split('id="alerts-heading"')[1].split("</section>")[0]
    assert f"({total})" in section
    assert f'href="/followup/alerts/{newest_id}"' in section
    first_link = re.search(r'href="/followup/alerts/(\d+)"', section)
    assert first_link and int(first_link.group(1)) == newest_id
    assert 'href="/followup/alerts"' in section
    full = client.get("/followup/alerts").get_data(as_text=True)
    assert full.count('<th scope="row"') == total
    # the leader of A1 has no alert and may not see the others
    client = app.test_client()
    login(client, "leder@x.dk")
    assert 'id="alerts-heading"' not in _home(client)
    listing = client.get("/followup/alerts").get_data(as_text=True)
    assert f"Enhed {alert_unit}</a>" not in listing
    assert listing.count('<th scope="row"') == 0
    assert client.get("/followup/alerts?state=bogus").status_code == 200


def test_board_sees_the_issued_reports_newest_first(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    make_user("udvalg@x.dk", [(Role.BOARD, "R")])
    login(client, "udvalg@x.dk")
    assert "Der er endnu ikke udsendt rapporter til dig" in _home(client)
    with app.app_context():
        root = _unit("R")
        for version, year in ((1, 2025), (1, 2026)):
            db.session.add(
                IssuedReport(
                    kind="annual",
                    unit_id=root.id,
                    year=year,
                    version=version,
                    title=f"Årsrapport {year}",
                    data_sha256="0" * 64,
                    pdf_sha256="0" * 64,
                    size_bytes=4,
                    pdf=b"%PDF",
                )
            )
        db.session.commit()
    html = _home(client)
    assert "Der er endnu ikke udsendt rapporter til dig" not in html
    assert html.index("Årsrapport 2026") < html.index("Årsrapport 2025")
    assert "(2)" in html.split('id="role-board"')[1]


def test_a_school_home_never_says_trio(app: Flask, client: FlaskClient, make_user) -> None:
    with app.app_context():
        db.session.add(Organisation(name="Gymnasiet", kind=OrganisationKind.SCHOOL))
        db.session.add(Unit(code="A2", name="Enhed A2", unit_type="class"))
        db.session.commit()
    make_user("rektor@x.dk", [(Role.LEADER, "A2")])
    login(client, "rektor@x.dk")
    html = _home(client)
    assert "Enhed A2" in html
    assert "trio" not in html.lower()


@pytest.mark.parametrize(
    "query",
    [
        "colour=purple&plan=zzz&started=maybe&behind=2&step=nope&sort=bogus",
        "m=abc&page=x",
        "alerts=1&overdue=1&q=%3Cscript%3E",
    ],
)
def test_unknown_overview_filters_are_left_out_not_a_crash(
    client: FlaskClient, measured: int, make_user, query: str
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    response = client.get(f"/followup/overview?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>" not in html
    if query.startswith("colour"):
        assert "Filtre i brug" not in html
        assert len(_rows_in_overview(client, "/followup/overview")) == 7


def test_overview_filter_chips_remove_one_filter_each(
    client: FlaskClient, measured: int, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    html = client.get(f"/followup/overview?m={measured}&colour=red&started=no").get_data(
        as_text=True
    )
    chips = html.split("Filtre i brug:")[1].split("</div>")[0]
    assert "Rød" in chips and "Ikke startet" in chips
    without_red = re.search(r'href="([^"]+)">Rød', chips)
    assert without_red
    assert "colour" not in without_red.group(1) and "started=no" in without_red.group(1)


def _bigger_csv(extra: int) -> str:
    """The test file with `extra` more workplaces under A."""
    rows = "".join(_rows(f"A{n}", "A", 6, 2) for n in range(3, 3 + extra))
    return CSV + rows


def test_the_home_reads_the_same_number_of_queries_whatever_the_number_of_units(
    app: Flask, org, make_user, count_queries
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    make_user("chef@x.dk", [(Role.LEADER, "A"), (Role.LEADER, "A1"), (Role.COMMITTEE, "R")])
    counts = {}
    for year, extra in ((TODAY.year - 1, 0), (TODAY.year, 12)):
        with app.app_context():
            measurement_id = _measure(_bigger_csv(extra), year=year, name=f"Year {year}")
            for code in ("A1", "A2", *(f"A{n}" for n in range(3, 3 + extra))):
                follow_up = _follow_up(measurement_id, code, (Step.ANALYSIS,))
                _action(follow_up, "Late", TODAY - timedelta(days=1))
        for email in ("hr@x.dk", "chef@x.dk"):
            client = app.test_client()
            login(client, email)
            with count_queries() as statements:
                assert client.get("/").status_code == 200
            counts[(email, extra)] = len(statements)
    assert counts[("hr@x.dk", 0)] == counts[("hr@x.dk", 12)], counts
    assert counts[("chef@x.dk", 0)] == counts[("chef@x.dk", 12)], counts


def test_a_partner_gets_the_unit_card_while_holding_the_member_role(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    from app.models import RoleAssignment, UnitPartner

    partner = make_user("tr@x.dk", [(Role.MEMBER, "A2")])
    make_user("member@x.dk", [(Role.MEMBER, "A2")])
    with app.app_context():
        _follow_up(measured, "A2", DONE_BEFORE_PLAN)
        db.session.add(
            UnitPartner(unit_id=_unit("A2").id, user_id=partner.id, function="union_rep")
        )
        db.session.commit()
    login(client, "tr@x.dk")
    card = _card(_home(client), "A2")
    assert "sammen med lederen (trio)" in card
    assert f'href="/followup/{measured}/A2/plan"' in card
    # a member who is no partner gets no card
    other = app.test_client()
    login(other, "member@x.dk")
    assert 'id="todo-A2"' not in _home(other)
    # without the member role the partner's card is gone
    with app.app_context():
        db.session.execute(
            RoleAssignment.__table__.delete().where(RoleAssignment.user_id == partner.id)
        )
        db.session.commit()
    assert 'id="todo-A2"' not in _home(client)


def test_a_leaders_follow_up_overview_lists_their_units_only_also_with_alerts_elsewhere(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    """The overview reads only the units the person may follow (in SQL, not the whole
    organisation filtered afterwards): another unit's open alert is no row of theirs."""
    with app.app_context():
        for code in ("A1", "A2"):
            db.session.add(
                ZeroToleranceAlert(
                    measurement_id=measured,
                    unit_id=_unit(code).id,
                    opened_on=func.current_date(),
                    due_on=func.current_date(),
                )
            )
        db.session.commit()
    make_user("leder@x.dk", [(Role.LEADER, "A2")])
    login(client, "leder@x.dk")
    assert _rows_in_overview(client, f"/followup/overview?m={measured}") == ["A2"]
    assert _rows_in_overview(client, f"/followup/overview?m={measured}&alerts=1") == ["A2"]

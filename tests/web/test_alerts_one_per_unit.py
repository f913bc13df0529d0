"""One zero-tolerance alert per unit and measurement (issue 18): every question with hits in
one alert, one documented reaction closes it, history opens none, alerts of units that are
gone close with an audit event, and the page is as safe as every other."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Measurement, Role, Unit, ZeroToleranceAlert
from app.services import alerts, imports
from app.services.measurements import find_or_prepare_measurement
from tests.conftest import login

HEADER = "unit_id;unit_name;parent_id;invited;question_id;n_1;n_2;n_3;n_4;n_5;n_dont_know\n"
# The tree of the `org` fixture: teams of 12 (above the sensitive threshold of 10), so the
# zero-tolerance questions are shown at the team itself.
TEAMS = {"A1": "A", "A2": "A", "B1": "B"}
PEOPLE = 12


def results_file(hits: dict[tuple[str, str], int]) -> bytes:
    """Every team answers one ordinary question and KA-1..KA-3; `hits[(team, question)]`
    answered other than "no" (2: "fewer than 3", a statement without a number)."""
    lines = [HEADER, "R;Enhed R;;;;;;;;;\n", "A;Enhed A;R;;;;;;;;\n", "B;Enhed B;R;;;;;;;;\n"]
    for code, parent in TEAMS.items():
        lines.append(f"{code};Enhed {code};{parent};{PEOPLE};PT-1;0;0;0;{PEOPLE};0;0\n")
        for question in ("KA-1", "KA-2", "KA-3"):
            said = hits.get((code, question), 0)
            lines.append(
                f"{code};Enhed {code};{parent};{PEOPLE};{question};{PEOPLE - said};{said};0;;;0\n"
            )
    return "".join(lines).encode()


def load(hits: dict[tuple[str, str], int], *, year: int = 2026) -> Measurement:
    measurement = find_or_prepare_measurement(
        db.session, name=f"APV {year}", year=year, template_code="apv"
    )
    measurement.results_released_on = date(year, 3, 2)
    checked = imports.check(
        db.session,
        results_file(hits),
        file_name=f"apv-{year}.csv",
        year=year,
        questionnaire=measurement.questionnaire,
    )
    assert checked.ok, checked.result.errors
    imports.apply(db.session, None, checked, measurement)
    db.session.commit()
    return measurement


def all_alerts() -> list[tuple[str, int, list[str]]]:
    return [
        (a.unit.code, a.measurement.year, [q.code for q in a.questions])
        for a in db.session.scalars(select(ZeroToleranceAlert).order_by(ZeroToleranceAlert.id))
    ]


@pytest.fixture
def alerted(app: Flask, org) -> int:
    """B1 has hits on KA-1 and KA-3, A1 on KA-2: two alerts, not three."""
    with app.app_context():
        load({("B1", "KA-1"): 2, ("B1", "KA-3"): 2, ("A1", "KA-2"): 2})
        return db.session.scalar(select(ZeroToleranceAlert.id).join(Unit).where(Unit.code == "B1"))


def test_one_alert_per_unit_lists_every_question_with_hits(app: Flask, alerted: int) -> None:
    with app.app_context():
        assert all_alerts() == [("A1", 2026, ["KA-2"]), ("B1", 2026, ["KA-1", "KA-3"])]
        alert = db.session.get(ZeroToleranceAlert, alerted)
        # Raised today at the earliest: never overdue the moment it appears.
        assert alert.opened_on >= date.today() and alert.closed_reason == ""
        assert alerts.alert_state(alert, date.today()) == "open"
        # The same figures again: the same alert, not a second one.
        load({("B1", "KA-1"): 2, ("B1", "KA-3"): 2, ("A1", "KA-2"): 2})
        assert len(all_alerts()) == 2
        # Hits gone at A1 (nothing written there yet): its alert goes; B1 follows its figures.
        load({("B1", "KA-1"): 2})
        assert all_alerts() == [("B1", 2026, ["KA-1"])]


def test_the_page_shows_the_release_statement_per_question(
    client: FlaskClient, alerted: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "B1")])
    login(client, "leder@x.dk")
    page = client.get(f"/followup/alerts/{alerted}").get_data(as_text=True)
    assert page.count("Færre end 3 har svaret andet end “nej”.") == 2
    # The statement, never the count behind it, and nothing about the other unit's question.
    shown = re.sub(r'(value|content)="[^"]*"', "", page)
    assert not re.search(r"\b2 har svaret", shown)
    with client.application.app_context():
        texts = {
            q.code: q.text
            for q in db.session.get(ZeroToleranceAlert, alerted).measurement.questionnaire.questions
        }
    assert texts["KA-1"] in page and texts["KA-3"] in page and texts["KA-2"] not in page


def test_one_reaction_closes_the_alert(app: Flask, client: FlaskClient, alerted: int, make_user):
    make_user("leder@x.dk", [(Role.LEADER, "B")])
    login(client, "leder@x.dk")
    reacted_on = date.today() - timedelta(days=1)
    done = client.post(
        f"/followup/alerts/{alerted}",
        data={
            "reaction": "Samtale i teamet om, hvordan vi siger fra",
            "involved": "Leder, AMR, TR",
            "reaction_on": reacted_on.isoformat(),
            "follow_up_on": (reacted_on + timedelta(days=60)).isoformat(),
        },
    )
    assert done.status_code == 302
    with app.app_context():
        alert = db.session.get(ZeroToleranceAlert, alerted)
        assert alert.closed_at is not None and alert.closed_reason == "reacted"
        assert alert.follow_up_on == reacted_on + timedelta(days=60)
        assert alert.involved == "Leder, AMR, TR" and alert.reacted_by.email == "leder@x.dk"
        # Closed is never overdue, however late it is looked at.
        assert alerts.alert_state(alert, alert.due_on + timedelta(days=400)) == "answered"
        assert db.session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == "alert.reaction", AuditEvent.object_id == alerted
            )
        )
        # The other unit's alert is still open: one reaction closes one alert.
        assert sum(1 for a in db.session.scalars(select(ZeroToleranceAlert)) if a.closed_at) == 1
    page = client.get(f"/followup/alerts/{alerted}").get_data(as_text=True)
    assert "Samtale i teamet" in page and 'name="reaction"' not in page
    # A closed alert takes no second reaction.
    again = client.post(f"/followup/alerts/{alerted}", data={"reaction": "Igen"})
    assert again.status_code == 404


def test_a_huge_or_bad_reaction_is_refused_and_nothing_typed_is_lost(
    app: Flask, client: FlaskClient, alerted: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "B1")])
    login(client, "leder@x.dk")
    huge = "Vi talte sammen. " * 400  # 6,800 characters, above the limit of 5,000
    refused = client.post(
        f"/followup/alerts/{alerted}",
        data={
            "reaction": huge,
            "involved": "Leder og AMR",
            "reaction_on": "2026-03-20",
            "follow_up_on": "2026-06-20",
        },
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "højst 5000 tegn" in page or "5000" in page
    assert huge.strip() in page and 'value="Leder og AMR"' in page
    assert 'value="2026-03-20"' in page and 'value="2026-06-20"' in page
    # A follow-up before the reaction, or a reaction dated in the future: refused as well.
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for reaction_on, follow_up_on in [("2026-03-20", "2026-03-01"), (tomorrow, tomorrow)]:
        response = client.post(
            f"/followup/alerts/{alerted}",
            data={
                "reaction": "Samtale",
                "involved": "Leder",
                "reaction_on": reaction_on,
                "follow_up_on": follow_up_on,
            },
        )
        assert response.status_code == 400 and "Samtale" in response.get_data(as_text=True)
    with app.app_context():
        alert = db.session.get(ZeroToleranceAlert, alerted)
        assert alert.closed_at is None and alert.reaction == ""


@pytest.mark.parametrize(
    ("role", "held_on", "read", "write"),
    [
        (Role.LEADER, "B1", True, True),
        (Role.LEADER, "B", True, True),  # the unit above
        (Role.LEADER, "A1", False, False),  # another unit's alert: as if it did not exist
        (Role.LEADER, "A", False, False),
        (Role.MEMBER, "B1", True, False),  # reads, does not react
    ],
)
def test_another_units_alert_is_not_found(
    app: Flask, client: FlaskClient, alerted: int, make_user, role, held_on, read, write
) -> None:
    make_user("someone@x.dk", [(role, held_on)])
    login(client, "someone@x.dk")
    url = f"/followup/alerts/{alerted}"
    assert client.get(url).status_code == (200 if read else 404)
    posted = client.post(
        url,
        data={
            "reaction": "Samtale",
            "involved": "Leder",
            "reaction_on": "2026-03-20",
            "follow_up_on": "2026-06-20",
        },
    )
    assert posted.status_code == (302 if write else 404)
    assert client.get("/followup/alerts/999999").status_code == 404
    with app.app_context():
        assert (db.session.get(ZeroToleranceAlert, alerted).closed_at is not None) == write


def test_a_measurement_older_than_the_newest_opens_no_alerts(app: Flask, org) -> None:
    with app.app_context():
        load({("B1", "KA-1"): 2}, year=2026)
        load({("A1", "KA-1"): 2, ("A2", "KA-2"): 2}, year=2025)  # last year, as history
        assert all_alerts() == [("B1", 2026, ["KA-1"])]


def test_alerts_of_units_that_are_gone_close_with_an_audit_event(app: Flask, org) -> None:
    with app.app_context():
        load({("B1", "KA-1"): 2, ("A1", "KA-2"): 2})
        a1 = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        a1.active = False  # closed since (HR's organisation, or a file without it)
        db.session.commit()
        load({("A2", "KA-1"): 2}, year=2025)  # any import: here a year of history
        by_unit = {a.unit.code: a for a in db.session.scalars(select(ZeroToleranceAlert))}
        gone = by_unit["A1"]
        assert gone.closed_at is not None and gone.closed_reason == "unit_gone"
        assert gone.reaction == "" and alerts.alert_state(gone, date(2030, 1, 1)) == "unit_gone"
        assert by_unit["B1"].closed_at is None
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "alert.unit_gone")
        ).all()
        assert [(e.object_id, e.unit_id) for e in events] == [(gone.id, a1.id)]


@given(
    due=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 1, 1)),
    days=st.integers(min_value=-400, max_value=400),
    reacted=st.one_of(st.none(), st.integers(min_value=-60, max_value=60)),
    reason=st.sampled_from(["reacted", "unit_gone"]),
)
def test_only_an_open_alert_past_its_due_date_is_overdue(due, days, reacted, reason) -> None:
    today = due + timedelta(days=days)
    alert = ZeroToleranceAlert(due_on=due, opened_on=due - timedelta(days=30), closed_reason="")
    assert alerts.alert_state(alert, today) == ("overdue" if today > due else "open")
    alert.closed_at = today
    alert.closed_reason = reason
    alert.reaction_on = due + timedelta(days=reacted) if reacted is not None else None
    assert alerts.alert_state(alert, today) in {"answered", "answered_late", "unit_gone"}

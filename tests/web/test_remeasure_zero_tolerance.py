"""A re-measurement must not lose a zero-tolerance alert, and must not leak a hidden unit.

The first measurement covers B1..B4 below B. The re-measurement measures B1, B2 and B3
again (4 people each: every one hidden) and A1, A2 (6 each: shown, the zero-tolerance
question hidden at each under the sensitive threshold of 10). B1 and A1 have answers other
than "no". The release attributes B1's hits to B (12 people, the nearest unit that shows
the question) and A1's to A. A was measured again whole and is stored as before; B was
measured in part (B4 is missing), so its figures are not stored, but its alert must still be
raised, seen by B's leader and HR, and say nothing about B1 or how many.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Measurement, Role, Unit, UnitFigures, ZeroToleranceAlert
from app.services import imports
from app.services.measurements import find_or_prepare_measurement
from tests.conftest import login

HEADER = "unit_id;unit_name;parent_id;invited;question_id;n_1;n_2;n_3;n_4;n_5;n_dont_know\n"
TOP = "R;Enhed R;;;;;;;;;\nA;Enhed A;R;;;;;;;;\nB;Enhed B;R;;;;;;;;\n"
AGAIN = "Genmåling 2026"
FEW = "Færre end 3 har svaret andet end “nej”."
BELOW = "Svarene kommer fra de genmålte enheder nedenunder"


def rows(code: str, parent: str, people: int, hits: int = 0) -> str:
    lines = [
        f"{code};Enhed {code};{parent};{people};{question};0;0;{people};0;0;0\n"
        for question in ("PT-1", "PT-2", "MT-1")
    ]
    lines.append(f"{code};Enhed {code};{parent};{people};KA-1;{people - hits};{hits};0;;;0\n")
    return "".join(lines)


def load(name: str, content: str, first: Measurement | None = None) -> Measurement:
    measurement = find_or_prepare_measurement(db.session, name=name, year=2026, template_code="apv")
    measurement.results_released_on = date(2026, 3, 2)
    if first is not None:
        measurement.remeasure_of_id = first.id
    checked = imports.check(
        db.session,
        content.encode(),
        file_name=f"{name}.csv",
        year=2026,
        questionnaire=measurement.questionnaire,
    )
    assert checked.ok, checked.result.errors
    imports.apply(db.session, None, checked, measurement)
    db.session.commit()
    return measurement


@pytest.fixture
def remeasured(app: Flask, org) -> int:
    """The first measurement and the re-measurement; returns the re-measurement's id."""
    with app.app_context():
        first = load(
            "APV 2026",
            HEADER
            + TOP
            + rows("A1", "A", 6)
            + rows("A2", "A", 6)
            + "".join(rows(f"B{i}", "B", 4) for i in range(1, 5)),
        )
        again = load(
            AGAIN,
            HEADER
            + TOP
            + rows("A1", "A", 6, hits=2)
            + rows("A2", "A", 6)
            + rows("B1", "B", 4, hits=1)
            + rows("B2", "B", 4)
            + rows("B3", "B", 4),
            first,
        )
        return again.id


def alerts_of(measurement_id: int) -> dict[str, ZeroToleranceAlert]:
    return {
        a.unit.code: a
        for a in db.session.scalars(
            select(ZeroToleranceAlert).where(ZeroToleranceAlert.measurement_id == measurement_id)
        )
    }


def text_of(markup: str) -> str:
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    markup = re.sub(r'(value|content)="[^"]*"', "", markup)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return text_of(response.get_data(as_text=True))


def signed_in(app: Flask, make_user, email: str, roles: list[tuple[Role, str]]) -> FlaskClient:  # type: ignore[no-untyped-def]
    make_user(email, roles)
    client = app.test_client()
    login(client, email)
    return client


def test_the_setting_is_what_the_bug_needs(app: Flask, remeasured: int) -> None:
    """B is not stored for the re-measurement (measured in part), its re-measured units are
    hidden; A is stored and shows the question."""
    with app.app_context():
        stored = dict(
            db.session.execute(
                select(Unit.code, UnitFigures.shown)
                .join(UnitFigures, UnitFigures.unit_id == Unit.id)
                .where(UnitFigures.measurement_id == remeasured)
            ).all()
        )
    assert stored == {"A": True, "A1": True, "A2": True, "B1": False, "B2": False, "B3": False}


def test_a_hidden_re_measured_units_hits_raise_an_alert_at_the_unit_above(
    app: Flask, remeasured: int, make_user
) -> None:
    with app.app_context():
        raised = {code: [q.code for q in a.questions] for code, a in alerts_of(remeasured).items()}
    # B carries B1's hits (B itself is not stored); A as before; never a hidden unit.
    assert raised == {"A": ["KA-1"], "B": ["KA-1"]}

    for email, roles in (("leder@x.dk", [(Role.LEADER, "B")]), ("hr@x.dk", [(Role.ADMIN, "R")])):
        client = signed_in(app, make_user, email, roles)
        listed = page(client, "/followup/alerts")
        assert "Enhed B" in listed and AGAIN in listed, email
        assert "Enhed B1" not in listed and "B1" not in listed.split(), email
        # The home's list of alerts waiting for a reaction: B's, never a hidden unit's.
        home = page(client, "/")
        waiting = home.split("Nultoleranceadvarsler, der venter", 1)[1].split("Se alle", 1)[0]
        assert "Enhed B · " + AGAIN in waiting and "B1" not in waiting, email


def test_the_alert_page_names_no_hidden_unit_and_prints_no_count(
    app: Flask, remeasured: int, make_user
) -> None:
    with app.app_context():
        alert_id = alerts_of(remeasured)["B"].id
    client = signed_in(app, make_user, "leder@x.dk", [(Role.LEADER, "B")])
    shown = page(client, f"/followup/alerts/{alert_id}")
    assert "Enhed B" in shown and AGAIN in shown
    assert BELOW in shown  # says in words where the answers come from
    for unit in ("B1", "B2", "B3", "B4"):
        assert unit not in shown
    # No statement of B's (the re-measurement stores no figure of B), no count at all.
    assert FEW not in shown and "Mindst 3" not in shown
    assert not re.search(r"\d+ har svaret", shown)
    assert "Antallet vises ikke" not in shown
    # The follow-up it links back to opens, without figures of B.
    hub = page(client, f"/followup/{remeasured}/B/")
    assert "Enhed B1" not in hub and not re.search(r"\d+ har svaret", hub)


def test_a_unit_measured_again_whole_keeps_its_alert_as_before(
    app: Flask, remeasured: int, make_user
) -> None:
    with app.app_context():
        alert_id = alerts_of(remeasured)["A"].id
    client = signed_in(app, make_user, "leder@x.dk", [(Role.LEADER, "A")])
    shown = page(client, f"/followup/alerts/{alert_id}")
    assert FEW in shown and BELOW not in shown and "Enhed A1" not in shown
    listed = page(client, "/followup/alerts")
    assert "Enhed A" in listed and "Enhed B" not in listed  # B's leader's, not A's


def test_the_leader_closes_the_alert_with_a_reaction(
    app: Flask, remeasured: int, make_user
) -> None:
    with app.app_context():
        alert_id = alerts_of(remeasured)["B"].id
    client = signed_in(app, make_user, "leder@x.dk", [(Role.LEADER, "B")])
    reacted_on = date.today() - timedelta(days=1)
    done = client.post(
        f"/followup/alerts/{alert_id}",
        data={
            "reaction": "Samtale med de genmålte teams",
            "involved": "Leder, AMR",
            "reaction_on": reacted_on.isoformat(),
            "follow_up_on": (reacted_on + timedelta(days=30)).isoformat(),
        },
    )
    assert done.status_code == 302
    assert client.get(done.headers["Location"]).status_code == 200
    with app.app_context():
        assert alerts_of(remeasured)["B"].closed_reason == "reacted"


def test_changing_the_re_measurements_rules_keeps_the_alert(
    app: Flask, remeasured: int, make_user
) -> None:
    """HR edits the re-measurement: its figures are computed again, and B's open alert (no
    stored figures behind it) must stay."""
    client = signed_in(app, make_user, "hr@x.dk", [(Role.ADMIN, "R")])
    with app.app_context():
        measurement = db.session.get(Measurement, remeasured)
        form = {
            "name": AGAIN,
            "year": "2026",
            "questionnaire_id": str(measurement.questionnaire_id),
            "threshold": "5",
            "sensitive_threshold": "10",
            "yellow_from": "40",
            "green_from": "55",
            "zero_tolerance_days": "14",
            "psychological_safety_cutoff": "55",
            "remeasure_of_id": str(measurement.remeasure_of_id),
        }
        before = alerts_of(remeasured)["B"].id
    assert client.post(f"/admin/measurements/{remeasured}", data=form).status_code == 302
    with app.app_context():
        after = alerts_of(remeasured)
        assert set(after) == {"A", "B"} and after["B"].id == before


def test_the_follow_up_of_a_unit_measured_in_part_offers_no_start_that_fails(
    app: Flask, remeasured: int, make_user
) -> None:
    """The alert page links back to B's follow-up in the re-measurement; B has no figures
    there (measured in part), so a follow-up cannot be started: the page says why and offers
    no button that would answer 404 (found in the browser walk)."""
    client = signed_in(app, make_user, "leder@x.dk", [(Role.LEADER, "B")])
    response = client.get(f"/followup/{remeasured}/B/")
    assert response.status_code == 200
    markup = response.get_data(as_text=True)
    assert "Start opfølgningen" not in markup
    assert "ikke målt igen som helhed" in text_of(markup)
    # The first measurement's follow-up is where B's plan lives: linked.
    with app.app_context():
        first = db.session.get(Measurement, remeasured).remeasure_of_id
    assert f"/followup/{first}/B/" in markup


def test_the_annual_report_counts_the_re_measurements_alerts(
    app: Flask, remeasured: int, make_user
) -> None:
    """The board's annual report tells whether every zero-tolerance alert of the year got a
    reaction: the re-measurement's alerts (A's, and B's above the re-measured units) are among
    them, named with the re-measurement, and no hidden unit is named."""
    client = signed_in(app, make_user, "hr@x.dk", [(Role.ADMIN, "R")])
    report = page(client, "/reports/annual/R/2026/preview")
    section = report.split("reaktion i tide", 1)[1]
    assert "0 / 2" in report  # two alerts, neither answered yet
    for unit in ("Enhed A", "Enhed B"):
        assert f"{unit} {AGAIN}" in section, unit
    for hidden in ("B1", "B2", "B3"):  # under the threshold in the re-measurement
        assert hidden not in report.split(), hidden
    # A1 is shown, but its zero-tolerance question is not (6 < 10): its hits are A's alert.
    assert f"Enhed A1 {AGAIN}" not in section


def test_a_re_measurements_alerts_are_never_read_back_from_the_stored_figures(
    app: Flask, remeasured: int
) -> None:
    """Reading the stored figures back would drop B's alert (B is not stored): the service
    refuses to open a re-measurement's alerts without the release's own list."""
    from app.services import alerts

    with app.app_context():
        measurement = db.session.get(Measurement, remeasured)
        with pytest.raises(ValueError, match="raised_codes"):
            alerts.open_alerts(db.session, measurement)


def test_the_follow_up_overview_lists_the_alert_at_a_unit_measured_in_part(
    app: Flask, remeasured: int, make_user
) -> None:
    """The overview's "only with open alerts" filter is where HR follows who has reacted: B's
    alert (B measured again in part, so no figures stored) must be a row there, as it is on
    the alert list and the home page, with no figures and no hidden unit."""
    client = signed_in(app, make_user, "hr@x.dk", [(Role.ADMIN, "R")])
    response = client.get(f"/followup/overview?m={remeasured}&alerts=1")
    assert response.status_code == 200
    listed = response.get_data(as_text=True)
    rows = re.findall(r"<tr\b.*?</tr>", listed, flags=re.S)
    shown = [text_of(row) for row in rows[1:]]
    assert [" ".join(row.split()[:2]) for row in shown] == ["Enhed A", "Enhed B"], shown
    assert "Vises ikke" in shown[1] and "B1" not in text_of(listed).split()
    exported = client.get(f"/followup/overview.csv?m={remeasured}&alerts=1").get_data(as_text=True)
    assert [line.split(";")[0] for line in exported.splitlines()[1:]] == ["A", "B"], exported


def test_the_home_counts_the_same_units_with_alerts_as_the_overview_lists(
    app: Flask, remeasured: int
) -> None:
    from app.services import todo

    with app.app_context():
        measurement = db.session.get(Measurement, remeasured)
        statuses = todo.unit_statuses(db.session, measurement, None, date.today())
        with_alerts = [s.unit.code for s in statuses if s.open_alerts]
        assert with_alerts == ["A", "B"] and todo.count(statuses).with_alerts == 2
        b = next(s for s in statuses if s.unit.code == "B")
        assert (b.shown, b.colour) == (False, None)

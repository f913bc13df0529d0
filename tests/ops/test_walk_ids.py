"""Every URL that names another unit's data answers 404 to someone without access to it.

The walk takes every GET route with arguments from the app's own URL map, fills it with
objects that belong to unit A1 (and an alert at B), and asks as the leader of A2, a sibling.
A new route with an argument this test cannot fill fails it, so nothing slips past.
"""

from __future__ import annotations

from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Action, Organisation, OrganisationKind, Role, ZeroToleranceAlert
from app.services import followup
from tests.conftest import login
from tests.followup_data import measure

# Routes a signed-in user may open whatever the ids: they show only what the policy allows
# (checked in their own modules), or they are keyed by a secret token, or are public.
SCOPED = {
    "api.measurement_followup",
    "api.measurement_results",
    "auth.set_password",
    "board.calendar",
    "imports.staged",
    "imports.errors_csv",
    "imports.mapping",
    "imports.profile_rename",  # a saved mapping: the organisation's, HR only, no unit
    "imports.profile_delete",
    "reports.job",
    "reports.job_download",
    "static",
}


def test_a_sibling_gets_404_for_every_url_with_another_units_ids(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    with app.app_context():
        db.session.add(Organisation(name="T", kind=OrganisationKind.MUNICIPALITY))
        measurement = measure()
        from app.models import Unit

        unit = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        follow_up = followup.start(db.session, None, measurement, unit)
        theme = followup.add_theme(
            db.session,
            None,
            follow_up,
            title="Hemmeligt tema",
            current_score=None,
            target_score=None,
            goal="",
            approach="",
        )
        action = followup.add_action(db.session, None, follow_up, title="Hemmelig")
        alert = db.session.scalar(select(ZeroToleranceAlert))
        from app.models import PlanApproval, UnitPartner, User

        member = User(email="tr@x.dk", name="TR")
        db.session.add(member)
        db.session.flush()
        partner = UnitPartner(unit_id=unit.id, user_id=member.id, function="union_rep")
        approval = PlanApproval(follow_up_id=follow_up.id, approver_id=member.id)
        db.session.add_all([partner, approval])
        db.session.commit()
        values = {
            "measurement_id": measurement.id,
            "code": "A1",
            "step": "analysis",
            "action_id": action.id,
            "alert_id": alert.id,
            "user_id": 1,
            "year": 2026,
            "report_id": 1,
            "log_id": 1,
            "partner_id": partner.id,
            "approval_id": approval.id,
            "index": 0,
            "theme_id": theme.id,
        }
    make_user("hr@x.dk", [(Role.ADMIN, "R")])  # user 1: the admin pages' subject
    make_user("sib@x.dk", [(Role.LEADER, "A2")])
    login(client, "sib@x.dk")
    walked = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.arguments or rule.endpoint in SCOPED:
            continue
        missing = rule.arguments - values.keys()
        assert not missing, f"{rule.endpoint}: give the walk a value for {missing}"
        with app.test_request_context():
            url = url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
        response = client.get(url)
        assert response.status_code == 404, f"{url} answered {response.status_code}"
        assert "Hemmelig" not in response.get_data(as_text=True)
        walked.append(rule.endpoint)
    assert len(walked) >= 18
    with app.app_context():
        assert db.session.get(Action, values["action_id"]) is not None  # nothing changed

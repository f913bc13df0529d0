"""Deleting a user (issue 17): people are referred to by id, free text is never rewritten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Action, FollowUpStep, Role, Step, Unit, User
from app.services import followup as followup_service
from app.services import users
from tests.conftest import login
from tests.followup_data import measure

NOTE = "Hanne fra HR tager den med e-mail til teamet."


def _setup(app: Flask, make_user) -> tuple[int, int]:
    make_user("admin@x.dk", [(Role.ADMIN, "R")], name="Admin")
    make_user("hr@x.dk", [(Role.MEMBER, "A1")], name="HR")
    make_user("e@x.dk", [(Role.MEMBER, "A1")], name="e")
    with app.app_context():
        measurement = measure()
        unit = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        admin = db.session.scalar(select(User).where(User.email == "admin@x.dk"))
        owner = db.session.scalar(select(User).where(User.email == "hr@x.dk"))
        follow_up = followup_service.start(db.session, admin, measurement, unit)
        step = next(s for s in follow_up.steps if s.step == Step.ANALYSIS)
        step.data = {"strengths": NOTE, "notes": "e-mail til alle"}
        action = followup_service.add_action(
            db.session, admin, follow_up, title="Møde om e-mail", owner=owner
        )
        other = followup_service.add_action(
            db.session, admin, follow_up, title="Plakat", owner_name="Hanne fra HR"
        )
        action.last_comment = "Aftalt med HR og e"
        db.session.commit()
        return action.id, other.id


def test_deleting_a_user_never_rewrites_what_people_wrote(
    app: Flask, client, org, make_user
) -> None:
    action_id, other_id = _setup(app, make_user)
    login(client, "admin@x.dk")
    for email in ("hr@x.dk", "e@x.dk"):
        with app.app_context():
            user_id = db.session.scalar(select(User.id).where(User.email == email))
        assert client.post(f"/admin/users/{user_id}/delete").status_code == 302
    with app.app_context():  # undoable for 30 days; then the retention purge deletes for good
        assert users.purge_deleted(db.session, None, datetime.now(UTC) + timedelta(days=31)) == 2
        db.session.commit()
    with app.app_context():
        step = db.session.scalar(select(FollowUpStep).where(FollowUpStep.step == Step.ANALYSIS))
        assert step.data == {"strengths": NOTE, "notes": "e-mail til alle"}
        owned = db.session.get(Action, action_id)
        typed = db.session.get(Action, other_id)
        assert owned.last_comment == "Aftalt med HR og e"
        assert owned.owner_user_id is None
        assert typed.owner_name == "Hanne fra HR"  # a name typed by hand is not the user "HR"
    with app.test_request_context("/"):
        owned = db.session.get(Action, action_id)
        assert owned.owner_label == "tidligere bruger"


def test_an_xlsx_export_with_control_characters_is_made_and_leaves_no_temp_file(
    app: Flask, client, org, make_user
) -> None:
    """A title pasted with a control character (here a vertical tab) once made openpyxl refuse
    the export half-way, leaving its temporary file behind (issue 17)."""
    import glob
    import io
    import tempfile

    from openpyxl import load_workbook

    action_id, _ = _setup(app, make_user)
    with app.app_context():
        db.session.get(Action, action_id).title = "Møde\x0bom e-mail"
        db.session.commit()
    before = set(glob.glob(f"{tempfile.gettempdir()}/openpyxl.*"))
    login(client, "admin@x.dk")
    response = client.get("/board/export.xlsx?scope=subtree&unit=R")
    assert response.status_code == 200
    titles = [row[1] for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(
        values_only=True)]  # fmt: skip
    assert "Møde om e-mail" in titles
    assert set(glob.glob(f"{tempfile.gettempdir()}/openpyxl.*")) <= before

"""People by e-mail (issue 18): invitations and forgotten passwords through a real SMTP server
on loopback, bulk import of users and roles, the least powerful role offered, and deleting a
user that asks first and can be undone."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Role, RoleAssignment, Unit, User
from app.services import users
from tests.conftest import PASSWORD, Inbox, login

NEW_PASSWORD = "blå kaffekande ved fjorden"  # noqa: S105 - test data


def _link(message) -> str:  # noqa: ANN001 - email.message.Message
    found = re.search(r"http://localhost(/auth/set-password/\S+)", Inbox.body(message))
    assert found, Inbox.body(message)
    return found.group(1)


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


def _set_password_and_sign_in(app: Flask, path: str, email: str) -> FlaskClient:
    visitor = app.test_client()
    assert "Vælg din adgangskode" in visitor.get(path).get_data(as_text=True)
    response = visitor.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    login(visitor, email, NEW_PASSWORD)
    assert _signed_in(visitor)
    return visitor


def test_creating_a_user_sends_an_invitation_whose_link_sets_a_password(
    app: Flask, client: FlaskClient, org, make_user, smtp_server: Inbox
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    response = client.post(
        "/admin/users",
        data={"name": "Ny Kollega", "email": "Ny@x.dk", "language": "da", "invite": "y"},
    )
    assert response.status_code == 302
    message = smtp_server.wait_for(1).to("ny@x.dk")[0]
    assert Inbox.subject(message) == "Kompas: du er inviteret"
    assert "Hej Ny Kollega" in Inbox.body(message)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Inviteret " in page and "Send invitation igen" in page
    assert "Giv en rolle" in page
    # The role offered is the least powerful one, not HR's.
    assert re.search(r'<option selected value="member">|<option value="member" selected', page)
    _set_password_and_sign_in(app, _link(message), "ny@x.dk")


def test_sending_the_invitation_again_ends_the_older_link(
    app: Flask, client: FlaskClient, org, make_user, smtp_server: Inbox
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    client.post("/admin/users", data={"name": "Eva", "email": "eva@x.dk", "language": "en",
                                      "invite": "y"})  # fmt: skip
    with app.app_context():
        eva = db.session.scalar(select(User).where(User.email == "eva@x.dk"))
        assert eva.invited_at is not None
    first = smtp_server.wait_for(1)[0]
    assert Inbox.subject(first) == "Kompas: you are invited"  # her language, not HR's
    assert client.post(f"/admin/users/{eva.id}/invite").status_code == 302
    second = smtp_server.wait_for(2)[1]
    visitor = app.test_client()
    assert visitor.get(_link(first)).status_code == 404
    _set_password_and_sign_in(app, _link(second), "eva@x.dk")


def test_without_the_invitation_box_no_mail_is_sent(
    app: Flask, client: FlaskClient, org, make_user, smtp_server: Inbox
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    response = client.post(
        "/admin/users", data={"name": "Bo", "email": "bo@x.dk", "language": "da"}
    )
    assert response.status_code == 302
    assert smtp_server.wait_for(1, timeout=0.5) == []


def test_forgot_password_mails_a_link_that_works_and_unknown_addresses_look_the_same(
    app: Flask, client: FlaskClient, org, make_user, smtp_server: Inbox
) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")], name="Mona")
    make_user("off@x.dk", [(Role.MEMBER, "A1")], active=False)
    assert "Glemt adgangskode?" in client.get("/auth/login").get_data(as_text=True)
    known = client.post("/auth/forgot-password", data={"email": "M@x.dk "})
    unknown = client.post("/auth/forgot-password", data={"email": "ghost@x.dk"})
    inactive = client.post("/auth/forgot-password", data={"email": "off@x.dk"})
    pages = [
        re.sub(r'name="csrf_token"[^>]*', "", r.get_data(as_text=True))  # differs per response
        for r in (known, unknown, inactive)
    ]
    assert {r.status_code for r in (known, unknown, inactive)} == {200}
    assert "Tjek din e-mail" in pages[0]
    # The same page, but for the address written back.
    assert pages[0].replace("m@x.dk", "X") == pages[1].replace("ghost@x.dk", "X")
    assert pages[0].replace("m@x.dk", "X") == pages[2].replace("off@x.dk", "X")
    messages = smtp_server.wait_for(2, timeout=1.5)
    assert [m["To"] for m in messages] == ["m@x.dk"]
    assert Inbox.subject(messages[0]) == "Kompas: vælg en ny adgangskode"
    visitor = _set_password_and_sign_in(app, _link(messages[0]), "m@x.dk")
    assert visitor.post("/auth/logout").status_code == 302
    assert (
        visitor.post("/auth/login", data={"email": "m@x.dk", "password": PASSWORD}).status_code
        == 200
    )


def test_asking_for_a_link_signs_nobody_out_and_only_the_newest_link_works(
    app: Flask, client: FlaskClient, org, make_user, smtp_server: Inbox
) -> None:
    """Anyone can type a colleague's address: that must not sign the colleague out. A newer
    request (or a newer invitation) ends the older link."""
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    mona = make_user("m@x.dk", [(Role.MEMBER, "A1")], name="Mona")
    monas_browser = app.test_client()
    login(monas_browser, "m@x.dk")
    login(client, "hr@x.dk")
    client.post(f"/admin/users/{mona.id}/invite")  # HR's invitation: signs Mona out...
    assert not _signed_in(monas_browser)
    login(monas_browser, "m@x.dk")
    stranger = app.test_client()
    stranger.post("/auth/forgot-password", data={"email": "m@x.dk"})
    smtp_server.wait_for(2)  # the request's mail goes beside the answer: wait for it in turn
    stranger.post("/auth/forgot-password", data={"email": "m@x.dk"})
    invitation, first, second = smtp_server.wait_for(3)
    assert _signed_in(monas_browser)  # ...a stranger's request does not
    assert stranger.get(_link(invitation)).status_code == 404
    assert stranger.get(_link(first)).status_code == 404
    _set_password_and_sign_in(app, _link(second), "m@x.dk")
    assert not _signed_in(monas_browser)  # setting the password ends the other sessions


def test_forgot_password_is_rate_limited_per_account(app: Flask) -> None:
    from app.extensions import limiter

    limited = create_app(
        "testing",
        {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "50 per minute",
         "LOGIN_ACCOUNT_RATE_LIMIT": "2 per minute"},
    )  # fmt: skip
    try:
        with limited.app_context():
            db.create_all()
        statuses = [
            limited.test_client()
            .post("/auth/forgot-password", data={"email": "someone@x.dk"})
            .status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
    finally:
        limiter.reset()
        limiter.enabled = False


CSV = (
    "Navn;E-mail;Enhed;Rolle\n"
    "Anna Ny;anna@x.dk;A1;Medarbejder\n"
    "Leo Leder;leo@x.dk;A;leder\n"
    "Mette Eksisterende;m@x.dk;A2;member\n"
    "Forkert;ikke-en-mail;A1;member\n"
    "Ukendt Enhed;u@x.dk;ZZ9;member\n"
    "Ukendt Rolle;r@x.dk;A1;chef\n"
    "Anna Ny;ANNA@x.dk;A1;medarbejder\n"
    '=HYPERLINK("http://evil");f@x.dk;A1;member\n'
    f"{'L' * 300};long@x.dk;A1;member\n"
)


def _upload(client: FlaskClient, content: bytes, name: str = "folk.csv"):  # noqa: ANN202
    return client.post(
        "/admin/users/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_bulk_import_previews_row_errors_then_imports_the_valid_rows(
    app: Flask, client: FlaskClient, org, make_user, smtp_server: Inbox
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    make_user("m@x.dk", [(Role.MEMBER, "A1")], name="Mette")
    login(client, "hr@x.dk")
    response = _upload(client, CSV.encode("utf-8"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Linje 5: Ikke en gyldig e-mailadresse." in page
    assert "Linje 6: Der findes ingen enhed med dette id." in page
    assert "Linje 7: Ukendt rolle." in page
    assert "Linje 8: Samme person, enhed og rolle som en række ovenfor." in page
    assert "Linje 10: For lang" in page
    assert "3 nye brugere" in page  # Anna, Leo and the formula-named one; Mette exists
    with app.app_context():  # nothing is imported by the preview
        assert db.session.scalar(select(User).where(User.email == "anna@x.dk")) is None
    staged = re.search(r'name="staged" type="hidden" value="([^"]+)"', page)
    assert staged, page
    response = client.post(
        "/admin/users/import/confirm", data={"staged": staged.group(1), "invite": "y"}
    )
    assert response.status_code == 302
    with app.app_context():
        roles = {
            (email, code, role)
            for email, code, role in db.session.execute(
                select(User.email, Unit.code, RoleAssignment.role)
                .join(RoleAssignment, RoleAssignment.user_id == User.id)
                .join(Unit, Unit.id == RoleAssignment.unit_id)
            )
        }
        assert ("anna@x.dk", "A1", Role.MEMBER) in roles
        assert ("leo@x.dk", "A", Role.LEADER) in roles
        assert ("m@x.dk", "A2", Role.MEMBER) in roles and ("m@x.dk", "A1", Role.MEMBER) in roles
        assert db.session.scalar(select(User.name).where(User.email == "m@x.dk")) == "Mette"
        formula = db.session.scalar(select(User.name).where(User.email == "f@x.dk"))
        assert formula == '\'=HYPERLINK("http://evil")'
        for email in ("u@x.dk", "r@x.dk", "long@x.dk"):
            assert db.session.scalar(select(User).where(User.email == email)) is None
    invited = smtp_server.wait_for(3)
    assert sorted(m["To"] for m in invited) == ["anna@x.dk", "f@x.dk", "leo@x.dk"]
    _set_password_and_sign_in(app, _link(invited.to("leo@x.dk")[0]), "leo@x.dk")


def test_bulk_import_reads_xlsx_and_refuses_a_forged_or_unusable_file(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    from openpyxl import Workbook

    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    workbook = Workbook()
    workbook.active.append(["name", "e-mail", "unit code", "role"])
    workbook.active.append(["Xenia", "xenia@x.dk", "B1", "MED-udvalg"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    page = _upload(client, buffer.getvalue(), "folk.xlsx").get_data(as_text=True)
    assert "1 ny bruger" in page and "MED-udvalg" in page
    # A changed staged token imports nothing.
    staged = re.search(r'name="staged" type="hidden" value="([^"]+)"', page).group(1)
    forged = client.post("/admin/users/import/confirm", data={"staged": staged[:-2] + "xx"})
    assert forged.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "xenia@x.dk")) is None
    # No header, a PDF, too many columns: a clear message, nothing staged.
    for content in (b"anna;anna@x.dk;A1;member\n", b"%PDF-1.4 binary", b";" * 30 + b"\n"):
        response = _upload(client, content)
        assert response.status_code == 400
        assert 'class="form-error-message"' in response.get_data(as_text=True)


def test_deleting_a_user_asks_first_and_can_be_undone(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    leaving = make_user("lise@x.dk", [(Role.MEMBER, "A1")], name="Lise")
    theirs = app.test_client()
    login(theirs, "lise@x.dk")
    login(client, "hr@x.dk")
    ask = client.get(f"/admin/users/{leaving.id}/delete")
    assert ask.status_code == 200
    assert "Slet Lise?" in ask.get_data(as_text=True)
    assert _signed_in(theirs)  # asking changed nothing
    assert client.post(f"/admin/users/{leaving.id}/delete").status_code == 302
    assert not _signed_in(theirs)
    answer = app.test_client().post(
        "/auth/login", data={"email": "lise@x.dk", "password": PASSWORD}
    )
    assert answer.status_code == 200  # refused like a wrong password
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "Slettede brugere" in listing and "Fortryd" in listing
    assert client.post(f"/admin/users/{leaving.id}/undelete").status_code == 302
    login(theirs, "lise@x.dk")
    assert _signed_in(theirs)
    with app.app_context():
        assert db.session.get(User, leaving.id).roles[0].role == Role.MEMBER
        assert db.session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "user.deletion_undone")
        )


def test_a_deleted_user_is_purged_after_the_undo_period_and_not_before(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    from datetime import date

    from app.services import retention

    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    leaving = make_user("lise@x.dk", [(Role.MEMBER, "A1")], name="Lise")
    login(client, "hr@x.dk")
    client.post(f"/admin/users/{leaving.id}/delete")
    now = datetime.now(UTC)
    with app.app_context():
        assert users.purge_deleted(db.session, None, now + timedelta(days=29)) == 0
        retention.purge(db.session, None, date.today())  # what `kompas purge` runs daily
        db.session.commit()
        assert db.session.get(User, leaving.id) is not None  # still undoable
        db.session.get(User, leaving.id).deleted_at = now - timedelta(days=31)
        db.session.commit()
        retention.purge(db.session, None, date.today())
        db.session.commit()
        assert db.session.get(User, leaving.id) is None
    assert client.post(f"/admin/users/{leaving.id}/undelete").status_code == 404


def test_the_undo_ends_after_30_days(app: Flask, client: FlaskClient, org, make_user) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    leaving = make_user("lise@x.dk", [(Role.MEMBER, "A1")], name="Lise")
    login(client, "hr@x.dk")
    client.post(f"/admin/users/{leaving.id}/delete")
    with app.app_context():
        db.session.get(User, leaving.id).deleted_at = datetime.now(UTC) - timedelta(days=31)
        db.session.commit()
    assert "Fortryd" not in client.get("/admin/users").get_data(as_text=True)
    response = client.post(f"/admin/users/{leaving.id}/undelete", follow_redirects=True)
    assert "kan ikke længere fortrydes" in response.get_data(as_text=True)
    response = client.post(f"/admin/users/{leaving.id}/active", follow_redirects=True)
    assert "fortryd sletningen" in response.get_data(as_text=True)  # no way back by "Aktivér"
    with app.app_context():
        assert not db.session.get(User, leaving.id).active


def test_a_deleted_user_gets_no_reminders_and_is_back_after_the_undo(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    from datetime import date

    from app.services import followup as followup_service
    from app.services import reminders
    from tests.followup_data import measure

    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    owner = make_user("lise@x.dk", [(Role.MEMBER, "A1")], name="Lise")
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        admin = db.session.scalar(select(User).where(User.email == "hr@x.dk"))
        follow_up = followup_service.start(db.session, admin, measure(), unit)
        action = followup_service.add_action(
            db.session, admin, follow_up, title="Møde", owner=db.session.get(User, owner.id)
        )
        action.deadline = date(2026, 1, 5)
        db.session.commit()

    def reminded() -> set[str]:
        with app.app_context():
            found = reminders.digests(db.session, date(2026, 1, 10))
            return {digest.user.email for digest in found}

    assert "lise@x.dk" in reminded()
    login(client, "hr@x.dk")
    client.post(f"/admin/users/{owner.id}/delete")
    assert "lise@x.dk" not in reminded()
    assert (
        "lise@x.dk"
        not in client.get("/admin/users?q=lise").get_data(as_text=True).split("Slettede brugere")[0]
    )
    client.post(f"/admin/users/{owner.id}/undelete")
    assert "lise@x.dk" in reminded()


def test_one_cannot_delete_oneself(app: Flask, client: FlaskClient, org, make_user) -> None:
    hr = make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    response = client.post(f"/admin/users/{hr.id}/delete", follow_redirects=True)
    assert "Du kan ikke slette dig selv." in response.get_data(as_text=True)
    assert _signed_in(client)
    with app.app_context():
        assert db.session.get(User, hr.id).deleted_at is None

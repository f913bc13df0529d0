"""Issue 17, the remaining items, each through HTTP: an earlier year's import leaves today's
organisation alone, a move to the current status checks the version, sign-in is limited per
account, common passwords are refused, browser drafts are per user, tokens stay out of logs."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import Unit, UnitResult
from app.services.measurements import find_or_prepare_measurement
from tests.conftest import login
from tests.web.test_imports_web import GOOD, HEADER, setup_admin, upload

OLD_YEAR = (
    HEADER
    + "R;Testby;;;;;;;;;\n"
    + "A;Gammel afdeling;R;;;;;;;;\n"
    + "A1;Gammelt team;B;9;PT-1;0;1;2;3;1;0\n"
    + "A2;Team 2;A;6;PT-1;1;1;1;1;1;0\n"
    + "OLD;Nedlagt team;A;6;PT-1;1;1;1;1;1;0\n"
)


def _import(client: FlaskClient, measurement_id: int, content: str, **form: str) -> str:
    response = upload(client, measurement_id, content.encode())
    assert response.status_code == 302, response.data[:300]
    location = response.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    token = location.rsplit("/", 1)[1]
    confirmed = client.post(f"/imports/staged/{token}/confirm", data=form)
    assert confirmed.status_code == 302
    return page


def _tree(app: Flask) -> dict[str, tuple[str, str | None, bool]]:
    with app.app_context():
        units = db.session.scalars(select(Unit)).all()
        codes = {u.id: u.code for u in units}
        return {u.code: (u.name, codes.get(u.parent_id), u.active) for u in units}


def _earlier_measurement(app: Flask) -> int:
    with app.app_context():
        measurement = find_or_prepare_measurement(
            db.session, name="APV 2024", year=2024, template_code="apv"
        )
        db.session.commit()
        return measurement.id


def test_an_earlier_year_leaves_todays_organisation_alone(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    newest = setup_admin(app, make_user, org)
    login(client, "hr@x.dk")
    _import(client, newest, GOOD)
    today = _tree(app)
    assert today["A1"] == ("Team 1", "A", True)

    earlier = _earlier_measurement(app)
    page = _import(client, earlier, OLD_YEAR)
    assert "En senere måling har resultater" in page
    assert "Opdatér også organisationen efter denne fil" in page
    after = _tree(app)
    for code in today:
        assert after[code] == today[code], code
    assert after["OLD"] == ("Nedlagt team", "A", False)  # only in that year: closed
    with app.app_context():  # the measurement keeps its own tree
        a1 = db.session.scalar(select(Unit.id).where(Unit.code == "A1"))
        b = db.session.scalar(select(Unit.id).where(Unit.code == "B"))
        parent = db.session.scalar(
            select(UnitResult.parent_unit_id).where(
                UnitResult.measurement_id == earlier, UnitResult.unit_id == a1
            )
        )
        assert parent == b


def test_an_earlier_year_updates_the_organisation_when_the_admin_ticks_it(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    newest = setup_admin(app, make_user, org)
    login(client, "hr@x.dk")
    first = _import(client, newest, GOOD)
    assert "Dette er den nyeste måling med resultater" in first
    _import(client, _earlier_measurement(app), OLD_YEAR, update_organisation="y")
    assert _tree(app)["A1"] == ("Gammelt team", "B", True)


def test_a_move_to_the_current_status_checks_the_version(
    app: Flask, client: FlaskClient, org, make_user, monkeypatch
) -> None:
    """Another worker moves the card between this request reading it and writing: a "move"
    to the status this request read (no change of its own) must still be refused."""
    from sqlalchemy import update

    from app.blueprints.board import routes
    from app.models import Action, ActionUpdate
    from tests.web.test_board_web import _setup

    actions = _setup(app, make_user)
    with app.app_context():
        action = db.session.get(Action, actions["mine"])
        status, version = action.status, action.version
        updates = db.session.scalar(select(func.count()).select_from(ActionUpdate))
    other = 3 if status != 3 else 1
    may_move = routes.service.may_move

    def and_meanwhile(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        table = Action.__table__  # another worker's committed move, unseen by this session
        db.session.connection().execute(
            update(table)
            .where(table.c.id == actions["mine"])
            .values(status=other, version=version + 1)
        )
        return may_move(*args, **kwargs)

    monkeypatch.setattr(routes.service, "may_move", and_meanwhile)
    login(client, "m@x.dk")
    response = client.post(
        f"/board/actions/{actions['mine']}/move",
        data={"status": status, "version": version, "return_to": "/board/"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409  # (the refusal rolls back the simulated move too)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ActionUpdate)) == updates


def test_sign_in_is_limited_per_account_across_addresses(app: Flask) -> None:
    from app import create_app
    from app.extensions import limiter

    limited = create_app(
        "testing",
        {
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "100 per minute",
            "LOGIN_ACCOUNT_RATE_LIMIT": "3 per minute",
        },
    )
    try:
        with limited.app_context():
            db.create_all()
        client = limited.test_client()

        def attempt(email: str, address: str) -> int:
            return client.post(
                "/auth/login",
                data={"email": email, "password": "x"},
                environ_base={"REMOTE_ADDR": address},
            ).status_code

        spelt = ["m@x.dk", "M@X.dk", " m@x.DK", "m@x.dk"]
        statuses = [attempt(email, f"10.0.0.{i}") for i, email in enumerate(spelt)]
        assert statuses == [200, 200, 200, 429]  # a new address per try does not help
        assert attempt("other@x.dk", "10.0.0.9") == 200  # other accounts are not locked
    finally:
        limiter.reset()
        limiter.enabled = False


WEAK = ["Aaaaaaaaaa", "1234567890", "abcdefghijk", "Password123", "qwertyuiop", "Kodeord2026"]


def test_common_and_patterned_passwords_are_refused_on_every_path(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    import re

    from app.models import Role, User
    from app.services import passwords
    from tests.conftest import PASSWORD

    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    new = make_user("hanne.hansen@x.dk", [(Role.MEMBER, "A1")], name="Hanne Hansen")

    def password_hash() -> str:
        with app.app_context():
            return db.session.get(User, new.id).password_hash

    before = password_hash()
    login(client, "hr@x.dk")
    page = client.post(f"/admin/users/{new.id}/set-password-link").get_data(as_text=True)
    link = re.search(r"http://localhost(/auth/set-password/[^<\s]+)", page).group(1)
    client.post("/auth/logout")
    for weak in [*WEAK, "hannehansen1"]:
        response = client.post(link, data={"password": weak, "confirm": weak})
        assert response.status_code == 200, weak
        assert "for let at gætte" in response.get_data(as_text=True), weak
    assert password_hash() == before

    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    login(client, "m@x.dk")
    for weak in WEAK:
        response = client.post(
            "/auth/password", data={"current": PASSWORD, "password": weak, "confirm": weak}
        )
        assert response.status_code == 200, weak
        assert "for let at gætte" in response.get_data(as_text=True), weak
    ok = client.post(
        "/auth/password",
        data={"current": PASSWORD, "password": "a new secret 1", "confirm": "a new secret 1"},
    )
    assert ok.status_code == 302

    with app.test_request_context():  # the service refuses too (the CLI and any other caller)
        user = db.session.get(User, new.id)
        try:
            passwords.set_password(user, "Aaaaaaaaaa")
        except passwords.WeakPassword:
            pass
        else:
            raise AssertionError("a weak password was set")


def test_browser_drafts_are_keyed_by_user(app: Flask, client: FlaskClient, org, make_user) -> None:
    """Pages name an opaque owner for drafts kept in the browser (kompas.js prefixes every
    draft key with it and drops other owners' drafts at the first page after sign-in)."""
    import re
    from pathlib import Path

    from app.models import Role

    make_user("a@x.dk", [(Role.MEMBER, "A1")])
    make_user("b@x.dk", [(Role.MEMBER, "A1")])

    def owner() -> str | None:
        found = re.search(r'<body[^>]*data-draft-owner="([^"]+)"', client.get("/").get_data(True))
        return found.group(1) if found else None

    assert owner() is None  # signed out: nothing to key by
    login(client, "a@x.dk")
    first = owner()
    assert first and "a@x.dk" not in first and first == owner()  # stable, opaque
    client.post("/auth/logout")
    login(client, "b@x.dk")
    assert owner() not in (None, first)

    script = (Path(app.static_folder) / "js/kompas.js").read_text(encoding="utf-8")
    assert 'getAttribute("data-draft-owner")' in script
    assert "PREFIX = ROOT + OWNER" in script

"""argon2 parameters (issue 16): OWASP's minimum, and an older hash made again at sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Role, User
from app.services import passwords
from tests.conftest import PASSWORD, login


def test_production_parameters_are_never_below_owasps_minimum() -> None:
    # OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 at least.
    assert passwords.ARGON2_MEMORY_KIB >= 19 * 1024
    assert passwords.ARGON2_TIME_COST >= 2
    assert passwords.ARGON2_PARALLELISM >= 1


def test_an_older_hash_signs_in_and_is_made_again_with_todays_parameters(
    client: FlaskClient, ctx, org, make_user
) -> None:
    user = make_user("m@x.dk", [(Role.MEMBER, "A1")])
    older = PasswordHasher(time_cost=1, memory_cost=2048, parallelism=2).hash(PASSWORD)
    db.session.get(User, user.id).password_hash = older
    db.session.commit()

    login(client, "m@x.dk")  # asserts the sign-in's redirect

    db.session.expire_all()
    stored = db.session.get(User, user.id).password_hash
    assert stored != older
    today = extract_parameters(passwords._hasher.hash("x"))
    assert extract_parameters(stored) == today
    client.post("/auth/logout")
    login(client, "m@x.dk")  # the new hash verifies the same password


def test_a_wrong_password_changes_no_hash(client: FlaskClient, ctx, org, make_user) -> None:
    user = make_user("m@x.dk", [(Role.MEMBER, "A1")])
    older = PasswordHasher(time_cost=1, memory_cost=2048, parallelism=2).hash(PASSWORD)
    db.session.get(User, user.id).password_hash = older
    db.session.commit()
    page = client.post("/auth/login", data={"email": "m@x.dk", "password": "not the one"})
    assert page.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == older

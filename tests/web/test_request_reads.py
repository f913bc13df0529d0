"""What every request of a signed-in person reads before the page's own work: the account,
its roles and the organisation's rules for access, in one statement."""

from __future__ import annotations

from flask import Flask

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role
from app.policy import OrganisationRules, load_access, load_signed_in
from tests.conftest import login


def test_a_signed_in_request_reads_account_roles_and_organisation_rules_in_one_statement(
    app: Flask, org, make_user, count_queries
) -> None:
    make_user("leder.a@x.dk", [(Role.LEADER, "A")])
    client = app.test_client()
    login(client, "leder.a@x.dk")
    client.get("/units/NOPE")
    with count_queries() as statements:
        response = client.get("/units/NOPE")
    assert response.status_code == 404
    reads_account = [s for s in statements if "user_account" in s]
    reads_organisation = [s for s in statements if "FROM organisation" in s]
    assert len(reads_account) == 1, statements
    assert reads_organisation and all(s in reads_account for s in reads_organisation), statements


def test_the_rules_read_with_the_account_are_the_organisations_own(
    app: Flask, org, make_user
) -> None:
    """A school that holds results until released: the access built from the account's
    statement says so, as the organisation row does (not a default)."""
    user = make_user("leder.a@x.dk", [(Role.LEADER, "A")])
    with app.app_context():
        organisation = db.session.query(Organisation).one()
        organisation.kind = OrganisationKind.SCHOOL
        organisation.hold_results_until_released = True
        db.session.commit()
        found = load_signed_in(db.session, user.id)
        assert found is not None
        account, rules = found
        assert account.id == user.id and [r.role for r in account.roles] == [Role.LEADER]
        assert rules == OrganisationRules(OrganisationKind.SCHOOL, True)
        access = load_access(db.session, account, rules)
        assert access.school and access.hold_results
        assert load_signed_in(db.session, user.id + 1000) is None

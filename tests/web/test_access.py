"""The access matrix: every role, on its own unit, a child, a sibling and the parent, for
every route that exists. A forbidden object answers 404, exactly like a missing one.

Every route of the app must be listed here (test_every_route_is_in_the_matrix), so a new
route cannot slip in without its access being decided and tested.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models import Role
from tests.conftest import login

# Where the role is held, and the units to try: (relation, unit code).
HELD_ON = "A"
RELATIONS = {"own": "A", "child": "A1", "sibling": "B", "parent": "R"}

UNIT_ROUTES = {"main.unit": "/units/{code}", "main.history": "/units/{code}/history"}

# Unit routes: which relations each role reaches (everything else is 404).
UNIT_ACCESS: dict[str, dict[Role, set[str]]] = {
    "main.unit": {
        Role.ADMIN: {"own", "child", "sibling", "parent"},
        Role.LEADER: {"own", "child"},
        Role.MEMBER: {"own"},
        Role.COMMITTEE: {"own", "child"},
        Role.BOARD: set(),
    },
}
UNIT_ACCESS["main.history"] = UNIT_ACCESS["main.unit"]

# Routes that are not about one unit: who gets 200 (others get 404, or a redirect to sign-in
# when signed out).
ADMIN_ONLY = {Role.ADMIN}
SIGNED_IN = set(Role)
NOT_BOARD = {Role.ADMIN, Role.LEADER, Role.MEMBER, Role.COMMITTEE}
PAGE_ROUTES: dict[str, tuple[str, set[Role]]] = {
    "main.home": ("/", SIGNED_IN),
    "main.units": ("/units", NOT_BOARD),
    "auth.change_password": ("/auth/password", SIGNED_IN),
    "auth.profile": ("/auth/profile", SIGNED_IN),
    "admin.users": ("/admin/users", ADMIN_ONLY),
    "admin.user": ("/admin/users/{me}", ADMIN_ONLY),
    "admin.measurements": ("/admin/measurements", ADMIN_ONLY),
    "imports.index": ("/imports/", ADMIN_ONLY),
    "imports.references": ("/imports/references", ADMIN_ONLY),
    "admin.organisation": ("/admin/organisation", ADMIN_ONLY),
    "results.overview": ("/results/", NOT_BOARD),
    "followup.alerts": ("/followup/alerts", NOT_BOARD),
}

# Routes whose access depends on data the small tree has no use for (a measurement with
# figures): their own matrices live in the named test module.
COVERED_ELSEWHERE = {
    "results.overview_csv": "tests/web/test_results_web.py",
    "api.measurement_results": "tests/web/test_results_web.py",
    "api.measurement_followup": "tests/web/test_followup_web.py",
    "auth.calendar_token": "tests/web/test_board_web.py",
    **{
        f"{name}": "tests/web/test_plan_in_one_place.py"
        for name in (
            "followup.theme followup.edit_theme followup.delete_theme followup.restore_theme"
            " followup.action_row followup.edit_action followup.delete_action"
            " followup.restore_action followup.plan_print followup.plan_pdf board.deleted"
            " board.restore"
        ).split()
    },
    **{
        f"followup.{name}": "tests/web/test_approval.py"
        for name in "send_for_approval approvals approval add_partner remove_partner".split()
    },
    "results.overview_xlsx": "tests/web/test_reports_web.py",
    **{
        f"reports.{name}": "tests/web/test_board_package.py"
        for name in ("request_approval", "approve", "withdraw", "goals")
    },
    "results.release_confirm": "tests/web/test_school_policy.py",
    "results.release": "tests/web/test_school_policy.py",
    **{
        f"reports.{name}": "tests/web/test_reports_web.py"
        for name in (
            "index choose annual annual_preview annual_pdf issue job job_download download unit"
            " unit_pdf"
        ).split()
    },
    **{
        f"board.{name}": "tests/web/test_board_web.py"
        for name in ("index", "move", "detail", "edit", "delete", "export_csv", "export_xlsx")
    },
    **{
        f"followup.{name}": "tests/web/test_followup_web.py"
        for name in (
            "hub",
            "start",
            "step",
            "add_theme",
            "add_action",
            "proposal_to_action",
            "action_status",
            "escalate",
            "invitation",
            "invitation_pdf",
            "alert",
            "overview",
            "overview_csv",
            "overview_xlsx",
        )
    },
}

# Admin routes that act on something (POST), or on a staged upload: a non-admin gets 404
# before anything is read.
ADMIN_GETS = {
    "admin.export_user": "/admin/users/1/export.json",
    "admin.measurement": "/admin/measurements/1",
    "admin.import_users": "/admin/users/import",
    "imports.staged": "/imports/staged/some-token",
    "imports.errors_csv": "/imports/staged/some-token/errors.csv",
    "imports.existing": "/imports/existing?measurement_id=1",
    "imports.history": "/imports/measurements/1",
    "imports.restore_ask": "/imports/logs/1/restore",
    "imports.mapping": "/imports/staged/some-token/mapping",
    "imports.profile_rename": "/imports/profiles/1/rename",
    "imports.profile_delete": "/imports/profiles/1/delete",
}
ADMIN_POSTS = {
    "admin.delete_user": "/admin/users/{me}/delete",
    "imports.check": "/imports/check",
    "imports.confirm": "/imports/staged/some-token/confirm",
    "imports.discard": "/imports/staged/some-token/discard",
    "imports.restore": "/imports/logs/1/restore",
    "imports.references_check": "/imports/references/check",
    "imports.references_import": "/imports/references/import",
    "imports.references_display": "/imports/references/display",
    "imports.mapping_post": "/imports/staged/some-token/mapping",
    "imports.mapping_apply": "/imports/staged/some-token/mapping/apply",
    "imports.references_mapping": "/imports/references/mapping",
    "admin.purge_now": "/admin/organisation/purge",
    "admin.create": "/admin/users",
    "admin.add_role": "/admin/users/{me}/roles",
    "admin.delete_role": "/admin/users/{me}/roles/1/delete",
    "admin.toggle_active": "/admin/users/{me}/active",
    "admin.set_password_link": "/admin/users/{me}/set-password-link",
    "admin.invite_again": "/admin/users/{me}/invite",
    "admin.undelete_user": "/admin/users/{me}/undelete",
    "admin.preview_users": "/admin/users/import",
    "admin.confirm_users": "/admin/users/import/confirm",
    "admin.create_measurement": "/admin/measurements",
}

# Public routes: no sign-in needed.
PUBLIC = {
    "auth.login",
    "auth.logout",
    "auth.set_password",
    "auth.forgot_password",
    "board.calendar",  # the calendar feed: its long random token is the key
    "auth.language",
    "health.healthz",
    "static",
}


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    covered = (
        set(UNIT_ROUTES)
        | set(PAGE_ROUTES)
        | set(ADMIN_GETS)
        | set(ADMIN_POSTS)
        | set(COVERED_ELSEWHERE)
        | PUBLIC
    )
    assert endpoints - covered == set(), "decide and test the access of these routes"


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("relation", list(RELATIONS))
@pytest.mark.parametrize("endpoint", list(UNIT_ROUTES))
def test_unit_routes(
    client: FlaskClient, org, make_user, role: Role, relation: str, endpoint: str
) -> None:
    make_user("someone@x.dk", [(role, HELD_ON)])
    login(client, "someone@x.dk")
    url = UNIT_ROUTES[endpoint].format(code=RELATIONS[relation])
    expected = 200 if relation in UNIT_ACCESS[endpoint][role] else 404
    assert client.get(url).status_code == expected


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("endpoint", list(PAGE_ROUTES))
def test_page_routes(client: FlaskClient, org, make_user, role: Role, endpoint: str) -> None:
    me = make_user("someone@x.dk", [(role, HELD_ON)])
    login(client, "someone@x.dk")
    url, allowed = PAGE_ROUTES[endpoint]
    assert client.get(url.format(me=me.id)).status_code == (200 if role in allowed else 404)


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
@pytest.mark.parametrize("endpoint", list(ADMIN_POSTS))
def test_admin_posts_are_refused_for_others(
    client: FlaskClient, org, make_user, role: Role, endpoint: str
) -> None:
    me = make_user("someone@x.dk", [(role, HELD_ON)])
    login(client, "someone@x.dk")
    url = ADMIN_POSTS[endpoint].format(me=me.id)
    response = client.post(
        url, data={"name": "X", "email": "x@x.dk", "unit_code": "R", "role": "admin", "year": 2026}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
@pytest.mark.parametrize("endpoint", list(ADMIN_GETS))
def test_admin_gets_are_refused_for_others(
    client: FlaskClient, org, make_user, role: Role, endpoint: str
) -> None:
    make_user("someone@x.dk", [(role, HELD_ON)])
    login(client, "someone@x.dk")
    assert client.get(ADMIN_GETS[endpoint]).status_code == 404


@pytest.mark.parametrize("endpoint", list(UNIT_ROUTES) + list(PAGE_ROUTES))
def test_signed_out_is_sent_to_sign_in(client: FlaskClient, org, make_user, endpoint) -> None:
    me = make_user("someone@x.dk")
    url = (UNIT_ROUTES.get(endpoint) or PAGE_ROUTES[endpoint][0]).format(code="A", me=me.id)
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_unknown_unit_and_forbidden_unit_look_the_same(client: FlaskClient, org, make_user) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A1")])
    login(client, "m@x.dk")
    forbidden = client.get("/units/B1")
    missing = client.get("/units/NO-SUCH-UNIT")
    assert forbidden.status_code == missing.status_code == 404

    def without_own_url(response, url):
        page = response.get_data(as_text=True).replace(url, "")
        page = re.sub(r'value="[^"]*"', 'value=""', page)  # CSRF tokens carry the time
        return re.sub(r"Reference: [0-9A-F]+", "Reference", page)  # one per request

    assert without_own_url(forbidden, "/units/B1") == without_own_url(
        missing, "/units/NO-SUCH-UNIT"
    )


def test_unit_page_lists_only_children_the_user_may_open(
    client: FlaskClient, org, make_user
) -> None:
    make_user("m@x.dk", [(Role.MEMBER, "A"), (Role.MEMBER, "A2")])
    login(client, "m@x.dk")
    page = client.get("/units/A").get_data(as_text=True)
    assert "/units/A2" in page
    assert "/units/A1" not in page


def test_leader_breadcrumb_links_only_to_allowed_units(client: FlaskClient, org, make_user) -> None:
    make_user("l@x.dk", [(Role.LEADER, "A")])
    login(client, "l@x.dk")
    page = client.get("/units/A1").get_data(as_text=True)
    assert 'href="/units/A"' in page
    assert 'href="/units/R"' not in page


def test_the_pager_keeps_the_filter(app) -> None:
    from flask import render_template_string

    with app.test_request_context():
        html = render_template_string(
            '{% from "_macros/pager.html" import pager %}'
            '{{ pager(2, 3, "admin.users", {"q": "an"}) }}{{ pager(1, 1, "admin.users") }}'
        )
    assert 'href="/admin/users?q=an&amp;page=1"' in html
    assert 'href="/admin/users?q=an&amp;page=3"' in html
    assert html.count("<nav") == 1  # one page: no pager

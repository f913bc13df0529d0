"""The organisation's settings page: retention 1-10 years, what a purge deletes said first,
issued board reports kept unless the setting says otherwise, and the kind chosen by a person
(at setup or on the page), never by an import."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Action,
    IssuedReport,
    Measurement,
    Organisation,
    OrganisationKind,
    ReportWithdrawal,
    Role,
    Unit,
    User,
)
from app.services import followup, retention
from tests.conftest import login
from tests.followup_data import measure
from tests.services.test_question_wording import MINISTRY, gym_csv

THIS_YEAR = date.today().year
PAGE = "/admin/organisation"


def _settings(**changes: object) -> dict[str, object]:
    org = db.session.scalar(select(Organisation))
    data: dict[str, object] = {
        "name": org.name,
        "kind": org.kind.value,
        "retention_years": org.retention_years,
    }
    if org.purge_issued_reports:
        data["purge_issued_reports"] = "y"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _organisation(app: Flask) -> Organisation:
    with app.app_context():
        org = db.session.scalar(select(Organisation))
        db.session.expunge(org)
        return org


def _issue_report(unit_code: str, year: int) -> int:
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    report = IssuedReport(
        kind="annual",
        unit_id=unit.id,
        year=year,
        version=1,
        title=f"Årsrapport {year}",
        data_sha256="0" * 64,
        pdf_sha256="0" * 64,
        size_bytes=4,
        pdf=b"%PDF",
    )
    db.session.add(report)
    db.session.flush()
    return report.id


def _old_and_new(app: Flask) -> tuple[int, int]:
    """A measurement 4 years ago and one this year, each with a follow-up and an action on
    A1, and a report issued to the board for each year."""
    with app.app_context():
        old = measure(name="APV gammel", year=THIS_YEAR - 5)
        new = measure(name="APV ny", year=THIS_YEAR)
        a1 = db.session.scalar(select(Unit).where(Unit.code == "A1"))
        for measurement in (old, new):
            follow_up = followup.start(db.session, None, measurement, a1)
            followup.add_action(db.session, None, follow_up, title=f"Handling {measurement.year}")
        old_report = _issue_report("R", THIS_YEAR - 5)
        db.session.add(ReportWithdrawal(report_id=old_report, by_name="Leder", reason="Fejl"))
        _issue_report("R", THIS_YEAR)
        db.session.commit()
        return old.id, new.id


def _hr(client: FlaskClient, make_user) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")


def test_only_hr_sees_the_page(app: Flask, client: FlaskClient, org, make_user) -> None:
    make_user("leder@x.dk", [(Role.LEADER, "A1")])
    login(client, "leder@x.dk")
    assert client.get(PAGE).status_code == 404
    assert client.post(f"{PAGE}/purge", data={"word": "slet"}).status_code == 404


def test_retention_is_validated_between_1_and_10_years(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    _hr(client, make_user)
    with app.app_context():
        before = _settings()
    for wrong in ("0", "11", "fire", ""):
        response = client.post(PAGE, data={**before, "retention_years": wrong, "name": "Nyt"})
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert 'aria-invalid="true"' in html and "Ret venligst" in html, wrong
        assert 'value="Nyt"' in html  # what was typed is kept
        assert _organisation(app).name == "Testby Kommune"  # nothing changed
    too_long = client.post(PAGE, data={**before, "name": "x" * 201})
    assert 'aria-invalid="true"' in too_long.get_data(as_text=True)
    response = client.post(PAGE, data={**before, "retention_years": "10", "name": "Åby"})
    assert response.status_code == 302
    saved = _organisation(app)
    assert (saved.retention_years, saved.name) == (10, "Åby")


def test_a_school_is_suggested_4_years_and_a_municipality_5(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    _hr(client, make_user)
    html = client.get(PAGE).get_data(as_text=True)
    assert "Forslag: 4 år for en skole, 5 år for en kommune" in html
    with app.app_context():
        from app.services import organisation

        db.session.delete(db.session.scalar(select(Organisation)))
        db.session.flush()
        school = organisation.ensure(db.session, "Gymnasiet", OrganisationKind.SCHOOL)
        assert school.retention_years == 4
        db.session.delete(school)
        db.session.flush()
        assert organisation.ensure(db.session, "Åby", None).retention_years == 5
        db.session.rollback()


def test_the_page_says_what_the_purge_deletes_and_keeps(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    _hr(client, make_user)
    _old_and_new(app)
    html = client.get(PAGE).get_data(as_text=True)
    purge_part = html.split('id="purge-heading"')[1]
    assert f"APV gammel ({THIS_YEAR - 5})" in purge_part
    assert "APV ny" not in purge_part
    assert "1 opfølgning, 1 handling" in purge_part
    assert re.search(r"\d+ alarm", purge_part)
    assert f"1 rapport udsendt til det politiske udvalg før {THIS_YEAR - 4} bevares" in purge_part


def test_a_shorter_period_asks_first_and_shows_what_goes(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    _hr(client, make_user)
    _old_and_new(app)
    with app.app_context():
        data = _settings(retention_years="10")
        db.session.scalar(select(Organisation)).retention_years = 10
        db.session.commit()
    # From 10 to 3 years: the old measurement would go at the next purge; ask first.
    asked = client.post(PAGE, data={**data, "retention_years": "3"})
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    confirm = html.split('id="confirm"')[1].split("</div>")[0]
    assert f"APV gammel ({THIS_YEAR - 5})" in confirm
    assert 'name="confirmed" type="hidden" value="yes"' in html
    assert _organisation(app).retention_years == 10
    saved = client.post(PAGE, data={**data, "retention_years": "3", "confirmed": "yes"})
    assert saved.status_code == 302
    assert _organisation(app).retention_years == 3
    with app.app_context():
        assert db.session.scalar(select(func.count(Measurement.id))) == 2  # the purge deletes


def test_purge_from_the_page_needs_the_word_and_keeps_issued_reports(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    _hr(client, make_user)
    old, new = _old_and_new(app)
    wrong = client.post(f"{PAGE}/purge", data={"word": "ja"})
    assert wrong.status_code == 200
    assert "Skriv “slet”" in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Measurement, old) is not None
    done = client.post(f"{PAGE}/purge", data={"word": " Slet "})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Measurement, old) is None
        assert db.session.get(Measurement, new) is not None
        assert db.session.scalars(select(Action.title)).all() == [f"Handling {THIS_YEAR}"]
        # The board's archive is kept (the default), with its withdrawal.
        assert sorted(db.session.scalars(select(IssuedReport.year))) == [
            THIS_YEAR - 5,
            THIS_YEAR,
        ]
        assert db.session.scalar(select(func.count(ReportWithdrawal.id))) == 1


def test_issued_reports_go_only_when_the_setting_says_so(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    _hr(client, make_user)
    _old_and_new(app)
    with app.app_context():
        data = _settings(purge_issued_reports="y")
    # Setting it lets the nightly purge delete an issued report: asked first.
    asked = client.post(PAGE, data=data)
    assert "1 rapport udsendt til det politiske udvalg" in asked.get_data(as_text=True)
    assert not _organisation(app).purge_issued_reports
    assert client.post(PAGE, data={**data, "confirmed": "yes"}).status_code == 302
    assert _organisation(app).purge_issued_reports
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["kompas", "purge", "--dry-run"])
    assert "would delete 1 report(s) issued to the board" in dry.output, dry.output
    with app.app_context():
        retention.purge(db.session, None, date.today())
        db.session.commit()
        assert db.session.scalars(select(IssuedReport.year)).all() == [THIS_YEAR]
        assert db.session.scalar(select(func.count(ReportWithdrawal.id))) == 0


def test_cli_dry_run_says_what_goes_and_what_stays(app: Flask, org) -> None:
    _old_and_new(app)
    output = app.test_cli_runner().invoke(args=["kompas", "purge", "--dry-run"]).output
    assert f"would delete APV gammel ({THIS_YEAR - 5})" in output
    assert "with 1 follow-up(s), 1 action(s)" in output
    assert f"keeps 1 report(s) issued to the board before {THIS_YEAR - 4}" in output
    assert "nothing deleted" in output
    with app.app_context():
        assert db.session.scalar(select(func.count(Measurement.id))) == 2


def test_the_kind_is_chosen_at_setup(app: Flask) -> None:
    runner = app.test_cli_runner()
    args = ["kompas", "create-admin", "--email", "hr@gym.dk", "--name", "HR", "--unit", "FG"]
    password = ["--password", "en-lang-og-sjælden-adgangskode-42"]
    refused = runner.invoke(args=args + password)
    assert refused.exit_code != 0 and "--kind" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0
    made = runner.invoke(
        args=args + ["--kind", "school", "--organisation", "Frederiksberg Gymnasium"] + password
    )
    assert made.exit_code == 0, made.output
    org = _organisation(app)
    assert (org.name, org.kind, org.retention_years) == (
        "Frederiksberg Gymnasium",
        OrganisationKind.SCHOOL,
        4,
    )


def test_an_import_never_sets_the_kind(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    """A gym file imported into an empty Kompas does not make it a school, and an apv file
    into a school does not make it a municipality: only a person chooses."""
    gym_file = tmp_path / "gym.csv"
    gym_file.write_text(gym_csv(MINISTRY), "utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["kompas", "import", str(gym_file), "--measurement", "Gym", "--year",
              str(THIS_YEAR), "--template", "gym"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _organisation(app).kind == OrganisationKind.MUNICIPALITY  # the default, not guessed
    with app.app_context():
        db.session.scalar(select(Organisation)).kind = OrganisationKind.SCHOOL
        db.session.commit()
    apv = tmp_path / "apv.csv"
    apv.write_text(
        "unit_id;unit_name;parent_id;question_id;theme;scale;n_1;n_2;n_3\n"
        "ZZ;Andet;;X-1;Tema;Nej|Lidt|Ja;1;2;3\n",
        "utf-8",
    )
    result = runner.invoke(
        args=["kompas", "import", str(apv), "--measurement", "Andet", "--year", str(THIS_YEAR)]
    )
    assert result.exit_code == 0, result.output
    assert _organisation(app).kind == OrganisationKind.SCHOOL


def test_the_kind_changes_on_the_settings_page(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    _hr(client, make_user)
    with app.app_context():
        data = _settings(kind="school")
    assert client.post(PAGE, data=data).status_code == 302
    assert _organisation(app).kind == OrganisationKind.SCHOOL
    html = client.get(PAGE).get_data(as_text=True)
    assert "bestyrelsen" in html and "politiske udvalg" not in html
    wrong = client.post(PAGE, data={**data, "kind": "firma"})
    assert 'aria-invalid="true"' in wrong.get_data(as_text=True)
    assert _organisation(app).kind == OrganisationKind.SCHOOL

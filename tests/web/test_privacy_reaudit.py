"""A privacy re-audit of what issue 19 added, tried as an attacker would, through HTTP.

Every number a page prints is an equation. Each test below collects what one role can read
(unit pages, the home, the alert list, the annual report, the archive, e-mails) on a small
hand-made file and tries one attack:

1. the school's bullying share ("Andel: x %") times the answer count, beside the statements;
2. reference figures beside our own (a level of the ministry's file that is our institution);
3. alerts and their counts (the alert list, the home, the reminder e-mail) around a class
   that hides a zero-tolerance question;
4. re-measurements compared with their first measurement;
5. held results (a school's results before management releases them) reaching a role that
   is not management through another role of the same person, or through an issued report.

An attack that works is a test marked ``xfail(strict=True)`` with the reason; it passes (as
an expected failure) until the code is fixed, and then fails loudly so the mark is removed.
An attack that does not work is a plain test that asserts on what is printed, with a check
that the printed figures it relies on are there at all (so that it cannot pass vacuously).
"""

from __future__ import annotations

import html
import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import create_app
from app.extensions import db
from app.models import (
    IssuedReport,
    Measurement,
    Organisation,
    OrganisationKind,
    ReportDraft,
    Role,
    Unit,
    UnitFigures,
    User,
    ZeroToleranceAlert,
)
from app.services import imports, reminders, report_archive
from app.services.measurements import find_or_prepare_measurement
from tests.conftest import login
from tests.followup_data import HEADER as FOLLOWUP_HEADER
from tests.followup_data import _rows, measure
from tests.services.test_figures import answers, declare, load

SHARE = re.compile(r"Andel: (\d+(?:,\d)?) %")
EXACT = re.compile(r"(\d+) har svaret andet end “nej”")
FEW = "Færre end 3 har svaret andet end “nej”."
AT_LEAST = "Mindst 3 har svaret andet end “nej”."
MO_01 = "Er du blevet mobbet på skolen i dette skoleår?"
NOT_RELEASED = "Resultaterne er endnu ikke frigivet af ledelsen"


# --- the app (a database file: an issued report's PDF is made in the request) ----------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    base = os.environ.get("TEST_DATABASE_URL")
    url = base or f"sqlite:///{tmp_path_factory.mktemp('reaudit') / 'reaudit.db'}"
    made = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "REPORT_JOBS": "inline"})
    with made.app_context():
        db.create_all()
    yield made
    with made.app_context():
        db.session.remove()
        if not base:
            db.drop_all()
        db.engine.dispose()


def signed_in(app: Flask, make_user, email: str, roles: list[tuple[Role, str]]) -> FlaskClient:  # type: ignore[no-untyped-def]
    make_user(email, roles)
    client = app.test_client()
    login(client, email)
    return client


def text_of(markup: str) -> str:
    """What a reader sees: tags dropped, entities decoded, white space single."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def question_row(markup: str, question_text: str) -> str | None:
    """The text of the table row of a question on a unit page (None: not listed)."""
    for row in re.findall(r"<tr\b.*?</tr>", markup, re.S):
        text = text_of(row)
        if question_text in text:
            return text
    return None


def answers_in(row: str) -> int:
    found = re.search(r"n = (\d+)", row)
    assert found, row
    return int(found.group(1))


def as_school(app: Flask, *, hold: bool = False) -> None:
    with app.app_context():
        db.session.execute(
            update(Organisation).values(
                kind=OrganisationKind.SCHOOL, hold_results_until_released=hold
            )
        )
        db.session.commit()


# --- 1 and 2: the bullying share, and reference figures beside it ---------------------------


def bullying_school(app: Flask) -> int:
    """R ── A ── A1 (12 students: 4 report bullying)      A: exactly 4
         │    └─ A2 (10: none)
         └─ B ── B1 (11: 1 reports it)                  B, B1: "fewer than 3"
    R: 5 in all, printed as "at least 3" (an exact 5 minus A's 4 would pin B1 to 1)."""
    as_school(app)
    with app.app_context():
        return load(
            [
                declare("R"),
                declare("A", "R"),
                answers("A1", "A", "FT-01", [0, 0, 0, 12, 0]),
                answers("A1", "A", "MO-01", [8, 3, 1]),
                answers("A2", "A", "FT-01", [0, 0, 0, 0, 10]),
                answers("A2", "A", "MO-01", [10, 0, 0]),
                declare("B", "R"),
                answers("B1", "B", "FT-01", [0, 0, 11, 0, 0]),
                answers("B1", "B", "MO-01", [10, 1, 0]),
            ],
            name="Trivsel 2025",
            template="gym",
        ).id


def bullying_rows(client: FlaskClient, measurement_id: int) -> dict[str, str]:
    rows = {}
    for code in ("R", "A", "A1", "A2", "B", "B1"):
        row = question_row(page(client, f"/units/{code}?m={measurement_id}"), MO_01)
        assert row is not None, code
        rows[code] = row
    return rows


def test_a_bullying_share_is_printed_only_beside_the_exact_count_it_divides(
    app: Flask, org, make_user
) -> None:
    """The share is hits / answers: it may stand only where the count itself is printed
    ("n har svaret …" or "Alle har svaret “nej”"), and must equal it. Where the statement
    is "at least 3" or "fewer than 3", a share would give the count back (share × n)."""
    measurement_id = bullying_school(app)
    hr = signed_in(app, make_user, "hr@x.dk", [(Role.ADMIN, "R")])
    rows = bullying_rows(hr, measurement_id)

    # What the release says (and the test relies on): exact at A and A1, none at A2,
    # "fewer than 3" at B and B1, "at least 3" at R.
    assert EXACT.search(rows["A"]) and EXACT.search(rows["A1"])
    assert "Alle har svaret “nej”" in rows["A2"]
    assert FEW in rows["B"] and FEW in rows["B1"]
    assert AT_LEAST in rows["R"]

    shares = {code: SHARE.search(row) for code, row in rows.items()}
    assert {code for code, found in shares.items() if found} == {"A", "A1", "A2"}
    for code in ("A", "A1", "A2"):
        share = float(shares[code].group(1).replace(",", "."))  # type: ignore[union-attr]
        exact = EXACT.search(rows[code])
        hits = int(exact.group(1)) if exact else 0
        n = answers_in(rows[code])
        # Share × n gives back the printed count, nothing more.
        assert round(share * n / 100) == hits, (code, share, n, hits)
    # No other percentage in a statement row: no last year's share, no parent's share.
    for code, row in rows.items():
        assert len(re.findall(r"\d %", row)) == (1 if code in ("A", "A1", "A2") else 0), row


def import_references(client: FlaskClient, content: str) -> None:
    preview = client.post(
        "/imports/references/check",
        data={"questionnaire": "gym", "file": (io.BytesIO(content.encode()), "noegletal.csv")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200, text_of(preview.get_data(as_text=True))[:1500]
    fields = dict(
        re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', preview.get_data(as_text=True))
    )
    assert "sha256" in fields
    assert client.post("/imports/references/import", data=fields).status_code == 302


def hits_from_shares(row: str, n: int) -> set[int]:
    """Every hit count a printed reference share "Label 2025: x %" allows, with n answers
    (where the reference is the unit itself, the share is hits / n, rounded to 0.1 %)."""
    allowed: set[int] = set()
    for found in re.finditer(r"\b\d{4}: (\d+(?:,\d)?) %", row):
        share = float(found.group(1).replace(",", "."))
        candidates = {h for h in range(n + 1) if abs(h / n * 100 - share) <= 0.05 + 1e-9}
        if len(candidates) == 1:
            allowed |= candidates
    return allowed


def pinned_small_counts(rows: dict[str, str]) -> list[str]:
    """The attacker: R's total from any reference share printed at R, minus what A prints
    exactly, is B's total (B1's, its only class). A total of 1 or 2 is a pin."""
    a = EXACT.search(rows["A"])
    assert a is not None
    found = []
    for total in hits_from_shares(rows["R"], answers_in(rows["R"])):
        rest = total - int(a.group(1))
        if 1 <= rest <= 2:  # noqa: PLR2004 - a count of 1 or 2
            found.append(f"B1 has {rest} (R {total} − A {a.group(1)})")
    return found


def test_national_reference_shares_beside_the_school_pin_nothing(
    app: Flask, org, make_user
) -> None:
    """The ministry's national and sector figures stand beside ours and are printed at shown
    units only; they are others' figures, so they combine with ours to nothing."""
    measurement_id = bullying_school(app)
    hr = signed_in(app, make_user, "hr@x.dk", [(Role.ADMIN, "R")])
    import_references(
        hr,
        "År;Niveau;Spørgsmål;Gennemsnit;Andel (%);Antal\n"
        "2025;Landsplan;MO-01;;4,1 %;12.345\n"
        "2025;stx;MO-01;;3,3 %;8.120\n",
    )
    rows = bullying_rows(hr, measurement_id)
    assert "Landsplan 2025: 4,1 %" in rows["A"]  # printed, so the attack has its input
    assert "stx 2025: 3,3 %" in rows["A1"]
    # Wherever they are printed (beside "at least 3" too), they pin nothing.
    assert pinned_small_counts(rows) == []


def test_a_reference_level_that_is_our_own_institution_pins_no_class(
    app: Flask, org, make_user
) -> None:
    """The ministry publishes figures per institution (and a municipality with one
    gymnasium is the institution). Imported as a level of their own, the institution's
    bullying share stands beside R's "at least 3" and n = 33: 15,2 % × 33 = 5; A prints 4,
    so B1 (its department's only class) has exactly 1."""
    measurement_id = bullying_school(app)
    hr = signed_in(app, make_user, "hr@x.dk", [(Role.ADMIN, "R")])
    import_references(hr, "År;Niveau;Spørgsmål;Andel (%)\n2025;Landsplan;MO-01;4,1 %\n")
    # The institution itself, as the ministry names it: refused, left out, or imported.
    content = "År;Niveau;Spørgsmål;Gennemsnit;Andel (%);Antal\n2025;Enhed R;MO-01;;15,2 %;33\n"
    preview = hr.post(
        "/imports/references/check",
        data={"questionnaire": "gym", "file": (io.BytesIO(content.encode()), "institution.csv")},
        content_type="multipart/form-data",
    )
    markup = preview.get_data(as_text=True)
    if preview.status_code == 200 and 'name="sha256"' in markup:
        fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', markup))
        hr.post("/imports/references/import", data=fields)
    rows = bullying_rows(hr, measurement_id)
    assert "Landsplan 2025: 4,1 %" in rows["A"]  # the national line is still welcome
    assert pinned_small_counts(rows) == []


def test_a_municipality_with_one_gymnasium_pins_no_class(app: Flask, org, make_user) -> None:
    """A municipality whose only gymnasium is ours publishes our figures under its own name,
    which no name check catches: a reference share of a zero-tolerance question stands only
    beside our own exact share, never beside "at least 3" or "fewer than 3"."""
    measurement_id = bullying_school(app)
    hr = signed_in(app, make_user, "hr@x.dk", [(Role.ADMIN, "R")])
    import_references(
        hr, "År;Niveau;Spørgsmål;Gennemsnit;Andel (%);Antal\n2025;Fjordby;MO-01;;15,2 %;33\n"
    )
    rows = bullying_rows(hr, measurement_id)
    assert "Fjordby 2025: 15,2 %" in rows["A"]  # imported, and printed beside an exact share
    for code in ("R", "B", "B1"):  # "at least 3", "fewer than 3"
        assert "Fjordby" not in rows[code], rows[code]
    assert pinned_small_counts(rows) == []


# --- 3: alerts around a class that hides the question ---------------------------------------


def alert_school(app: Flask) -> int:
    """R ── A ── A1 (12), A2 (12): nobody reports violence
         └─ B ── B1 (7: 1 reports it; 7 < the sensitive threshold 10, so B1 hides KA-1)
              └─ B2 (12: none)
    B1's hit counts at B, the nearest unit that shows the question."""
    as_school(app)
    with app.app_context():
        measurement = load(
            [
                declare("R"),
                declare("A", "R"),
                answers("A1", "A", "PT-1", [0, 0, 0, 12, 0]),
                answers("A1", "A", "KA-1", [12, 0, 0]),
                answers("A2", "A", "PT-1", [0, 0, 0, 12, 0]),
                answers("A2", "A", "KA-1", [12, 0, 0]),
                declare("B", "R"),
                answers("B1", "B", "PT-1", [0, 0, 7, 0, 0]),
                answers("B1", "B", "KA-1", [6, 1, 0]),
                answers("B2", "B", "PT-1", [0, 0, 0, 12, 0]),
                answers("B2", "B", "KA-1", [12, 0, 0]),
            ],
            name="APV 2026",
            year=date.today().year,
        )
        measurement.results_released_on = date.today()
        db.session.commit()
        return measurement.id


def test_alerts_and_their_counts_never_name_a_unit_that_hides_the_question(
    app: Flask, org, make_user
) -> None:
    """An alert says "someone here answered other than no". At B1, which hides the question,
    it would say B1 has hits (1 of 7). The alert list, the home (its list and its count of
    units with alerts), B1's page and the reminder e-mail name B only."""
    measurement_id = alert_school(app)
    with app.app_context():
        b1 = db.session.scalar(select(Unit).where(Unit.code == "B1"))
        figures = db.session.scalar(
            select(UnitFigures).where(
                UnitFigures.measurement_id == measurement_id, UnitFigures.unit_id == b1.id
            )
        )
        assert figures.shown and "KA-1" not in figures.questions  # B1 shown, KA-1 hidden
        alerted = set(
            db.session.scalars(
                select(Unit.code)
                .join(ZeroToleranceAlert, ZeroToleranceAlert.unit_id == Unit.id)
                .where(ZeroToleranceAlert.measurement_id == measurement_id)
            )
        )
        assert alerted == {"B"}
    hr = signed_in(app, make_user, "hr@x.dk", [(Role.ADMIN, "R")])
    leader = signed_in(app, make_user, "leder@x.dk", [(Role.LEADER, "R")])

    listed = text_of(page(hr, "/followup/alerts?state=all"))
    assert "Enhed B" in listed and "Enhed B1" not in listed
    home = page(leader, "/")
    alerts = re.search(r'<section aria-labelledby="alerts-heading".*?</section>', home, re.S)
    assert alerts is not None
    assert "Enhed B" in text_of(alerts.group(0)) and "Enhed B1" not in text_of(alerts.group(0))
    counted = re.search(r'id="count-alerts".*?<strong[^>]*>(\d+)</strong>', page(hr, "/"), re.S)
    assert counted is not None and counted.group(1) == "1"  # B, and only B
    b1_page = page(leader, "/units/B1")
    assert "/followup/alerts/" not in b1_page
    row = question_row(b1_page, "fysisk vold")
    assert row is not None and "har svaret andet end" not in row and "Færre end" not in row

    with app.app_context():
        found = [d for d in reminders.digests(db.session, date.today()) if d.alerts]
        assert [d.user.email for d in found] == ["leder@x.dk"]
        _, body = reminders.render(found[0], "http://localhost")
    assert "Enhed B:" in body and "Enhed B1" not in body


# --- 4: re-measurements against their first measurement -------------------------------------


def test_a_remeasurement_shows_no_first_figure_of_a_unit_hidden_then(
    app: Flask, org, make_user
) -> None:
    """First: C1 (3 people) hidden, and B1 (7) hidden with it (else B − B1 = C1). C1 and A2
    are measured again. C1 now has 6 people and is shown; its "first measurement" must stay
    empty (B's first figure minus nothing shown would be C1's and B1's), and B, measured in
    part, is not stored at all (its figure would be C1's under B's name)."""
    with app.app_context():
        first = measure()
        again = find_or_prepare_measurement(
            db.session, name="Genmåling 2026", year=2026, template_code="apv"
        )
        again.remeasure_of_id = first.id
        content = (
            FOLLOWUP_HEADER
            + "R;Enhed R;;;;;;;;;\nA;Enhed A;R;;;;;;;;\nB;Enhed B;R;;;;;;;;\n"
            + _rows("A2", "A", 6, 3)
            + _rows("C1", "B", 6, 4)
        )
        checked = imports.check(
            db.session, content.encode(), file_name="genmaaling.csv", year=2026,
            questionnaire=again.questionnaire,
        )  # fmt: skip
        assert checked.ok, checked.result.errors
        imports.apply(db.session, None, checked, again)
        db.session.commit()
        first_id, again_id = first.id, again.id
        shown_first = dict(
            db.session.execute(
                select(Unit.code, UnitFigures.shown)
                .join(UnitFigures, UnitFigures.unit_id == Unit.id)
                .where(UnitFigures.measurement_id == first_id)
            ).all()
        )
        stored_again = set(
            db.session.scalars(
                select(Unit.code)
                .join(UnitFigures, UnitFigures.unit_id == Unit.id)
                .where(UnitFigures.measurement_id == again_id)
            )
        )
    assert shown_first["C1"] is False and shown_first["B1"] is False and shown_first["B"]
    assert stored_again == {"A2", "C1"}
    hr = signed_in(app, make_user, "hr@x.dk", [(Role.ADMIN, "R")])

    def first_column(code: str) -> list[str]:
        markup = page(hr, f"/units/{code}?m={again_id}")
        return re.findall(r'data-title="Første måling">(.*?)</td>', markup, re.S)

    a2 = first_column("A2")
    assert any(re.search(r"\d", cell) for cell in a2)  # A2 was shown: its first figures stand
    c1 = first_column("C1")
    assert c1 and not any(re.search(r"\d", text_of(cell)) for cell in c1)
    c1_page = text_of(page(hr, f"/units/C1?m={again_id}"))
    assert "Ændring siden første måling" not in c1_page
    b_page = text_of(page(hr, f"/units/B?m={again_id}"))
    assert "Respondenter" not in b_page  # B: not measured again whole, no figure
    overview = page(hr, f"/results/?m={again_id}")
    table = text_of(overview[overview.index("<tbody>") : overview.index("</tbody>")])
    assert "Enhed C1" in table and "Enhed B " not in table + " "


# --- 5: held results ---------------------------------------------------------------------------


def held_school(app: Flask) -> int:
    """The follow-up file's school (R ── A ── A1, A2; R ── B ── B1, C1), holding results."""
    as_school(app, hold=True)
    with app.app_context():
        return measure().id


def counts_of(markup: str) -> str | None:
    found = re.search(r'<section aria-labelledby="counts-heading".*?</section>', markup, re.S)
    return text_of(found.group(0)) if found else None


def test_before_the_release_the_student_council_and_board_get_no_number_anywhere(
    app: Flask, org, make_user
) -> None:
    """One role each: the home, the annual report and the archive hold nothing of the
    held measurement; management (a leader on the institution) has it all."""
    measurement_id = held_school(app)
    management = signed_in(app, make_user, "ledelse@x.dk", [(Role.LEADER, "R")])
    council = signed_in(app, make_user, "elevraad@x.dk", [(Role.COMMITTEE, "R")])
    board = signed_in(app, make_user, "bestyrelse@x.dk", [(Role.BOARD, "R")])
    assert "Enhed B" in text_of(page(management, "/reports/annual/R/2026/preview"))
    assert 'id="results"' in page(management, "/units/B")
    for client in (council, board):
        assert counts_of(page(client, "/")) is None
        for url in (
            "/reports/annual/R/2026",
            "/reports/annual/B/2026",
            f"/api/v1/measurements/{measurement_id}/results",
            f"/results/export.csv?m={measurement_id}",
            f"/reports/unit/{measurement_id}/B",
        ):
            assert client.get(url).status_code == 404, url
        assert client.post("/reports/annual/R/2026/pdf").status_code == 404
    for url in ("/reports/annual/R/2026/preview", "/reports/annual/B/2026/preview"):
        assert board.get(url).status_code == 404
    assert NOT_RELEASED in text_of(page(council, "/units/B"))
    assert "Samlet score" not in text_of(page(council, "/units/B"))


def test_before_the_release_the_student_council_opens_no_annual_report_preview(
    app: Flask, org, make_user
) -> None:
    held_school(app)
    council = signed_in(app, make_user, "elevraad@x.dk", [(Role.COMMITTEE, "R")])
    assert council.get("/reports/annual/R/2026").status_code == 404  # the page itself: held
    for url in ("/reports/annual/R/2026/preview", "/reports/annual/B/2026/preview"):
        response = council.get(url)
        assert response.status_code == 404 or "Samlet score" not in text_of(
            response.get_data(as_text=True)
        ), url


def test_before_the_release_a_second_role_adds_no_counts_to_the_home(
    app: Flask, org, make_user
) -> None:
    """A leader of department A (management for A's results) who also sits with the
    student council on R: before the release only the leader role may speak, so the home
    counts A's units at most (the leader alone gets no counts at all)."""
    held_school(app)
    leader = signed_in(app, make_user, "afd@x.dk", [(Role.LEADER, "A")])
    assert counts_of(page(leader, "/")) is None
    both = signed_in(app, make_user, "begge@x.dk", [(Role.LEADER, "A"), (Role.COMMITTEE, "R")])
    counts = counts_of(page(both, "/"))
    if counts is not None:
        units = re.search(r"(\d+) enheder? med resultater", counts)
        assert units is not None, counts
        assert int(units.group(1)) <= 3, counts  # A, A1, A2  # noqa: PLR2004


def test_before_the_release_a_second_role_opens_no_annual_report_outside_ones_units(
    app: Flask, org, make_user
) -> None:
    held_school(app)
    both = signed_in(app, make_user, "begge@x.dk", [(Role.LEADER, "A"), (Role.COMMITTEE, "R")])
    assert both.get("/reports/annual/A/2026/preview").status_code == 200  # their own
    assert NOT_RELEASED in text_of(page(both, "/units/B"))  # the unit page holds B back
    for url in ("/reports/annual/B/2026/preview", "/reports/annual/R/2026/preview"):
        response = both.get(url)
        assert response.status_code == 404 or "Samlet score" not in text_of(
            response.get_data(as_text=True)
        ), url


def approve(app: Flask, code: str, year: int, approver_email: str) -> None:
    """Record a named approval of the unit's draft as it stands (issuing needs one; the
    approval itself is walked through HTTP in tests/web/test_board_package.py)."""
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        draft = report_archive.save_draft(db.session, None, unit, year, followup_plan="Plan.")
        approver = db.session.scalar(select(User).where(User.email == approver_email))
        db.session.execute(
            update(ReportDraft)
            .where(ReportDraft.id == draft.id)
            .values(approver_id=approver.id, approved_at=datetime.now(UTC),
                    approved_by_name=approver.name, approved_version=draft.version)
        )  # fmt: skip
        db.session.commit()


def test_a_report_of_a_held_year_does_not_reach_the_board_before_the_release(
    app: Flask, org, make_user
) -> None:
    measurement_id = held_school(app)
    management = signed_in(app, make_user, "ledelse@x.dk", [(Role.LEADER, "R")])
    make_user("ejer@x.dk", [(Role.ADMIN, "R")])
    board = signed_in(app, make_user, "bestyrelse@x.dk", [(Role.BOARD, "R")])
    council = signed_in(app, make_user, "elevraad@x.dk", [(Role.COMMITTEE, "R")])
    approve(app, "R", 2026, "ejer@x.dk")
    management.post("/reports/annual/R/2026/issue", data={"version": "1", "confirm": "y"})
    with app.app_context():
        assert db.session.get(Measurement, measurement_id).released_at is None
        issued = db.session.scalars(select(IssuedReport.id)).all()
    for client in (board, council):
        archive = page(client, "/reports/")
        for report_id in issued:
            assert f"/reports/archive/{report_id}/download" not in archive
            assert client.get(f"/reports/archive/{report_id}/download").status_code == 404


def test_before_the_release_the_followup_api_gives_no_lights_or_alerts(
    app: Flask, org, make_user
) -> None:
    measurement_id = held_school(app)  # C1's hits raise an alert at B
    management = signed_in(app, make_user, "ledelse@x.dk", [(Role.LEADER, "R")])
    entries = management.get(f"/api/v1/measurements/{measurement_id}/followup").get_json()
    # There are lights and an alert to give away.
    assert {"red", "green"} <= {entry["colour"] for entry in entries}
    assert any(entry["alerts"] for entry in entries if entry["unit"] == "B")
    council = signed_in(app, make_user, "elevraad@x.dk", [(Role.COMMITTEE, "R")])
    class_team = signed_in(app, make_user, "klasse@x.dk", [(Role.MEMBER, "A2")])
    for client in (council, class_team):
        response = client.get(f"/api/v1/measurements/{measurement_id}/followup")
        if response.status_code == 404:
            continue
        for entry in response.get_json():
            assert entry["colour"] is None and not entry["alerts"], entry
            assert entry["remeasure"] is False, entry


def test_the_student_council_reads_no_class_alert_in_the_annual_report(
    app: Flask, org, make_user
) -> None:
    """Released results: A1 (12 students, 4 report bullying) is a class with an alert of
    its own. Its page is closed to the student council; so must its alert be, wherever it
    is printed."""
    bullying_school(app)
    with app.app_context():
        alerted = set(
            db.session.scalars(
                select(Unit.code).join(ZeroToleranceAlert, ZeroToleranceAlert.unit_id == Unit.id)
            )
        )
    assert "A1" in alerted  # a class's own alert
    management = signed_in(app, make_user, "ledelse@x.dk", [(Role.LEADER, "R")])
    assert "Enhed A1" in text_of(page(management, "/reports/annual/R/2025/preview"))
    council = signed_in(app, make_user, "elevraad@x.dk", [(Role.COMMITTEE, "R")])
    assert council.get("/units/A1").status_code == 404
    assert "Enhed A1" not in text_of(page(council, "/followup/alerts?state=all"))
    response = council.get("/reports/annual/R/2025/preview")
    assert response.status_code == 404 or "Enhed A1" not in text_of(response.get_data(as_text=True))


def test_before_the_release_reminder_mails_tell_only_management_of_an_alert(
    app: Flask, org, make_user
) -> None:
    """The reminder e-mail lists open alerts: only to leaders (management sees held results);
    the student council, a class team and the board are told of none."""
    held_school(app)  # C1's hits raise an alert at B
    for email, roles in (
        ("ledelse@x.dk", [(Role.LEADER, "R")]),
        ("elevraad@x.dk", [(Role.COMMITTEE, "R")]),
        ("klasse@x.dk", [(Role.MEMBER, "B1")]),
        ("bestyrelse@x.dk", [(Role.BOARD, "R")]),
    ):
        make_user(email, roles)
    with app.app_context():
        told = {
            digest.user.email: reminders.render(digest, "http://localhost")[1]
            for digest in reminders.digests(db.session, date.today())
        }
    assert set(told) == {"ledelse@x.dk"}
    assert "Enhed B:" in told["ledelse@x.dk"]

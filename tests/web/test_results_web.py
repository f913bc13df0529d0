"""Results in the web app, the JSON API and the export CLI (issue 5): who sees what, hidden
units saying nothing but that they are hidden, comparisons only with shown figures, and a
query count that does not grow with the organisation.

The access matrices of `results.overview_csv` and `api.measurement_results` live here (see
COVERED_ELSEWHERE in tests/web/test_access.py).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from app.domain import release as release_domain
from app.extensions import db
from app.models import Measurement, Role, Unit
from app.services import results as results_service
from app.services.figures import compute_figures
from tests.conftest import login
from tests.services.test_figures import KA, PT, answers, declare, load, score, team

HELD_ON = "A"
RELATIONS = {"own": "A", "child": "A1", "sibling": "B", "parent": "R"}
# Which relations each role may see results of (as main.unit in test_access.py; the board
# sees no results at all and gets 404 from both routes).
RESULTS_ACCESS: dict[Role, set[str]] = {
    Role.ADMIN: {"own", "child", "sibling", "parent"},
    Role.LEADER: {"own", "child"},
    Role.MEMBER: {"own"},
    Role.COMMITTEE: {"own", "child"},
    Role.BOARD: set(),
}
NOT_SHOWN = "Vises ikke"  # "Not shown" in Danish, the default language
# Every hidden unit says the same, whatever the reason (issue 15).
HIDDEN_UNIT = "Resultaterne vises ikke af hensyn til anonymiteten."
REASONS = ("Færre end 5", "trække fra", "For få besvarelser", "nok besvarelser")

# The org fixture's tree, every unit shown: R 21 = A 13 (A1 6 + A2 7) + B 8 (B1 8).
ALL_SHOWN = [
    declare("R"),
    declare("A", "R"),
    team("A1", "A", 6, ("PT-1", "MT-1")),
    team("A2", "A", 7, ("PT-1", "MT-1"), option=3),
    declare("B", "R"),
    team("B1", "B", 8, ("PT-1", "MT-1"), option=5),
]
# A2 (3) is under the threshold and A1 (6) goes with it; A and the rest stay shown. A2's
# invited (97) appears nowhere else, so it can be looked for in every output.
WITH_HIDDEN = [
    declare("R"),
    declare("A", "R"),
    team("A1", "A", 6, ("PT-1", "MT-1")),
    team("A2", "A", 3, ("PT-1", "MT-1"), invited=97),
    declare("B", "R"),
    team("B1", "B", 8, ("PT-1", "MT-1"), option=5),
]


def setup(app: Flask, lines: list, **kwargs: object) -> int:
    with app.app_context():
        return load(lines, **kwargs).id


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def csv_by_code(response) -> dict[str, list[str]]:
    return {row[0]: row for row in csv_rows(response)[1:]}


def api_by_code(client: FlaskClient, measurement_id: int) -> dict[str, dict]:
    response = client.get(f"/api/v1/measurements/{measurement_id}/results")
    assert response.status_code == 200
    assert response.is_json
    return {entry["unit"]: entry for entry in response.get_json()}


def overview_codes(page: str) -> list[str]:
    """The units listed in the overview table, in order."""
    return re.findall(r'href="/units/([^"?]+)\?m=\d+"', page)


def export_cli(app: Flask, *extra: str) -> str:
    result = app.test_cli_runner().invoke(
        args=["kompas", "export-results", "--measurement", "APV 2025", *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


# --- the access matrix -------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("relation", list(RELATIONS))
def test_overview_csv_access(
    app: Flask, client: FlaskClient, org, make_user, role: Role, relation: str
) -> None:
    setup(app, ALL_SHOWN)
    make_user("someone@x.dk", [(role, HELD_ON)])
    login(client, "someone@x.dk")
    code = RELATIONS[relation]
    allowed = relation in RESULTS_ACCESS[role]
    rooted = client.get(f"/results/export.csv?root={code}")
    whole = client.get("/results/export.csv")
    if role == Role.BOARD:
        assert rooted.status_code == whole.status_code == 404
        return
    if allowed:
        assert code in csv_by_code(rooted)
    else:
        assert rooted.status_code == 404
    assert (code in csv_by_code(whole)) == allowed


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("relation", list(RELATIONS))
def test_api_results_access(
    app: Flask, client: FlaskClient, org, make_user, role: Role, relation: str
) -> None:
    measurement_id = setup(app, ALL_SHOWN)
    make_user("someone@x.dk", [(role, HELD_ON)])
    login(client, "someone@x.dk")
    if role == Role.BOARD:
        assert client.get(f"/api/v1/measurements/{measurement_id}/results").status_code == 404
        return
    document = api_by_code(client, measurement_id)
    assert (RELATIONS[relation] in document) == (relation in RESULTS_ACCESS[role])
    assert client.get(f"/api/v1/measurements/{measurement_id + 1}/results").status_code == 404


# Signed out, /api/v1/* answers 401 JSON instead: tests/web/test_sessions.py
@pytest.mark.parametrize("url", ["/results/export.csv", "/results/"])
def test_signed_out_is_sent_to_sign_in(app: Flask, client: FlaskClient, org, url: str) -> None:
    measurement_id = setup(app, ALL_SHOWN)
    response = client.get(url.format(id=measurement_id))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


SEES = {
    Role.ADMIN: ["R", "A", "A1", "A2", "B", "B1"],
    Role.LEADER: ["A", "A1", "A2"],
    Role.COMMITTEE: ["A", "A1", "A2"],
    Role.MEMBER: ["A"],
}


@pytest.mark.parametrize("role", list(SEES))
def test_overview_and_exports_show_only_the_users_part(
    app: Flask, client: FlaskClient, org, make_user, role: Role
) -> None:
    measurement_id = setup(app, ALL_SHOWN)
    make_user("someone@x.dk", [(role, HELD_ON)])
    login(client, "someone@x.dk")
    expected = SEES[role]
    page = client.get("/results/").get_data(as_text=True)
    assert overview_codes(page) == expected  # tree order: depth first, siblings by name
    assert list(csv_by_code(client.get("/results/export.csv"))) == expected
    assert sorted(api_by_code(client, measurement_id)) == sorted(expected)
    cli = json.loads(export_cli(app, "--as", "someone@x.dk"))
    assert sorted(entry["unit"] for entry in cli) == sorted(expected)
    assert all(entry["shown"] is True for entry in cli)


def test_export_without_as_is_what_an_admin_sees(app: Flask, org, make_user) -> None:
    setup(app, ALL_SHOWN)
    document = json.loads(export_cli(app))
    assert [entry["unit"] for entry in document] == ["A", "A1", "A2", "B", "B1", "R"]
    a1 = next(entry for entry in document if entry["unit"] == "A1")
    assert a1["parent"] == "A" and a1["respondents"] == 6
    assert a1["questions"]["PT-1"]["counts"] == [0, 0, 0, 6, 0]
    assert a1["questions"]["PT-1"]["score"] == 75.0
    assert a1["indicators"][PT] == 75.0


def test_unknown_user_in_export_is_an_error(app: Flask, org) -> None:
    setup(app, ALL_SHOWN)
    result = app.test_cli_runner().invoke(
        args=["kompas", "export-results", "--measurement", "APV 2025", "--as", "nobody@x.dk"]
    )
    assert result.exit_code != 0
    assert '"unit"' not in result.output


# --- hidden units ------------------------------------------------------------------------


def test_a_hidden_units_page_says_it_is_not_shown_and_shows_no_figures(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    setup(app, WITH_HIDDEN)
    make_user("l@x.dk", [(Role.LEADER, "A")])
    login(client, "l@x.dk")
    shown = client.get("/units/A").get_data(as_text=True)
    assert NOT_SHOWN not in shown and HIDDEN_UNIT not in shown
    assert "<dt>Besvarelser</dt>" in shown and "Indikatorer" in shown and "n = 9" in shown
    # A2 is under the threshold, A1 hidden with it: the same words, no reason.
    sections = []
    for code in ("A2", "A1"):
        response = client.get(f"/units/{code}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert NOT_SHOWN in page and HIDDEN_UNIT in page
        assert "Svarene tæller stadig med i enhederne ovenover." in page
        assert not [why for why in REASONS if why in page]
        section = re.search(r'<section aria-labelledby="results-heading".*?</section>', page, re.S)
        assert section is not None
        sections.append(section.group(0).replace(f"Enhed {code}", "UNIT"))
        assert "<dt>Besvarelser</dt>" not in page
        assert "Indikatorer" not in page and "Alle spørgsmål" not in page
        assert "n = " not in page and "kompas-bar" not in page
        # Random CSRF tokens may hold any digits: look at the page without them.
        assert not re.search(r"\b97\b", re.sub(r'value="[^"]*"', "", page))
    assert sections[0] == sections[1]  # word for word


def test_hidden_units_never_leak_into_csv_api_or_export(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    measurement_id = setup(app, WITH_HIDDEN)
    make_user("l@x.dk", [(Role.LEADER, "A")])
    login(client, "l@x.dk")

    overview = client.get("/results/").get_data(as_text=True)
    assert overview_codes(overview) == ["A", "A1", "A2"]
    assert overview.count(NOT_SHOWN) == 2  # A1 and A2; A shows its figures
    assert not [why for why in REASONS if why in overview]
    assert not re.search(r">\s*97\s*%", overview)

    rows = csv_by_code(client.get("/results/export.csv"))
    assert rows["A2"] == ["A2", "Enhed A2", NOT_SHOWN]
    assert rows["A1"] == ["A1", "Enhed A1", NOT_SHOWN]
    assert rows["A"][2] == "9"  # the shown parent: all of its respondents

    hidden = {"A1": {"unit": "A1", "parent": "A", "name": "Enhed A1", "shown": False},
              "A2": {"unit": "A2", "parent": "A", "name": "Enhed A2", "shown": False}}  # fmt: skip
    api = client.get(f"/api/v1/measurements/{measurement_id}/results").get_data(as_text=True)
    cli = export_cli(app, "--as", "l@x.dk")
    for text in (api, cli):
        document = {entry["unit"]: entry for entry in json.loads(text)}
        assert set(document) == {"A", "A1", "A2"}
        for code, entry in hidden.items():
            assert document[code] == entry  # its id, parent, name and "shown": false only
            assert len(re.findall(rf'"{code}"', text)) == 1  # named nowhere else
        assert document["A"]["shown"] is True and document["A"]["respondents"] == 9
        assert not re.search(r":\s*97\b", text)  # A2's invited
    # The shown parent does not name its hidden units either.
    assert "A1" not in json.dumps(json.loads(cli)[0]["questions"])


def test_zero_tolerance_is_a_statement_in_every_channel_never_a_score(
    app: Flask, client: FlaskClient, org, make_user
) -> None:
    """Issue 15: a zero-tolerance question gives its answer count and a cumulative statement
    (JSON, page), never counts, a mean, a score or an indicator (JSON, CSV, overview)."""
    measurement_id = setup(
        app,
        [
            declare("R"),
            team("A", "R", 12, ("PT-1",)),
            answers("A", "R", "KA-1", [8, 3, 1]),  # 4 answered other than "no"
            team("B", "R", 12, ("PT-1", "KA-1")),  # everyone "no"
        ],
    )
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    kinds = {"none", "few", "exact", "at_least", "withheld"}
    api = api_by_code(client, measurement_id)
    for code in ("R", "A", "B"):
        stored = api[code]["questions"]["KA-1"]
        assert set(stored) == {"answers", "zero_tolerance"}, stored
        statement = stored["zero_tolerance"]
        assert statement["statement"] in kinds and isinstance(statement["alert"], bool)
        assert statement["hits"] in (None, 0) or statement["hits"] >= 3
        assert KA not in api[code]["indicators"]
        assert set(api[code]["questions"]["PT-1"]) == {
            "answers", "counts", "dont_know", "mean", "score"
        }  # fmt: skip
    assert api["A"]["questions"]["KA-1"] == {
        "answers": 12,
        "zero_tolerance": {"statement": "exact", "hits": 4, "alert": True},
    }
    assert api["B"]["questions"]["KA-1"]["zero_tolerance"]["statement"] == "none"
    assert api["R"]["questions"]["KA-1"]["answers"] == 24  # the units below count

    page = _results_section(client.get(f"/units/A?m={measurement_id}").get_data(as_text=True))
    assert "4 har svaret andet end “nej”." in page and "n = 12" in page
    page = _results_section(client.get(f"/units/B?m={measurement_id}").get_data(as_text=True))
    assert "Alle har svaret “nej” – også i enhederne under." in page
    assert f">{KA}</th>" not in page  # no indicator row for it

    header = csv_rows(client.get(f"/results/export.csv?m={measurement_id}"))[0]
    assert PT in header and KA not in header
    overview = client.get(f"/results/?m={measurement_id}").get_data(as_text=True)
    assert f">{PT}</th>" in overview and f">{KA}</th>" not in overview


def test_a_blocked_measurement_is_not_shown_anywhere(
    app: Flask, client: FlaskClient, org, make_user, monkeypatch
) -> None:
    shown_id = setup(app, ALL_SHOWN, name="APV 2024", year=2024)
    monkeypatch.setattr(release_domain, "audit_release", lambda *args, **kwargs: ["I1: broken"])
    blocked_id = setup(app, ALL_SHOWN)
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    page = client.get("/results/").get_data(as_text=True)
    assert "APV 2024" in page and "APV 2025" not in page
    assert client.get(f"/results/?m={blocked_id}").status_code == 404
    assert client.get(f"/results/export.csv?m={blocked_id}").status_code == 404
    assert client.get(f"/api/v1/measurements/{blocked_id}/results").status_code == 404
    assert client.get(f"/api/v1/measurements/{shown_id}/results").status_code == 200
    unit_page = client.get(f"/units/A1?m={blocked_id}")
    assert unit_page.status_code == 404
    result = app.test_cli_runner().invoke(
        args=["kompas", "export-results", "--measurement", "APV 2025"]
    )
    assert result.exit_code != 0


# --- comparisons -------------------------------------------------------------------------

LAST_YEAR = [
    declare("R"),
    declare("A", "R"),
    team("A1", "A", 8, option=4),
    team("A2", "A", 8, option=3),
    declare("B", "R"),
    team("B1", "B", 6, option=5),
    team("OLD1", "R", 7, option=2),
    team("OLD2", "R", 3),  # under the threshold
    team("OLD4", "R", 2),  # under the threshold; with OLD2, R's residual is 5
]
THIS_YEAR = [
    declare("R"),
    declare("A", "R"),
    team("A1", "A", 8, option=5),  # same code as last year, shown then
    team("OLD2", "R", 6),  # same code, hidden last year
    team("NEW1", "R", 7, previous="OLD1"),  # continues a shown unit
    team("NEW2", "R", 6, previous="OLD4"),  # continues a hidden unit
    team("NEW3", "R", 10, previous="A2|B1"),  # a merger of shown units
    team("NEW4", "R", 6, previous="OLD1|OLD2"),  # a merger including a hidden unit
    # G 15 = P 12 (U 6 + V 6) + Q 3: Q is under t, G's residual would be 3, so P goes, and
    # then U (P's residual was 0). V stays shown below a hidden parent.
    declare("G", "R"),
    declare("P", "G"),
    team("U", "P", 6),
    team("V", "P", 6),
    team("Q", "G", 3),
]


@pytest.fixture
def two_years(app: Flask) -> int:
    with app.app_context():
        load(LAST_YEAR, name="APV 2024", year=2024)
        return load(THIS_YEAR).id


def views(measurement_id: int) -> dict[str, results_service.UnitView]:
    measurement = db.session.get(Measurement, measurement_id)
    units = db.session.scalars(select(Unit)).all()
    return {u.code: results_service.unit_view(db.session, u, measurement) for u in units}


def test_comparisons_appear_only_where_the_compared_unit_is_shown(app: Flask, two_years) -> None:
    merged = score([0, 0, 8, 0, 6])  # A2's and B1's counts of last year added up
    with app.app_context():
        v = views(two_years)
        assert not v["P"].shown and not v["U"].shown and not v["Q"].shown
        root = v["R"].overall.own
        assert root is not None
        expected_last_year = {
            "A1": 75.0,  # by its own code
            "OLD2": None,  # its own code was hidden last year
            "NEW1": 25.0,  # previous_unit_id: OLD1
            "NEW2": None,  # previous_unit_id names a hidden unit
            "NEW3": merged,  # two shown units, counts added up
            "NEW4": None,  # one of the merged units was hidden
            "V": None,  # did not exist
            "R": score([0, 7, 8, 13, 6]),  # the whole organisation last year
        }
        for code, value in expected_last_year.items():
            view = v[code]
            expected = None if value is None else pytest.approx(value)
            assert view.shown
            assert view.overall.last_year == expected, code
            assert view.indicators[PT].last_year == expected, code
            question = next(q for q in view.questions if q.question.code == "PT-1")
            assert question.comparison.last_year == expected, code
            if value is not None:
                assert view.overall.change == pytest.approx(view.overall.own - value)
        # Parent: shown for A1 (under A) and G (under R); not for V, whose parent P is hidden.
        assert v["A1"].overall.parent == v["A"].overall.own == 100.0
        assert v["G"].overall.parent == root
        assert v["V"].overall.parent is None and v["V"].indicators[PT].parent is None
        assert v["V"].parent is None
        # Organisation: the root, shown, for every shown unit but the root itself.
        for code in ("A1", "V", "G", "NEW3"):
            assert v[code].overall.organisation == root
        assert v["R"].overall.organisation is None
        # A hidden unit has no figures of its own to compare (its page says only that).
        assert v["U"].overall.own is None and v["U"].last_year is None
        assert all(c.own is None for c in v["U"].indicators.values())
        assert all(q.entry is None for q in v["U"].questions)


def test_change_since_last_year_in_the_overview_uses_the_same_last_year(
    app: Flask, client: FlaskClient, two_years, make_user
) -> None:
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    rows = csv_by_code(client.get("/results/export.csv"))
    merged = score([0, 0, 8, 0, 6])
    expected = {
        "A1": f"{100.0 - 75.0:.1f}",
        "NEW1": f"{75.0 - 25.0:.1f}",
        "NEW3": f"{75.0 - merged:.1f}",
        "OLD2": "",
        "NEW2": "",
        "NEW4": "",
        "V": "",
    }
    change_column = csv_rows(client.get("/results/export.csv"))[0].index("Ændring siden sidste år")
    for code, change in expected.items():
        assert rows[code][change_column] == change.replace(".", ","), code
    assert rows["U"] == ["U", "Enhed U", NOT_SHOWN]
    # The unit page shows the same comparison.
    page = client.get("/units/NEW1").get_data(as_text=True)
    assert "+50" in page


# --- htmx and the number of queries ------------------------------------------------------


def test_htmx_gets_the_table_fragment(app: Flask, client: FlaskClient, org, make_user) -> None:
    setup(app, ALL_SHOWN)
    make_user("hr@x.dk", [(Role.ADMIN, "R")])
    login(client, "hr@x.dk")
    full = client.get("/results/?q=A1").get_data(as_text=True)
    fragment = client.get("/results/?q=A1", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    text = fragment.get_data(as_text=True)
    assert "<html" in full and "<html" not in text
    assert '<div id="overview-table">' in text  # the part that htmx swaps in
    assert overview_codes(text) == ["A1"]  # the search applies to the fragment


def tree(prefix: str, units: int, *, previous: dict[str, str] | None = None) -> list:
    """A root, departments and teams of 6: `units` units in all."""
    departments = max(1, (units - 1) // 5)
    lines: list = [declare(f"{prefix}R")]
    lines += [declare(f"{prefix}D{d}", f"{prefix}R") for d in range(departments)]
    for i in range(units - 1 - departments):
        code = f"{prefix}T{i}"
        lines.append(
            team(code, f"{prefix}D{i % departments}", 6, ("PT-1", "MT-1"),
                 previous=(previous or {}).get(code, ""))
        )  # fmt: skip
    return lines


@contextmanager
def counting_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LEADER])
def test_the_overview_issues_a_bounded_number_of_queries(
    app: Flask, client: FlaskClient, make_user, role: Role
) -> None:
    with app.app_context():
        load(tree("S", 10), name="Small 2024", year=2024)
        small = load(tree("S", 10, previous={"ST1": "ST2", "ST3": "ST4|ST5"}), name="Small 2025")
        big = load(
            tree("B", 60, previous={"BT1": "ST1", "BT3": "ST4|ST5"}), name="Big 2026", year=2026
        )
        ids = {10: small.id, 60: big.id}
    make_user("someone@x.dk", [(role, "SR"), (role, "BR")])
    login(client, "someone@x.dk")
    for url in ("/results/?m={id}", "/results/export.csv?m={id}",
                "/api/v1/measurements/{id}/results"):  # fmt: skip
        counts = {}
        for units, measurement_id in ids.items():
            client.get(url.format(id=measurement_id))  # warm up (first-request work)
            with counting_queries(app) as statements:
                response = client.get(url.format(id=measurement_id))
            assert response.status_code == 200
            body = response.get_data(as_text=True)
            assert body.count("ST1" if units == 10 else "BT1") >= 1
            counts[units] = len(statements)
        assert counts[10] == counts[60], (url, counts)
        assert counts[60] <= 15, (url, counts)


def _results_section(page: str) -> str:
    start = page.index('<section aria-labelledby="results-heading"')
    return page[start : page.index("</section>", start)]


def test_the_results_section_is_made_once_and_anew_after_an_import_or_new_cut_offs(
    app: Flask, client: FlaskClient, org, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    measurement_id = setup(app, ALL_SHOWN)
    make_user("l@x.dk", [(Role.LEADER, "A")])
    login(client, "l@x.dk")
    made: list[str] = []
    real = results_service.unit_view

    def counted(
        session, unit: Unit, measurement: Measurement, **kwargs
    ) -> results_service.UnitView:
        made.append(unit.code)
        return real(session, unit, measurement, **kwargs)

    monkeypatch.setattr(results_service, "unit_view", counted)
    first = _results_section(client.get("/units/A1").get_data(as_text=True))
    again = _results_section(client.get("/units/A1").get_data(as_text=True))
    assert again == first and made == ["A1"]  # the second page from what the first made
    assert _results_section(client.get("/units/A").get_data(as_text=True)) != first
    # The same measurement imported again with other answers: the page shows them at once.
    changed = [team("A1", "A", 6, ("PT-1", "MT-1"), option=1)
               if isinstance(line, list) and line[0].startswith("A1;") else line
               for line in ALL_SHOWN]  # fmt: skip
    assert changed != ALL_SHOWN
    setup(app, changed)
    reimported = _results_section(client.get("/units/A1").get_data(as_text=True))
    assert reimported != first and made == ["A1", "A", "A1"]
    # New traffic-light cut-offs, saved as the measurement page saves them (a new release):
    # said, and coloured, at once.
    with app.app_context():
        measurement = db.session.get(Measurement, measurement_id)
        measurement.yellow_from, measurement.green_from = 90.0, 95.0
        compute_figures(db.session, measurement)
        db.session.commit()
    recoloured = _results_section(client.get("/units/A1").get_data(as_text=True))
    assert "rød under 90" in recoloured.lower() and "rød under 90" not in reimported.lower()

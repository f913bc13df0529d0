"""The five privacy leaks of issue 15, tried as an attacker would: signed in as the role
concerned, through HTTP only (unit pages, the overview, `/api/v1/measurements/<id>/results`,
the CSV/XLSX export, the unit report and its PDF), on small hand-made result files that
reproduce each leak's mechanism, plus one test of the issue's own steps on the demo.

The attacker (`Seen` and the solvers below) collects every number a role can get and checks
the equations of the issue: `(mean − 1) × answers = n_2 + 2·n_3` for zero-tolerance
questions (from a mean, a score or an indicator, in JSON, CSV or XLSX), a parent's figures
minus its children's, the presence marks ("some") and their absence, the wording of hidden
units, and the zero-tolerance statements with their bounds ("færre end 3" is 1 or 2).

Expected after the release of issue 15 (/tmp/kompas/release_spec.md): no zero-tolerance
mean/score/indicator anywhere; no presence mark where the question is hidden; every hidden
unit says "Resultaterne vises ikke af hensyn til anonymiteten."; "Alle har svaret “nej”"
only where true for the unit and everything below; never a hit count of 1 or 2; an
indicator over its shown questions, marked "(beregnet ud fra x af y spørgsmål)".
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from app import create_app
from app.demo import DEMO_DOMAIN, build_demo
from app.extensions import db
from app.models import Measurement, Question, Role, Unit, UnitResult
from tests.conftest import login
from tests.services.test_figures import answers, declare, load, team
from tests.services.test_reports import pdf_text
from tests.stored_counts import stored_answers

KA = "Krænkende adfærd"  # apv: KA-1..KA-4, zero tolerance, 3 options
MOBNING = "Mobning"  # gym: MO-01..MO-06, zero tolerance, 3 options
ZT_THEMES = {KA, MOBNING}
FT = "Faglig individuel trivsel"  # gym: FT-01..FT-14
KA_1 = "Har du været udsat for fysisk vold på dit arbejde inden for de seneste 12 måneder?"
MO_03 = "Har du oplevet uønsket seksuel opmærksomhed på skolen?"
QUESTION_TEXTS = {"KA-1": KA_1, "MO-03": MO_03}
SENSITIVE = 10  # the measurements' sensitive threshold (default, as in the demo)
THRESHOLD = 5

HIDDEN_UNIT = "Resultaterne vises ikke af hensyn til anonymiteten."
FEW = "Færre end 3 har svaret andet end “nej”."
EVERYONE_NO = "Alle har svaret “nej”"
# Sentences that tell why a unit is hidden (issue 15, leak 2) or wrongly say "too few" (leak 5).
REASON_WORDING = ("Færre end 5 har svaret", "Der er nok besvarelser", "For få besvarelser")
PARTIAL = re.compile(r"beregnet ud fra (\d+) af (\d+) spørgsmål")

GYM = {"template": "gym", "name": "Elevtrivsel 2025"}


# --- the app, signing in and fetching ------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """As tests/conftest.py's, on a database file, so that the unit report's PDF is made in
    the request (the inline job backend needs a database other connections can see)."""
    base = os.environ.get("TEST_DATABASE_URL")
    url = base or f"sqlite:///{tmp_path_factory.mktemp('leaks') / 'leaks.db'}"
    made = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "REPORT_JOBS": "inline"})
    with made.app_context():
        db.create_all()
    yield made
    with made.app_context():
        db.session.remove()
        if not base:
            db.drop_all()
        db.engine.dispose()


def setup(app: Flask, lines: list, **kwargs: Any) -> int:
    with app.app_context():
        return load(lines, **kwargs).id


def signed_in(client: FlaskClient, make_user, role: Role, code: str) -> FlaskClient:
    make_user("attacker@x.dk", [(role, code)])
    login(client, "attacker@x.dk")
    return client


def text_of(markup: str) -> str:
    """What a reader sees: tags dropped, entities decoded, white space single."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def results_section(page: str) -> str:
    found = re.search(r'<section aria-labelledby="results-heading".*?</section>', page, re.S)
    return found.group(0) if found else page


def question_row(page: str, question_text: str) -> str | None:
    """The text of the table row of a question on a unit page or report (None: not listed)."""
    for row in re.findall(r"<tr\b.*?</tr>", page, re.S):
        text = text_of(row)
        if question_text in text:
            return text
    return None


def indicator_row(page: str, theme: str) -> str | None:
    """The text of the indicator table's row of a theme (None: not listed)."""
    for row in re.findall(r"<tr\b.*?</tr>", page, re.S):
        if re.search(rf"<th[^>]*>\s*{re.escape(html.escape(theme))}\s*(<|$)", row):
            return text_of(row)
    return None


def number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        return None


@dataclass
class Seen:
    """Everything one signed-in role can get about one measurement."""

    api: dict[str, dict[str, Any]]
    csv: dict[str, dict[str, str]]
    csv_rows: dict[str, list[str]]
    xlsx: dict[str, dict[str, Any]]
    pages: dict[str, str] = field(default_factory=dict)  # unit page HTML, by code

    def children(self, code: str) -> list[str]:
        return sorted(c for c, e in self.api.items() if e.get("parent") == code)

    def shown(self, code: str) -> bool:
        return bool(self.api.get(code, {}).get("shown"))


def collect(client: FlaskClient, measurement_id: int, pages: Iterable[str] = ()) -> Seen:
    response = client.get(f"/api/v1/measurements/{measurement_id}/results")
    assert response.status_code == 200 and response.is_json
    api = {entry["unit"]: entry for entry in response.get_json()}
    exported = client.get(f"/results/export.csv?m={measurement_id}")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff")),
                           delimiter=";"))  # fmt: skip
    header = rows[0]
    by_code_csv = {row[0]: dict(zip(header, row, strict=False)) for row in rows[1:]}
    csv_rows = {row[0]: row for row in rows[1:]}
    workbook = load_workbook(
        io.BytesIO(client.get(f"/results/export.xlsx?m={measurement_id}").data)
    )
    sheet = list(workbook.worksheets[0].iter_rows(values_only=True))
    by_code_xlsx = {row[0]: dict(zip(sheet[0], row, strict=False)) for row in sheet[1:]}
    seen = Seen(api, by_code_csv, csv_rows, by_code_xlsx)
    for code in pages:
        page = client.get(f"/units/{code}?m={measurement_id}")
        assert page.status_code == 200, code
        seen.pages[code] = page.get_data(as_text=True)
    return seen


# --- the attacker's equations ---------------------------------------------------------------


def answers_at(entry: dict[str, Any], question: str) -> int | None:
    """Answers to the question at a shown unit: published, or respondents − don't know."""
    stored = entry.get("questions", {}).get(question)
    if stored is None:
        return None
    for key in ("n", "answers"):
        if isinstance(stored.get(key), int):
            return stored[key]
    if entry.get("respondents") is None:
        return None
    return entry["respondents"] - (stored.get("dont_know") or 0)


def weighted_hits(seen: Seen, code: str, question: str, theme: str) -> set[int]:
    """n_2 + 2·n_3 of a zero-tolerance question at a unit, from every channel that gives it:
    (mean − 1) × n, the score (lower is better, k = 3) and the theme's indicator (the files
    here give a unit one question of the theme, so indicator = score) in JSON, CSV and XLSX."""
    entry = seen.api.get(code)
    if not entry or not entry.get("shown"):
        return set()
    n = answers_at(entry, question)
    if n is None:
        n = entry.get("respondents")
    if not n:
        return set()
    stored = entry.get("questions", {}).get(question) or {}
    means: list[float] = []
    if stored.get("mean") is not None:
        means.append(stored["mean"])
    scores = [stored.get("score"), entry.get("indicators", {}).get(theme),
              number(seen.csv.get(code, {}).get(theme)),
              number(seen.xlsx.get(code, {}).get(theme))]  # fmt: skip
    means += [1 + (100 - s) / 100 * 2 for s in scores if s is not None]
    return {round((mean - 1) * n) for mean in means}


def api_statement(stored: dict[str, Any] | None) -> str | None:
    """What a unit's JSON says about a zero-tolerance question's hits."""
    if not stored:
        return None
    for key in ("zero_tolerance_hits", "zk", "zero_tolerance", "statement"):
        value = stored.get(key)
        if isinstance(value, dict):
            value = value.get("zk") or value.get("kind") or value.get("statement")
        if value is None or isinstance(value, bool):
            continue
        if value == 0 or value == "none":
            return "none"
        if value in ("some", "few", "at_least", "exact", "withheld"):
            return value
        if isinstance(value, int):
            return "exact"
    return None


def page_statement(row: str | None) -> tuple[str, int | None] | None:
    """A zero-tolerance question's row on a page: its statement, and the count it gives."""
    if row is None:
        return None
    if EVERYONE_NO in row:
        return "none", 0
    if "Færre end 3" in row:
        return "few", None
    if "Mindst 3" in row:
        return "at_least", None
    if "Antallet vises ikke" in row:
        return "withheld", None
    if "Nogen har svaret andet end" in row:
        return "some", None  # today's presence mark
    found = re.search(r"(\d+) har svaret andet end", row)
    if found:
        return "exact", int(found.group(1))
    return None


def solve_team_hits(seen: Seen, question: str, theme: str) -> dict[str, int]:
    """The issue's attack (leak 1): a parent's n_2 + 2·n_3 minus its children's that are
    known; the rest belongs to the one child left, or to the one child marked "some" when the
    other unknown children are shown units without a mark (today a shown unit is marked
    wherever it has hits). Returns the non-zero weighted hit sums found of units with fewer
    than the sensitive threshold of respondents (known to the attacker from the file only as
    far as published: a unit whose question is hidden)."""
    found: dict[str, int] = {}
    for parent in seen.api:
        total = weighted_hits(seen, parent, question, theme)
        if len(total) != 1:
            continue
        remaining = total.pop()
        unknown: list[str] = []
        for child in seen.children(parent):
            known = weighted_hits(seen, child, question, theme)
            if len(known) == 1:
                remaining -= known.pop()
                continue
            stored = seen.api[child].get("questions", {}).get(question)
            if api_statement(stored) == "none":
                continue
            unknown.append(child)
        if not unknown:
            continue
        marked = [c for c in unknown if api_statement(
            seen.api[c].get("questions", {}).get(question)) is not None]  # fmt: skip
        silent_shown = [c for c in unknown if c not in marked and seen.shown(c)]
        target = None
        if len(unknown) == 1:
            target = unknown[0]
        elif len(marked) == 1 and len(silent_shown) == len(unknown) - 1:
            target = marked[0]
        if target is not None and remaining > 0:
            found[target] = remaining
    return found


def statement_values(statement: tuple[str, int | None] | None, answered: int) -> set[int]:
    """The hit counts a statement allows: none = 0, few = 1..2, exact = v, at least 3, some
    (today's mark) = 1.., withheld = anything."""
    kind, value = statement or ("withheld", None)
    values = {
        "none": {0},
        "few": {1, 2},
        "exact": {value},
        "at_least": set(range(3, answered + 1)),
        "some": set(range(1, answered + 1)),
    }.get(kind, set(range(answered + 1)))
    return values & set(range(answered + 1))


def sumset(sets: Iterable[set[int]]) -> set[int]:
    total = {0}
    for values in sets:
        total = {a + b for a in total for b in values}
    return total


def feasible_counts(
    parents: dict[str, str | None],
    answered: dict[str, int],
    statements: dict[str, tuple[str, int | None] | None],
    alerts: dict[str, bool | None],
) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """Every hit count consistent with everything published about one zero-tolerance
    question, exactly (sets, on the tree of the units that show it; `parents` maps each to the
    nearest unit above that shows it). A unit's hits (the unit and all below) are its residual
    group's (people not below another unit showing the question) plus its children's; an alert
    at a unit says its residual group has hits, no alert (where alerts are published) that it
    has none. Returns the feasible totals and residuals by unit."""
    children: dict[str, list[str]] = {code: [] for code in parents}
    for code, parent in parents.items():
        if parent is not None:
            children[parent].append(code)

    def residual_values(code: str) -> set[int]:
        own = answered[code] - sum(answered[c] for c in children[code])
        alert = alerts.get(code)
        if alert is None:
            return set(range(own + 1))
        return set(range(1, own + 1)) if alert else {0}

    order: list[str] = []  # top-down

    def visit(code: str) -> None:
        order.append(code)
        for child in children[code]:
            visit(child)

    for root in (c for c, p in parents.items() if p is None):
        visit(root)
    down: dict[str, set[int]] = {}  # what the unit's subtree allows
    for code in reversed(order):
        inside = sumset(down[c] for c in children[code])
        down[code] = {r + s for r in residual_values(code) for s in inside} & statement_values(
            statements.get(code), answered[code]
        )
    final: dict[str, set[int]] = {}
    residual: dict[str, set[int]] = {}
    for code in order:
        parent = parents[code]
        if parent is None:
            final[code] = set(down[code])
        else:
            others = sumset(down[o] for o in children[parent] if o != code)
            final[code] = {
                v for v in down[code]
                if any(t - v - s in residual_values(parent) for t in final[parent] for s in others)
            }  # fmt: skip
        inside = sumset(down[c] for c in children[code])
        residual[code] = {
            r for r in residual_values(code) if any(t - r in inside for t in final[code])
        }
    return final, residual


def zero_tolerance_view(
    seen: Seen, question: str
) -> tuple[dict[str, str | None], dict[str, int], dict[str, Any], dict[str, bool | None]]:
    """The tree of the units whose JSON shows the question, their answers, statements (from
    the unit pages where fetched, else the JSON) and alerts."""
    showing = {
        code for code, entry in seen.api.items()
        if entry.get("shown") and entry.get("questions", {}).get(question) is not None
    }  # fmt: skip
    parents: dict[str, str | None] = {}
    for code in showing:
        up = seen.api[code].get("parent")
        while up is not None and up not in showing:
            up = seen.api.get(up, {}).get("parent")
        parents[code] = up
    answered = {code: answers_at(seen.api[code], question) or 0 for code in showing}
    statements: dict[str, Any] = {}
    alerts: dict[str, bool | None] = {}
    for code in showing:
        stored = seen.api[code]["questions"][question]
        kind = api_statement(stored)
        statements[code] = (kind, None) if kind not in (None, "exact") else None
        if kind == "exact":
            hits = stored.get("zero_tolerance_hits")
            if isinstance(stored.get("zero_tolerance"), dict):
                hits = stored["zero_tolerance"].get("hits")
            statements[code] = ("exact", hits)
        if code in seen.pages:
            statements[code] = (
                page_statement(
                    question_row(results_section(seen.pages[code]), QUESTION_TEXTS[question])
                )
                or statements[code]
            )
        zt = stored.get("zero_tolerance")
        alerts[code] = zt.get("alert") if isinstance(zt, dict) else stored.get("za")
    return parents, answered, statements, alerts


def pinned(seen: Seen, question: str) -> dict[str, Any]:
    """Hit counts of 1 or 2 (a unit's, or a residual group's) that everything published about
    the question pins down, and contradictions."""
    parents, answered, statements, alerts = zero_tolerance_view(seen, question)
    final, residual = feasible_counts(parents, answered, statements, alerts)
    found: dict[str, Any] = {}
    for code in parents:
        if not final[code] or not residual[code]:
            found[code] = ("contradiction", statements[code], alerts[code])
        elif final[code] in ({1}, {2}):
            found[code] = ("total", final[code], statements[code])
        elif residual[code] in ({1}, {2}):
            found[code] = ("residual", residual[code], alerts[code])
    return found


# --- leak 1: zero-tolerance counts below the sensitive threshold ----------------------------

# P (31) = T1 (5 people, one answered "Ja, en enkelt gang" to KA-1) + T2 (26, all "Nej").
# Today P publishes KA-1's mean 32/31 = 1.032 and T1 alone is marked "some": T1 = 1.
LEAK_1 = [
    declare("R"),
    declare("P", "R"),
    team("T1", "P", 5),
    answers("T1", "P", "KA-1", [4, 1, 0]),
    team("T2", "P", 26, ("PT-1", "KA-1")),
]


@pytest.mark.parametrize(("role", "held_on"), [(Role.LEADER, "P"), (Role.COMMITTEE, "R")])
def test_leak_1_a_small_teams_zero_tolerance_count_cannot_be_computed(
    app: Flask, client: FlaskClient, make_user, role: Role, held_on: str
) -> None:
    measurement_id = setup(app, LEAK_1)
    signed_in(client, make_user, role, held_on)
    seen = collect(client, measurement_id, pages=["P", "T1", "T2"])
    assert {"P", "T1", "T2"} <= set(seen.api), sorted(seen.api)

    # The attack of the issue, step by step.
    derived = solve_team_hits(seen, "KA-1", KA)
    assert derived == {}, f"the attacker computes n_2 + 2·n_3 of {derived} from the figures"

    # What closes it: no zero-tolerance mean, score or indicator is published anywhere ...
    for code, entry in seen.api.items():
        for question, stored in entry.get("questions", {}).items():
            if question.startswith("KA-"):
                assert stored.get("mean") is None and stored.get("score") is None, (code, stored)
                assert stored.get("counts") is None, (code, stored)
        assert entry.get("indicators", {}).get(KA) is None, (code, entry.get("indicators"))
        assert number(seen.csv.get(code, {}).get(KA)) is None, (code, seen.csv.get(code))
        assert number(seen.xlsx.get(code, {}).get(KA)) is None, (code, seen.xlsx.get(code))
    for code, page in seen.pages.items():
        row = indicator_row(results_section(page), KA)
        assert row is None or not re.search(r"\d", row.replace(KA, "")), (code, row)
        ka_row = question_row(results_section(page), KA_1) or ""
        assert not re.search(r"\d+,\d", ka_row), (code, ka_row)  # no mean in the row

    # ... and no presence mark at a unit whose zero-tolerance question is hidden: T1 has 5
    # answers to KA-1, under the sensitive threshold, so it says nothing about hits there.
    t1 = seen.api["T1"]
    assert t1["shown"] is True
    assert api_statement(t1["questions"].get("KA-1")) is None, t1["questions"].get("KA-1")
    t1_row = question_row(results_section(seen.pages["T1"]), KA_1) or ""
    assert "svaret andet end" not in t1_row, t1_row
    overview = client.get(f"/results/?m={measurement_id}").get_data(as_text=True)
    t1_overview = next(r for r in re.findall(r"<tr\b.*?</tr>", overview, re.S) if "/units/T1?" in r)
    assert "kompas-zt" not in t1_overview, text_of(t1_overview)  # the "Ja" column
    # The hit is reported where the question is shown (cumulative): P, as "færre end 3".
    assert FEW in (question_row(results_section(seen.pages["P"]), KA_1) or ""), text_of(
        results_section(seen.pages["P"])
    )


# --- leak 2: the wording of hidden units gives their size ------------------------------------

# D (13) = D-1 (5) + D-2 (5) + D-3 (3). D-3 is under the threshold; the residual 3 makes the
# first of the two fives (D-1) go as well. Published: D 13 and D-2 5, so D-1 + D-3 = 8. With
# the wording ("færre end 5" for D-3, "nok besvarelser" for D-1) and "smallest hidden first"
# (D-1 <= D-2 = 5) the attacker gets D-1 = 5 and D-3 = 3 exactly.
LEAK_2 = [
    declare("D"),
    team("D-1", "D", 5, ("PT-1", "MT-1")),
    team("D-2", "D", 5, ("PT-1", "MT-1")),
    team("D-3", "D", 3, ("PT-1", "MT-1")),
]


def hidden_reason_in(text: str) -> str | None:
    if "Færre end 5 har svaret" in text or "Færre end" in text and "har svaret her" in text:
        return "below_threshold"
    if "Der er nok besvarelser" in text:
        return "secondary"
    return None


def sizes_of_hidden(
    total: int, shown_sizes: list[int], hidden: dict[str, str | None], threshold: int
) -> set[tuple[int, ...]]:
    """Sizes of the hidden siblings consistent with the parent's total, the documented rule
    (a hidden unit is under the threshold, or, hidden for another, no larger than a shown
    sibling) and what the wording says of each one's reason."""
    names = sorted(hidden)
    rest = total - sum(shown_sizes)
    largest_secondary = min(shown_sizes) if shown_sizes else rest
    found = set()
    for sizes in itertools.product(range(1, rest + 1), repeat=len(names)):
        if sum(sizes) != rest:
            continue
        ok = True
        for name, size in zip(names, sizes, strict=True):
            below = size < threshold
            secondary = threshold <= size <= largest_secondary
            reason = hidden[name]
            ok &= (below if reason == "below_threshold" else secondary
                   if reason == "secondary" else below or secondary)  # fmt: skip
        if ok:
            found.add(sizes)
    return found


def test_leak_2_every_hidden_unit_says_the_same(app: Flask, client: FlaskClient, make_user) -> None:
    measurement_id = setup(app, LEAK_2)
    signed_in(client, make_user, Role.LEADER, "D")
    seen = collect(client, measurement_id, pages=["D-1", "D-3"])
    assert not seen.shown("D-1") and not seen.shown("D-3") and seen.shown("D-2")

    said: dict[str, dict[str, str]] = {}
    for code in ("D-1", "D-3"):
        name = seen.api[code]["name"]

        def same(text: str, code: str = code, name: str = name) -> str:
            return text.replace(name, "<name>").replace(code, "<code>")

        report = client.get(f"/reports/unit/{measurement_id}/{code}")
        assert report.status_code == 200
        pdf = client.get(f"/reports/unit/{measurement_id}/{code}.pdf", follow_redirects=True)
        assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
        entry = {k: v for k, v in seen.api[code].items() if k not in ("unit", "name", "parent")}
        said[code] = {
            "page": same(text_of(results_section(seen.pages[code]))),
            "report": same(
                text_of(re.sub(r".*?<body\b", "", report.get_data(as_text=True), flags=re.S))
            ),  # fmt: skip
            "pdf": same(pdf_text(pdf.data)),
            "csv": same(";".join(seen.csv_rows[code][1:])),
            "api": json.dumps(entry, sort_keys=True),
        }

    # The attacker's sums: D's total, the shown sibling, the reason each wording gives.
    reasons = {code: hidden_reason_in(said[code]["page"] + said[code]["pdf"]) for code in said}
    candidates = sizes_of_hidden(
        seen.api["D"]["respondents"], [seen.api["D-2"]["respondents"]], reasons, THRESHOLD
    )
    assert len(candidates) > 1, f"the wording {reasons} gives the hidden sizes {candidates}"

    for channel in ("page", "report", "pdf", "csv", "api"):
        assert said["D-1"][channel] == said["D-3"][channel], (channel, said["D-1"][channel],
                                                              said["D-3"][channel])  # fmt: skip
    for code in said:
        assert HIDDEN_UNIT in said[code]["page"], said[code]["page"]
        assert HIDDEN_UNIT in said[code]["pdf"], said[code]["pdf"]
        for channel, text in said[code].items():
            for wording in REASON_WORDING:
                assert wording not in text, (code, channel, wording)


# --- leak 3: a false all-clear -------------------------------------------------------------

# P (29) = T1 (12, one case of violence) + T2 (12, none) + T3 (5, one case; KA-1 hidden under
# the sensitive threshold). Today P's own residual is 0 hits, so P says "Alle har svaret nej".
LEAK_3 = [
    declare("P"),
    team("T1", "P", 12),
    answers("T1", "P", "KA-1", [11, 1, 0]),
    team("T2", "P", 12, ("PT-1", "KA-1")),
    team("T3", "P", 5),
    answers("T3", "P", "KA-1", [4, 1, 0]),
]
LEAK_3_TRUE_HITS = {"P": 2, "T1": 1, "T2": 0, "T3": 1}  # the unit and everything below


def test_leak_3_everyone_answered_no_only_where_true_below_as_well(
    app: Flask, client: FlaskClient, make_user
) -> None:
    measurement_id = setup(app, LEAK_3)
    signed_in(client, make_user, Role.LEADER, "P")
    seen = collect(client, measurement_id, pages=list(LEAK_3_TRUE_HITS))
    all_clear = set()
    for code in LEAK_3_TRUE_HITS:
        row = question_row(results_section(seen.pages[code]), KA_1)
        if row is not None and EVERYONE_NO in row:
            all_clear.add(code)
        if api_statement(seen.api[code].get("questions", {}).get("KA-1")) == "none":
            all_clear.add(code)
        report = client.get(f"/reports/unit/{measurement_id}/{code}").get_data(as_text=True)
        row = question_row(report, KA_1)
        if row is not None and EVERYONE_NO in row:
            all_clear.add(code)
    false = {code for code in all_clear if LEAK_3_TRUE_HITS[code] > 0}
    assert not false, f"'{EVERYONE_NO}' where someone below answered yes: {sorted(false)}"
    # Where the answers are counted, P says there were some.
    p_row = question_row(results_section(seen.pages["P"]), KA_1) or ""
    assert FEW in p_row, p_row


# --- leak 4: counts of one or two --------------------------------------------------------


# A school year (gym): R = S1 (1a: one student with unwanted sexual attention, 1b: none)
# + S2 (2a: two, 2b: two, 2c: none) + S3 (3a, 14: one; 3b, 11: none; 3c, 5: one). MO-03 is
# shown at every class of 13 or more; at 3c (5) it is hidden, and at 3b (11) for 3c's sake, so
# 3c's hit counts at S3. Printing 1a "1" is the issue's leak. Subtler: S2 "4" would pin 2a = 2b
# = 2 through the bounds of "færre end 3"; at S3, "færre end 3" with the alert raised at S3 (a
# hit in its residual group) next to 3a's "færre end 3" would pin 3a = 1.
def gym_class(code: str, parent: str, mo_03: list[int]) -> list[str]:
    return [*team(code, parent, sum(mo_03), ("FT-01", "ST-01")),
            answers(code, parent, "MO-03", mo_03)]  # fmt: skip


LEAK_4 = [
    declare("R"),
    declare("S1", "R"),
    gym_class("1a", "S1", [12, 1, 0]),
    gym_class("1b", "S1", [13, 0, 0]),
    declare("S2", "R"),
    gym_class("2a", "S2", [11, 2, 0]),
    gym_class("2b", "S2", [11, 1, 1]),
    gym_class("2c", "S2", [13, 0, 0]),
    declare("S3", "R"),
    gym_class("3a", "S3", [13, 1, 0]),
    gym_class("3b", "S3", [11, 0, 0]),
    gym_class("3c", "S3", [4, 1, 0]),
]
LEAK_4_UNITS = ["R", "S1", "1a", "1b", "S2", "2a", "2b", "2c", "S3", "3a", "3b", "3c"]


def ints_in(value: Any, skip: frozenset[str] = frozenset()) -> Iterator[tuple[str, int]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in skip:
                continue
            if isinstance(item, int) and not isinstance(item, bool):
                yield key, item
            else:
                yield from ints_in(item, skip)
    elif isinstance(value, list):
        for item in value:
            yield from ints_in(item, skip)


def test_leak_4_no_channel_shows_a_count_of_one_or_two(
    app: Flask, client: FlaskClient, make_user
) -> None:
    measurement_id = setup(app, LEAK_4, **GYM)
    signed_in(client, make_user, Role.COMMITTEE, "R")
    seen = collect(client, measurement_id, pages=LEAK_4_UNITS)

    one_or_two = re.compile(r"(?<![\d,.])[12] har svaret andet end")
    for code in LEAK_4_UNITS:
        page = results_section(seen.pages[code])
        assert not one_or_two.search(text_of(page)), (code, question_row(page, MO_03))
        report = client.get(f"/reports/unit/{measurement_id}/{code}").get_data(as_text=True)
        assert not one_or_two.search(text_of(report)), (code, question_row(report, MO_03))
        stored = seen.api[code].get("questions", {}).get("MO-03")
        counts = [(k, v) for k, v in ints_in(stored or {}, frozenset({"n", "answers", "dont_know",
                                                                     "dk"}))]  # fmt: skip
        assert not [kv for kv in counts if kv[1] in (1, 2)], (code, stored)
        assert (stored or {}).get("counts") is None, (code, stored)
    # The class of the issue says "færre end 3", on its page and in its report's PDF.
    assert FEW in (question_row(results_section(seen.pages["1a"]), MO_03) or "")
    pdf = client.get(f"/reports/unit/{measurement_id}/1a.pdf", follow_redirects=True)
    text = pdf_text(pdf.data)
    assert FEW in text and not one_or_two.search(text), text
    # 3c hides the question and carries no mark.
    assert seen.api["3c"]["shown"] and seen.api["3c"]["questions"].get("MO-03") is None
    assert "svaret andet end" not in (question_row(results_section(seen.pages["3c"]), MO_03)
                                      or "")  # fmt: skip

    # Everything published on MO-03 (statements with their bounds, answers, alerts) pins
    # no unit's and no residual group's count to 1 or 2.
    found = pinned(seen, "MO-03")
    assert not found, f"{found} follow from {zero_tolerance_view(seen, 'MO-03')}"


# --- leak 5: utility lost needlessly -----------------------------------------------------


# R = S1 (A 13, B 13) + S2 (C 13, D 3). At A only 2 answered FT-02 (11 "don't know"), so FT-02
# is hidden at A (and at B, for A's sake); the other 13 FT questions are shown. D (3) is under
# the threshold and C (13) goes with it.
def gym_unit(code: str, parent: str, n: int, *, ft_02: list[int] | None = None,
             ft_02_dont_know: int = 0) -> list[str]:  # fmt: skip
    rows = [answers(code, parent, "FT-01", [0, 0, 0, 0, n])]  # score 100
    for number_ in range(2, 15):
        question = f"FT-{number_:02d}"
        if question == "FT-02" and ft_02 is not None:
            rows.append(answers(code, parent, question, ft_02, dont_know=ft_02_dont_know))
        else:
            rows += team(code, parent, n, (question,))  # option 4: score 75
    rows += team(code, parent, n, ("ST-01", "LM-01", "PB-01"))
    rows.append(answers(code, parent, "MO-01", [n, 0, 0]))
    return rows


LEAK_5 = [
    declare("R"),
    declare("S1", "R"),
    gym_unit("A", "S1", 13, ft_02=[0, 0, 0, 0, 2], ft_02_dont_know=11),
    gym_unit("B", "S1", 13),
    declare("S2", "R"),
    gym_unit("C", "S2", 13),
    gym_unit("D", "S2", 3),
]


def test_leak_5_a_hidden_question_blanks_only_itself_and_large_hidden_units_are_not_too_few(
    app: Flask, client: FlaskClient, make_user
) -> None:
    measurement_id = setup(app, LEAK_5, **GYM)
    signed_in(client, make_user, Role.COMMITTEE, "R")
    seen = collect(client, measurement_id, pages=["A", "C", "D"])
    a = seen.api["A"]
    assert a["shown"] is True and "FT-02" not in a["questions"], a["questions"].get("FT-02")

    # A's FT indicator is computed over its 13 shown questions: (100 + 12 × 75) / 13.
    expected = (100 + 12 * 75) / 13
    assert a["indicators"].get(FT) == pytest.approx(expected, abs=0.06), a["indicators"]
    assert number(seen.csv["A"].get(FT)) == pytest.approx(expected, abs=0.06), seen.csv["A"]
    assert number(seen.xlsx["A"].get(FT)) == pytest.approx(expected, abs=0.06), seen.xlsx["A"]
    row = indicator_row(results_section(seen.pages["A"]), FT) or ""
    assert str(round(expected)) in row, row
    partial = PARTIAL.search(row) or PARTIAL.search(text_of(results_section(seen.pages["A"])))
    assert partial and partial.groups() == ("13", "14"), row
    # Every shown unit: an indicator over the shown questions of each theme it has, and
    # no indicator of a zero-tolerance theme.
    for code, entry in seen.api.items():
        if not entry.get("shown"):
            continue
        assert MOBNING not in {t for t, v in entry["indicators"].items() if v is not None}, code
        for theme in ("Social trivsel", "Læringsmiljø", "Pres og bekymringer", FT):
            assert entry["indicators"].get(theme) is not None, (code, theme, entry["indicators"])

    # C: 13 answered, hidden for D's sake. It never says "too few answers".
    assert not seen.shown("C") and not seen.shown("D")
    overview = client.get(f"/results/?m={measurement_id}").get_data(as_text=True)
    for code in ("C", "D"):
        section = text_of(results_section(seen.pages[code]))
        assert HIDDEN_UNIT in section, section
        assert "For få besvarelser" not in section, section
        assert "For få besvarelser" not in ";".join(seen.csv_rows[code]), seen.csv_rows[code]
        assert "For få besvarelser" not in " ".join(str(v) for v in seen.xlsx[code].values())
        row = next(
            r for r in re.findall(r"<tr\b.*?</tr>", overview, re.S) if f"/units/{code}?" in r
        )
        assert "For få besvarelser" not in text_of(row), text_of(row)
        report = client.get(f"/reports/unit/{measurement_id}/{code}").get_data(as_text=True)
        assert "For få besvarelser" not in text_of(report), code


# --- the issue's own steps, on the demo ------------------------------------------------------

DEMO_PASSWORD = "demo password 1"  # noqa: S105 - test fixture


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the demo test runs on SQLite only")
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    demo_app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "REPORT_JOBS": "inline"})
    with demo_app.app_context():
        db.create_all()
        build_demo(db.session, password=DEMO_PASSWORD)
        db.session.commit()
    try:
        yield demo_app
    finally:
        with demo_app.app_context():
            db.session.remove()
            db.engine.dispose()


def true_cumulative_hits(demo: Flask, measurement_id: int, question: str) -> dict[str, int]:
    """The imported counts (test-side knowledge, not the attacker's): hits of the unit and
    everything below it."""
    with demo.app_context():
        parent_of = dict(db.session.execute(select(Unit.id, Unit.parent_id)).all())
        code_of = dict(db.session.execute(select(Unit.id, Unit.code)).all())
        question_id = db.session.scalar(
            select(Question.id)
            .join(Measurement, Measurement.questionnaire_id == Question.questionnaire_id)
            .where(Measurement.id == measurement_id, Question.code == question)
        )
        rows = [
            (answer.unit_id, answer.counts)
            for answer in stored_answers(UnitResult.measurement_id == measurement_id)
            if answer.question_id == question_id
        ]
    hits = dict.fromkeys(code_of.values(), 0)
    for unit_id, counts in rows:
        own = sum(counts[1:]) if counts else 0
        at: int | None = unit_id
        while at is not None:
            hits[code_of[at]] += own
            at = parent_of[at]
    return hits


def test_the_issues_steps_on_the_demo(demo: Flask) -> None:
    with demo.app_context():
        measurement_id = db.session.scalar(
            select(Measurement.id).where(Measurement.year == 2026)
            .where(Measurement.remeasure_of_id.is_(None))
        )  # fmt: skip
    # Leak 1, as chef.bf and as the MED committee: no team's count from means and marks.
    for email in (f"chef.bf@{DEMO_DOMAIN}", f"med@{DEMO_DOMAIN}"):
        client = demo.test_client()
        login(client, email, DEMO_PASSWORD)
        seen = collect(client, measurement_id)
        derived = {
            question: solve_team_hits(seen, question, KA)
            for question in ("KA-1", "KA-2", "KA-3", "KA-4")
        }
        assert not any(derived.values()), (email, derived)
        for code, entry in seen.api.items():
            for question, stored in entry.get("questions", {}).items():
                if question.startswith("KA-"):
                    assert stored.get("mean") is None and stored.get("score") is None, code
            assert number(seen.csv.get(code, {}).get(KA)) is None, (code, seen.csv.get(code))
        # Leak 4: no count of 1 or 2 follows from the statements, answers and alerts.
        for question in ("KA-1", "KA-2", "KA-3", "KA-4"):
            assert not pinned(seen, question), (email, question, pinned(seen, question))
    # Leaks 2 and 3 on AK-BF-007, as chef.bf.
    client = demo.test_client()
    login(client, f"chef.bf@{DEMO_DOMAIN}", DEMO_PASSWORD)
    seen = collect(client, measurement_id)
    under = sorted(code for code in seen.api if code.startswith("AK-BF-007"))
    for code in under:
        seen.pages[code] = client.get(f"/units/{code}?m={measurement_id}").get_data(as_text=True)
    truth = true_cumulative_hits(demo, measurement_id, "KA-1")
    for code in under:
        row = question_row(results_section(seen.pages[code]), KA_1)
        if row is not None and EVERYONE_NO in row:
            assert truth[code] == 0, f"{code} says everyone answered no; {truth[code]} did not"
    hidden = [code for code in seen.api if not seen.shown(code)]
    assert hidden
    for code in hidden[:12]:
        page = client.get(f"/units/{code}?m={measurement_id}").get_data(as_text=True)
        text = text_of(results_section(page))
        assert HIDDEN_UNIT in text, (code, text)
        assert not any(wording in text for wording in REASON_WORDING), (code, text)
    assert len({";".join(seen.csv_rows[code][2:]) for code in hidden}) == 1


def test_the_demos_releases_pass_their_audit(demo: Flask) -> None:
    with demo.app_context():
        measurements = db.session.scalars(select(Measurement)).all()
        assert len(measurements) == 3
        for measurement in measurements:
            assert measurement.anonymity_ok is True, measurement.anonymity_problems
            assert measurement.anonymity_problems == []

"""What `compute_figures` stores in `unit_figures` after an import (issue 5).

Small hand-written files go through the real import (`imports.check` + `apply`), which
computes the figures; the tests then read `unit_figures` and compare with the rules of the
spec (import-format.md, "Scores" and "Anonymity") and the worked examples of issue 5.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from app.domain import release as release_domain
from app.extensions import db
from app.models import AuditEvent, Measurement, Unit, UnitFigures
from app.policy import Access
from app.services import export, imports
from app.services import results as results_service
from app.services.measurements import find_or_prepare_measurement

PT = "Min enhed – psykologisk tryghed"  # PT-1..PT-7, 5 options, higher_better
KB = "Mit arbejde – krav og balance"  # KB-1..KB-6, 5 options, lower_better
MT = "Mit arbejde – motivation og tilfredshed"  # MT-1..MT-8, 5 options, higher_better
KA = "Krænkende adfærd"  # KA-1..KA-4, 3 options, lower_better, zero tolerance

HEADER = (
    "unit_id;unit_name;parent_id;unit_type;invited;previous_unit_id;question_id;"
    "n_1;n_2;n_3;n_4;n_5;n_dont_know"
)


# --- writing small files -------------------------------------------------------------------


def declare(code: str, parent: str = "", *, previous: str = "") -> str:
    """A row that only declares a unit (a parent whose figures are its children's sum)."""
    return f"{code};Enhed {code};{parent};team;;{previous};;;;;;;"


def answers(
    code: str,
    parent: str,
    question: str,
    counts: Iterable[int],
    *,
    dont_know: int = 0,
    invited: int | str = "",
    previous: str = "",
) -> str:
    cells = [str(c) for c in counts]
    cells += [""] * (5 - len(cells))
    return ";".join(
        [code, f"Enhed {code}", parent, "team", str(invited), previous, question, *cells,
         str(dont_know)]
    )  # fmt: skip


def team(
    code: str,
    parent: str,
    n: int,
    questions: Iterable[str] = ("PT-1",),
    *,
    option: int = 4,
    invited: int | str = "",
    previous: str = "",
) -> list[str]:
    """Rows of a unit where all n respondents chose `option` (5-point questions) or "Nej"
    (zero-tolerance questions, 3 options)."""
    rows = []
    for question in questions:
        if question.startswith("KA-"):
            counts = [n, 0, 0]
        else:
            counts = [n if o == option else 0 for o in range(1, 6)]
        rows.append(answers(code, parent, question, counts, invited=invited, previous=previous))
    return rows


def load(
    lines: Iterable[str | list[str]],
    *,
    name: str = "APV 2025",
    year: int = 2025,
    template: str | None = "apv",
    header: str = HEADER,
    **settings: object,
) -> Measurement:
    """Import the rows into the named measurement (created when new) and commit."""
    measurement = find_or_prepare_measurement(
        db.session, name=name, year=year, template_code=template
    )
    for key, value in settings.items():
        setattr(measurement, key, value)
    flat: list[str] = []
    for line in lines:
        flat.extend([line] if isinstance(line, str) else line)
    content = "\n".join([header, *flat]).encode() + b"\n"
    checked = imports.check(
        db.session, content, file_name="r.csv", year=year,
        questionnaire=measurement.questionnaire, threshold=measurement.threshold,
    )  # fmt: skip
    assert checked.ok, checked.result.errors[:3]
    imports.apply(db.session, None, checked, measurement)
    db.session.commit()
    return measurement


def stored(measurement: Measurement) -> dict[str, UnitFigures]:
    """The measurement's unit_figures rows by unit code."""
    rows = db.session.execute(
        select(Unit.code, UnitFigures)
        .join(Unit, Unit.id == UnitFigures.unit_id)
        .where(UnitFigures.measurement_id == measurement.id)
        .options(undefer(UnitFigures.questions), undefer(UnitFigures.hidden_questions))
    ).all()
    return dict(rows)  # type: ignore[arg-type]


def shown_codes(figures: dict[str, UnitFigures]) -> set[str]:
    return {code for code, f in figures.items() if f.shown}


def score(counts: list[int], direction: str = "higher_better") -> float:
    """The spec's formula, computed independently: (mean - 1) / (k - 1) x 100."""
    k = len(counts)
    mean = Fraction(sum(o * c for o, c in enumerate(counts, start=1)), sum(counts))
    value = (mean - 1) / (k - 1) * 100
    return float(100 - value if direction == "lower_better" else value)


# --- the worked examples of issue 5 (t = 5) ------------------------------------------------

WORKED_EXAMPLES = {
    # A department of 17 with teams 8, 6, 3: the 3 is under t; the department's residual
    # would then be 3, so the next smallest team (6) is hidden as well.
    "department of 17": (
        [declare("D"), team("D-1", "D", 8), team("D-2", "D", 6), team("D-3", "D", 3)],
        {"D", "D-1"},
        {"D-2": "secondary", "D-3": "below_threshold"},
    ),
    # A department of 20 with teams 12, 5, 2, 1: 2 and 1 are under t and together 3, so
    # the 5 goes as well; 12 stays.
    "department of 20": (
        [
            declare("D"),
            team("D-1", "D", 12),
            team("D-2", "D", 5),
            team("D-3", "D", 2),
            team("D-4", "D", 1),
        ],
        {"D", "D-1"},
        {"D-2": "secondary", "D-3": "below_threshold", "D-4": "below_threshold"},
    ),
    # A workplace of 12 with 2 direct members (rows of its own) and teams 5 and 5: its
    # residual of 2 would expose the direct members, so one team goes (the first by id).
    "workplace of 12": (
        [team("W", "", 12), team("W-1", "W", 5), team("W-2", "W", 5)],
        {"W", "W-2"},
        {"W-1": "secondary"},
    ),
}


@pytest.mark.parametrize("example", list(WORKED_EXAMPLES))
def test_worked_examples(ctx: Flask, example: str) -> None:
    lines, shown, hidden = WORKED_EXAMPLES[example]
    measurement = load(lines)
    figures = stored(measurement)
    assert shown_codes(figures) == shown
    assert {code: f.hidden_reason for code, f in figures.items() if not f.shown} == hidden
    assert all(figures[code].hidden_reason is None for code in shown)
    # The root's figures are its whole population: rows of its own (W) or its children's sum.
    root = figures["W" if "W" in figures else "D"]
    assert root.respondents == {"department of 17": 17, "department of 20": 20,
                                "workplace of 12": 12}[example]  # fmt: skip
    assert root.questions["PT-1"]["n"] == root.respondents
    assert measurement.anonymity_ok is True
    assert measurement.anonymity_problems == []


def test_a_hidden_unit_stores_nothing_but_that_it_is_hidden(ctx: Flask) -> None:
    questions = ("PT-1", "KB-1", "KA-1")
    lines = [
        declare("D"),
        team("D-1", "D", 12, questions, invited=14),
        team("D-2", "D", 6, ("PT-1", "KB-1"), invited=7)
        + [answers("D-2", "D", "KA-1", [4, 2, 0], invited=7)],
        team("D-3", "D", 3, ("PT-1", "KB-1"), invited=4)
        + [answers("D-3", "D", "KA-1", [1, 1, 1], invited=4)],
    ]
    figures = stored(load(lines))
    assert shown_codes(figures) == {"D", "D-1"}
    for code in ("D-2", "D-3"):
        hidden = figures[code]
        assert hidden.shown is False
        assert (hidden.respondents, hidden.invited) == (None, None)
        assert (hidden.overall_score, hidden.colour, hidden.response_rate) == (None, None, None)
        assert hidden.indicators == {}
        assert hidden.questions == {}
        assert hidden.hidden_questions == {}
        assert hidden.zero_tolerance_hits == 0
    # The same fields are filled where the unit is shown, so the checks above can fail.
    shown = figures["D-1"]
    assert (shown.respondents, shown.invited) == (12, 14)
    assert shown.overall_score is not None and shown.colour is not None
    assert set(shown.questions) >= {"PT-1", "KB-1"} and shown.indicators[PT] is not None


def test_an_indicator_is_the_mean_of_its_shown_questions(ctx: Flask) -> None:
    # U1: 6 respondents, of whom 2 answered "don't know" to PT-2: 4 valid answers are under
    # t, so PT-2 is hidden at U1, and at U2 too (else R's PT-2 minus U2's would give U1's).
    lines = [
        declare("R"),
        answers("U1", "R", "PT-1", [0, 1, 2, 2, 1]),
        answers("U1", "R", "PT-2", [0, 0, 2, 2, 0], dont_know=2),
        answers("U1", "R", "MT-1", [0, 0, 1, 4, 1]),
        answers("U2", "R", "PT-1", [1, 1, 2, 2, 2]),
        answers("U2", "R", "PT-2", [0, 2, 2, 2, 2]),
        answers("U2", "R", "MT-1", [0, 0, 4, 4, 0]),
    ]
    figures = stored(load(lines))
    assert shown_codes(figures) == {"R", "U1", "U2"}
    u1, u2, root = figures["U1"], figures["U2"], figures["R"]
    assert u1.hidden_questions == {"PT-2": "below_threshold"}
    assert u2.hidden_questions == {"PT-2": "secondary"}
    assert root.hidden_questions == {}
    for unit in (u1, u2):
        assert "PT-2" not in unit.questions
        assert "PT-1" in unit.questions and "MT-1" in unit.questions
        # PT-2 is hidden: the indicator is PT-1's score alone (published beside it, so
        # nothing about PT-2 can be backed out), and the other indicators are untouched.
        assert unit.indicators[PT] == pytest.approx(unit.questions["PT-1"]["score"])
        assert unit.indicators[MT] == pytest.approx(unit.questions["MT-1"]["score"])
    assert u1.indicators[MT] == pytest.approx(score([0, 0, 1, 4, 1]))
    # At R every question is shown: the theme is the plain mean of its question scores.
    assert root.questions["PT-2"]["n"] == 12 and root.questions["PT-2"]["dk"] == 2
    pt1, pt2 = score([1, 2, 4, 4, 3]), score([0, 2, 4, 4, 2])
    assert root.indicators[PT] == pytest.approx((pt1 + pt2) / 2)


def test_scores_follow_the_spec_formula(ctx: Flask) -> None:
    lines = [
        declare("R"),
        answers("A", "R", "PT-1", [0, 1, 2, 3, 1], dont_know=3, invited=12),
        answers("A", "R", "PT-2", [0, 0, 1, 5, 1], invited=12),
        answers("A", "R", "KB-1", [0, 1, 2, 3, 1], invited=12),
        answers("B", "R", "PT-1", [1, 0, 0, 2, 2], invited=5),
        answers("B", "R", "PT-2", [3, 2, 0, 0, 0], invited=5),
        answers("B", "R", "KB-1", [0, 0, 0, 0, 5], invited=5),
    ]
    figures = stored(load(lines, yellow_from=40.0, green_from=60.0))
    a, b, root = figures["A"], figures["B"], figures["R"]
    pt1 = a.questions["PT-1"]
    # 0,1,2,3,1 on a 5-point higher_better scale: mean 25/7, score (mean - 1) / 4 x 100.
    assert pt1["c"] == [0, 1, 2, 3, 1]
    assert (pt1["n"], pt1["dk"]) == (7, 3)  # "don't know" counts as answering, not in scores
    assert pt1["mean"] == pytest.approx(25 / 7)
    assert pt1["score"] == pytest.approx((25 / 7 - 1) / 4 * 100)
    # The same answers on a lower_better question are turned round.
    assert a.questions["KB-1"]["score"] == pytest.approx(100 - (25 / 7 - 1) / 4 * 100)
    assert a.indicators[PT] == pytest.approx((score([0, 1, 2, 3, 1]) + score([0, 0, 1, 5, 1])) / 2)
    assert a.indicators[KB] == pytest.approx(score([0, 1, 2, 3, 1], "lower_better"))
    # Respondents default to the largest answer total, "don't know" included.
    assert (a.respondents, a.invited, a.response_rate) == (10, 12, pytest.approx(10 / 12))
    # A parent without rows of its own: the sum of its children's counts.
    assert root.questions["PT-1"]["c"] == [1, 1, 2, 5, 3]
    assert root.questions["PT-1"]["dk"] == 3
    assert root.questions["PT-1"]["score"] == pytest.approx(score([1, 1, 2, 5, 3]))
    assert (root.respondents, root.invited) == (15, 17)
    # Traffic lights from the measurement's own cut-offs (40 / 60 here).
    assert a.overall_score == pytest.approx((a.indicators[PT] + a.indicators[KB]) / 2)
    assert b.overall_score == pytest.approx((b.indicators[PT] + b.indicators[KB]) / 2)
    assert b.overall_score < 40 <= a.overall_score < 60
    assert (a.colour, b.colour) == ("yellow", "red")


def test_scores_of_a_file_defined_questionnaire(ctx: Flask) -> None:
    header = "unit_id;parent_id;question_id;theme;scale;direction;zero_tolerance;n_1;n_2;n_3;n_4"
    four = "Aldrig|Sjældent|Tit|Altid"
    lines = [
        f"S;;Q1;Trivsel;{four};higher_better;no;1;2;3;4",
        f"S;;Q2;Trivsel;{four};lower_better;no;4;3;2;1",
        "S;;Q3;;Nej|Ja;lower_better;no;8;2;;",
    ]
    figures = stored(load(lines, template=None, header=header))
    unit = figures["S"]
    assert unit.shown
    # Q1: mean 3, (3 - 1) / 3 x 100; Q2: mean 2, turned round: 100 - 100/3.
    assert unit.questions["Q1"]["score"] == pytest.approx(200 / 3)
    assert unit.questions["Q2"]["score"] == pytest.approx(100 - 100 / 3)
    assert unit.questions["Q3"]["score"] == pytest.approx(80.0)
    assert unit.indicators == {"Trivsel": pytest.approx(200 / 3)}  # Q3 belongs to no indicator


# --- zero tolerance --------------------------------------------------------------------------


def test_zero_tolerance_publishes_statements_about_everyone_below_never_a_mean(
    ctx: Flask,
) -> None:
    lines = [
        # P has rows of its own (25 in all, 4 hits) and a child C (12, 1 hit).
        answers("P", "", "KA-1", [21, 3, 1]),
        answers("P", "", "PT-1", [0, 0, 5, 15, 5]),
        answers("C", "P", "KA-1", [11, 1, 0]),
        answers("C", "P", "PT-1", [0, 0, 2, 8, 2]),
    ]
    figures = stored(load(lines))
    p, c = figures["P"], figures["C"]
    assert shown_codes(figures) == {"P", "C"}
    # P: 4 hits in all (its own 3 and C's 1). C's 1 is "fewer than 3"; a number at P would
    # turn C's "fewer than 3" into a bound on P's own group, so P says "at least 3".
    assert p.questions["KA-1"]["zk"] == "at_least" and p.questions["KA-1"]["zt"] is None
    assert c.questions["KA-1"]["zk"] == "few" and c.questions["KA-1"]["zt"] is None
    assert p.questions["KA-1"]["za"] is True  # P's own group has hits
    assert c.questions["KA-1"]["za"] is True
    for unit in (p, c):
        entry = unit.questions["KA-1"]
        assert entry["c"] is None and entry["mean"] is None and entry["score"] is None
        assert entry["dk"] is None and "zp" not in entry
        assert KA not in unit.indicators  # no score for a zero-tolerance theme, ever
        assert unit.zero_tolerance_hits == 1


def test_hits_of_a_hidden_unit_count_at_the_nearest_unit_showing_the_question(ctx: Flask) -> None:
    lines = [
        declare("P"),
        team("P-1", "P", 12, ("PT-1", "KA-1")),
        team("P-2", "P", 10, ("PT-1", "KA-1")),
        team("P-3", "P", 3, ("PT-1",)) + [answers("P-3", "P", "KA-1", [1, 2, 0])],
    ]
    figures = stored(load(lines))
    # P-3 is under t, P-2 goes as well (P's residual would be 3).
    assert shown_codes(figures) == {"P", "P-1"}
    assert figures["P"].questions["KA-1"]["zk"] == "few"
    assert figures["P"].questions["KA-1"]["za"] is True
    assert figures["P"].zero_tolerance_hits == 1
    # P-1's "everyone answered no" is true for P-1 and everything below it.
    assert figures["P-1"].questions["KA-1"]["zk"] == "none"
    assert figures["P-1"].questions["KA-1"]["zt"] == 0
    assert figures["P-1"].zero_tolerance_hits == 0


def test_a_unit_hiding_a_zero_tolerance_question_carries_no_mark(ctx: Flask) -> None:
    lines = [
        declare("R"),
        # S: 7 respondents (shown), 2 hits in KA-1, none in KA-2: under the sensitive
        # threshold of 10, so both questions are hidden at S.
        team("S", "R", 7, ("PT-1", "KA-2")) + [answers("S", "R", "KA-1", [5, 2, 0])],
        # T: 20 respondents, 3 hits; its KA-1 and KA-2 go too (R's minus T's would be S's).
        team("T", "R", 20, ("PT-1", "KA-2")) + [answers("T", "R", "KA-1", [17, 2, 1])],
    ]
    figures = stored(load(lines))
    assert shown_codes(figures) == {"R", "S", "T"}
    s, t, root = figures["S"], figures["T"], figures["R"]
    assert s.hidden_questions == {"KA-1": "below_sensitive_threshold",
                                  "KA-2": "below_sensitive_threshold"}  # fmt: skip
    assert t.hidden_questions == {"KA-1": "secondary", "KA-2": "secondary"}
    # No entry, no mark, no alert where the question is hidden: a mark on S alone would say
    # which small group the hits are in.
    for unit in (s, t):
        assert "KA-1" not in unit.questions and "KA-2" not in unit.questions
        assert unit.zero_tolerance_hits == 0
    # R says it for everyone: 5 hits in KA-1 (S's 2 and T's 3), none in KA-2, and raises the
    # alert, as its own residual group (S and T together) has the hits.
    assert root.questions["KA-1"]["zk"] == "exact" and root.questions["KA-1"]["zt"] == 5
    assert root.questions["KA-1"]["za"] is True
    assert root.questions["KA-2"]["zk"] == "none"
    assert root.zero_tolerance_hits == 1


# --- a failing audit blocks everything -----------------------------------------------------


def test_a_failing_audit_blocks_the_measurement(app: Flask, monkeypatch) -> None:
    violation = "I2: unit 'D' has residual 3 (threshold 5)"
    monkeypatch.setattr(release_domain, "audit_release", lambda *args, **kwargs: [violation])
    with app.app_context():
        measurement = load(WORKED_EXAMPLES["department of 17"][0])
        assert measurement.anonymity_ok is False
        assert measurement.anonymity_problems == [violation]
        assert db.session.scalar(select(func.count()).select_from(UnitFigures)) == 0
        assert results_service.measurements_with_figures(db.session) == []
        assert results_service.previous_measurement(db.session, measurement) is None
        assert export.results_document(db.session, Access(0, is_admin=True), measurement) == []
        blocked = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "figures.blocked")
        ).all()
        assert blocked == ["figures.blocked"]

    result = app.test_cli_runner().invoke(
        args=["kompas", "export-results", "--measurement", "APV 2025"]
    )
    assert result.exit_code != 0
    assert "anonymity audit" in result.output
    assert '"shown"' not in result.output


def test_a_failing_reimport_removes_the_earlier_figures(app: Flask, monkeypatch) -> None:
    with app.app_context():
        measurement = load(WORKED_EXAMPLES["department of 17"][0])
        assert measurement.anonymity_ok is True
        assert db.session.scalar(select(func.count()).select_from(UnitFigures)) == 4
        monkeypatch.setattr(release_domain, "audit_release", lambda *args, **kwargs: ["I1: broken"])
        measurement = load(WORKED_EXAMPLES["department of 17"][0])
        assert measurement.anonymity_ok is False
        assert db.session.scalar(select(func.count()).select_from(UnitFigures)) == 0
        assert results_service.measurements_with_figures(db.session) == []

"""The release (issue 15): what every channel may publish, checked against exact oracles.

- :func:`pinned_counts` against brute-force enumeration of every consistent assignment.
- Random trees with a zero-tolerance question, "don't know", units with rows of their own and
  units without: the release's audit passes, and an exact rational linear-algebra oracle over
  *every number the stored rows publish* finds no figure of a group under the threshold (the
  sensitive threshold for zero tolerance), and no hit count of 1 or 2.
- The leaks of issue 15, as worked examples.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import release
from app.domain.anonymity import suppress
from app.domain.release import (
    QuestionInfo,
    ReleaseRules,
    Statement,
    UnitRelease,
    build_release,
    pinned_counts,
)
from app.domain.scoring import QuestionCounts, RawUnit, roll_up, unit_counts
from tests.domain.test_anonymity import _reduce, _rref

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

QUESTIONS = [
    QuestionInfo("Q", "Trivsel", 3, "higher_better", False),
    QuestionInfo("R", "Trivsel", 3, "higher_better", False),
    QuestionInfo("Z", "Krænkende adfærd", 3, "lower_better", True),
]


# --------------------------------------------------------------------------- pinned counts


def brute_force_pins(
    order: Sequence[str],
    parent: Mapping[str, str | None],
    total: Mapping[str, tuple[int, int]],
    residual: Mapping[str, tuple[int, int]],
) -> set[tuple[str, str, int]]:
    """Every assignment of residual hits within their intervals; keep those whose totals
    satisfy every statement; a quantity is pinned when it takes one value in 1..2."""
    children: dict[str, list[str]] = {u: [] for u in order}
    for unit in order:
        if parent[unit] is not None:
            children[parent[unit]].append(unit)  # type: ignore[index]
    seen_total: dict[str, set[int]] = {u: set() for u in order}
    seen_residual: dict[str, set[int]] = {u: set() for u in order}
    ranges = [range(residual[u][0], residual[u][1] + 1) for u in order]
    for values in itertools.product(*ranges):
        own = dict(zip(order, values, strict=True))
        totals: dict[str, int] = {}
        for unit in reversed(order):
            totals[unit] = own[unit] + sum(totals[k] for k in children[unit])
        if all(total[u][0] <= totals[u] <= total[u][1] for u in order):
            for unit in order:
                seen_total[unit].add(totals[unit])
                seen_residual[unit].add(own[unit])
    if any(not values for values in seen_total.values()):
        return {("contradiction",)}  # type: ignore[arg-type]
    pins = set()
    for unit in order:
        for what, seen in (("total", seen_total[unit]), ("residual", seen_residual[unit])):
            if len(seen) == 1 and 0 < min(seen) < 3:
                pins.add((unit, what, min(seen)))
    return pins


@st.composite
def interval_trees(draw: st.DrawFn) -> tuple:
    size = draw(st.integers(1, 5))
    order = [f"u{i}" for i in range(size)]
    parent: dict[str, str | None] = {"u0": None}
    for i in range(1, size):
        parent[order[i]] = order[draw(st.integers(0, i - 1))]
    truth = {u: draw(st.integers(0, 4)) for u in order}
    children: dict[str, list[str]] = {u: [] for u in order}
    for unit in order[1:]:
        children[parent[unit]].append(unit)  # type: ignore[index]
    totals: dict[str, int] = {}
    for unit in reversed(order):
        totals[unit] = truth[unit] + sum(totals[k] for k in children[unit])
    total, residual = {}, {}
    for unit in order:
        cap = totals[unit] + draw(st.integers(0, 3))
        kind = draw(st.sampled_from(["none", "few", "exact", "at_least", "withheld"]))
        statement = {
            "none": Statement("none", 0),
            "few": Statement("few"),
            "exact": Statement("exact", totals[unit]),
            "at_least": Statement("at_least"),
            "withheld": Statement("withheld"),
        }[kind]
        low, high = statement.interval(cap)
        if not low <= totals[unit] <= high:  # keep statements true
            low, high = 0, cap
        total[unit] = (low, high)
        own_cap = truth[unit] + draw(st.integers(0, 2))
        residual[unit] = (1, own_cap) if truth[unit] > 0 else (0, 0)
    return order, parent, total, residual


@FAST
@given(interval_trees())
def test_pinned_counts_are_exactly_what_brute_force_finds(case: tuple) -> None:
    order, parent, total, residual = case
    assert set(pinned_counts(order, parent, total, residual)) == brute_force_pins(
        order, parent, total, residual
    )


def test_fewer_than_3_at_a_parent_and_both_children_pins_them_to_one() -> None:
    order, parent = ["P", "A", "B"], {"P": None, "A": "P", "B": "P"}
    few, alert, no_alert = (1, 2), (1, 10), (0, 0)
    total = {"P": few, "A": few, "B": few}
    pins = pinned_counts(order, parent, total, {"P": no_alert, "A": alert, "B": alert})
    assert ("A", "total", 1) in pins and ("B", "total", 1) in pins


# --------------------------------------------------------------------------- random releases


@dataclass(frozen=True)
class Org:
    """Each unit's direct members' answers: per question a distribution over 3 options and
    "don't know"; units without direct members have no rows in the file."""

    parent: dict[str, str | None]
    own: dict[str, dict[str, tuple[int, int, int, int]]]  # unit -> question -> (n1, n2, n3, dk)
    threshold: int
    sensitive_threshold: int

    @property
    def ids(self) -> list[str]:
        return sorted(self.parent)

    def subtree(self, root: str) -> list[str]:
        found, stack = [], [root]
        while stack:
            unit = stack.pop()
            found.append(unit)
            stack.extend(u for u, p in self.parent.items() if p == unit)
        return found

    def members(self, unit: str) -> int:
        return max((sum(c) for c in self.own[unit].values()), default=0)

    def raw(self) -> dict[str, RawUnit]:
        """The file: a unit with direct members has rows, which are totals of its subtree."""
        raw = {}
        for unit in self.ids:
            if not self.members(unit):
                raw[unit] = RawUnit(self.parent[unit], False)
                continue
            questions = {}
            for question in ("Q", "R", "Z"):
                sums = [0, 0, 0, 0]
                for member in self.subtree(unit):
                    for i, value in enumerate(self.own[member][question]):
                        sums[i] += value
                questions[question] = QuestionCounts.from_distribution(sums[:3], sums[3])
            respondents = sum(self.members(u) for u in self.subtree(unit))
            raw[unit] = RawUnit(self.parent[unit], True, questions, respondents)
        return raw


@st.composite
def orgs(draw: st.DrawFn, max_units: int = 6) -> Org:
    size = draw(st.integers(1, max_units))
    ids = [f"u{i}" for i in range(size)]
    parent: dict[str, str | None] = {"u0": None}
    for i in range(1, size):
        parent[ids[i]] = ids[draw(st.integers(0, i - 1))]
    is_parent = {p for p in parent.values() if p is not None}
    own = {}
    for unit in ids:
        members = draw(st.integers(0 if unit in is_parent else 1, 9))
        answers = {}
        for question in ("Q", "R", "Z"):
            dk = draw(st.integers(0, min(2, members)))
            rest = members - dk
            if question == "Z":  # hits are rare: mostly "no"
                n2 = draw(st.integers(0, min(2, rest)))
                n3 = draw(st.integers(0, min(1, rest - n2)))
                answers[question] = (rest - n2 - n3, n2, n3, dk)
            else:
                n1 = draw(st.integers(0, rest))
                n2 = draw(st.integers(0, rest - n1))
                answers[question] = (n1, n2, rest - n1 - n2, dk)
        own[unit] = answers
    threshold = draw(st.sampled_from([3, 4]))
    return Org(parent, own, threshold, threshold + draw(st.integers(0, 3)))


def release_of(org: Org) -> dict[str, UnitRelease]:
    rules = ReleaseRules(threshold=org.threshold, sensitive_threshold=org.sensitive_threshold)
    release = build_release(roll_up(org.raw()), QUESTIONS, rules)
    assert release.problems == []
    return release.units


def determined_small_figures(org: Org, units: Mapping[str, UnitRelease]) -> list[str]:
    """Every published number as an equation over the true counts; what follows for a group
    of units' direct members that is under the threshold.

    Unknowns per unit's direct members: respondents, and per question the count of each option
    and of "don't know". Each published figure at a unit is the sum of the unknowns over its
    subtree: respondents; per question distribution, answers (n), "don't know", mean x n (the
    weighted sum, from mean and n); for zero tolerance the answers and a number of hits where
    one is printed ("none" is 0 hits). Scores and indicators are functions of these. Known
    structure: a unit without direct members has zeros. A figure of a group is determined iff
    its vector lies in the row space (exact Fraction arithmetic).
    """
    ids = org.ids
    atoms = {u: i for i, u in enumerate(ids)}
    # columns: per atom: respondents, then per question (n1, n2, n3, dk)
    width = 1 + 4 * 3
    qcol = {"Q": 1, "R": 5, "Z": 9}

    def vector(members: Sequence[str], offsets: Mapping[int, int]) -> list[Fraction]:
        row = [Fraction(0)] * (width * len(ids))
        for member in members:
            for offset, weight in offsets.items():
                row[atoms[member] * width + offset] = Fraction(weight)
        return row

    rows: list[list[Fraction]] = []
    for unit in ids:
        if not org.members(unit):
            for offset in range(width):
                rows.append(vector([unit], {offset: 1}))
    for code, row in units.items():
        if not row.shown:
            continue
        below = org.subtree(code)
        rows.append(vector(below, {0: 1}))
        for question, entry in row.questions.items():
            base = qcol[question]
            if entry.get("c") is not None:
                for option in range(3):
                    rows.append(vector(below, {base + option: 1}))
            if entry.get("n") is not None:
                rows.append(vector(below, {base: 1, base + 1: 1, base + 2: 1}))
            if entry.get("dk") is not None:
                rows.append(vector(below, {base + 3: 1}))
            if entry.get("mean") is not None:
                rows.append(vector(below, {base: 1, base + 1: 2, base + 2: 3}))
            if entry.get("zt") is not None:
                rows.append(vector(below, {base + 1: 1, base + 2: 1}))
    basis = _rref(rows)

    def determined(group: Sequence[str], offsets: Mapping[int, int]) -> bool:
        return all(x == 0 for x in _reduce(vector(group, offsets), basis))

    found = []
    for size in range(1, len(ids) + 1):
        for group in itertools.combinations(ids, size):
            people = sum(org.members(u) for u in group)
            if 0 < people < org.threshold and determined(group, {0: 1}):
                found.append(f"respondents of {group}")
            for question, base in qcol.items():
                limit = org.sensitive_threshold if question == "Z" else org.threshold
                answers = sum(sum(org.own[u][question][:3]) for u in group)
                if 0 < answers < limit:
                    for option in range(3):
                        if determined(group, {base + option: 1}):
                            found.append(f"{question} option {option + 1} of {group}")
                    if determined(group, {base: 1, base + 1: 2, base + 2: 3}):
                        found.append(f"{question} weighted sum of {group}")
                if question == "Z":
                    hits = sum(org.own[u]["Z"][1] + org.own[u]["Z"][2] for u in group)
                    if 0 < hits < 3 and determined(group, {base + 1: 1, base + 2: 1}):
                        found.append(f"{hits} hit(s) of {group}")
    return found


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orgs())
def test_no_published_number_determines_a_small_groups_figure(org: Org) -> None:
    units = release_of(org)
    assert determined_small_figures(org, units) == []


@FAST
@given(orgs())
def test_zero_tolerance_publishes_no_mean_and_no_count_of_one_or_two(org: Org) -> None:
    units = release_of(org)
    for row in units.values():
        entry = row.questions.get("Z")
        if entry is None:
            continue
        assert entry["mean"] is None and entry["score"] is None and entry["c"] is None
        assert entry["zt"] is None or entry["zt"] == 0 or entry["zt"] >= 3
        assert "Krænkende adfærd" not in row.indicators


@FAST
@given(orgs())
def test_everyone_answered_no_only_where_true_below_as_well(org: Org) -> None:
    units = release_of(org)
    for code, row in units.items():
        entry = row.questions.get("Z")
        if entry is not None and entry["zk"] == "none":
            assert all(org.own[u]["Z"][1] + org.own[u]["Z"][2] == 0 for u in org.subtree(code))


@FAST
@given(orgs())
def test_every_hit_raises_exactly_one_alert_at_a_unit_showing_the_question(org: Org) -> None:
    units = release_of(org)
    alerted = {code for code, row in units.items() if row.questions.get("Z", {}).get("za")}
    for unit in org.ids:
        if org.own[unit]["Z"][1] + org.own[unit]["Z"][2] == 0:
            continue
        # The nearest unit at or above it that shows the question has the alert.
        node: str | None = unit
        while node is not None and "Z" not in units[node].questions:
            node = org.parent[node]
        if node is not None:
            assert node in alerted
    for code in alerted:
        assert "Z" in units[code].questions


# --------------------------------------------------------------------------- worked examples


def org_of(parent: dict[str, str | None], own: dict[str, tuple[int, ...]], **kw: int) -> Org:
    """Every unit answers Q and R with `n` on option 3; Z as given (n1, n2, n3)."""
    full = {}
    for unit, z in own.items():
        n = sum(z)
        full[unit] = {"Q": (0, 0, n, 0), "R": (0, 0, n, 0), "Z": (*z, 0)}
    return Org(parent, full, kw.get("t", 5), kw.get("s", 10))  # type: ignore[arg-type]


def test_leak_1_no_weighted_sum_of_a_zero_tolerance_question() -> None:
    # A department of 31 (26 direct members), its team T007 of 5 with one hit: the team hides
    # the question (under 10), and nothing published lets anyone compute its hits.
    org = org_of({"D": None, "T": "D"}, {"D": (26, 0, 0), "T": (4, 1, 0)})
    units = release_of(org)
    assert units["D"].questions["Z"]["mean"] is None
    assert "Z" not in units["T"].questions and units["T"].zero_tolerance_hits == 0
    assert units["D"].questions["Z"]["zk"] == "few"  # 1 hit in all: "fewer than 3"
    assert determined_small_figures(org, units) == []


def test_leak_3_no_false_all_clear() -> None:
    org = org_of(
        {"D": None, "T": "D", "U": "D"}, {"D": (12, 0, 0), "T": (4, 1, 0), "U": (12, 0, 0)}
    )
    units = release_of(org)
    assert units["D"].questions["Z"]["zk"] != "none"  # T reported a case
    assert units["U"].questions["Z"]["zk"] == "none"


def test_leak_4_fewer_than_3_is_never_pinned_by_a_parents_number() -> None:
    # Parent: 4 hits in all, both children "fewer than 3" with none of the parent's own:
    # printing 4 would pin both children to 2.
    org = org_of(
        {"P": None, "A": "P", "B": "P"},
        {"P": (0, 0, 0), "A": (10, 2, 0), "B": (10, 1, 1)},
        t=5,
        s=10,
    )
    units = release_of(org)
    assert units["A"].questions["Z"]["zk"] == "few" and units["B"].questions["Z"]["zk"] == "few"
    assert units["P"].questions["Z"]["zk"] == "at_least"
    assert units["P"].questions["Z"]["zt"] is None


def test_leak_5_a_hidden_question_blanks_only_itself() -> None:
    org = org_of({"C": None}, {"C": (13, 0, 0)}, t=5, s=14)
    units = release_of(org)
    row = units["C"]
    assert "Z" not in row.questions  # 13 < 14
    assert row.indicators["Trivsel"] == pytest.approx(100.0)
    assert row.overall_score == pytest.approx(100.0)


def question_figures(org: Org) -> release._QuestionFigures:
    """The zero-tolerance question's tree of units showing it, as the release sees it."""
    counts = unit_counts(roll_up(org.raw()), {"Z"})
    suppression = suppress(
        counts,
        threshold=org.threshold,
        sensitive_threshold=org.sensitive_threshold,
        zero_tolerance_questions={"Z"},
    )
    forest = release._forest(counts)
    showing = ["Z" in u.zt_hits and suppression.is_question_shown(u.id, "Z") for u in forest.units]
    return release._question_figures(forest, showing, "Z")


@FAST
@given(orgs(max_units=8))
def test_the_statement_rules_pin_nothing_without_the_safety_net(org: Org) -> None:
    figures = question_figures(org)
    said = release._statements(figures)
    alerted = [own > 0 for own in figures.own]
    assert release._pins(figures.tree.parent, *release._intervals(figures, said, alerted)) == []


@FAST
@given(orgs(max_units=8))
def test_the_safety_net_repairs_naive_statements(org: Org) -> None:
    """Numbers printed wherever the count is 3 or more, "fewer than 3" wherever it is 1 or 2:
    the repair weakens them until nothing is pinned (the audit's last line of defence)."""
    figures = question_figures(org)
    said = [release.statement_for(hits) for hits in figures.hits]
    release._weaken_until_nothing_is_pinned(figures, said)
    alerted = [own > 0 for own in figures.own]
    assert release._pins(figures.tree.parent, *release._intervals(figures, said, alerted)) == []
    for statement, hits in zip(said, figures.hits, strict=True):
        low, high = statement.interval(10**6)
        assert low <= hits <= high

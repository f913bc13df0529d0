"""Anonymity engine (issue 5): invariants on random trees, an exact oracle, worked examples."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.anonymity import Suppression, UnitCounts, audit, suppress

QUESTIONS = ("Q1", "Q2", "ZT")
ZT = frozenset({"ZT"})
FAST = settings(max_examples=100, deadline=None)


# --------------------------------------------------------------------------- random trees


@dataclass(frozen=True)
class Case:
    """A consistent random forest: every count is a unit's own members plus its children's."""

    units: list[UnitCounts]
    own_members: dict[str, int]  # direct members (0 for a unit without rows of its own)
    has_direct_members: dict[str, bool]  # structure: whether the unit may have direct members
    threshold: int
    sensitive_threshold: int

    @property
    def by_id(self) -> dict[str, UnitCounts]:
        return {u.id: u for u in self.units}

    @property
    def children(self) -> dict[str, list[str]]:
        kids: dict[str, list[str]] = {u.id: [] for u in self.units}
        for u in self.units:
            if u.parent is not None:
                kids[u.parent].append(u.id)
        return kids

    def run(self, units: Sequence[UnitCounts] | None = None, **extra: object) -> Suppression:
        return suppress(
            self.units if units is None else units,
            threshold=self.threshold,
            sensitive_threshold=self.sensitive_threshold,
            zero_tolerance_questions=ZT,
            **extra,  # type: ignore[arg-type]
        )

    def audit(self, result: Suppression) -> list[str]:
        return audit(
            self.units,
            result,
            threshold=self.threshold,
            sensitive_threshold=self.sensitive_threshold,
            zero_tolerance_questions=ZT,
        )


@st.composite
def cases(
    draw: st.DrawFn,
    max_units: int = 40,
    max_depth: int = 5,
    max_members: int = 40,
    min_units: int = 0,
) -> Case:
    count = draw(st.integers(min_units, max_units))
    depth_limit = draw(st.integers(1, max_depth))  # levels below the roots
    with_direct_members = draw(st.booleans())
    threshold = draw(st.integers(3, 6))
    sensitive_threshold = draw(st.integers(threshold, threshold + 6))
    # Ids independent of creation order, so id order is exercised.
    names = draw(st.permutations(range(count)))
    ids = [f"u{name:02d}" for name in names]
    rng = draw(st.randoms(use_true_random=False))

    parent: list[int | None] = []
    depth: list[int] = []
    for i in range(count):
        eligible = [j for j in range(i) if depth[j] < depth_limit]
        if not eligible or (i > 0 and rng.random() < 0.05):  # now and then a second root
            parent.append(None)
            depth.append(0)
        else:
            p = draw(st.sampled_from(eligible)) if i < 12 else rng.choice(eligible)
            parent.append(p)
            depth.append(depth[p] + 1)
    is_parent = {p for p in parent if p is not None}

    own: list[int] = []
    direct_allowed: list[bool] = []
    for i in range(count):
        allowed = i not in is_parent or (with_direct_members and rng.random() < 0.5)
        direct_allowed.append(allowed)
        # Sizes 0..40, with small groups (the interesting ones) drawn often.
        size = st.one_of(st.integers(0, 8), st.integers(0, max_members))
        own.append(draw(size) if allowed else 0)

    # Per member group: answers on the scale (some skip or say "don't know"), and hits.
    own_answers = []
    own_hits = []
    for i in range(count):
        answers = {}
        for q in QUESTIONS:
            missing = rng.choice([0, 0, 0, 1, 2, rng.randint(0, own[i])])
            answers[q] = max(0, own[i] - missing)
        own_answers.append(answers)
        own_hits.append({"ZT": rng.randint(0, answers["ZT"]) if rng.random() < 0.6 else 0})

    total_n = list(own)
    total_answers = [dict(a) for a in own_answers]
    total_hits = [dict(h) for h in own_hits]
    for i in reversed(range(count)):  # a child is always created after its parent
        p = parent[i]
        if p is not None:
            total_n[p] += total_n[i]
            for q in QUESTIONS:
                total_answers[p][q] += total_answers[i][q]
            total_hits[p]["ZT"] += total_hits[i]["ZT"]

    # A question nobody at a unit answered may be absent from its data altogether.
    for i in range(count):
        for q in QUESTIONS:
            if total_answers[i][q] == 0 and rng.random() < 0.5:
                del total_answers[i][q]
                if q in total_hits[i]:
                    del total_hits[i][q]
    units = [
        UnitCounts(
            id=ids[i],
            parent=None if parent[i] is None else ids[parent[i]],  # type: ignore[index]
            respondents=total_n[i],
            answers=total_answers[i],
            zt_hits=total_hits[i],
        )
        for i in range(count)
    ]
    rng.shuffle(units)
    return Case(
        units=units,
        own_members={ids[i]: own[i] for i in range(count)},
        has_direct_members={ids[i]: direct_allowed[i] for i in range(count)},
        threshold=threshold,
        sensitive_threshold=sensitive_threshold,
    )


# --------------------------------------------------------------------------- naive checks
# A third, deliberately plain implementation: frontiers straight from the definition.


def frontier(uid: str, children: Mapping[str, list[str]], shown: Collection[str]) -> list[str]:
    found = []
    for child in children[uid]:
        found.extend([child] if child in shown else frontier(child, children, shown))
    return found


def residual(
    uid: str,
    children: Mapping[str, list[str]],
    shown: Collection[str],
    value: Callable[[str], int],
) -> int:
    return value(uid) - sum(value(f) for f in frontier(uid, children, shown))


def invariant_failures(
    case: Case, shown: Collection[str], value: Callable[[str], int], limit: int
) -> list[str]:
    failures = []
    for uid in shown:
        if value(uid) < limit:
            failures.append(f"I1 {uid}")
        r = residual(uid, case.children, shown, value)
        if r != 0 and r < limit:
            failures.append(f"I2 {uid} r={r}")
    return failures


def question_shown_units(case: Case, result: Suppression, question: str) -> set[str]:
    return {
        u.id
        for u in case.units
        if u.id in result.shown
        and question in u.answers
        and result.is_question_shown(u.id, question)
    }


def roots(case: Case) -> list[str]:
    return [u.id for u in case.units if u.parent is None]


def subtree(uid: str, children: Mapping[str, list[str]]) -> list[str]:
    found = [uid]
    for child in children[uid]:
        found.extend(subtree(child, children))
    return found


# --------------------------------------------------------------------------- properties


@FAST
@given(cases())
def test_unit_invariants_hold_and_audit_agrees(case: Case) -> None:
    result = case.run()
    by_id = case.by_id

    def respondents(uid: str) -> int:
        return by_id[uid].respondents

    assert invariant_failures(case, result.shown, respondents, case.threshold) == []
    assert case.audit(result) == []
    assert result.shown.isdisjoint(result.hidden)
    assert result.shown | result.hidden.keys() == by_id.keys()
    for uid in result.shown:
        assert result.residual[uid] == residual(
            uid, case.children, result.shown, lambda u: by_id[u].respondents
        )


@FAST
@given(cases())
def test_per_question_invariants_hold(case: Case) -> None:
    result = case.run()
    by_id = case.by_id
    for question in QUESTIONS:
        shown_q = question_shown_units(case, result, question)
        assert shown_q <= result.shown
        limit = case.sensitive_threshold if question in ZT else case.threshold

        def answers(uid: str, q: str = question) -> int:
            return by_id[uid].answers.get(q, 0)

        assert invariant_failures(case, shown_q, answers, limit) == []
        if question in ZT:
            assert all(by_id[u].respondents >= case.sensitive_threshold for u in shown_q)


@FAST
@given(cases())
def test_every_unit_under_threshold_stays_hidden(case: Case) -> None:
    result = case.run()
    for unit in case.units:
        if unit.respondents < case.threshold:
            assert unit.id not in result.shown
            assert result.hidden[unit.id] == "below_threshold"
        else:
            assert result.hidden.get(unit.id) in (None, "secondary")


@FAST
@given(cases())
def test_residual_groups_partition_each_shown_root(case: Case) -> None:
    result = case.run()
    children = case.children
    by_id = case.by_id
    for root in roots(case):
        members = subtree(root, children)
        shown_here = [u for u in members if u in result.shown]
        if root not in result.shown:
            # Consistent counts: nothing below a root under the threshold can be shown.
            assert shown_here == []
            continue
        assert sum(result.residual[u] for u in shown_here) == by_id[root].respondents
        assert all(result.residual[u] >= 0 for u in shown_here)


@FAST
@given(cases(), st.randoms(use_true_random=False))
def test_same_result_for_any_input_order(case: Case, rng: random.Random) -> None:
    shuffled = list(case.units)
    rng.shuffle(shuffled)
    assert case.run(shuffled) == case.run(list(reversed(case.units)))


@FAST
@given(cases())
def test_running_again_on_its_output_changes_nothing(case: Case) -> None:
    first = case.run()
    second = case.run(
        hide_units=first.hidden.keys(),
        hide_questions={u: q.keys() for u, q in first.hidden_questions.items()},
    )
    assert second.shown == first.shown
    assert second.hidden.keys() == first.hidden.keys()
    assert second.residual == first.residual
    assert {u: q.keys() for u, q in second.hidden_questions.items()} == {
        u: q.keys() for u, q in first.hidden_questions.items()
    }


# --------------------------------------------------------------------------- exact oracle


def _rref(rows: list[list[Fraction]]) -> list[tuple[int, list[Fraction]]]:
    """Reduced row echelon basis of the rows' span, as (pivot column, row)."""
    basis: list[tuple[int, list[Fraction]]] = []
    for original in rows:
        row = _reduce(list(original), basis)
        pivot = next((c for c, x in enumerate(row) if x != 0), None)
        if pivot is None:
            continue
        row = [x / row[pivot] for x in row]
        basis = [(p, [a - b[pivot] * r for a, r in zip(b, row, strict=True)]) for p, b in basis]
        basis.append((pivot, row))
    return basis


def _reduce(vector: list[Fraction], basis: list[tuple[int, list[Fraction]]]) -> list[Fraction]:
    for pivot, row in basis:
        if vector[pivot] != 0:
            factor = vector[pivot]
            vector = [a - factor * r for a, r in zip(vector, row, strict=True)]
    return vector


def derivable_small_groups(case: Case, shown: Collection[str]) -> list[tuple[str, ...]]:
    """Groups of direct-member sets whose size follows from the published totals and is in (0, t).

    Unknowns: each unit's direct members. Published: n(A) for every shown A (the sum of the
    unknowns in its subtree) and, as public structure, 0 for units that have no direct members.
    A group's size is derivable iff its indicator vector lies in the row space (exact rank test).
    """
    ids = sorted(case.by_id)
    column = {uid: c for c, uid in enumerate(ids)}
    children = case.children
    rows: list[list[Fraction]] = []
    for uid in shown:
        row = [Fraction(0)] * len(ids)
        for member in subtree(uid, children):
            row[column[member]] = Fraction(1)
        rows.append(row)
    for uid in ids:
        if not case.has_direct_members[uid]:
            row = [Fraction(0)] * len(ids)
            row[column[uid]] = Fraction(1)
            rows.append(row)
    basis = _rref(rows)
    small = []
    for size in range(1, len(ids) + 1):
        for group in combinations(ids, size):
            people = sum(case.own_members[u] for u in group)
            if not 0 < people < case.threshold:
                continue
            indicator = [Fraction(1 if uid in group else 0) for uid in ids]
            if all(x == 0 for x in _reduce(indicator, basis)):
                small.append(group)
    return small


@FAST
@given(cases(max_units=9, max_members=12, min_units=3), st.data())
def test_i2_agrees_with_exact_linear_algebra_oracle(case: Case, data: st.DataObject) -> None:
    by_id = case.by_id
    big_enough = sorted(u for u in by_id if by_id[u].respondents >= case.threshold)
    kind = data.draw(st.sampled_from(["all big enough", "any", "near miss"]))
    if kind == "all big enough":  # the release before secondary suppression: often unsafe
        shown = set(big_enough)
    elif kind == "any":
        shown = data.draw(st.sets(st.sampled_from(big_enough)) if big_enough else st.just(set()))
    else:  # the engine's release with some secondarily hidden units shown again
        result = case.run()
        secondary = sorted(u for u, why in result.hidden.items() if why == "secondary")
        shown = set(result.shown)
        if secondary:
            shown |= data.draw(st.sets(st.sampled_from(secondary), min_size=1))
    i2_holds = not invariant_failures(case, shown, lambda u: by_id[u].respondents, case.threshold)
    assert i2_holds == (derivable_small_groups(case, shown) == [])


@FAST
@given(cases(max_units=9, max_members=12))
def test_suppression_output_passes_the_oracle(case: Case) -> None:
    assert derivable_small_groups(case, case.run().shown) == []


# --------------------------------------------------------------------------- worked examples


def team_tree(top: str, size: int, teams: Mapping[str, int]) -> list[UnitCounts]:
    return [UnitCounts(top, None, size)] + [UnitCounts(t, top, n) for t, n in teams.items()]


def test_department_17_with_teams_8_6_3() -> None:
    units = team_tree("D", 17, {"T8": 8, "T6": 6, "T3": 3})
    result = suppress(units, threshold=5)
    # Team 3 is too small; 17 - 8 - 6 = 3 would expose it, so the next smallest team goes too.
    assert result.shown == {"D", "T8"}
    assert result.hidden == {"T3": "below_threshold", "T6": "secondary"}
    assert result.residual == {"D": 9, "T8": 8}
    assert audit(units, result, threshold=5) == []


def test_department_20_with_teams_12_5_2_1() -> None:
    units = team_tree("D", 20, {"T12": 12, "T5": 5, "T2": 2, "T1": 1})
    result = suppress(units, threshold=5)
    # Teams 2 and 1 together are 3 people: team 5 is hidden with them.
    assert result.shown == {"D", "T12"}
    assert result.hidden == {"T1": "below_threshold", "T2": "below_threshold", "T5": "secondary"}
    assert result.residual == {"D": 8, "T12": 12}
    assert audit(units, result, threshold=5) == []


def test_workplace_12_with_2_direct_members_and_teams_5_and_5() -> None:
    units = team_tree("W", 12, {"A": 5, "B": 5})
    result = suppress(units, threshold=5)
    # The 2 direct members count as one more child; the teams tie on size, so the id decides.
    assert result.shown == {"W", "B"}
    assert result.hidden == {"A": "secondary"}
    assert result.residual == {"W": 7, "B": 5}
    assert audit(units, result, threshold=5) == []


def test_prefers_a_frontier_unit_with_residual_above_zero() -> None:
    # Residual of D is 3. X (6) has residual 0 (its only child shows 6), Y (7) has residual 7:
    # hiding X would add nothing, so Y goes although it is bigger.
    units = [
        UnitCounts("D", None, 16),
        UnitCounts("X", "D", 6),
        UnitCounts("X1", "X", 6),
        UnitCounts("Y", "D", 7),
    ]
    result = suppress(units, threshold=5)
    assert result.shown == {"D", "X", "X1"}
    assert result.residual["D"] == 10


def test_secondary_suppression_reaches_through_hidden_units() -> None:
    # D = 30: A (12) shown, B (18) with sub-teams 9 and 9 but B itself hidden on request.
    units = [
        UnitCounts("D", None, 30),
        UnitCounts("A", "D", 12),
        UnitCounts("B", "D", 18),
        UnitCounts("B1", "B", 9),
        UnitCounts("B2", "B", 9),
    ]
    assert suppress(units, threshold=5, hide_units={"B"}).shown == {"D", "A", "B1", "B2"}
    # Removing 2 people from B2 leaves D a residual of 2: hiding the smallest of its frontier
    # (B2, 7, reached through hidden B) repairs it.
    units[0] = UnitCounts("D", None, 30)
    units[4] = UnitCounts("B2", "B", 7)
    result = suppress(units, threshold=5, hide_units={"B"})
    assert result.shown == {"D", "A", "B1"}
    assert result.hidden == {"B": "requested", "B2": "secondary"}


def test_dont_know_cannot_shrink_a_hidden_group_to_one_answer() -> None:
    # All teams have 5+ respondents, but in T2 four said "don't know" to Q: its 1 valid answer
    # would follow from D minus T1. Q is hidden at T1 as well; the units stay shown.
    units = [
        UnitCounts("D", None, 17, answers={"Q": 12}),
        UnitCounts("T1", "D", 11, answers={"Q": 11}),
        UnitCounts("T2", "D", 6, answers={"Q": 1}),
    ]
    result = suppress(units, threshold=5)
    assert result.shown == {"D", "T1", "T2"}
    assert result.hidden_questions == {"T1": {"Q": "secondary"}, "T2": {"Q": "below_threshold"}}
    assert audit(units, result, threshold=5) == []


def test_zero_tolerance_uses_the_sensitive_threshold() -> None:
    units = [
        UnitCounts("D", None, 40, answers={"ZT": 40}, zt_hits={"ZT": 3}),
        UnitCounts("T1", "D", 8, answers={"ZT": 8}, zt_hits={"ZT": 2}),
        UnitCounts("T2", "D", 32, answers={"ZT": 32}, zt_hits={"ZT": 1}),
    ]
    result = suppress(units, threshold=5, sensitive_threshold=10, zero_tolerance_questions={"ZT"})
    assert result.shown == {"D", "T1", "T2"}
    # T1 is under 10: the question is hidden there (app.domain.release says nothing at T1).
    # T2 then goes too, or 40 - 32 would give T1's distribution.
    assert result.hidden_questions == {
        "T1": {"ZT": "below_sensitive_threshold"},
        "T2": {"ZT": "secondary"},
    }
    assert audit(units, result, threshold=5, zero_tolerance_questions={"ZT"}) == []


def test_inconsistent_parent_with_fewer_respondents_than_its_children() -> None:
    # Own rows say 10, the teams 6 + 6: the residual -2 fails I2. Hiding A makes it 4, still
    # under 5, so B goes as well.
    units = team_tree("W", 10, {"A": 6, "B": 6})
    result = suppress(units, threshold=5)
    assert result.shown == {"W"}
    assert result.residual == {"W": 10}
    assert audit(units, result, threshold=5) == []


def test_deep_chain_needs_no_recursion() -> None:
    depth = 5000
    units = [UnitCounts("c0000", None, depth + 10)]
    units += [UnitCounts(f"c{i:04d}", f"c{i - 1:04d}", depth + 10 - i) for i in range(1, depth)]
    result = suppress(units, threshold=5)
    assert audit(units, result, threshold=5) == []
    assert result.shown  # every residual is 1, so the chain is thinned out to safe steps


def test_deep_chain_of_question_repairs() -> None:
    # Every unit is shown (unit residuals 10), but each level adds one answer to Q: every
    # question residual is 1, so Q is thinned out level by level all the way up.
    depth = 5000
    units = [
        UnitCounts(
            f"c{i:04d}",
            None if i == 0 else f"c{i - 1:04d}",
            10 * (depth - i),
            answers={"Q": depth - i + 10},
        )
        for i in range(depth)
    ]
    result = suppress(units, threshold=5)
    assert len(result.shown) == depth
    assert result.is_question_shown("c0000", "Q")
    assert audit(units, result, threshold=5) == []


def test_empty_input() -> None:
    result = suppress([])
    assert result.shown == frozenset() and result.hidden == {}
    assert audit([], result) == []


@pytest.mark.parametrize(
    ("units", "message"),
    [
        ([UnitCounts("A", None, 5), UnitCounts("A", None, 6)], "duplicate"),
        ([UnitCounts("A", "X", 5)], "unknown parent"),
        ([UnitCounts("A", "B", 5), UnitCounts("B", "A", 5)], "cycle"),
    ],
)
def test_bad_trees_are_refused(units: list[UnitCounts], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        suppress(units)


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="minimum"):
        suppress([], threshold=2)
    with pytest.raises(ValueError, match="sensitive"):
        suppress([], threshold=6, sensitive_threshold=5)


# --------------------------------------------------------------------------- audit


def test_audit_catches_unsafe_releases() -> None:
    units = team_tree("D", 17, {"T8": 8, "T6": 6, "T3": 3})
    safe = suppress(units, threshold=5)
    secondary_shown = replace(
        safe,
        shown=safe.shown | {"T6"},
        hidden={"T3": "below_threshold"},
        residual={**safe.residual, "D": 3, "T6": 6},
    )
    assert any(v.startswith("I2") for v in audit(units, secondary_shown, threshold=5))
    small_shown = replace(safe, shown=safe.shown | {"T3"}, hidden={"T6": "secondary"})
    assert any(v.startswith("I1") for v in audit(units, small_shown, threshold=5))
    assert audit(units, safe, threshold=6) != []  # audited for other settings


def test_audit_checks_zero_tolerance_thresholds() -> None:
    units = [
        UnitCounts("D", None, 40, answers={"ZT": 40}, zt_hits={"ZT": 3}),
        UnitCounts("T1", "D", 8, answers={"ZT": 8}, zt_hits={"ZT": 2}),
        UnitCounts("T2", "D", 32, answers={"ZT": 32}, zt_hits={"ZT": 1}),
    ]
    settings = {"threshold": 5, "sensitive_threshold": 10, "zero_tolerance_questions": {"ZT"}}
    result = suppress(units, **settings)
    assert audit(units, result, **settings) == []
    distribution_shown = replace(result, hidden_questions={"T2": {"ZT": "secondary"}})
    assert audit(units, distribution_shown, **settings) == [
        "I1[ZT]: unit 'T1' shows it with 8 answers (< 10)",
        "I1[ZT]: unit 'T1' shows a zero-tolerance question with 8 respondents (< 10)",
        "I2[ZT]: unit 'T1' has residual 8 answers (< 10)",
    ]


@FAST
@given(cases(max_units=15), st.data())
def test_audit_agrees_with_the_definition_on_arbitrary_releases(
    case: Case, data: st.DataObject
) -> None:
    by_id = case.by_id
    ids = sorted(by_id)
    shown = data.draw(st.sets(st.sampled_from(ids)) if ids else st.just(set()))
    hidden_questions = {
        u: {q: "requested" for q in data.draw(st.sets(st.sampled_from(QUESTIONS)))}
        for u in sorted(shown)
    }
    release = Suppression(
        threshold=case.threshold,
        sensitive_threshold=case.sensitive_threshold,
        shown=frozenset(shown),
        hidden={u: "requested" for u in ids if u not in shown},
        residual={
            u: residual(u, case.children, shown, lambda x: by_id[x].respondents) for u in shown
        },
        hidden_questions=hidden_questions,  # type: ignore[arg-type]
    )
    violations = case.audit(release)
    unit_level = [v for v in violations if v.startswith(("I1:", "I2:"))]
    assert bool(unit_level) == bool(
        invariant_failures(case, shown, lambda u: by_id[u].respondents, case.threshold)
    )
    for question in QUESTIONS:
        shown_q = {
            u for u in shown if question not in hidden_questions[u] and question in by_id[u].answers
        }
        limit = case.sensitive_threshold if question in ZT else case.threshold

        def answers(uid: str, q: str = question) -> int:
            return by_id[uid].answers.get(q, 0)

        expected = invariant_failures(case, shown_q, answers, limit)
        if question in ZT:
            expected += [u for u in shown_q if by_id[u].respondents < case.sensitive_threshold]
        found = [v for v in violations if v.startswith((f"I1[{question}]", f"I2[{question}]"))]
        assert bool(found) == bool(expected)

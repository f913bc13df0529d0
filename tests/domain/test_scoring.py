"""Tests of scores, roll-up, response rate and traffic lights (spec: import-format.md, Scores)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.anonymity import suppress
from app.domain.scoring import (
    QuestionCounts,
    RawUnit,
    TrafficLightCutoffs,
    meets_response_mark,
    question_mean,
    question_score,
    response_rate,
    roll_up,
    score_from_mean,
    theme_score,
    traffic_light,
    unit_counts,
    zero_tolerance_hits,
)

FAST = settings(max_examples=100, deadline=None)


def dist(*counts: int, dont_know: int = 0) -> QuestionCounts:
    return QuestionCounts.from_distribution(counts, dont_know)


distributions = st.integers(2, 11).flatmap(
    lambda k: st.lists(st.integers(0, 50), min_size=k, max_size=k).filter(any)
)


# --------------------------------------------------------------------------- scores


def test_score_formula() -> None:
    assert question_score(dist(0, 0, 0, 0, 7), 5) == 100.0
    assert question_score(dist(7, 0, 0, 0, 0), 5) == 0.0
    # mean (1*1 + 3*2 + 5*1) / 4 = 3 on 1..5: (3 - 1) / 4 * 100
    assert question_score(dist(1, 0, 2, 0, 1), 5) == 50.0
    assert question_score(dist(1, 3), 2) == 75.0
    assert question_score(dist(1, 3), 2, "lower_better") == 25.0
    # k = 11: mean 6 is the middle.
    assert question_score(dist(0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0), 11) == 50.0


def test_dont_know_is_left_out_of_mean_and_score() -> None:
    counts = dist(0, 0, 0, 0, 2, dont_know=9)
    assert question_mean(counts) == 5
    assert question_score(counts, 5) == 100.0
    assert question_score(dist(0, 0, 0, 0, 0, dont_know=3), 5) is None


def test_mean_only_rows() -> None:
    counts = QuestionCounts.from_mean(10, 3.7)
    assert question_mean(counts) == Fraction(37, 10)
    assert question_score(counts, 5) == pytest.approx(67.5)
    combined = counts + dist(0, 0, 10, 0, 0)
    assert combined.distribution is None
    assert question_mean(combined) == Fraction(67, 20)
    assert zero_tolerance_hits(counts) is None


def test_scale_and_direction_are_checked() -> None:
    with pytest.raises(ValueError):
        question_score(dist(1, 2, 3), 5)
    with pytest.raises(ValueError):
        score_from_mean(3, 12)
    with pytest.raises(ValueError):
        score_from_mean(6, 5)
    with pytest.raises(ValueError):
        score_from_mean(3, 5, "sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        QuestionCounts.from_distribution([5])
    with pytest.raises(ValueError):
        QuestionCounts.from_distribution([1, -1])


@FAST
@given(distributions)
def test_score_is_within_0_and_100(counts: list[int]) -> None:
    k = len(counts)
    for direction in ("higher_better", "lower_better"):
        score = question_score(dist(*counts), k, direction)
        assert score is not None
        assert 0 <= score <= 100


@FAST
@given(distributions)
def test_lower_better_mirrors_higher_better(counts: list[int]) -> None:
    k = len(counts)
    higher = question_score(dist(*counts), k, "higher_better")
    lower = question_score(dist(*counts), k, "lower_better")
    assert higher is not None and lower is not None
    assert lower == pytest.approx(100 - higher)
    # Reversing the scale and the direction gives exactly the same score.
    assert question_score(dist(*reversed(counts)), k, "lower_better") == higher


@FAST
@given(st.lists(st.lists(st.integers(0, 50), min_size=5, max_size=5).filter(any), min_size=1))
def test_summed_counts_give_the_weighted_mean(parts: list[list[int]]) -> None:
    total = dist(*parts[0])
    for part in parts[1:]:
        total = total + dist(*part)
    answers = sum(sum(p) for p in parts)
    weighted = sum(
        (question_mean(dist(*p)) or 0) * sum(p)
        for p in parts  # type: ignore[operator]
    )
    assert question_mean(total) == Fraction(weighted) / answers


def test_zero_tolerance_hits_are_options_2_to_k() -> None:
    assert zero_tolerance_hits(dist(6, 1, 0)) == 1
    assert zero_tolerance_hits(dist(0, 2, 3, 4)) == 9
    assert zero_tolerance_hits(dist(5, 0, dont_know=2)) == 0


def test_theme_score_is_the_plain_mean_of_the_shown_questions() -> None:
    assert theme_score([100.0, 50.0, 0.0]) == 50.0
    assert theme_score([70.0]) == 70.0
    assert theme_score([70.0, None]) == 70.0  # a hidden question is left out, not guessed
    assert theme_score([None, None]) is None
    assert theme_score([]) is None


@FAST
@given(st.lists(st.floats(0, 100), min_size=1, max_size=12))
def test_theme_score_lies_between_its_questions(scores: list[float]) -> None:
    result = theme_score(scores)
    assert result is not None
    assert min(scores) - 1e-9 <= result <= max(scores) + 1e-9


def test_response_rate_and_mark() -> None:
    assert response_rate(8, 10) == 0.8
    assert meets_response_mark(response_rate(8, 10))
    assert not meets_response_mark(response_rate(7, 10))
    assert response_rate(8, None) is None
    assert response_rate(0, 0) is None
    assert not meets_response_mark(None)


def test_traffic_light_from_cutoffs() -> None:
    cutoffs = TrafficLightCutoffs(yellow_from=50, green_from=75)
    assert traffic_light(49.9, cutoffs) == "red"
    assert traffic_light(50, cutoffs) == "yellow"
    assert traffic_light(74.9, cutoffs) == "yellow"
    assert traffic_light(75, cutoffs) == "green"
    assert traffic_light(None, cutoffs) is None
    with pytest.raises(ValueError):
        TrafficLightCutoffs(yellow_from=80, green_from=60)


# --------------------------------------------------------------------------- roll-up


def test_parent_without_rows_sums_its_children() -> None:
    raw = {
        "D": RawUnit(None, has_own_rows=False),
        "T1": RawUnit("D", True, {"Q": dist(1, 2, 3), "Z": dist(4, 1)}, respondents=7, invited=9),
        "T2": RawUnit("D", True, {"Q": dist(0, 0, 5, dont_know=1)}, invited=8),
        "E": RawUnit("D", has_own_rows=False),  # no rows, no children
    }
    eff = roll_up(raw)
    assert eff["T2"].respondents == 6  # largest answer total, "don't know" included
    assert eff["E"].respondents == 0
    assert eff["D"].respondents == 13
    assert eff["D"].questions["Q"] == dist(1, 2, 8, dont_know=1)
    assert eff["D"].questions["Z"] == dist(4, 1)
    assert eff["D"].invited is None  # E has no invited figure, so no sum can be trusted
    assert roll_up(eff) == eff


def test_parent_with_own_rows_keeps_them() -> None:
    raw = {
        "W": RawUnit(None, True, {"Q": dist(2, 10)}, respondents=12, invited=15),
        "A": RawUnit("W", True, {"Q": dist(1, 4)}, respondents=5, invited=5),
        "B": RawUnit("W", True, {"Q": dist(0, 5)}, respondents=5, invited=6),
    }
    eff = roll_up(raw)
    assert eff["W"].questions["Q"] == dist(2, 10)
    assert eff["W"].respondents == 12
    counts = {u.id: u for u in unit_counts(eff, {"Q"})}
    assert counts["W"].answers == {"Q": 12}
    assert counts["W"].zt_hits == {"Q": 10}
    assert suppress(unit_counts(eff)).shown == {"W", "B"}


def test_invited_is_summed_when_every_child_has_it() -> None:
    raw = {
        "D": RawUnit(None, has_own_rows=False),
        "X": RawUnit("D", has_own_rows=False, invited=40),
        "T1": RawUnit("X", True, {"Q": dist(1, 1)}, invited=3),
        "T2": RawUnit("X", True, {"Q": dist(1, 1)}, invited=4),
    }
    eff = roll_up(raw)
    assert eff["X"].invited == 40  # declared wins
    assert eff["D"].invited == 40


def test_roll_up_handles_deep_trees_without_recursion() -> None:
    depth = 20_000
    raw = {"n0": RawUnit(None, has_own_rows=False)}
    raw |= {f"n{i}": RawUnit(f"n{i - 1}", has_own_rows=False) for i in range(1, depth)}
    raw[f"n{depth}"] = RawUnit(f"n{depth - 1}", True, {"Q": dist(3, 4)})
    assert roll_up(raw)["n0"].respondents == 7


def test_roll_up_refuses_bad_trees() -> None:
    with pytest.raises(ValueError, match="unknown parent"):
        roll_up({"A": RawUnit("X", has_own_rows=False)})
    with pytest.raises(ValueError, match="cycle"):
        roll_up({"A": RawUnit("B", False), "B": RawUnit("A", False)})
    with pytest.raises(ValueError, match="no distribution"):
        unit_counts({"A": RawUnit(None, True, {"Z": QuestionCounts.from_mean(3, 1.5)})}, {"Z"})


@FAST
@given(st.data())
def test_roll_up_sums_match_leaf_totals(data: st.DataObject) -> None:
    count = data.draw(st.integers(1, 30))
    parents: list[str | None] = [None]
    for i in range(1, count):
        parents.append(f"u{data.draw(st.integers(0, i - 1))}")
    is_parent = {p for p in parents if p is not None}
    raw = {}
    for i in range(count):
        uid = f"u{i}"
        own = uid not in is_parent or data.draw(st.booleans())
        questions = {"Q": dist(*data.draw(st.lists(st.integers(0, 9), min_size=4, max_size=4)))}
        raw[uid] = RawUnit(parents[i], own, questions if own else {})
    eff = roll_up(raw)
    assert roll_up(eff) == eff
    for uid, unit in eff.items():
        if not raw[uid].has_own_rows:
            kids = [eff[k] for k, u in raw.items() if u.parent == uid]
            assert unit.respondents == sum(k.respondents or 0 for k in kids)
            answers = sum(k.questions["Q"].answers for k in kids if "Q" in k.questions)
            assert unit.questions.get("Q", dist(0, 0, 0, 0)).answers == answers

"""Scores, roll-up and traffic lights for one measurement (spec: import-format.md, "Scores").

Pure Python (stdlib only). Exact arithmetic with ``Fraction`` inside; scores come out as floats
on 0..100 where 100 is always best.

Interface
---------
- :class:`QuestionCounts` - one unit's answers to one question: ``distribution`` (n_1..n_k, or
  ``None`` where the tool gave only ``n`` and ``mean``), ``dont_know``, ``answers`` (on the scale)
  and ``value_sum``. Build with :meth:`QuestionCounts.from_distribution` or
  :meth:`QuestionCounts.from_mean`; ``+`` adds two units' counts.
- :func:`question_mean`, :func:`question_score` ``(counts, k, direction)``,
  :func:`score_from_mean`, :func:`zero_tolerance_hits`, :func:`theme_score`,
  :func:`response_rate`, :func:`meets_response_mark`, :class:`TrafficLightCutoffs`,
  :func:`traffic_light`.
- :class:`RawUnit` ``(parent, has_own_rows, questions, respondents, invited)`` and
  :func:`roll_up` ``(raw) -> dict[str, RawUnit]``: effective counts bottom-up. A unit with rows of
  its own keeps them; any other unit gets the sum of its children's effective counts (its
  respondents and question counts; ``invited`` is kept where declared, else summed when every
  child has it). Design choice: a unit with no rows and no children has 0 respondents.
- :func:`unit_counts` ``(effective, zero_tolerance_questions) -> list[UnitCounts]``: the input
  of :func:`app.domain.anonymity.suppress`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Rational
from typing import Literal

from app.domain.anonymity import UnitCounts

Direction = Literal["higher_better", "lower_better"]
TrafficLight = Literal["red", "yellow", "green"]

MIN_OPTIONS = 2
MAX_OPTIONS = 11
RESPONSE_RATE_MARK = 0.8
_OPTIONS = range(1, MAX_OPTIONS + 1)


@dataclass(frozen=True, slots=True)
class QuestionCounts:
    """A unit's answers to one question. Use the constructors; they keep the fields consistent."""

    distribution: tuple[int, ...] | None  # n_1..n_k; None where only n and mean were delivered
    dont_know: int
    answers: int  # answers on the scale, "don't know" excluded
    # Sum of option number x count, so mean = value_sum / answers. A whole number where the
    # distribution is known (the common case, kept as int for speed), a Fraction from a mean.
    value_sum: Fraction | int

    @classmethod
    def from_distribution(cls, counts: Sequence[int], dont_know: int = 0) -> QuestionCounts:
        if not MIN_OPTIONS <= len(counts) <= MAX_OPTIONS:
            raise ValueError(
                f"a scale has {MIN_OPTIONS} to {MAX_OPTIONS} options, not {len(counts)}"
            )
        counts = tuple(counts)
        if min(counts) < 0 or dont_know < 0:
            raise ValueError("counts must be whole numbers >= 0")
        # map() over builtins: this runs once per unit and question of an import.
        value_sum = sum(map(operator.mul, counts, _OPTIONS))
        return cls(counts, dont_know, sum(counts), value_sum)

    @classmethod
    def from_mean(cls, n: int, mean: Rational | float | str, dont_know: int = 0) -> QuestionCounts:
        """For tools that deliver only an answer count and a mean on the 1..k scale."""
        if n < 0 or dont_know < 0:
            raise ValueError("counts must be whole numbers >= 0")
        # Via str so that a float like 3.7 means 37/10, as written in the file.
        exact_mean = Fraction(str(mean)) if isinstance(mean, float) else Fraction(mean)
        if n > 0 and exact_mean < 1:
            raise ValueError(f"mean {mean} is below option 1")
        return cls(None, dont_know, n, exact_mean * n)

    def __add__(self, other: QuestionCounts) -> QuestionCounts:
        distribution = None
        if self.distribution is not None and other.distribution is not None:
            if len(self.distribution) != len(other.distribution):
                raise ValueError("cannot add counts of scales with different lengths")
            distribution = tuple(map(operator.add, self.distribution, other.distribution))
        return QuestionCounts(
            distribution,
            self.dont_know + other.dont_know,
            self.answers + other.answers,
            self.value_sum + other.value_sum,
        )


def question_mean(counts: QuestionCounts) -> Fraction | None:
    """Mean over options 1..k, "don't know" left out; None without answers."""
    return Fraction(counts.value_sum) / counts.answers if counts.answers else None


def mean_for_display(counts: QuestionCounts) -> float | None:
    """The mean as a float, cheaply: for pages and exports, not for further arithmetic."""
    return float(counts.value_sum / counts.answers) if counts.answers else None


def score_from_mean(
    mean: Fraction | float, k: int, direction: Direction = "higher_better"
) -> float:
    """``(mean - 1) / (k - 1) * 100``, turned round for ``lower_better`` so 100 is best."""
    if not MIN_OPTIONS <= k <= MAX_OPTIONS:
        raise ValueError(f"k must be {MIN_OPTIONS}..{MAX_OPTIONS}, not {k}")
    exact_mean = Fraction(mean)
    if not 1 <= exact_mean <= k:
        raise ValueError(f"mean {float(exact_mean)} is outside the scale 1..{k}")
    score = (exact_mean - 1) / (k - 1) * 100
    if direction == "lower_better":
        score = 100 - score
    elif direction != "higher_better":
        raise ValueError(f"unknown direction {direction!r}")
    return float(score)


def question_score(
    counts: QuestionCounts, k: int, direction: Direction = "higher_better"
) -> float | None:
    """The question's 0..100 score at a unit; None without answers."""
    if counts.distribution is not None and len(counts.distribution) != k:
        raise ValueError(f"distribution has {len(counts.distribution)} options, the scale {k}")
    if isinstance(counts.value_sum, int):
        # Whole numbers only: one correctly rounded division gives the same float as the
        # exact Fraction route, at a fraction of the cost (this runs for every unit x question).
        if not MIN_OPTIONS <= k <= MAX_OPTIONS:
            raise ValueError(f"k must be {MIN_OPTIONS}..{MAX_OPTIONS}, not {k}")
        answers = counts.answers
        if not answers:
            return None
        above_one = counts.value_sum - answers  # (mean - 1) x answers
        span = answers * (k - 1)
        if direction == "higher_better":
            return above_one * 100 / span
        if direction == "lower_better":
            return (span - above_one) * 100 / span
        raise ValueError(f"unknown direction {direction!r}")
    mean = question_mean(counts)
    return None if mean is None else score_from_mean(mean, k, direction)


def zero_tolerance_hits(counts: QuestionCounts) -> int | None:
    """Answers in options 2..k; None where no distribution was delivered (hits unknown)."""
    return None if counts.distribution is None else sum(counts.distribution[1:])


def theme_score(question_scores: Iterable[float | None]) -> float | None:
    """Plain mean of the theme's question scores *shown* at a unit (``None`` for a hidden one
    is left out); None where none is shown.

    Every score it is made of is published beside it, so an indicator never lets anyone back out
    a hidden question; pages mark an indicator made of fewer than all its questions.
    """
    shown = [s for s in question_scores if s is not None]
    return math.fsum(shown) / len(shown) if shown else None


def response_rate(respondents: int, invited: int | None) -> float | None:
    """Respondents / invited; None where invited is unknown or 0."""
    return respondents / invited if invited else None


def meets_response_mark(rate: float | None, mark: float = RESPONSE_RATE_MARK) -> bool:
    return rate is not None and rate >= mark


@dataclass(frozen=True, slots=True)
class TrafficLightCutoffs:
    """Set per measurement: red below ``yellow_from``, green from ``green_from``, else yellow."""

    yellow_from: float
    green_from: float

    def __post_init__(self) -> None:
        if not 0 <= self.yellow_from <= self.green_from <= 100:
            raise ValueError("cut-offs need 0 <= yellow_from <= green_from <= 100")


def traffic_light(score: float | None, cutoffs: TrafficLightCutoffs) -> TrafficLight | None:
    if score is None:
        return None
    if score >= cutoffs.green_from:
        return "green"
    return "yellow" if score >= cutoffs.yellow_from else "red"


# --------------------------------------------------------------------------- roll-up


@dataclass(frozen=True, slots=True)
class RawUnit:
    """A unit as imported. ``has_own_rows``: the file has question rows for this unit."""

    parent: str | None
    has_own_rows: bool
    questions: Mapping[str, QuestionCounts] = field(default_factory=dict)
    respondents: int | None = None  # None: the largest answer total of any question
    invited: int | None = None


def roll_up(raw: Mapping[str, RawUnit]) -> dict[str, RawUnit]:
    """Effective counts of every unit, computed bottom-up without recursion.

    A unit with rows of its own keeps its questions and respondents (defaulting to the largest
    answer total, "don't know" included). Otherwise its questions and respondents are the sums of
    its children's effective ones; a declared ``respondents`` on such a unit is ignored so that the
    count used for anonymity is the one behind its figures. ``invited`` is kept where declared,
    else summed where every child has one. Applying ``roll_up`` twice changes nothing.
    """
    children: dict[str, list[str]] = {uid: [] for uid in raw}
    roots: list[str] = []
    for uid in sorted(raw):
        parent = raw[uid].parent
        if parent is None:
            roots.append(uid)
        elif parent not in raw:
            raise ValueError(f"unit {uid!r} names unknown parent {parent!r}")
        else:
            children[parent].append(uid)

    effective: dict[str, RawUnit] = {}
    for root in roots:
        stack = [(root, iter(children[root]))]
        while stack:
            uid, pending = stack[-1]
            child = next(pending, None)
            if child is not None:
                stack.append((child, iter(children[child])))
                continue
            stack.pop()
            unit = raw[uid]
            kids = [effective[c] for c in children[uid]]
            effective[uid] = _own_figures(unit) if unit.has_own_rows else _summed(unit, kids)
    if len(effective) != len(raw):
        raise ValueError("some units sit on a cycle of parents")
    return effective


def _own_figures(unit: RawUnit) -> RawUnit:
    respondents = unit.respondents
    if respondents is None:
        respondents = max((q.answers + q.dont_know for q in unit.questions.values()), default=0)
    return RawUnit(unit.parent, True, dict(unit.questions), respondents, unit.invited)


def _summed(unit: RawUnit, kids: list[RawUnit]) -> RawUnit:
    per_code: dict[str, list[QuestionCounts]] = {}
    for kid in kids:
        for code, counts in kid.questions.items():
            found = per_code.get(code)
            if found is None:
                per_code[code] = [counts]
            else:
                found.append(counts)
    questions = {
        code: items[0] if len(items) == 1 else _sum_of(items) for code, items in per_code.items()
    }
    invited = unit.invited
    if invited is None and kids and all(k.invited is not None for k in kids):
        invited = sum(k.invited for k in kids if k.invited is not None)
    respondents = sum(k.respondents or 0 for k in kids)
    return RawUnit(unit.parent, False, questions, respondents, invited)


def _sum_of(items: list[QuestionCounts]) -> QuestionCounts:
    """``items[0] + items[1] + ...`` in one go: the same result (and the same ValueError for
    scales of different lengths), without a tuple per addition. A roll-up adds every unit's
    counts of every question once, 256,000 of them in the benchmark file."""
    distributions = [item.distribution for item in items]
    distribution: tuple[int, ...] | None = None
    # As the left fold of __add__: a None makes the sum None from there on; lengths are
    # compared only while both sides have a distribution.
    width = len(distributions[0]) if distributions[0] is not None else None
    for other in distributions[1:]:
        if width is None:
            break
        if other is None:
            width = None
        elif len(other) != width:
            raise ValueError("cannot add counts of scales with different lengths")
    if width is not None:
        distribution = tuple(map(sum, zip(*distributions, strict=True)))  # type: ignore[arg-type]
    # sum() adds left to right from 0, as the loop of __add__ would (ints, or Fractions).
    return QuestionCounts(
        distribution,
        sum([item.dont_know for item in items]),
        sum([item.answers for item in items]),
        sum([item.value_sum for item in items]),
    )


def unit_counts(
    effective: Mapping[str, RawUnit], zero_tolerance_questions: Collection[str] = ()
) -> list[UnitCounts]:
    """The anonymity engine's input from effective (rolled-up) counts.

    A zero-tolerance question needs a distribution to count hits; one delivered only as n and
    mean raises ``ValueError`` rather than silently reporting no hits.
    """
    zt = frozenset(zero_tolerance_questions)
    result = []
    for uid in sorted(effective):
        unit = effective[uid]
        hits: dict[str, int] = {}
        for code in zt & unit.questions.keys():
            count = zero_tolerance_hits(unit.questions[code])
            if count is None:
                raise ValueError(f"zero-tolerance question {code!r} at {uid!r} has no distribution")
            hits[code] = count
        result.append(
            UnitCounts(
                id=uid,
                parent=unit.parent,
                respondents=unit.respondents or 0,
                answers={code: q.answers for code, q in unit.questions.items()},
                zt_hits=hits,
            )
        )
    return result

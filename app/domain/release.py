"""The release: every figure of one measurement that any channel may publish, made once.

Pure Python (stdlib only), no Flask and no database. After an import the figures service calls
:func:`build_release` with the units' effective counts; it stores what comes back, and pages,
exports, PDFs, the API and alerts read only that. A release whose audit finds a problem is not
stored (the measurement is blocked).

What is published
-----------------
- Units and questions as :func:`app.domain.anonymity.suppress` allows (invariants I1 and I2 for
  units and per question; zero-tolerance questions with the sensitive threshold ``s``). A hidden
  unit publishes nothing but that it is hidden, whatever the reason.
- Ordinary questions: distribution, answers, "don't know", mean and score.
- Indicators: the mean of the scores of the theme's questions *shown at the unit*. Every input is
  published next to it, so an indicator adds nothing an attacker could solve for; a theme with a
  hidden question is marked as computed over fewer questions. The overall score is the mean of
  the indicators of the themes that are not about zero tolerance.
- **Zero-tolerance questions** never publish a distribution, mean, score or indicator: with the
  answer count, a mean is a weighted sum of hits (``(mean - 1) x n = n_2 + 2 n_3``), and weighted
  sums of a parent and its shown children give a small group's hits by subtraction. They publish
  only the answer count and a *statement* about the hits of the unit and everything below it
  (cumulative), at units where the question is shown:

  ``none`` (0: everyone answered "no", here and below), ``few`` (1 or 2: "fewer than 3"),
  ``exact`` (the number, 3 or more), ``at_least`` ("at least 3") or ``withheld`` (nothing).

  A hit below a unit that hides the question counts in the nearest unit above that shows it; no
  mark is ever put on a unit that hides the question. The alert is raised at the unit whose own
  *residual group* (its people not below another unit showing the question) has hits.

Why this is safe
----------------
Per question, every published figure is a sum over the subtree of a unit showing the question.
The span of those sums is the span of the residual groups' sums, and every residual group has 0 or
at least ``t`` (``s``) answers (I2), so no smaller group's figure is a linear combination of what
is published. Statements are intervals, not equations: "fewer than 3" at a parent whose two
children both say "fewer than 3" pins each child to exactly 1. :func:`pinned_counts` computes,
for every unit showing a zero-tolerance question and every residual group, the exact set of
values consistent with *all* published statements and alerts (on a tree, interval propagation
up and then down is exact), and reports each that is pinned to 1 or 2. The release weakens
statements (an exact number above to "at least 3", else the statement itself to "withheld")
until nothing is pinned. :func:`audit_release` re-checks everything the stored rows publish.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import fsum, isclose
from typing import Any, Literal, NamedTuple

from app.domain.anonymity import Suppression, UnitCounts, audit, suppress
from app.domain.scoring import (
    Direction,
    RawUnit,
    TrafficLightCutoffs,
    mean_for_display,
    question_score,
    theme_score,
    traffic_light,
    unit_counts,
)

StatementKind = Literal["none", "few", "exact", "at_least", "withheld"]
# The smallest hit count that is ever printed as a number.
SMALLEST_PRINTED_HITS = 3
_SAYS_HITS: frozenset[str] = frozenset({"few", "exact", "at_least"})
PIN_MARK = " (pinned)"  # ends the audit's message for a count that statements pin


class QuestionInfo(NamedTuple):
    """What the release needs of a question, as plain data."""

    code: str
    theme: str
    k: int
    direction: str
    zero_tolerance: bool


@dataclass(frozen=True, slots=True)
class ReleaseRules:
    threshold: int = 5
    sensitive_threshold: int = 10
    yellow_from: float = 50.0
    green_from: float = 75.0


@dataclass(frozen=True, slots=True)
class Statement:
    """What is said about a zero-tolerance question's hits at a unit (and below it)."""

    kind: StatementKind
    hits: int | None = None  # 0 for "none", the number for "exact"

    def interval(self, answers: int) -> tuple[int, int]:
        """The hit counts this statement allows, given the published answer count."""
        if self.kind == "none":
            return (0, 0)
        if self.kind == "few":
            return (1, min(SMALLEST_PRINTED_HITS - 1, answers))
        if self.kind == "exact":
            assert self.hits is not None  # noqa: S101 - exact always carries its number
            return (self.hits, self.hits)
        if self.kind == "at_least":
            return (SMALLEST_PRINTED_HITS, answers)
        return (0, answers)


NONE = Statement("none", 0)
FEW = Statement("few")
AT_LEAST = Statement("at_least")
WITHHELD = Statement("withheld")


def statement_for(hits: int) -> Statement:
    if hits == 0:
        return NONE
    if hits < SMALLEST_PRINTED_HITS:
        return FEW
    return Statement("exact", hits)


@dataclass(frozen=True, slots=True)
class ZeroToleranceRelease:
    """Statements per unit and question, and where each alert is raised."""

    statements: Mapping[str, Mapping[str, Statement]]
    alerts: frozenset[tuple[str, str]]  # (unit, question)


@dataclass(frozen=True)
class UnitRelease:
    """What one unit publishes: exactly the columns of ``unit_figures``."""

    code: str
    parent: str | None
    shown: bool
    hidden_reason: str | None = None
    respondents: int | None = None
    invited: int | None = None
    overall_score: float | None = None
    colour: str | None = None
    indicators: dict[str, float | None] = field(default_factory=dict)
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)
    hidden_questions: dict[str, str] = field(default_factory=dict)
    zero_tolerance_hits: int = 0


@dataclass(frozen=True)
class Release:
    units: dict[str, UnitRelease]
    suppression: Suppression
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------- the tree per question


class _Forest(NamedTuple):
    """The units in top-down order (every unit after its parent), as indexes."""

    units: list[UnitCounts]
    parent: list[int]  # index of the parent, -1 for a root


class _QuestionTree(NamedTuple):
    """The units showing one question, each under its nearest ancestor showing it.

    Nodes are numbered 0..m-1 top-down; ``unit[j]`` is the node's index in the forest and
    ``parent[j] < j`` its parent node (-1: none above shows the question).
    """

    unit: list[int]
    parent: list[int]


def _forest(units: Sequence[UnitCounts]) -> _Forest:
    kids: dict[str | None, list[UnitCounts]] = {}
    for unit in units:
        kids.setdefault(unit.parent, []).append(unit)
    order = list(kids.get(None, ()))
    cursor = 0
    while cursor < len(order):
        order.extend(kids.get(order[cursor].id, ()))
        cursor += 1
    position = {unit.id: i for i, unit in enumerate(order)}
    parent = [-1 if u.parent is None else position[u.parent] for u in order]
    return _Forest(order, parent)


def _question_tree(forest: _Forest, showing: Sequence[bool]) -> _QuestionTree:
    nearest = [-1] * len(showing)  # node of the nearest proper ancestor showing the question
    node_of = [-1] * len(showing)
    unit: list[int] = []
    parent: list[int] = []
    for i, up in enumerate(forest.parent):
        if up >= 0:
            nearest[i] = node_of[up] if showing[up] else nearest[up]
        if showing[i]:
            node_of[i] = len(unit)
            unit.append(i)
            parent.append(nearest[i])
    return _QuestionTree(unit, parent)


# --------------------------------------------------------------------------- pinned counts


def pinned_counts(
    order: Sequence[str],
    parent: Mapping[str, str | None],
    total: Mapping[str, tuple[int, int]],
    residual: Mapping[str, tuple[int, int]],
) -> list[tuple[str, str, int]]:
    """Quantities that the published statements pin to 1 or 2 (or contradict).

    ``order``: the units top-down. ``total[u]`` is the interval published for the hits of ``u``
    and everything below it, ``residual[u]`` the interval for the hits of ``u``'s residual group
    (what its alert, or the absence of one, says). Returns ``(unit, "total" | "residual" |
    "contradiction", value)``; see :func:`_pins`.
    """
    node = {unit: j for j, unit in enumerate(order)}
    parents = [-1 if parent[u] is None else node[parent[u]] for u in order]  # type: ignore[index]
    pins = _pins(
        parents,
        [total[u][0] for u in order],
        [total[u][1] for u in order],
        [residual[u][0] for u in order],
        [residual[u][1] for u in order],
    )
    return [(order[j], what, value) for j, what, value in pins]


def _pins(
    parent: Sequence[int],
    total_low: Sequence[int],
    total_high: Sequence[int],
    residual_low: Sequence[int],
    residual_high: Sequence[int],
) -> list[tuple[int, str, int]]:
    """The exact set of values each quantity can take, given every statement; the pinned ones.

    A node's total is its residual plus its children's totals (``parent[j] < j``). Bottom-up,
    each node's interval is narrowed by its subtree; top-down by everything else. On a tree each
    step is exact (a sum of integer intervals is the integer interval of the sums), so the
    final interval is exactly the set of values consistent with every statement.
    """
    count = len(parent)
    sum_low = list(residual_low)  # residual + the children's intervals from below
    sum_high = list(residual_high)
    below_low = [0] * count
    below_high = [0] * count
    for j in range(count - 1, -1, -1):
        low, high = sum_low[j], sum_high[j]
        if total_low[j] > low:
            low = total_low[j]
        if total_high[j] < high:
            high = total_high[j]
        below_low[j], below_high[j] = low, high
        up = parent[j]
        if up >= 0:
            sum_low[up] += low
            sum_high[up] += high
    final_low = [0] * count
    final_high = [0] * count
    pins: list[tuple[int, str, int]] = []
    for j in range(count):
        low, high = below_low[j], below_high[j]
        up = parent[j]
        if up >= 0:  # the parent's final interval less everything else of the parent's
            from_above = final_low[up] - (sum_high[up] - below_high[j])
            if from_above > low:
                low = from_above
            from_above = final_high[up] - (sum_low[up] - below_low[j])
            if from_above < high:
                high = from_above
        final_low[j], final_high[j] = low, high
        own_low, own_high = residual_low[j], residual_high[j]
        from_total = low - (sum_high[j] - residual_high[j])  # less the children's highest
        if from_total > own_low:
            own_low = from_total
        from_total = high - (sum_low[j] - residual_low[j])  # less the children's lowest
        if from_total < own_high:
            own_high = from_total
        if low > high or own_low > own_high:
            pins.append((j, "contradiction", 0))
            continue
        if low == high and 0 < low < SMALLEST_PRINTED_HITS:
            pins.append((j, "total", low))
        if own_low == own_high and 0 < own_low < SMALLEST_PRINTED_HITS:
            pins.append((j, "residual", own_low))
    return pins


# --------------------------------------------------------------------------- zero tolerance


class _QuestionFigures(NamedTuple):
    tree: _QuestionTree
    hits: list[int]  # the node's total hits (it and everything below)
    answers: list[int]
    own: list[int]  # hits of the node's residual group


def _question_figures(forest: _Forest, showing: Sequence[bool], question: str) -> _QuestionFigures:
    tree = _question_tree(forest, showing)
    units = forest.units
    hits = [units[i].zt_hits.get(question, 0) for i in tree.unit]
    answers = [units[i].answers.get(question, 0) for i in tree.unit]
    own = list(hits)
    for j, up in enumerate(tree.parent):
        if up >= 0:
            own[up] -= hits[j]
    return _QuestionFigures(tree, hits, answers, own)


def zero_tolerance_release(
    units: Sequence[UnitCounts],
    suppression: Suppression,
    zero_tolerance_questions: Collection[str],
    *,
    repair: bool = False,
) -> ZeroToleranceRelease:
    """Statements and alerts for every zero-tolerance question; see the module docstring.

    ``repair``: also check for pinned counts and weaken statements until none is (never needed
    by the rules of :func:`_statements`; :func:`build_release` asks for it only if the audit
    finds a pin).
    """
    forest = _forest(units)
    statements: dict[str, dict[str, Statement]] = {}
    alerts: set[tuple[str, str]] = set()
    shown, hidden = suppression.shown, suppression.hidden_questions
    for question in sorted(zero_tolerance_questions):
        showing = [
            question in u.zt_hits and u.id in shown and question not in hidden.get(u.id, ())
            for u in forest.units
        ]
        figures = _question_figures(forest, showing, question)
        said = _statements(figures)
        if repair:
            _weaken_until_nothing_is_pinned(figures, said)
        for j, i in enumerate(figures.tree.unit):
            uid = forest.units[i].id
            statements.setdefault(uid, {})[question] = said[j]
            if figures.own[j] > 0:
                alerts.add((uid, question))
    return ZeroToleranceRelease(statements, frozenset(alerts))


def _statements(figures: _QuestionFigures) -> list[Statement]:
    """Statements that pin nothing, by construction, in one pass up the tree.

    - A number only where every total and every residual group's hits in the unit's subtree
      are 0 or at least 3: every difference of published numbers is then 0 or at least 3.
      Elsewhere a total of 3 or more says "at least 3", a lower bound that pins nothing.
    - "Fewer than 3" only where all the subtree's hits are in one residual group (one alert):
      with two, "at most 2 in all" and "at least 1 in each" pin each to 1. Else withheld.
    """
    hits, own, parent = figures.hits, figures.own, figures.tree.parent
    count = len(hits)
    clean = [True] * count
    groups = [0] * count  # residual groups with hits in the subtree
    for j in range(count - 1, -1, -1):  # children before their parent
        if not (_printable(hits[j]) and _printable(own[j])):
            clean[j] = False
        if own[j] > 0:
            groups[j] += 1
        up = parent[j]
        if up >= 0:
            if not clean[j]:
                clean[up] = False
            groups[up] += groups[j]
    said: list[Statement] = []
    for j in range(count):
        total = hits[j]
        if total == 0:
            said.append(NONE)
        elif total < SMALLEST_PRINTED_HITS:
            said.append(FEW if groups[j] == 1 else WITHHELD)
        else:
            said.append(Statement("exact", total) if clean[j] else AT_LEAST)
    return said


def _printable(hits: int) -> bool:
    return hits == 0 or hits >= SMALLEST_PRINTED_HITS


def _intervals(
    figures: _QuestionFigures, said: Sequence[Statement], alerted: Sequence[bool]
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Interval bounds of every node's total and residual group, as the statements say."""
    answers, parent = figures.answers, figures.tree.parent
    own_answers = list(answers)
    for j, up in enumerate(parent):
        if up >= 0:
            own_answers[up] -= answers[j]
    total_low, total_high = [], []
    for statement, count in zip(said, answers, strict=True):
        low, high = statement.interval(count)
        total_low.append(low)
        total_high.append(high)
    residual_low = [1 if a else 0 for a in alerted]
    residual_high = [max(0, o) if a else 0 for a, o in zip(alerted, own_answers, strict=True)]
    return total_low, total_high, residual_low, residual_high


def _weaken_until_nothing_is_pinned(figures: _QuestionFigures, said: list[Statement]) -> None:
    """Weaken statements (in place) until no count of 1 or 2 follows from them.

    A safety net behind :func:`_statements`, whose rules pin nothing. A pin comes from an exact
    number above the pinned quantity (or at it, for a residual) or from "fewer than 3"
    statements around it. Exact numbers above the pins become "at least 3", all in one round;
    a statement is withheld only where none is left, one at a time. Each round only weakens, so
    this ends; the audit re-checks the result.
    """
    parent = figures.tree.parent
    alerted = [own > 0 for own in figures.own]
    for _ in range(len(said) + 1):
        pins = _pins(parent, *_intervals(figures, said, alerted))
        if not pins:
            return
        exact = set()
        for j, what, _ in pins:
            node = j if what == "residual" else parent[j]
            while node >= 0 and said[node].kind != "exact":
                node = parent[node]
            if node >= 0:
                exact.add(node)
        if exact:
            for node in exact:
                said[node] = AT_LEAST
            continue
        for j, _, _ in pins:
            node = j
            while node >= 0 and said[node].kind not in _SAYS_HITS:
                node = parent[node]
            if node >= 0:
                said[node] = WITHHELD
                break
        else:
            return  # nothing left to weaken: the audit will block the release


def audit_zero_tolerance(
    units: Sequence[UnitCounts],
    statements: Mapping[str, Mapping[str, Statement]],
    alerts: Collection[tuple[str, str]],
    showing: Mapping[str, Collection[str]],
    *,
    sensitive_threshold: int,
) -> list[str]:
    """Check the published statements against the true counts and each other.

    ``showing[q]``: the units that publish question ``q`` (as the stored rows say). Every
    statement must be true, print no count of 1 or 2, sit where the question is shown; every
    alert must sit where its residual group has hits; and together they must pin nothing.
    """
    problems: list[str] = []
    forest = _forest(units)
    ids = [u.id for u in forest.units]
    for question, shown_at in sorted(showing.items()):
        shown_set = set(shown_at)
        figures = _question_figures(forest, [uid in shown_set for uid in ids], question)
        said_here = {uid: by_q[question] for uid, by_q in statements.items() if question in by_q}
        alerted_here = {uid for uid, q in alerts if q == question}
        said: list[Statement] = []
        alerted: list[bool] = []
        answers, hits, own = figures.answers, figures.hits, figures.own
        for j, i in enumerate(figures.tree.unit):
            uid = ids[i]
            if (
                forest.units[i].respondents < sensitive_threshold
                or answers[j] < sensitive_threshold
            ):
                problems.append(f"zt[{question}]: {uid!r} shows it under the sensitive threshold")
            statement = said_here.get(uid)
            if statement is None:
                problems.append(f"zt[{question}]: {uid!r} shows the question without a statement")
                statement = WITHHELD
            low, high = statement.interval(answers[j])
            if not low <= hits[j] <= high:
                problems.append(f"zt[{question}]: {uid!r} says {statement.kind}, untrue")
            if statement.kind == "exact" and (statement.hits or 0) < SMALLEST_PRINTED_HITS:
                problems.append(f"zt[{question}]: {uid!r} prints a count of {statement.hits}")
            said.append(statement)
            alert = uid in alerted_here
            if alert != (own[j] > 0):
                problems.append(f"zt[{question}]: alert at {uid!r} does not match its hits")
            alerted.append(alert)
        for j, what, value in _pins(figures.tree.parent, *_intervals(figures, said, alerted)):
            uid = ids[figures.tree.unit[j]]
            problems.append(f"zt[{question}]: {what} at {uid!r} follows as {value}{PIN_MARK}")
    for uid, by_question in statements.items():
        for question in by_question:
            if uid not in showing.get(question, ()):
                problems.append(f"zt[{question}]: statement at {uid!r}, which does not show it")
    for uid, question in alerts:
        if uid not in showing.get(question, ()):
            problems.append(f"zt[{question}]: alert at {uid!r}, which does not show it")
    return problems


# --------------------------------------------------------------------------- the release


def indicator_themes(questions: Iterable[QuestionInfo]) -> dict[str, list[QuestionInfo]]:
    """Indicators and their questions: themes about zero tolerance never get a score."""
    themes: dict[str, list[QuestionInfo]] = {}
    for question in questions:
        if question.theme and not question.zero_tolerance:
            themes.setdefault(question.theme, []).append(question)
    return themes


def build_release(
    effective: Mapping[str, RawUnit], questions: Iterable[QuestionInfo], rules: ReleaseRules
) -> Release:
    """Everything the measurement may publish, audited. ``effective``: ``roll_up``'s output."""
    infos = {q.code: q for q in questions}
    zero_tolerance = {code for code, q in infos.items() if q.zero_tolerance}
    counts = unit_counts(effective, zero_tolerance)
    suppression = suppress(
        counts,
        threshold=rules.threshold,
        sensitive_threshold=rules.sensitive_threshold,
        zero_tolerance_questions=zero_tolerance,
    )
    cutoffs = TrafficLightCutoffs(rules.yellow_from, rules.green_from)
    plan = _UnitPlan.of(infos)

    def release(repair: bool) -> tuple[dict[str, UnitRelease], list[str]]:
        zt = zero_tolerance_release(counts, suppression, zero_tolerance, repair=repair)
        made: dict[int, dict[str, Any]] = {}
        units = {
            code: _unit_release(code, unit, suppression, zt, plan, cutoffs, made)
            for code, unit in effective.items()
        }
        return units, audit_release(counts, infos, units, suppression, rules)

    units, problems = release(repair=False)
    if any(p.endswith(PIN_MARK) for p in problems):  # never seen: the statement rules pin nothing
        units, problems = release(repair=True)
    return Release(units, suppression, problems)


class _UnitPlan(NamedTuple):
    """What :func:`_unit_release` needs of the questions, worked out once per release.

    ``scale[code]``: ``None`` for a zero-tolerance question, else ``(k, lower_better, info,
    shape)``; ``shape`` (0 to 23) tells the scales apart: an entry depends only on the counts
    and the shape. ``inline``: the questions whose whole-number score is computed inline
    (exactly as :func:`question_score` does); the others (a scale or direction it refuses)
    go through it, each time.
    ``themes``: each indicator's question codes, in the theme's order.
    """

    scale: dict[str, tuple[int, bool, QuestionInfo, int] | None]
    inline: frozenset[str]
    themes: list[tuple[str, tuple[str, ...], frozenset[str]]]

    @classmethod
    def of(cls, infos: Mapping[str, QuestionInfo]) -> _UnitPlan:
        scale: dict[str, tuple[int, bool, QuestionInfo, int] | None] = {
            code: None
            if info.zero_tolerance
            else (info.k, lower, info, info.k * 2 + lower if 2 <= info.k <= 11 else 0)
            for code, info in infos.items()
            for lower in (info.direction == "lower_better",)
        }
        inline = frozenset(
            code
            for code, info in infos.items()
            if 2 <= info.k <= 11 and info.direction in ("higher_better", "lower_better")
        )
        themes = [
            (theme, codes, frozenset(codes))
            for theme, qs in indicator_themes(infos.values()).items()
            for codes in (tuple(q.code for q in qs),)
        ]
        return cls(scale, inline, themes)


def _unit_release(
    code: str,
    unit: RawUnit,
    suppression: Suppression,
    zt: ZeroToleranceRelease,
    plan: _UnitPlan,
    cutoffs: TrafficLightCutoffs,
    made: dict[int, dict[str, Any]],
) -> UnitRelease:
    """One unit's row. This runs for every unit and question of an import (256,000 in the
    benchmark file), so the per-question work is inlined: the score is the one correctly
    rounded division :func:`question_score` makes of whole numbers, the mean the one of
    :func:`mean_for_display`; anything else (a mean-only row) goes through them.

    ``made``: the entries made so far in this release, by the counts object and the scale's
    shape (``id << 5 | shape``: ids are distinct while the counts live). The import shares
    one counts object among the units and questions with the same answers (most of the
    benchmark file's), so their entry is made once and they share it: an entry depends on
    nothing else, and nothing changes a release's entries after it is made."""
    if code not in suppression.shown:
        return UnitRelease(code, unit.parent, False, suppression.hidden.get(code))
    hidden: dict[str, str] = dict(suppression.hidden_questions.get(code, {}))
    statements = zt.statements.get(code, {})
    alerts = zt.alerts
    published: dict[str, dict[str, Any]] = {}
    scores: dict[str, float | None] = {}
    scale, inline = plan.scale, plan.inline
    for question_code, figures in unit.questions.items():
        spec = scale[question_code]
        if question_code in hidden:
            continue
        if spec is None:  # zero tolerance
            statement = statements.get(question_code, WITHHELD)
            published[question_code] = {
                "c": None, "n": figures.answers, "dk": None, "mean": None, "score": None,
                "zk": statement.kind, "zt": statement.hits,
                "za": (code, question_code) in alerts,
            }  # fmt: skip
            continue
        k, lower_better, info, shape = spec
        key = id(figures) << 5 | shape if question_code in inline else -1
        entry = made.get(key)
        if entry is not None:
            published[question_code] = entry
            scores[question_code] = entry["score"]
            continue
        distribution = figures.distribution
        answers = figures.answers
        value_sum = figures.value_sum
        score: float | None
        mean: float | None
        if key >= 0 and isinstance(value_sum, int):
            if distribution is not None and len(distribution) != k:
                raise ValueError(f"distribution has {len(distribution)} options, the scale {k}")
            if answers:
                above_one = value_sum - answers  # (mean - 1) x answers
                span = answers * (k - 1)
                if lower_better:
                    score = (span - above_one) * 100 / span
                else:
                    score = above_one * 100 / span
                mean = value_sum / answers
            else:
                score = mean = None
        else:
            direction: Direction = info.direction  # type: ignore[assignment]
            score = question_score(figures, k, direction)
            shown_mean = mean_for_display(figures)
            mean = float(shown_mean) if shown_mean is not None else None
        scores[question_code] = score
        entry = {
            "c": list(distribution) if distribution is not None else None,
            "n": answers,
            "dk": figures.dont_know,
            "mean": mean,
            "score": score,
        }
        published[question_code] = entry
        if key >= 0:
            made[key] = entry
    indicators: dict[str, float | None] = {}
    questions = unit.questions.keys()
    for theme, codes, code_set in plan.themes:
        if questions.isdisjoint(code_set):
            continue
        shown = [s for s in map(scores.get, codes) if s is not None]
        indicators[theme] = fsum(shown) / len(shown) if shown else None
    overall = theme_score(indicators.values())
    return UnitRelease(
        code=code,
        parent=unit.parent,
        shown=True,
        respondents=unit.respondents,
        invited=unit.invited,
        overall_score=overall,
        colour=traffic_light(overall, cutoffs),
        indicators=indicators,
        questions=published,
        hidden_questions=hidden,
        zero_tolerance_hits=sum(1 for s in statements.values() if s.kind in _SAYS_HITS),
    )


# --------------------------------------------------------------------------- the audit


def audit_release(
    counts: Sequence[UnitCounts],
    infos: Mapping[str, QuestionInfo],
    units: Mapping[str, UnitRelease],
    suppression: Suppression,
    rules: ReleaseRules,
) -> list[str]:
    """Everything the rows publish, checked against the true counts; empty when safe.

    What is shown (units, and each question at each unit) is read from the rows themselves and
    checked with :func:`app.domain.anonymity.audit` (I1, I2; per question with the sensitive
    threshold for zero tolerance). Zero-tolerance statements and alerts are checked for truth
    and for counts they pin (:func:`audit_zero_tolerance`). Indicators and overall scores must
    be means of figures published beside them; hidden units must publish nothing.
    """
    problems: list[str] = []
    zero_tolerance = {code for code, q in infos.items() if q.zero_tolerance}
    by_id = {u.id: u for u in counts}
    shown = frozenset(code for code, row in units.items() if row.shown)
    published_hidden: dict[str, dict[str, Any]] = {}
    statements: dict[str, dict[str, Statement]] = {}
    alerts: set[tuple[str, str]] = set()
    showing: dict[str, set[str]] = {q: set() for q in zero_tolerance}
    themes = indicator_themes(infos.values())
    for code, row in units.items():
        if not row.shown:
            if (
                row.respondents is not None
                or row.questions
                or row.indicators
                or (row.overall_score is not None or row.zero_tolerance_hits)
            ):
                problems.append(f"hidden unit {code!r} publishes figures")
            continue
        truth = by_id[code]
        if row.respondents != truth.respondents:
            problems.append(f"unit {code!r} publishes {row.respondents} respondents")
        not_published = {q: "hidden" for q in truth.answers if q not in row.questions}
        if not_published:
            published_hidden[code] = not_published
        says_hits = 0
        for question, entry in row.questions.items():
            if question not in zero_tolerance:
                continue
            if any(entry.get(key) is not None for key in ("c", "dk", "mean", "score")):
                problems.append(f"zt[{question}]: {code!r} publishes a distribution or mean")
            if entry.get("n") != truth.answers.get(question):
                problems.append(f"zt[{question}]: {code!r} publishes a wrong answer count")
            kind = entry.get("zk")
            hits = entry.get("zt")
            if kind not in ("none", "few", "exact", "at_least", "withheld"):
                problems.append(f"zt[{question}]: {code!r} has no statement")
                continue
            if (kind == "none") != (hits == 0) or (kind == "exact") != (
                hits is not None and hits > 0
            ):
                problems.append(f"zt[{question}]: {code!r} prints {hits!r} with {kind}")
            statements.setdefault(code, {})[question] = Statement(kind, hits)
            showing[question].add(code)
            says_hits += kind in _SAYS_HITS
            if entry.get("za"):
                alerts.add((code, question))
        if says_hits != row.zero_tolerance_hits:
            problems.append(f"unit {code!r}: hit marks do not match its statements")
        problems.extend(_audit_indicators(code, row, themes))
    published = Suppression(
        threshold=rules.threshold,
        sensitive_threshold=rules.sensitive_threshold,
        shown=shown,
        hidden={code: "secondary" for code, row in units.items() if not row.shown},
        residual=suppression.residual,
        hidden_questions=published_hidden,  # type: ignore[arg-type]
    )
    problems.extend(
        audit(
            counts,
            published,
            threshold=rules.threshold,
            sensitive_threshold=rules.sensitive_threshold,
            zero_tolerance_questions=zero_tolerance,
        )
    )
    problems.extend(
        audit_zero_tolerance(
            counts,
            statements,
            alerts,
            showing,
            sensitive_threshold=rules.sensitive_threshold,
        )
    )
    return problems


def _audit_indicators(
    code: str, row: UnitRelease, themes: Mapping[str, list[QuestionInfo]]
) -> list[str]:
    problems = []
    for theme, value in row.indicators.items():
        if theme not in themes:
            problems.append(f"unit {code!r} publishes an indicator for {theme!r}")
            continue
        shown = row.questions
        published = [
            score
            for entry in map(shown.get, [q.code for q in themes[theme]])
            if entry is not None and (score := entry.get("score")) is not None
        ]
        expected = fsum(published) / len(published) if published else None
        if (value is None) != (expected is None) or (
            value is not None and expected is not None and not isclose(value, expected)
        ):
            problems.append(f"unit {code!r}: indicator {theme!r} is not its shown questions' mean")
    expected_overall = theme_score(row.indicators.values())
    if (row.overall_score is None) != (expected_overall is None) or (
        row.overall_score is not None
        and expected_overall is not None
        and not isclose(row.overall_score, expected_overall)
    ):
        problems.append(f"unit {code!r}: overall score is not its indicators' mean")
    return problems


# --------------------------------------------------------------------------- re-measurements


def remeasured_units(
    measured: Mapping[str, str | None], first: Mapping[str, str | None]
) -> set[str]:
    """The units of a re-measurement that were measured again whole (issue 18).

    ``measured``: the re-measurement's units (code -> parent code), ``first``: the measurement
    it re-measures, the same way. A re-measurement covers a few units, but the release rolls
    their answers up into every unit above them; "Åby Kommune 48, red, −20" made of one
    workplace's 35 answers would read as the municipality's figure. A unit is measured again
    whole when every unit that made its figures in the first measurement (every unit below it
    there) is in the re-measurement; only those are stored, so no page, export, report or API
    can show a figure of a part as the figure of the whole.
    """
    missing = [code for code in first if code not in measured]
    incomplete: set[str] = set()
    for code in missing:
        parent = first.get(code)
        while parent is not None and parent not in incomplete:
            incomplete.add(parent)
            parent = first.get(parent)
    return {code for code in measured if code not in incomplete}

"""The anonymity engine: which units and questions of one measurement may be shown.

Pure Python (stdlib only), no Flask and no database: a service loads each unit's effective
counts (see ``app.domain.scoring.roll_up`` and ``unit_counts``), calls :func:`suppress` once per
import, stores the result, runs :func:`audit` and refuses to show results the audit rejects.

Model (issue 5, "The anonymity engine")
---------------------------------------
Units form a forest. ``n(A)`` is a unit's respondents; for a parent without rows of its own it is
the sum over its children. For a shown unit A, its *frontier* is the set of shown units below it
with no shown unit in between, and its *residual* is ``r(A) = n(A) - sum(n(g) for g in
frontier(A))``: the people whose nearest shown unit is A (A's direct members included). Published
totals determine exactly the residual groups' sizes and nothing finer, so a release is safe iff

- **I1** every shown unit has ``n >= t``, and
- **I2** every shown unit has ``r == 0`` or ``r >= t`` (a negative residual, possible only with
  inconsistent input where children outnumber a parent's own rows, fails I2 and is repaired too).

Algorithm: hide every unit with ``n < t``; then bottom-up (children in id order) for every shown A
failing I2 hide a frontier unit - residual above 0 first (hiding one with residual 0 adds nothing
to ``r(A)``), then the smallest ``n``, then the id - until I2 holds at A. A unit is only ever hidden
as the frontier unit of a shown ancestor, so a root is never hidden by this step.

The same invariants are enforced **per question** with the question's answer count on the scale
(``don't know`` excluded) in place of ``n``, over the units that are shown. Zero-tolerance
questions use the *sensitive threshold* ``s`` instead of ``t`` (and need ``n >= s`` at the unit).
Failing units lose that question only.

What is said about zero-tolerance *hits* (answers other than "no") is decided in
:mod:`app.domain.release`, on top of what this module decides may be shown.

Interface
---------
- :class:`UnitCounts` ``(id, parent, respondents, answers, zt_hits)``: one unit's effective counts.
- :func:`suppress` ``(units, *, threshold=5, sensitive_threshold=10, zero_tolerance_questions=(),
  hide_units=(), hide_questions={}) -> Suppression``. ``hide_units`` / ``hide_questions`` hide more
  on request (a decision, or a stored earlier result: the engine is idempotent on its output);
  the residual rules are then enforced around them.
- :class:`Suppression`: ``shown`` (unit ids), ``hidden`` (id -> reason), ``residual`` (shown id ->
  r), ``hidden_questions`` (shown id -> {question -> reason}, only questions the unit has data
  for), plus :meth:`Suppression.is_question_shown`.
- :func:`audit` ``(units, suppression, *, threshold, sensitive_threshold,
  zero_tolerance_questions) -> list[str]``: violations, empty when safe. It recomputes everything
  top-down via each unit's nearest shown ancestor and shares no code with :func:`suppress`.

A question missing from a unit's ``answers`` counts as 0 answers there; it is then neither shown
nor listed in ``hidden_questions`` (the unit simply has no figures for it).

Input errors (duplicate id, unknown parent, a cycle, threshold below 3, sensitive threshold
below the threshold) raise ``ValueError``. Cost: linear in units x depth. Frontier walks skip
subtrees where nothing is shown any more, and a unit is walked again only when the shown unit
that owns its region is hidden. All questions are handled in one pass over the tree of shown
units, with answer counts as vectors (added in C) and hidden questions as bitmasks; only the
questions that fail somewhere are repaired one by one. ``bench/anonymity_bench.py`` measures it.
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Literal

MIN_THRESHOLD = 3

UnitHiddenReason = Literal["below_threshold", "secondary", "requested"]
QuestionHiddenReason = Literal[
    "below_threshold", "below_sensitive_threshold", "secondary", "requested"
]


@dataclass(frozen=True, slots=True)
class UnitCounts:
    """One unit's effective counts for one measurement."""

    id: str
    parent: str | None
    respondents: int
    # Per question: answers on the scale (options 1..k), "don't know" excluded.
    answers: Mapping[str, int] = field(default_factory=dict)
    # Per zero-tolerance question: answers in options 2..k.
    zt_hits: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Suppression:
    """What may be shown. Units and questions not mentioned as hidden are shown."""

    threshold: int
    sensitive_threshold: int
    shown: frozenset[str]
    hidden: Mapping[str, UnitHiddenReason]
    residual: Mapping[str, int]
    hidden_questions: Mapping[str, Mapping[str, QuestionHiddenReason]]

    def is_question_shown(self, unit: str, question: str) -> bool:
        """Whether the question's figures may be shown at the unit (given it has data there)."""
        return unit in self.shown and question not in self.hidden_questions.get(unit, {})


# --------------------------------------------------------------------------- tree


@dataclass(slots=True)
class _Tree:
    """Units indexed 0..N-1 in id order, so index order is id order for tie-breaks."""

    units: list[UnitCounts]
    position: dict[str, int]
    parent: list[int]  # -1 for a root
    children: list[list[int]]  # each in id order
    bottom_up: list[int]  # post-order: children (in id order) before their parent


def _build_tree(units: Iterable[UnitCounts]) -> _Tree:
    by_id: dict[str, UnitCounts] = {}
    for unit in units:
        if unit.id in by_id:
            raise ValueError(f"duplicate unit id {unit.id!r}")
        by_id[unit.id] = unit
    ordered = [by_id[uid] for uid in sorted(by_id)]
    position = {unit.id: i for i, unit in enumerate(ordered)}
    parent = [-1] * len(ordered)
    children: list[list[int]] = [[] for _ in ordered]
    roots: list[int] = []
    for i, unit in enumerate(ordered):
        if unit.parent is None:
            roots.append(i)
            continue
        p = position.get(unit.parent)
        if p is None:
            raise ValueError(f"unit {unit.id!r} names unknown parent {unit.parent!r}")
        parent[i] = p
        children[p].append(i)  # i grows, so children stay in id order

    bottom_up: list[int] = []
    for root in roots:  # iterative post-order: no recursion limit on deep trees
        stack = [(root, iter(children[root]))]
        while stack:
            node, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                bottom_up.append(node)
            else:
                stack.append((child, iter(children[child])))
    if len(bottom_up) != len(ordered):
        # Units not reachable from a root sit on a cycle of parents.
        stuck = sorted(set(range(len(ordered))) - set(bottom_up))
        raise ValueError(f"units on a cycle of parents: {[ordered[i].id for i in stuck][:10]}")
    return _Tree(ordered, position, parent, children, bottom_up)


# --------------------------------------------------------------------------- core


def _enforce_residuals(
    bottom_up: list[int],
    parent: list[int],
    children: list[list[int]],
    value: list[int],
    shown: list[bool],
    threshold: int,
) -> list[int]:
    """Hide frontier units until every shown unit satisfies I2; return the residuals.

    ``shown`` is updated in place. Processing bottom-up is enough: hiding a frontier unit F of A
    merges F's residual into A's and leaves every other residual below A unchanged, so a unit,
    once processed, keeps satisfying I2.
    """
    return _ResidualPass(parent, children, value, shown, threshold).run(bottom_up)


class _ResidualPass:
    def __init__(
        self,
        parent: list[int],
        children: list[list[int]],
        value: list[int],
        shown: list[bool],
        threshold: int,
    ) -> None:
        self.parent = parent
        self.children = children
        self.value = value
        self.shown = shown
        self.threshold = threshold
        self.residual = [0] * len(value)
        # Children through which a shown unit can still be reached. Frontier walks skip hidden
        # subtrees with nothing shown in them; without this a long chain of hidden units would
        # be walked again at every step up (quadratic).
        self.live_children = [0] * len(value)

    def run(self, bottom_up: list[int]) -> list[int]:
        parent, value, shown, live = self.parent, self.value, self.shown, self.live_children
        threshold, residual = self.threshold, self.residual
        below = [0] * len(value)  # sum of `value` over the unit's frontier
        for unit in bottom_up:
            if shown[unit]:
                r = value[unit] - below[unit]
                if r != 0 and r < threshold:
                    r = self._hide_until_safe(unit, r)
                residual[unit] = r
                contribution = value[unit]
            else:
                # A hidden unit is final once reached: only its own subtree could hide below it.
                contribution = below[unit]
            up = parent[unit]
            if up >= 0:
                below[up] += contribution
                if shown[unit] or live[unit]:
                    live[up] += 1
        return residual

    def _frontier(self, unit: int) -> Iterator[int]:
        """Shown units below ``unit`` with no shown unit in between."""
        children, shown, live = self.children, self.shown, self.live_children
        stack = list(children[unit])
        while stack:
            node = stack.pop()
            if shown[node]:
                yield node
            elif live[node]:
                stack.extend(children[node])

    def _hide_until_safe(self, unit: int, r: int) -> int:
        value, residual = self.value, self.residual
        # Order: residual above 0 first, then smallest value, then id (index order is id order).
        candidates = [(residual[f] == 0, value[f], f) for f in self._frontier(unit)]
        heapq.heapify(candidates)
        while r != 0 and r < self.threshold:
            if not candidates:  # unreachable: with no frontier left, r == value[unit] >= t
                raise RuntimeError(f"no frontier unit left to hide below unit index {unit}")
            _, _, victim = heapq.heappop(candidates)
            self._hide(victim, owner=unit)
            r += residual[victim]
            for f in self._frontier(victim):
                heapq.heappush(candidates, (residual[f] == 0, value[f], f))
        return r

    def _hide(self, victim: int, owner: int) -> None:
        self.shown[victim] = False
        # If nothing shown remains below the victim, its hidden ancestors up to the owner may
        # have lost their last shown descendant.
        node = victim
        while not self.live_children[node]:
            node = self.parent[node]
            self.live_children[node] -= 1
            if node == owner or self.live_children[node]:
                break


def _check_thresholds(threshold: int, sensitive_threshold: int) -> None:
    if threshold < MIN_THRESHOLD:
        raise ValueError(f"threshold {threshold} is below the minimum {MIN_THRESHOLD}")
    if sensitive_threshold < threshold:
        raise ValueError(
            f"sensitive threshold {sensitive_threshold} is below the threshold {threshold}"
        )


# --------------------------------------------------------------------------- suppress


def suppress(
    units: Iterable[UnitCounts],
    *,
    threshold: int = 5,
    sensitive_threshold: int = 10,
    zero_tolerance_questions: Collection[str] = (),
    hide_units: Collection[str] = (),
    hide_questions: Mapping[str, Collection[str]] | None = None,
) -> Suppression:
    """Decide what may be shown; see the module docstring for the rules."""
    _check_thresholds(threshold, sensitive_threshold)
    tree = _build_tree(units)
    unit_list = tree.units
    respondents = [u.respondents for u in unit_list]
    requested = {tree.position[uid] for uid in hide_units if uid in tree.position}

    # Units: I1, then I2 bottom-up.
    shown = [n >= threshold for n in respondents]
    for i in requested:
        shown[i] = False
    residual = _enforce_residuals(
        tree.bottom_up, tree.parent, tree.children, respondents, shown, threshold
    )
    hidden: dict[str, UnitHiddenReason] = {}
    for i, unit in enumerate(unit_list):
        if not shown[i]:
            if respondents[i] < threshold:
                hidden[unit.id] = "below_threshold"
            elif i in requested:
                hidden[unit.id] = "requested"
            else:
                hidden[unit.id] = "secondary"

    # Questions only concern shown units: the tree of shown units, each hanging from its nearest
    # shown ancestor, is where published figures live.
    shown_ids = [i for i in range(len(unit_list)) if shown[i]]
    shown_bottom_up, shown_parent, shown_children = _tree_of_shown(tree, shown, shown_ids)

    zt_questions = frozenset(zero_tolerance_questions)
    question_set: set[str] = set(zt_questions)
    for unit in unit_list:
        question_set.update(unit.answers)
    questions = sorted(question_set)
    bit_of = {q: 1 << qi for qi, q in enumerate(questions)}
    zt_mask = sum(bit_of[q] for q in zt_questions)
    limits = [sensitive_threshold if q in zt_questions else threshold for q in questions]
    requested_masks: dict[int, int] = {}
    for uid, codes in (hide_questions or {}).items():
        if uid in tree.position:
            mask = sum(bit_of[q] for q in set(codes) if q in bit_of)
            requested_masks[tree.position[uid]] = mask

    # Answer counts as vectors over `questions`, and the questions failing I1 as a bitmask.
    answer_vectors: list[Sequence[int]] = [()] * len(unit_list)
    hidden_masks = [0] * len(unit_list)
    question_indexes = range(len(questions))
    zeros = (0,) * len(questions)
    for i in shown_ids:
        vector = tuple(map(unit_list[i].answers.get, questions, zeros))
        answer_vectors[i] = vector
        mask = requested_masks.get(i, 0)
        if respondents[i] < sensitive_threshold:
            mask |= zt_mask
        # compress/map run in C; the Python loop only sees the questions under their limit.
        for qi in compress(question_indexes, map(operator.lt, vector, limits)):
            mask |= 1 << qi
        hidden_masks[i] = mask

    _QuestionPass(shown_parent, shown_children, answer_vectors, limits, hidden_masks).run(
        shown_bottom_up
    )

    hidden_questions: dict[str, dict[str, QuestionHiddenReason]] = {}
    for i in shown_ids:
        if hidden_masks[i]:
            unit = unit_list[i]
            asked = requested_masks.get(i, 0)
            reasons = {
                questions[qi]: _question_reason(
                    answer_vectors[i][qi],
                    respondents[i],
                    questions[qi] in zt_questions,
                    threshold,
                    sensitive_threshold,
                    requested=bool((asked >> qi) & 1),
                )
                for qi in _bits(hidden_masks[i])
                if questions[qi] in unit.answers
            }
            if reasons:
                hidden_questions[unit.id] = reasons

    return Suppression(
        threshold=threshold,
        sensitive_threshold=sensitive_threshold,
        shown=frozenset(unit_list[i].id for i in shown_ids),
        hidden=hidden,
        residual={unit_list[i].id: residual[i] for i in shown_ids},
        hidden_questions=hidden_questions,
    )


def _tree_of_shown(
    tree: _Tree, shown: list[bool], shown_ids: list[int]
) -> tuple[list[int], list[int], list[list[int]]]:
    """Bottom-up order, parent (nearest shown ancestor) and children of the shown units."""
    bottom_up = [i for i in tree.bottom_up if shown[i]]
    parent = [-1] * len(shown)
    for i in reversed(tree.bottom_up):  # parents before children
        up = tree.parent[i]
        if up >= 0:
            parent[i] = up if shown[up] else parent[up]
    children: list[list[int]] = [[] for _ in shown]
    for i in shown_ids:  # index order, so children lists stay in id order
        if parent[i] >= 0:
            children[parent[i]].append(i)
    return bottom_up, parent, children


class _QuestionPass:
    """I2 per question, for all questions at once, over the tree of shown units.

    Each unit carries a vector of answer counts and a bitmask of the questions hidden there, so
    frontier sums of the common case (nothing hidden) are added vector-wise in C. Where I2 fails
    for a question, that question is repaired alone, with the same hiding order as for units.
    """

    def __init__(
        self,
        parent: list[int],
        children: list[list[int]],
        answers: list[Sequence[int]],
        limits: list[int],
        hidden: list[int],
    ) -> None:
        self.parent = parent
        self.children = children
        self.answers = answers
        self.limits = limits
        self.hidden = hidden  # updated in place
        self.residual: list[Sequence[int]] = [()] * len(answers)
        # Bit q set: some unit below may still show q (possibly stale; cleared when found dead).
        self.live = [0] * len(answers)

    def run(self, bottom_up: list[int]) -> None:
        parent, answers, hidden, live = self.parent, self.answers, self.hidden, self.live
        limits, residual = self.limits, self.residual
        all_questions = (1 << len(limits)) - 1
        max_limit = max(limits, default=0)
        question_indexes = range(len(limits))
        below: dict[int, Sequence[int]] = {}  # per question: sum over the question's frontier
        for unit in bottom_up:
            counts = answers[unit]
            mask = hidden[unit]
            frontier_sums = below.pop(unit, None)
            if frontier_sums is None:  # a leaf here: residual = counts, which pass I1
                residual[unit] = counts
            else:
                r = list(map(operator.sub, counts, frontier_sums))
                if min(filter(None, r), default=max_limit) < max_limit:  # cheap test first
                    for qi in compress(question_indexes, map(operator.lt, r, limits)):
                        if r[qi] != 0 and not (mask >> qi) & 1:
                            r[qi] = self._hide_until_safe(unit, qi, r[qi])
                residual[unit] = r
            up = parent[unit]
            if up < 0:
                continue
            contribution = counts
            if mask:  # a hidden question passes on its own frontier's sum instead
                contribution = list(counts)
                for qi in _bits(mask):
                    contribution[qi] = frontier_sums[qi] if frontier_sums is not None else 0
            previous = below.get(up)
            below[up] = (
                contribution
                if previous is None
                else list(map(operator.add, previous, contribution))
            )
            live[up] |= (all_questions & ~mask) | live[unit]

    def _hide_until_safe(self, unit: int, qi: int, r: int) -> int:
        answers, residual, bit = self.answers, self.residual, 1 << qi
        candidates = [(residual[f][qi] == 0, answers[f][qi], f) for f in self._frontier(unit, bit)]
        heapq.heapify(candidates)
        while r != 0 and r < self.limits[qi]:
            if not candidates:  # unreachable: with no frontier left, r == answers >= limit
                raise RuntimeError(f"no frontier unit left to hide below unit index {unit}")
            _, _, victim = heapq.heappop(candidates)
            self.hidden[victim] |= bit
            r += residual[victim][qi]
            for f in self._frontier(victim, bit):
                heapq.heappush(candidates, (residual[f][qi] == 0, answers[f][qi], f))
        return r

    def _frontier(self, top: int, bit: int) -> list[int]:
        """Units below ``top`` showing the question, with none showing it in between."""
        children, hidden, live = self.children, self.hidden, self.live
        found: list[int] = []
        passed: list[int] = []
        stack = list(children[top])
        while stack:
            node = stack.pop()
            if not hidden[node] & bit:
                found.append(node)
            elif live[node] & bit:
                passed.append(node)
                stack.extend(children[node])
        if passed:
            # Clear the live bit where nothing showing the question was found, so later walks
            # stop there (without this, a long chain would be walked again at every step up).
            alive: set[int] = set()
            for node in found:
                node = self.parent[node]
                while node != top and node not in alive:
                    alive.add(node)
                    node = self.parent[node]
            for node in passed:
                if node not in alive:
                    live[node] &= ~bit
        return found


def _bits(mask: int) -> Iterator[int]:
    while mask:
        lowest = mask & -mask
        yield lowest.bit_length() - 1
        mask ^= lowest


def _question_reason(
    answer_count: int,
    respondents: int,
    sensitive: bool,
    threshold: int,
    sensitive_threshold: int,
    requested: bool,
) -> QuestionHiddenReason:
    if answer_count < threshold:
        return "below_threshold"
    if sensitive and min(answer_count, respondents) < sensitive_threshold:
        return "below_sensitive_threshold"
    return "requested" if requested else "secondary"


# --------------------------------------------------------------------------- audit


def audit(
    units: Iterable[UnitCounts],
    suppression: Suppression,
    *,
    threshold: int = 5,
    sensitive_threshold: int = 10,
    zero_tolerance_questions: Collection[str] = (),
    max_violations: int = 100,
) -> list[str]:
    """Recompute I1, I2 and their per-question forms independently; return the violations.

    Works top-down: every shown unit is charged to its nearest shown ancestor, whose residual is
    its own count minus what was charged to it. An empty list means the release is safe.
    """
    violations: list[str] = []

    def report(message: str) -> None:
        violations.append(message)

    if threshold < MIN_THRESHOLD:
        report(f"threshold {threshold} is below the minimum {MIN_THRESHOLD}")
    if sensitive_threshold < threshold:
        report(f"sensitive threshold {sensitive_threshold} is below threshold {threshold}")
    if (suppression.threshold, suppression.sensitive_threshold) != (
        threshold,
        sensitive_threshold,
    ):
        report(
            f"suppression was computed for thresholds {suppression.threshold}/"
            f"{suppression.sensitive_threshold}, audited for {threshold}/{sensitive_threshold}"
        )

    by_id: dict[str, UnitCounts] = {}
    for unit in units:
        if unit.id in by_id:
            report(f"duplicate unit {unit.id!r}")
        by_id[unit.id] = unit
    kids: dict[str | None, list[str]] = {}
    for unit in by_id.values():
        if unit.parent is not None and unit.parent not in by_id:
            report(f"unit {unit.id!r} names unknown parent {unit.parent!r}")
            continue
        kids.setdefault(unit.parent, []).append(unit.id)

    # Breadth-first from the roots: every unit after its parent.
    top_down = list(kids.get(None, []))
    cursor = 0
    while cursor < len(top_down):
        top_down.extend(kids.get(top_down[cursor], ()))
        cursor += 1
    if len(top_down) != len(by_id):
        report(f"{len(by_id) - len(top_down)} unit(s) not reachable from a root (cycle?)")

    shown = suppression.shown
    for uid in shown & suppression.hidden.keys():
        report(f"unit {uid!r} is both shown and hidden")
    for uid in by_id.keys() - shown - suppression.hidden.keys():
        report(f"unit {uid!r} is neither shown nor hidden")
    for uid in (shown | suppression.hidden.keys()) - by_id.keys():
        report(f"suppression names unknown unit {uid!r}")

    # Nearest shown ancestor of every reachable unit (None: nothing shown above it).
    nearest: dict[str, str | None] = {}
    for uid in top_down:
        up = by_id[uid].parent
        nearest[uid] = None if up is None else (up if up in shown else nearest[up])
    shown_top_down = [uid for uid in top_down if uid in shown]

    charged: dict[str, int] = dict.fromkeys(shown_top_down, 0)
    for uid in shown_top_down:
        anchor = nearest[uid]
        if anchor is not None:
            charged[anchor] += by_id[uid].respondents
    for uid in shown_top_down:
        n = by_id[uid].respondents
        r = n - charged[uid]
        if n < threshold:
            report(f"I1: unit {uid!r} is shown with {n} respondents (threshold {threshold})")
        if r != 0 and r < threshold:
            report(f"I2: unit {uid!r} has residual {r} (threshold {threshold})")
        if suppression.residual.get(uid) != r:
            report(f"unit {uid!r}: reported residual {suppression.residual.get(uid)}, is {r}")

    _audit_questions(
        sorted(frozenset(zero_tolerance_questions).union(*(u.answers for u in by_id.values()))),
        frozenset(zero_tolerance_questions),
        by_id,
        shown_top_down,
        nearest,
        suppression,
        threshold,
        sensitive_threshold,
        report,
    )

    if len(violations) > max_violations:
        extra = len(violations) - max_violations
        return [*violations[:max_violations], f"... and {extra} more violation(s)"]
    return violations


def _audit_questions(
    questions: list[str],
    zero_tolerance: frozenset[str],
    by_id: Mapping[str, UnitCounts],
    shown_top_down: list[str],
    nearest: Mapping[str, str | None],
    suppression: Suppression,
    threshold: int,
    sensitive_threshold: int,
    report: Callable[[str], None],
) -> None:
    """Per-question I1 and I2, and the zero-tolerance hits, charged top-down.

    A question is shown at a unit when the unit is shown, has data for it and does not list it as
    hidden. Each unit showing it is charged to its nearest ancestor showing it, found along the
    chain of nearest shown ancestors. Counts travel as vectors over the questions (added in C)
    with a bitmask of the questions each unit shows; only exceptions are handled one by one.
    """
    if not questions:
        return
    count_q = len(questions)
    everything = (1 << count_q) - 1
    limits = [sensitive_threshold if q in zero_tolerance else threshold for q in questions]
    strictest = max(limits)
    indexes = range(count_q)
    zeros = (0,) * count_q
    bit_of = {q: 1 << qi for qi, q in enumerate(questions)}

    counts: dict[str, Sequence[int]] = {}
    showing: dict[str, int] = {}  # bitmask of the questions the unit shows
    for uid in shown_top_down:
        answers = by_id[uid].answers
        counts[uid] = tuple(map(answers.get, questions, zeros))
        mask = everything
        if len(answers) < count_q:
            mask = sum(bit_of[q] for q in answers if q in bit_of)
        for q in suppression.hidden_questions.get(uid, {}):
            if q in answers:
                mask &= ~bit_of[q]
        showing[uid] = mask

    # anchor[uid][qi]: the nearest proper ancestor showing question qi (None: there is none).
    anchor: dict[str, Sequence[str | None]] = {}
    charged: dict[str, list[int]] = {}  # per unit and question: answers charged to it
    for uid in shown_top_down:
        up = nearest[uid]
        mask = showing[uid]
        if up is None:
            anchor[uid] = (None,) * count_q
            continue
        if showing[up] == everything:
            # Every question the unit shows is charged to `up`: add the vector in one go.
            anchor[uid] = (up,) * count_q
            charge = counts[uid]
            if mask != everything:
                charge = list(charge)
                for qi in _bits(everything & ~mask):
                    charge[qi] = 0
            charged[up] = list(map(operator.add, charged.get(up, zeros), charge))
            continue
        above = anchor[up]
        anchor[uid] = [up if (showing[up] >> qi) & 1 else above[qi] for qi in indexes]
        for qi in _bits(mask):
            target = anchor[uid][qi]
            if target is not None:
                charged.setdefault(target, list(zeros))[qi] += counts[uid][qi]

    zt_bits = sum(bit_of[q] for q in zero_tolerance if q in bit_of)
    for uid in shown_top_down:
        mask = showing[uid]
        vector = counts[uid]
        for qi in compress(indexes, map(operator.lt, vector, limits)):
            if (mask >> qi) & 1:
                report(
                    f"I1[{questions[qi]}]: unit {uid!r} shows it with {vector[qi]} answers "
                    f"(< {limits[qi]})"
                )
        if by_id[uid].respondents < sensitive_threshold:
            for qi in _bits(mask & zt_bits):
                report(
                    f"I1[{questions[qi]}]: unit {uid!r} shows a zero-tolerance question with "
                    f"{by_id[uid].respondents} respondents (< {sensitive_threshold})"
                )
        residual = list(map(operator.sub, vector, charged.get(uid, zeros)))
        if min(filter(None, residual), default=strictest) >= strictest:
            continue  # the common case: every residual is 0 or at least every limit
        for qi in compress(indexes, map(operator.lt, residual, limits)):
            if residual[qi] != 0 and (mask >> qi) & 1:
                report(
                    f"I2[{questions[qi]}]: unit {uid!r} has residual {residual[qi]} answers "
                    f"(< {limits[qi]})"
                )

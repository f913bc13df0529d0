"""Benchmark of the release and its audit on a random 50,000-unit tree with 40 questions.

Run: ``.venv/bin/python bench/anonymity_bench.py [--units 50000] [--questions 40] [--seed 1]``

Headline (issue 15, target <= 5x): the release on the counts level, as an import needs it, next
to a baseline measured in the same run. Every figure is the best of ``--repeat`` runs of that step
alone (``gc.collect()`` before each run, not timed); the release's time is the sum of its parts:

- baseline: ``sum_up_tree`` -- each unit's own counts (respondents, answers per question,
  zero-tolerance hits) summed bottom-up into ``UnitCounts``, the work any results page needs.
- ``suppress`` (units, all questions, zero-tolerance questions with the sensitive threshold);
- ``zero_tolerance_release`` (statements and alerts, weakened until nothing is pinned);
- ``audit`` (``app.domain.anonymity.audit`` of the suppression);
- ``audit_zero_tolerance``, including building its ``showing`` input (per zero-tolerance
  question, the units where ``is_question_shown`` and the unit has a hit count for it) from the
  suppression; statements and alerts are the release's own objects, not read back from rows.

Excluded from the headline: generating the test data, scores, means, indicators, building row
objects or storing anything, and reading rows back for the audit.

For information only: ``build_release`` on full distributions. ``roll_up`` of import rows
(``raw_units``) alone, against ``roll_up`` followed by ``build_release`` (``unit_counts``,
``suppress``, ``zero_tolerance_release``, means, scores, indicators and traffic lights per shown
unit, then ``audit_release``: reading what the rows publish, ``audit``, ``audit_zero_tolerance``
and the indicator checks). The rows sit at leaves only, so parents' own members are not in these
figures; zero-tolerance questions have three options and the headline's hits, other questions
five options at random.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain.anonymity import Suppression, UnitCounts, audit, suppress  # noqa: E402
from app.domain.release import (  # noqa: E402
    QuestionInfo,
    ReleaseRules,
    ZeroToleranceRelease,
    audit_zero_tolerance,
    build_release,
    zero_tolerance_release,
)
from app.domain.scoring import QuestionCounts, RawUnit, roll_up  # noqa: E402

T = TypeVar("T")
LEVEL_SHARES = (0.0003, 0.004, 0.04, 0.25)  # of all units; the rest are teams/classes
K = 5
K_ZERO_TOLERANCE = 3  # "no", "yes, once", "yes, more than once"
THEME_SIZE = 6


def build_tree(units: int, rng: random.Random) -> list[str | None]:
    """Parents by index: a root, then levels of areas, departments, workplaces, teams."""
    parents: list[str | None] = [None]
    previous_level = [0]
    for share in (*LEVEL_SHARES, 1.0):
        size = max(1, int(units * share)) if share < 1 else units - len(parents)
        level = []
        for _ in range(size):
            level.append(len(parents))
            parents.append(f"u{rng.choice(previous_level):06d}")
        previous_level = level
    return parents


def own_counts(
    parents: list[str | None], questions: list[str], zt: set[str], rng: random.Random
) -> list[UnitCounts]:
    """Each unit's own (direct) counts: leaves all have members, a third of parents too."""
    is_parent = {p for p in parents if p is not None}
    result = []
    for i, parent in enumerate(parents):
        uid = f"u{i:06d}"
        direct = uid not in is_parent or rng.random() < 0.33
        members = min(40, int(rng.lognormvariate(2.0, 0.8))) if direct else 0
        answers = {}
        hits = {}
        for q in questions:
            on_scale = max(0, members - rng.choice((0, 0, 0, 1, 2)))
            answers[q] = on_scale
            if q in zt:
                hits[q] = sum(rng.random() < 0.05 for _ in range(on_scale))
        result.append(UnitCounts(uid, parent, members, answers, hits))
    return result


def sum_up_tree(own: list[UnitCounts]) -> list[UnitCounts]:
    """The baseline: totals bottom-up, children in id order, nothing else."""
    by_id = {u.id: u for u in own}
    children: dict[str, list[str]] = {uid: [] for uid in by_id}
    roots = []
    for uid in sorted(by_id):
        parent = by_id[uid].parent
        if parent is None:
            roots.append(uid)
        else:
            children[parent].append(uid)
    totals: dict[str, UnitCounts] = {}
    for root in roots:
        stack = [(root, iter(children[root]))]
        while stack:
            uid, pending = stack[-1]
            child = next(pending, None)
            if child is not None:
                stack.append((child, iter(children[child])))
                continue
            stack.pop()
            unit = by_id[uid]
            respondents = unit.respondents
            answers = dict(unit.answers)
            hits = dict(unit.zt_hits)
            for kid_id in children[uid]:
                kid = totals[kid_id]
                respondents += kid.respondents
                for q, a in kid.answers.items():
                    answers[q] = answers.get(q, 0) + a
                for q, h in kid.zt_hits.items():
                    hits[q] = hits.get(q, 0) + h
            totals[uid] = UnitCounts(uid, unit.parent, respondents, answers, hits)
    return list(totals.values())


def raw_units(own: list[UnitCounts], rng: random.Random) -> dict[str, RawUnit]:
    """The same tree as import rows: a distribution per question where a leaf has members.

    Rows only at leaves: ``roll_up`` keeps a unit's own rows instead of adding its children's, so
    a parent with rows would publish less than its subtree. Parents' own members are left out.
    Zero-tolerance questions: three options, the unit's own hits split between options 2 and 3.
    """
    parents = {u.parent for u in own}
    raw = {}
    for unit in own:
        questions = {}
        if unit.respondents and unit.id not in parents:
            for q, a in unit.answers.items():
                if q in unit.zt_hits:
                    hits = unit.zt_hits[q]
                    once = sum(rng.random() < 0.7 for _ in range(hits))
                    counts = [a - hits, once, hits - once]
                else:
                    counts = [0] * K
                    for _ in range(a):
                        counts[rng.randrange(K)] += 1
                questions[q] = QuestionCounts.from_distribution(counts, unit.respondents - a)
        raw[unit.id] = RawUnit(unit.parent, bool(questions), questions, unit.respondents or None)
    return raw


def question_infos(questions: list[str], zt: set[str]) -> list[QuestionInfo]:
    """Themes of ``THEME_SIZE`` ordinary questions; zero-tolerance ones in a theme of their own."""
    ordinary = [q for q in questions if q not in zt]
    infos = [
        QuestionInfo(q, f"T{i // THEME_SIZE}", K, "higher_better", False)
        for i, q in enumerate(ordinary)
    ]
    infos += [QuestionInfo(q, "ZT", K_ZERO_TOLERANCE, "lower_better", True) for q in sorted(zt)]
    return infos


def showing_of(
    units: list[UnitCounts], suppression: Suppression, zt: set[str]
) -> dict[str, set[str]]:
    """Per zero-tolerance question: the units that publish it (shown there, with a hit count)."""
    shown = suppression.shown
    hidden = suppression.hidden_questions
    return {
        q: {u.id for u in units if q in u.zt_hits}
        & shown - {uid for uid, questions in hidden.items() if q in questions}
        for q in sorted(zt)
    }


def best_of(repeat: int, work: Callable[[], T]) -> tuple[float, T]:
    times = []
    result: T
    for _ in range(repeat):
        gc.collect()  # don't charge one step for the garbage of the one before
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--zero-tolerance", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = random.Random(args.seed)  # noqa: S311 - reproducible test data, not secrets
    questions = [f"Q{i:02d}" for i in range(args.questions)]
    zt = set(questions[-args.zero_tolerance :]) if args.zero_tolerance else set()
    parents = build_tree(args.units, rng)
    own = own_counts(parents, questions, zt, rng)
    settings = {"threshold": 5, "sensitive_threshold": 10, "zero_tolerance_questions": zt}

    baseline, effective = best_of(args.repeat, lambda: sum_up_tree(own))
    t_suppress, result = best_of(args.repeat, lambda: suppress(effective, **settings))
    t_zt, release = best_of(args.repeat, lambda: zero_tolerance_release(effective, result, zt))
    t_audit, violations = best_of(args.repeat, lambda: audit(effective, result, **settings))

    def zt_audit(zt_release: ZeroToleranceRelease = release) -> list[str]:
        return audit_zero_tolerance(
            effective,
            zt_release.statements,
            zt_release.alerts,
            showing_of(effective, result, zt),
            sensitive_threshold=settings["sensitive_threshold"],
        )

    t_zt_audit, zt_problems = best_of(args.repeat, zt_audit)

    depth = max(_depths(parents))
    secondary = sum(1 for r in result.hidden.values() if r == "secondary")
    hidden_q = sum(len(q) for q in result.hidden_questions.values())
    kinds = Counter(s.kind for by_q in release.statements.values() for s in by_q.values())
    print(
        f"units {len(own):,}, depth {depth}, questions {len(questions)} ({len(zt)} zero-tolerance)"
    )
    print(
        f"shown {len(result.shown):,}, hidden {len(result.hidden):,} "
        f"(secondary {secondary:,}), questions hidden at shown units {hidden_q:,}"
    )
    print(
        "zero-tolerance statements "
        + ", ".join(f"{k} {kinds[k]:,}" for k in ("none", "few", "exact", "at_least", "withheld"))
        + f"; alerts {len(release.alerts):,}"
    )
    print(f"audit violations {len(violations)}, zero-tolerance audit problems {len(zt_problems)}")
    print()
    total = t_suppress + t_zt + t_audit + t_zt_audit
    print(f"baseline: sum counts up the tree           {baseline:7.3f} s")
    for label, seconds in (
        ("suppress", t_suppress),
        ("zero_tolerance_release", t_zt),
        ("audit", t_audit),
        ("audit_zero_tolerance (+ showing)", t_zt_audit),
    ):
        print(f"  {label:<40} {seconds:7.3f} s  {seconds / total:6.1%}")
    print(
        f"release + audit (counts level)             {total:7.3f} s   "
        f"ratio {total / baseline:.2f} (target <= 5)"
    )
    print(flush=True)  # the headline first: the full-distribution part takes as long again

    raw = raw_units(own, rng)
    infos = question_infos(questions, zt)
    rules = ReleaseRules(threshold=5, sensitive_threshold=10)
    t_roll_up, _ = best_of(args.repeat, lambda: roll_up(raw))
    t_full, full = best_of(args.repeat, lambda: build_release(roll_up(raw), infos, rules))

    print("info: full distributions")
    print(f"  roll_up                                  {t_roll_up:7.3f} s")
    print(
        f"  roll_up + build_release                  {t_full:7.3f} s   "
        f"ratio {t_full / t_roll_up:.2f} to roll_up"
    )
    print(f"  build_release alone (difference)         {t_full - t_roll_up:7.3f} s")
    shown_rows = sum(1 for row in full.units.values() if row.shown)
    print(
        f"  rows {len(full.units):,} (shown {shown_rows:,}), release problems {len(full.problems)}"
    )


def _depths(parents: list[str | None]) -> list[int]:
    depth: list[int] = []
    for parent in parents:  # parents always come before their children here
        depth.append(0 if parent is None else depth[int(parent[1:])] + 1)
    return depth


if __name__ == "__main__":
    main()

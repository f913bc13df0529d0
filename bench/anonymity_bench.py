"""Benchmark of the anonymity engine on a random 50,000-unit tree with 40 questions.

Run: ``.venv/bin/python bench/anonymity_bench.py [--units 50000] [--questions 40] [--seed 1]``

Prints the time of ``suppress`` and ``audit`` next to a baseline measured in the same run: merely
summing each unit's own counts (respondents, answers per question, zero-tolerance hits) up the
tree, the work any results page needs anyway. Also times ``roll_up`` on full distributions.
Each figure is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain.anonymity import UnitCounts, audit, suppress  # noqa: E402
from app.domain.scoring import QuestionCounts, RawUnit, roll_up  # noqa: E402

T = TypeVar("T")
LEVEL_SHARES = (0.0003, 0.004, 0.04, 0.25)  # of all units; the rest are teams/classes
K = 5


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
    """The same tree as import rows: a distribution per question where a unit has members."""
    raw = {}
    for unit in own:
        questions = {}
        if unit.respondents:
            for q, a in unit.answers.items():
                counts = [0] * K
                for _ in range(a):
                    counts[rng.randrange(K)] += 1
                questions[q] = QuestionCounts.from_distribution(counts, unit.respondents - a)
        raw[unit.id] = RawUnit(unit.parent, bool(questions), questions, unit.respondents or None)
    return raw


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
    unit_only = [UnitCounts(u.id, u.parent, u.respondents) for u in effective]
    t_units, _ = best_of(args.repeat, lambda: suppress(unit_only, threshold=5))
    t_suppress, result = best_of(args.repeat, lambda: suppress(effective, **settings))
    t_audit, violations = best_of(args.repeat, lambda: audit(effective, result, **settings))
    raw = raw_units(own, rng)
    t_roll_up, _ = best_of(args.repeat, lambda: roll_up(raw))

    depth = max(_depths(parents))
    secondary = sum(1 for r in result.hidden.values() if r == "secondary")
    hidden_q = sum(len(q) for q in result.hidden_questions.values())
    print(
        f"units {len(own):,}, depth {depth}, questions {len(questions)} ({len(zt)} zero-tolerance)"
    )
    print(
        f"shown {len(result.shown):,}, hidden {len(result.hidden):,} "
        f"(secondary {secondary:,}), questions hidden at shown units {hidden_q:,}, "
        f"audit violations {len(violations)}"
    )
    print(f"baseline: sum counts up the tree        {baseline:7.3f} s")
    print(f"suppress, units only                    {t_units:7.3f} s")
    print(f"suppress, units + {len(questions)} questions          {t_suppress:7.3f} s")
    print(f"audit                                   {t_audit:7.3f} s")
    total = t_suppress + t_audit
    print(f"suppress + audit                        {total:7.3f} s   ratio {total / baseline:.2f}")
    print(f"roll_up on full distributions (info)    {t_roll_up:7.3f} s")


def _depths(parents: list[str | None]) -> list[int]:
    depth: list[int] = []
    for parent in parents:  # parents always come before their children here
        depth.append(0 if parent is None else depth[int(parent[1:])] + 1)
    return depth


if __name__ == "__main__":
    main()

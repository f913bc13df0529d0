"""Results benchmark: figures and the overview page on the 5,000-unit file.

    .venv/bin/python bench/results_bench.py [--units 5000] [--repeat 3] [--database-url URL]

Generates the large file with ../shared/tools/gen_results.py (cached in bench/data/, shared
with bench/import_bench.py), imports it into a fresh temporary SQLite database (or the given,
empty PostgreSQL database), then measures in the same run, best of --repeat:

  compute_figures  app.services.figures.compute_figures + commit: read the counts, roll up,
                   score, suppress, audit, store unit_figures (also split into its parts)
  overview page    GET /results/ for an admin through the Flask test client (first page of
                   200 rows; the tree of every unit is built for it), and, for scale, the
                   full CSV export and the JSON API of every unit
  baseline         merely summing the counts up the tree: read the stored counts (each
                   unit's question_counts document) and the parents, and add each unit's
                   counts into all its ancestors with plain dicts

and prints the times and the ratios against the baseline.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_results.py"
sys.path.insert(0, str(ROOT))

T = TypeVar("T")
EMAIL, PASSWORD = "bench@example.dk", "benchmark password 1"  # noqa: S105 - local only


def large_file(units: int) -> Path:
    data = ROOT / "bench" / "data"
    data.mkdir(parents=True, exist_ok=True)
    path = data / f"large-{units}.csv"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(GENERATOR), "large", "--units", str(units), "-o", str(path)],
            check=True,
        )
    return path


def best(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    """The best wall time of `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result  # type: ignore[return-value]


def sum_up_the_tree(session: Any, measurement_id: int) -> dict[int, dict[int, list[int]]]:
    """The baseline: read each unit's counts and add them up the tree, bottom-up (every unit
    into its parent once, deepest units first), with plain dicts and lists."""
    from sqlalchemy import select

    from app.models import UnitResult

    parent: dict[int, int | None] = {}
    totals: dict[int, dict[int, list[int]]] = {}
    rows = session.execute(
        select(UnitResult.unit_id, UnitResult.parent_unit_id, UnitResult.question_counts).where(
            UnitResult.measurement_id == measurement_id
        )
    )
    for unit_id, parent_id, document in rows:
        parent[unit_id] = parent_id
        totals[unit_id] = {
            int(question_id): list(entry["counts"])
            for question_id, entry in document.items()
            if "counts" in entry
        }
    depth: dict[int, int] = {}
    for unit_id in parent:
        chain = []
        node = unit_id
        while node is not None and node not in depth:
            chain.append(node)
            node = parent.get(node)
        level = -1 if node is None else depth[node]
        for node in reversed(chain):
            level += 1
            depth[node] = level
    for unit_id in sorted(parent, key=depth.__getitem__, reverse=True):
        up = parent[unit_id]
        if up is None:
            continue
        into = totals[up]
        for question_id, values in totals[unit_id].items():
            total = into.get(question_id)
            if total is None:
                into[question_id] = list(values)
            else:
                into[question_id] = [a + b for a, b in zip(total, values, strict=True)]
    return totals


class PartTimer:
    """Wraps module-level functions of app.services.figures to add up the time spent in each
    during one compute_figures call; what is left is the delete, insert and flush."""

    PARTS = {
        "_raw_units": "read counts",
        "roll_up": "roll up",
        "unit_counts": "engine input",
        "suppress": "suppress",
        "audit": "audit",
        "_figures_row": "scores + rows",
    }

    def __init__(self, module: Any) -> None:
        self.module = module
        self.spent: dict[str, float] = defaultdict(float)
        self.originals = {name: getattr(module, name) for name in self.PARTS}

    def __enter__(self) -> PartTimer:
        for name, original in self.originals.items():
            setattr(self.module, name, self._timed(name, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self.originals.items():
            setattr(self.module, name, original)

    def _timed(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        spent = self.spent
        clock = time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                spent[name] += clock() - start

        return timed


def run(path: Path, url: str, repeat: int) -> None:
    os.environ.setdefault("KOMPAS_ENV", "testing")
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.models import Measurement, Role, Unit, UnitFigures, UnitResult
    from app.services import figures as figures_module
    from app.services import imports
    from app.services.measurements import find_or_prepare_measurement
    from app.services.users import assign_role, create_user

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if url.startswith("postgresql"):
            db.drop_all()
        db.create_all()
        start = time.perf_counter()
        measurement = find_or_prepare_measurement(
            db.session, name="Benchmark", year=2025, template_code=None
        )
        checked = imports.check(
            db.session, path.read_bytes(), file_name=path.name, year=2025,
            questionnaire=measurement.questionnaire,
        )  # fmt: skip
        assert checked.ok, checked.result.errors[:3]
        imports.apply(db.session, None, checked, measurement)
        db.session.commit()
        imported = time.perf_counter() - start
        measurement_id = measurement.id
        units = db.session.scalar(
            select(func.count()).select_from(UnitFigures).where(
                UnitFigures.measurement_id == measurement_id
            )
        )  # fmt: skip
        shown = db.session.scalar(
            select(func.count()).select_from(UnitFigures).where(
                UnitFigures.measurement_id == measurement_id, UnitFigures.shown.is_(True)
            )
        )  # fmt: skip
        results = sum(
            len(document)
            for document in db.session.scalars(
                select(UnitResult.question_counts).where(
                    UnitResult.measurement_id == measurement_id
                )
            )
        )
        root = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)))
        user = create_user(db.session, None, email=EMAIL, name="Bench", password=PASSWORD)
        assign_role(db.session, None, user, root, Role.ADMIN)
        db.session.commit()

        def figures_once() -> Any:
            measurement = db.session.get(Measurement, measurement_id)
            outcome = figures_module.compute_figures(db.session, measurement)
            db.session.commit()
            return outcome

        compute_s, outcome = best(repeat, figures_once)
        assert outcome.ok, outcome.problems[:3]
        timed_runs = []
        for _ in range(repeat):  # the split, from the fastest of `repeat` timed runs
            with PartTimer(figures_module) as timer:
                seconds, _ = best(1, figures_once)
            timed_runs.append((seconds, timer.spent))
        part_total, spent = min(timed_runs, key=lambda run: run[0])

        def baseline_once() -> Any:
            totals = sum_up_the_tree(db.session, measurement_id)
            db.session.rollback()
            return totals

        baseline_s, totals = best(repeat, baseline_once)
        assert len(totals) == units, (len(totals), units)
        db.session.remove()

    client = app.test_client()
    response = client.post("/auth/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302, response.status_code

    def get(url: str) -> Callable[[], bytes]:
        def once() -> bytes:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response.data

        return once

    client.get("/results/")  # warm up: templates compiled, first-request work done
    page_s, page = best(repeat, get("/results/"))
    csv_s, csv_body = best(repeat, get("/results/export.csv"))
    api_s, _ = best(repeat, get(f"/api/v1/measurements/{measurement_id}/results"))

    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(
        f"results benchmark: {units} units ({shown} shown), {results} question results, "
        f"{database}, best of {repeat}; import took {imported:.2f} s"
    )
    print(f"  baseline (sum the counts up the tree): {baseline_s * 1000:8.0f} ms")
    rows = [
        ("compute_figures (+ commit)", compute_s),
        ("overview page /results/", page_s),
        ("  CSV export, every unit", csv_s),
        ("  JSON API, every unit", api_s),
    ]
    for label, seconds in rows:
        print(f"  {label:<37} {seconds * 1000:8.0f} ms   ratio {seconds / baseline_s:5.2f}")
    print(f"  compute_figures by part (its fastest timed run, {part_total * 1000:.0f} ms):")
    accounted = 0.0
    for name, label in PartTimer.PARTS.items():
        accounted += spent[name]
        print(f"    {label:<20} {spent[name] * 1000:8.0f} ms")
    print(f"    {'store + commit':<20} {(part_total - accounted) * 1000:8.0f} ms")
    csv_units = csv_body.count(b"\n") - 1
    print(
        f"  page {len(page) / 1000:.0f} kB (first 200 rows), "
        f"CSV {len(csv_body) / 1000:.0f} kB ({csv_units} units)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="an empty PostgreSQL database it may fill")
    args = parser.parse_args()
    path = large_file(args.units)
    with tempfile.TemporaryDirectory() as tmp:
        run(path, args.database_url or f"sqlite:///{tmp}/results.db", args.repeat)


if __name__ == "__main__":
    main()

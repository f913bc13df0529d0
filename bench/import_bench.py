"""Import benchmark: Kompas' full import against pandas.read_csv + DataFrame.to_sql.

    .venv/bin/python bench/import_bench.py [--units 5000] [--database-url URL]

Generates the large file with ../shared/tools/gen_results.py (cached in bench/data/), then
measures, each in a fresh process so that peak memory is the import's own:
  ours:     parse + validate + write (units, results, log) into a fresh, migrated database
  baseline: pandas.read_csv + DataFrame.to_sql of the same file into a fresh database
and prints both times, the ratio ours/baseline (target <= 1.0) and our peak memory
(target < 300 MB). Without --database-url it runs on a temporary SQLite file; pass a
PostgreSQL URL (an empty database it may fill) to measure there.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_results.py"


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


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(path: Path, url: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.extensions import db
    from app.services import imports
    from app.services.measurements import find_or_prepare_measurement

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if url.startswith("postgresql"):
            db.drop_all()
        db.create_all()
        start = time.perf_counter()
        content = path.read_bytes()
        measurement = find_or_prepare_measurement(
            db.session, name="Benchmark", year=2025, template_code=None
        )
        checked = imports.check(
            db.session, content, file_name=path.name, year=2025,
            questionnaire=measurement.questionnaire,
        )  # fmt: skip
        parsed = time.perf_counter()
        assert checked.ok, checked.result.errors[:3]
        imports.apply(db.session, None, checked, measurement)
        db.session.commit()
        done = time.perf_counter()
    return {"seconds": done - start, "parse": parsed - start, "write": done - parsed,
            "peak_mb": peak_mb()}  # fmt: skip


def run_baseline(path: Path, url: str) -> dict:
    import pandas
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS baseline_results")
    start = time.perf_counter()
    frame = pandas.read_csv(path, sep=";")
    frame.to_sql("baseline_results", engine, index=False)
    done = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS baseline_results")
    return {"seconds": done - start, "peak_mb": peak_mb()}


def in_child(kind: str, path: Path, url: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--file", str(path), "--database-url", url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        runner = run_ours if args.child == "ours" else run_baseline
        print(json.dumps(runner(args.file, args.database_url)))
        return

    path = large_file(args.units)
    with tempfile.TemporaryDirectory() as tmp:
        ours_url = args.database_url or f"sqlite:///{tmp}/ours.db"
        base_url = args.database_url or f"sqlite:///{tmp}/baseline.db"
        database = "PostgreSQL" if ours_url.startswith("postgresql") else "SQLite"
        ours, base = [], []
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            base.append(in_child("baseline", path, base_url))
            ours.append(in_child("ours", path, ours_url))
            if not args.database_url:
                for name in ("ours.db", "baseline.db"):
                    Path(tmp, name).unlink(missing_ok=True)
    best_ours = min(ours, key=lambda r: r["seconds"])
    best_base = min(base, key=lambda r: r["seconds"])
    size_mb = path.stat().st_size / 1e6
    print(f"import benchmark: {args.units} units, {size_mb:.0f} MB, {database}, "
          f"best of {args.repeat}")  # fmt: skip
    print(f"  baseline (pandas read_csv + to_sql): {best_base['seconds']:6.2f} s   "
          f"peak {best_base['peak_mb']:.0f} MB")  # fmt: skip
    print(f"  kompas import (parse+validate+write): {best_ours['seconds']:6.2f} s   "
          f"peak {max(r['peak_mb'] for r in ours):.0f} MB   "
          f"(parse {best_ours['parse']:.2f} s, write {best_ours['write']:.2f} s)")  # fmt: skip
    print(f"  ratio kompas/baseline: {best_ours['seconds'] / best_base['seconds']:.2f}   "
          f"(target <= 1.0; peak memory target < 300 MB)")  # fmt: skip


if __name__ == "__main__":
    os.environ.setdefault("KOMPAS_ENV", "testing")
    main()

"""Import benchmark: what the user waits for, against pandas loading the same file.

    .venv/bin/python bench/import_bench.py [--units 5000] [--repeat 3]
        [--database-url postgresql+psycopg://...] [--postgres]

Generates the large file with ../shared/tools/gen_results.py (cached in bench/data/), then,
interleaved and best of --repeat, each in a fresh process against a fresh database:

  ours:     `flask --app wsgi kompas import FILE --timings`, the real command line: app start,
            reading, validating, writing, figures (release and audit), alerts and the commit,
            into a freshly migrated database (the migration is not timed);
  baseline: a fresh `python` that imports pandas, then `pandas.read_csv` + `DataFrame.to_sql`
            of the same file into an empty database.

Both pay their interpreter start and imports (bytecode cached, as deployed; see
environment()). It prints each phase's share of our import (as
the command reports it), the peak memory of each side (its processes together: the sum of
their proportional set sizes, sampled every 0.1 s, or ru_maxrss where that is larger; ours
makes its release in a child process while it writes), the ratio
ours/baseline with the targets (<= 1.0x, < 300 MB), and how long the two attack files take to
be refused (a 7.9 MB CSV with a million columns; an XLSX "bomb" that unpacks to 400 MB),
with the refusing process's peak memory (targets: < 2 s, < 200 MB): the best of three
fresh processes each, all three printed, the memory the largest of them.

Without --database-url it runs on temporary SQLite files. --database-url: a PostgreSQL
database it may empty (its public schema is dropped and made again before every run);
--postgres: the same with TEST_DATABASE_URL (it starts nothing).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_results.py"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
FLASK = [PYTHON, "-m", "flask", "--app", "wsgi"]

BASELINE = """
import sys
import pandas
from sqlalchemy import create_engine
path, url = sys.argv[1], sys.argv[2]
engine = create_engine(url)
frame = pandas.read_csv(path, sep=";")
frame.to_sql("baseline_results", engine, index=False)
engine.dispose()
"""

REFUSAL = """
import sys, time
from pathlib import Path
from app.domain.importing import parse_results
start = time.perf_counter()
with Path(sys.argv[1]).open("rb") as stream:
    result = parse_results(stream)
print(f"{time.perf_counter() - start:.3f}", result.errors[0].code if result.errors else "ok")
"""


@dataclass
class Run:
    seconds: float
    peak_mb: float  # the largest single process (ru_maxrss)
    phases: list[tuple[str, float]] = field(default_factory=list)
    output: str = ""
    together_mb: float = 0.0  # the process and its children at once (PSS, sampled)


def _descendants(pid: int) -> list[int]:
    """`pid` and every process below it (Linux /proc)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except OSError:
            continue
    return found


def _pss_mb(pids: list[int]) -> float:
    """The memory of `pids` together: their proportional set sizes (a page two processes
    share counts half in each), so the sum is what they hold at once."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total / 1024


class TreeMemory(threading.Thread):
    """The peak memory of a process and its children together, sampled every 0.1 s
    (ru_maxrss gives only the largest single process: an import that makes its release in
    a child holds both at once)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_mb, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.peak_mb = max(self.peak_mb, _pss_mb(_descendants(self.pid)))


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


def timed(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> Run:
    """Run `command` in a fresh process: wall time, and its own peak memory (ru_maxrss)."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        memory = TreeMemory(child.pid)
        memory.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        memory.done.set()
        memory.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command[:6])} failed:\n{output[-3000:]}")
    peak = usage.ru_maxrss / 1024
    return Run(seconds, peak, output=output, together_mb=max(peak, memory.peak_mb))


def fresh_database(url: str | None, tmp: Path, name: str, migrate: bool) -> str:
    """An empty database (migrated for ours); the URL."""
    if url is None:
        path = tmp / f"{name}.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        from sqlalchemy import create_engine

        engine = create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
    if migrate:
        subprocess.run(
            [*FLASK, "db", "upgrade"],
            env=environment(url, tmp),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return url


def environment(url: str, tmp: Path) -> dict[str, str]:
    """Both sides' environment. Compiled bytecode is cached, as in any deployment: with
    PYTHONDONTWRITEBYTECODE (set on some machines) every start of ours would compile the
    app's 1,600 code objects again, while pandas' bytecode sits compiled in site-packages.
    The cache is a directory of the run (PYTHONPYCACHEPREFIX, for both sides), warmed by
    the untimed migration and a first import of pandas; the checkout is left as it is."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KOMPAS_ENV": "development",
        "IMPORT_FILES_DIR": str(tmp / "import_files"),
        "PYTHONPATH": str(ROOT),
        "PYTHONPYCACHEPREFIX": str(tmp / "bytecode"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_bytecode(url: str | None, tmp: Path) -> None:
    """Compile both sides' modules into the run's bytecode cache, untimed."""
    database = fresh_database(url, tmp, "warm", migrate=True)  # the app, via `flask db`
    env = environment(database, tmp)
    subprocess.run([*FLASK, "kompas", "--help"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(
        [PYTHON, "-c", "import pandas, sqlalchemy, psycopg"], env=env, cwd=ROOT, check=True
    )


def run_ours(path: Path, url: str | None, tmp: Path) -> Run:
    database = fresh_database(url, tmp, "ours", migrate=True)
    command = [*FLASK, "kompas", "import", str(path), "--measurement", "Benchmark"]
    run = timed([*command, "--year", "2025", "--timings"], environment(database, tmp))
    for line in run.output.splitlines():
        found = re.match(r"timing: (.+?)\s+([0-9.]+) s", line)
        if found and found.group(1) != "total":
            run.phases.append((found.group(1), float(found.group(2))))
    return run


def run_baseline(path: Path, url: str | None, tmp: Path) -> Run:
    database = fresh_database(url, tmp, "baseline", migrate=False)
    return timed([PYTHON, "-c", BASELINE, str(path), database], environment(database, tmp))


def best_database(url: str | None, tmp: Path) -> str:
    """A database URL for a command that only starts (it connects to none)."""
    return url or f"sqlite:///{tmp / 'start.db'}"


def million_columns(tmp: Path) -> Path:
    """A 7.9 MB CSV whose header has a million columns."""
    path = tmp / "million-columns.csv"
    header = "unit_id;" + ";".join(f"c{i}" for i in range(1_000_000))
    path.write_text(header[:7_888_000] + "\nA;1\n")
    return path


def xlsx_bomb(tmp: Path) -> Path:
    """A small XLSX whose sheet unpacks to 400 MB (written in chunks, never in memory)."""
    path = tmp / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b"<row><c><v>1</v></c></row>" * 40_000
            for _ in range(400 * 1024 * 1024 // len(chunk)):
                sheet.write(chunk)
    return path


def refusal(path: Path, tmp: Path) -> tuple[Run, Run]:
    """The refusal as the command line gives it (app start included) and the reader alone."""
    database = fresh_database(None, tmp, "attack", migrate=True)
    env = environment(database, tmp)
    command = [*FLASK, "kompas", "import", str(path), "--measurement", "A", "--year", "2025"]
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, _, usage = os.wait4(child.pid, 0)
        cli = Run(time.perf_counter() - start, usage.ru_maxrss / 1024)
        out.seek(0)
        cli.output = out.read()
    reader = timed([PYTHON, "-c", REFUSAL, str(path)], env)
    return cli, reader


def best_refusal(path: Path, tmp: Path, repeat: int) -> tuple[Run, Run, list[float]]:
    """The quickest of `repeat` refusals (each a fresh process), as every other figure here
    is the best of its runs, and the command line's seconds of all of them (printed, so
    that a slow moment of the machine shows)."""
    runs = [refusal(path, tmp) for _ in range(repeat)]
    cli, reader = min(runs, key=lambda run: run[0].seconds)
    cli.peak_mb = max(run[0].peak_mb for run in runs)  # memory: the worst of them
    reader.peak_mb = max(run[1].peak_mb for run in runs)
    return cli, reader, [run[0].seconds for run in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="an empty PostgreSQL database it may fill")
    parser.add_argument("--postgres", action="store_true", help="use TEST_DATABASE_URL")
    parser.add_argument("--no-attacks", action="store_true", help="skip the attack files")
    args = parser.parse_args()
    url = args.database_url
    if args.postgres:
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            raise SystemExit("--postgres needs TEST_DATABASE_URL (a database it may empty)")
    path = large_file(args.units)
    database = "PostgreSQL" if url else "SQLite"
    ours: list[Run] = []
    base: list[Run] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        warm_bytecode(url, tmp)
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            base.append(run_baseline(path, url, tmp))
            ours.append(run_ours(path, url, tmp))
        best_ours = min(ours, key=lambda run: run.seconds)
        best_base = min(base, key=lambda run: run.seconds)
        rows = sum(1 for _ in path.open("rb")) - 1
        print(
            f"import benchmark: {args.units} units, {rows:,} rows, "
            f"{path.stat().st_size / 1e6:.0f} MB, {database}, best of {args.repeat}, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
            "bytecode cached for both"
        )
        print(
            f"  baseline (python + import pandas + read_csv + to_sql): "
            f"{best_base.seconds:6.2f} s   peak {max(r.together_mb for r in base):4.0f} MB   "
            f"(all: {', '.join(f'{r.seconds:.2f}' for r in base)})"
        )
        print(
            f"  kompas import (the command line, file to committed release): "
            f"{best_ours.seconds:6.2f} s   peak {max(r.together_mb for r in ours):4.0f} MB "
            f"(largest process {max(r.peak_mb for r in ours):.0f} MB)   "
            f"(all: {', '.join(f'{r.seconds:.2f}' for r in ours)})"
        )
        total = sum(seconds for _, seconds in best_ours.phases) or 1.0
        for phase, seconds in best_ours.phases:
            if seconds >= 0.005:
                print(f"      {phase:<10} {seconds:6.2f} s  {seconds / total:6.1%}")
        ratio = best_ours.seconds / best_base.seconds
        peak = max(r.together_mb for r in ours)
        print(
            f"  ratio kompas/pandas: {ratio:.2f}x (target <= 1.0x: "
            f"{'met' if ratio <= 1.0 else 'NOT met'}); peak {peak:.0f} MB (target < 300 MB: "
            f"{'met' if peak < 300 else 'NOT met'})"
        )
        if args.no_attacks:
            return
        # What any command line costs before it reads a byte: the interpreter, Flask,
        # SQLAlchemy and the app, as `kompas --help` pays them.
        start_only = min(
            timed([*FLASK, "kompas", "--help"], environment(best_database(url, tmp), tmp)).seconds
            for _ in range(3)
        )
        print(
            f"  starting the command line alone (`flask --app wsgi kompas --help`, best of 3): "
            f"{start_only:.2f} s"
        )
        for label, attack in (
            ("million-column CSV", million_columns(tmp)),
            ("XLSX bomb", xlsx_bomb(tmp)),
        ):
            cli, reader, all_cli = best_refusal(attack, tmp, 3)
            refused = next(
                (line for line in cli.output.splitlines() if line.startswith("error:")), "?"
            )
            seconds, code = reader.output.split()[:2]
            print(
                f"  {label} ({attack.stat().st_size / 1e6:.1f} MB): refused ({code}) by the "
                f"reader in {float(seconds):.2f} s, peak {reader.peak_mb:.0f} MB; the command "
                f"line in {cli.seconds:.2f} s (starting it included; best of 3: "
                f"{', '.join(f'{s:.2f}' for s in all_cli)}), peak {cli.peak_mb:.0f} MB "
                f"(targets < 2 s, < 200 MB)\n      {refused[:150]}"
            )


if __name__ == "__main__":
    main()

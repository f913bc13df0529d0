"""Load benchmark: a results morning, 50 simulated users against gunicorn and PostgreSQL.

    .venv/bin/python bench/load_bench.py [--seconds 120] [--users 50] [--workers 2]
        [--database-url postgresql+psycopg://...] [--no-pdf] [--think 1-5] [--arrive 0]

1. PostgreSQL: a private throw-away cluster (initdb into a temporary directory, pg_ctl start
   on a free loopback port, as scripts/test.sh; run as `postgres` when root), or the empty
   database of --database-url. The demo organisation (app.demo.build_demo: two years of APV
   results through the real import, follow-ups and actions, a user per role) is written into it.
   With Redis (--jobs rq, the default) its unit pages are then prepared as an import prepares
   them (`flask --app wsgi kompas warm`, app/services/warming.py): the results were imported
   before the morning.
2. Two gunicorn servers with the same settings, `gunicorn -c gunicorn.conf.py -w 2
   --max-requests 0 --no-control-socket` on 127.0.0.1: the real app (wsgi:app,
   KOMPAS_ENV=production, a random SECRET_KEY) and the minimal Flask app of
   bench/board_bench.py (one fixed page). LOGIN_RATE_LIMIT is raised for the run, since every
   simulated user signs in from 127.0.0.1.
3. --users threads, each a person with its own cookies (sessions signed in over loopback http
   with the production Secure cookie, as bench/board_bench.py does), cycling through the
   demo's HR, head-of-department and leader logins. All 50 press "sign in" at the same moment
   (~8 s of argon2 on 2 cores), or at moments spread evenly over the first --arrive seconds.
   Each signs in, then until the time is up
   reads for 1-5 s (--think; a person, not a script: --think 0 sends the next request the
   moment the last is answered, a stress test of 50 clients that never pause), then picks at
   random: overview GET /results/ (30 %), unit page GET /units/<code> of a unit it
   sees (30 %), board move POST /board/actions/<id>/move of a card in its units with the
   version it last knew (20 %; a 409 is a conflict handled by the app, counted apart and the
   version re-read from the database as the board would show it), report archive GET /reports/
   (15 %) and a unit report PDF GET /reports/unit/<measurement>/<code>.pdf (5 %, --no-pdf to
   leave out: at once when made before, else made by a report job whose page is polled every
   second until the download is ready; "pdf" is the whole wait). Then, on the same machine,
   the same number of threads request the minimal page, with the same pauses, for a quarter
   of the time (at least 30 s with pauses, 10 s without): the baseline.
4. Prints requests/s, p50/p95/p99 per kind, errors (any status other than 200, 302 for the
   sign-in, 409 for moves; and exceptions), and p95(unit page)/p95(minimal), target within 10.
   Every server started is stopped (gunicorn: SIGTERM, then SIGKILL to its group; PostgreSQL:
   pg_ctl stop -m immediate) however the run ends.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from board_bench import (  # noqa: E402 - after the path
    Client,
    free_port,
    percentile,
    start_server,
    stop_server,
    wait_ready,
)

PASSWORD = "load benchmark password"  # noqa: S105 - local only
DOMAIN_LOGINS = ("hr@", "chef.bf@", "leder@")  # who does a results morning: HR and leaders
MIX = [("overview", 30), ("unit", 30), ("move", 20), ("archive", 15), ("pdf", 5)]
CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


class RedisServer:
    """A private Redis on a free loopback port, nothing written to disk: the app's REDIS_URL,
    for its rate limits and its report queue (as production runs it)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise SystemExit(
                "redis-server not found: apt-get install redis-server, or --jobs thread"
            )
        self.port = free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.url = f"redis://127.0.0.1:{self.port}/0"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_report_worker(env: dict, log: Path) -> subprocess.Popen:
    """One RQ worker for the report queue, at the idle CPU priority, as
    deploy/kompas-reports.service runs it."""
    rq = str(Path(sys.executable).parent / "rq")
    return subprocess.Popen(
        ["chrt", "--idle", "0", rq, "worker", "kompas-reports", "--url", env["REDIS_URL"],
         "--worker-class", "rq.worker.SimpleWorker"],
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, stdout=log.open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


class Cluster:
    """A private PostgreSQL cluster on a free loopback port (as scripts/test.sh starts one)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb")]
        if not found[-1]:
            raise SystemExit("PostgreSQL binaries not found: install postgresql or --database-url")
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="kompas-load-"))
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_pg:
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.started = False

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_pg, *args], check=True, stdout=subprocess.DEVNULL, timeout=120)

    def start(self) -> str:
        data = str(self.dir / "data")
        self.run(str(self.bin / "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c max_connections=200"
        self.run(str(self.bin / "pg_ctl"), "-D", data, "-l", str(self.dir / "log"), "-w",
                 "-o", options, "start")  # fmt: skip
        self.started = True
        subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "postgres", "kompas_load"], check=True, timeout=60)  # fmt: skip
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/kompas_load"

    def stop(self) -> None:
        if self.started:
            stop = [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate"]
            subprocess.run([*self.as_pg, *stop, "stop"], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def build(url: str) -> dict:
    """The demo organisation in the database; what the simulated users need to know of it."""
    os.environ.setdefault("KOMPAS_ENV", "testing")
    from sqlalchemy import select

    from app import create_app
    from app.demo import DEMO_LOGINS, build_demo
    from app.extensions import db
    from app.models import Action, Measurement, Unit

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        build_demo(db.session, password=PASSWORD)
        db.session.commit()
        print(f"demo organisation built in {time.perf_counter() - started:.1f} s", flush=True)
        units = {u.id: u for u in db.session.scalars(select(Unit))}

        def below(code: str) -> set[int]:
            top = next(u.id for u in units.values() if u.code == code)
            out, todo = set(), [top]
            while todo:
                node = todo.pop()
                out.add(node)
                todo.extend(u.id for u in units.values() if u.parent_id == node)
            return out

        actions = db.session.execute(select(Action.id, Action.unit_id, Action.version)).all()
        measurement = db.session.scalar(select(Measurement).where(Measurement.year == 2026))
        people = []
        for login in DEMO_LOGINS:
            if not login.email.startswith(DOMAIN_LOGINS):
                continue
            seen = below(login.unit_code)
            people.append(
                {
                    "email": login.email,
                    "units": sorted(units[i].code for i in seen),
                    "actions": [a.id for a in actions if a.unit_id in seen],
                }
            )
        versions = {a.id: a.version for a in actions}
        db.session.remove()
        db.engine.dispose()
    return {"people": people, "versions": versions, "measurement_id": measurement.id}


def prepare_pages(env: dict) -> None:
    """What an import does with REDIS_URL set (app/services/warming.py): the results were
    imported before the morning, so their unit pages' results sections are prepared."""
    started = time.perf_counter()
    flask = str(Path(sys.executable).parent / "flask")
    done = subprocess.run([flask, "--app", "wsgi", "kompas", "warm"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True, timeout=600)  # fmt: skip
    print(f"{done.stdout.strip()} ({time.perf_counter() - started:.1f} s, as after an import)",
          flush=True)  # fmt: skip


class Versions:
    """What the board would show of a card now (after a 409), read over one connection kept
    for the run: a connection per conflict would have PostgreSQL start a backend each time,
    load the bench put on the machine and not the app."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
        )
        self.lock = threading.Lock()

    def current(self, action_id: int) -> int:
        with self.lock:
            row = self.connection.execute("SELECT version FROM action WHERE id = %s", (action_id,))
            return row.fetchone()[0]

    def close(self) -> None:
        self.connection.close()


def simulate(port: int, plan: dict, url: str, seconds: float, users: int, pdf: bool,
             think: tuple[float, float], arrive: float) -> dict:  # fmt: skip
    """--users threads doing the morning's mix; latencies per kind, errors, conflicts."""
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    conflicts = [0]
    lock = threading.Lock()
    versions = dict(plan["versions"])
    database = Versions(url)
    mix = [(kind, weight) for kind, weight in MIX if pdf or kind != "pdf"]
    kinds, weights = [k for k, _ in mix], [w for _, w in mix]
    start_barrier = threading.Barrier(users)
    window: dict[str, float] = {}

    def timed(kind: str, client: Client, method: str, path: str, body: str | None = None,
              extra: dict | None = None, ok: tuple = (200,)) -> tuple[int, bytes]:  # fmt: skip
        began = time.perf_counter()
        try:
            status, _, data = client.request(method, path, body, extra)
        except Exception as error:  # noqa: BLE001 - counted as an error of its kind
            with lock:
                errors[kind].append(repr(error))
            return 0, b""
        spent = time.perf_counter() - began
        with lock:
            latencies[kind].append(spent)
            if status not in ok:
                errors[kind].append(f"{status} {method} {path}")
        return status, data

    def fetch_pdf(client: Client, path: str) -> None:
        """A unit report as a person gets it: at once if it was made before, else through
        its job page, polled as the browser does (every second) until it is ready. The
        "pdf" time is the whole wait; each poll is also counted, as "pdf_poll"."""
        began = time.perf_counter()
        try:
            status, headers, data = client.request("GET", path)
            location = urlsplit(headers.get("Location", "")).path
            if status == 302 and location.startswith("/reports/jobs/"):
                for _ in range(120):
                    time.sleep(1)
                    status, fragment = timed("pdf_poll", client, "GET", location,
                                             extra={"HX-Request": "true"})  # fmt: skip
                    if status != 200 or b"hx-trigger" not in fragment:
                        break
                status, _, data = client.request("GET", location + "/download")
        except Exception as error:  # noqa: BLE001 - counted as an error of its kind
            with lock:
                errors["pdf"].append(repr(error))
            return
        with lock:
            latencies["pdf"].append(time.perf_counter() - began)
            if status != 200 or not data.startswith(b"%PDF"):
                errors["pdf"].append(f"{status} GET {path}")

    def person(index: int) -> None:
        rng = random.Random(index)
        who = plan["people"][index % len(plan["people"])]
        client = Client(port)
        start_barrier.wait()
        time.sleep(rng.uniform(0, arrive))  # people come in over the first `arrive` seconds
        status, page = timed("sign_in", client, "GET", "/auth/login")
        found = CSRF.search(page)
        if not found:
            with lock:
                errors["sign_in"].append(f"no csrf token ({status})")
            return
        form = urlencode({"csrf_token": found.group(1).decode(), "email": who["email"],
                          "password": PASSWORD})  # fmt: skip
        timed("sign_in", client, "POST", "/auth/login", form,
              {"Content-Type": "application/x-www-form-urlencoded"}, ok=(302,))  # fmt: skip
        token = found.group(1).decode()  # the form token is bound to the session's secret
        _, board = client.request("GET", "/board/")[::2]
        if fresh := CSRF.search(board):
            token = fresh.group(1).decode()
        deadline = window["end"]
        while time.perf_counter() < deadline:
            pause(rng, think)
            kind = rng.choices(kinds, weights)[0]
            code = quote(rng.choice(who["units"]))
            if kind == "overview":
                timed(kind, client, "GET", "/results/")
            elif kind == "unit":
                timed(kind, client, "GET", f"/units/{code}")
            elif kind == "archive":
                timed(kind, client, "GET", "/reports/")
            elif kind == "pdf":
                fetch_pdf(client, f"/reports/unit/{plan['measurement_id']}/{code}.pdf")
            elif who["actions"]:
                action_id = rng.choice(who["actions"])
                with lock:
                    version = versions[action_id]
                form = urlencode({"csrf_token": token, "status": rng.randrange(5),
                                  "version": version, "return_to": "/board/"})  # fmt: skip
                status, _ = timed(kind, client, "POST", f"/board/actions/{action_id}/move", form,
                                  {"Content-Type": "application/x-www-form-urlencoded",
                                   "HX-Request": "true"}, ok=(200, 409))  # fmt: skip
                if status == 200:
                    with lock:
                        versions[action_id] = max(versions[action_id], version + 1)
                elif status == 409:
                    fresh_version = database.current(action_id)
                    with lock:
                        conflicts[0] += 1
                        versions[action_id] = max(versions[action_id], fresh_version)

    window["end"] = time.perf_counter() + seconds + 5  # sign-ins first
    began = time.perf_counter()
    threads = [threading.Thread(target=person, args=(i,)) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.close()
    return {"latencies": latencies, "errors": errors, "conflicts": conflicts[0],
            "wall": time.perf_counter() - began}  # fmt: skip


def pause(rng: random.Random, think: tuple[float, float]) -> None:
    """A person reads the page before the next click: between think[0] and think[1] s."""
    if think[1] > 0:
        time.sleep(rng.uniform(*think))


def baseline(port: int, seconds: float, users: int, think: tuple[float, float]) -> dict:
    """The minimal page, the same number of threads, each one request at a time, with the
    same pauses between requests."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        client = Client(port)
        rng = random.Random(1000 + index)
        while time.perf_counter() < deadline:
            pause(rng, think)
            began = time.perf_counter()
            try:
                status, _, _ = client.request("GET", "/")
            except OSError as error:
                with lock:
                    errors.append(repr(error))
                continue
            with lock:
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    errors.append(str(status))

    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": {"minimal": latencies}, "errors": {"minimal": errors},
            "wall": time.perf_counter() - began}  # fmt: skip


def report(results: list[dict]) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    print(f"\n{'kind':<10}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}")  # fmt: skip
    for result in results:
        for kind, times in result["latencies"].items():
            ordered = sorted(times)
            rows[kind] = {
                "requests": len(ordered),
                "rps": len(ordered) / result["wall"],
                "p50": 1000 * percentile(ordered, 50),
                "p95": 1000 * percentile(ordered, 95),
                "p99": 1000 * percentile(ordered, 99),
                "errors": len(result["errors"].get(kind, [])),
            }
            r = rows[kind]
            print(f"{kind:<10}{r['requests']:>10}{r['rps']:>9.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}"
                  f"{r['p99']:>9.1f}{r['errors']:>8}")  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", help="an empty PostgreSQL database to use instead")
    parser.add_argument("--no-pdf", action="store_true", help="leave the unit report PDF out")
    parser.add_argument("--jobs", choices=("rq", "thread"), default="rq",
                        help="where report PDFs are made: rq (default, as in production: a "
                             "private redis-server for REDIS_URL and one RQ worker at the idle "
                             "CPU priority) or "
                             "thread (in the app server processes)")  # fmt: skip
    parser.add_argument("--think", default="1-5", metavar="MIN-MAX",
                        help="seconds a person reads before the next click, uniform between "
                             "MIN and MAX (default 1-5); 0 for none: every thread sends its "
                             "next request the moment the last is answered")  # fmt: skip
    parser.add_argument("--arrive", type=float, default=0, metavar="SECONDS",
                        help="people sign in at moments spread evenly over the first SECONDS "
                             "(default 0: all at the same moment)")  # fmt: skip
    args = parser.parse_args()
    low, _, high = args.think.partition("-")
    think = (float(low), float(high or low))

    cluster = None if args.database_url else Cluster()
    redis = RedisServer() if args.jobs == "rq" else None
    servers = []
    logs = Path(tempfile.mkdtemp(prefix="kompas-load-logs-"))
    try:
        url = args.database_url or cluster.start()  # type: ignore[union-attr]
        plan = build(url)
        env = {**os.environ, "KOMPAS_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
               "DATABASE_URL": url, "LOGIN_RATE_LIMIT": "100000 per minute"}  # fmt: skip
        if redis is not None:
            env["REDIS_URL"] = redis.url
            servers.append(start_report_worker(env, logs / "rq.log"))
            prepare_pages(env)
        app_port, minimal_port = free_port(), free_port()
        app_log, minimal_log = logs / "app.log", logs / "minimal.log"
        servers.append(start_server("wsgi:app", app_port, args.workers, env, app_log, ROOT))
        wait_ready(servers[-1], app_port, "/healthz", app_log)
        servers.append(start_server("board_bench:minimal_app()", minimal_port, args.workers,
                                    env, minimal_log, ROOT / "bench"))  # fmt: skip
        wait_ready(servers[-1], minimal_port, "/", minimal_log)
        thinking = f"{think[0]:g}-{think[1]:g} s between clicks" if think[1] else "no pauses"
        jobs = "an RQ worker (idle priority), Redis" if redis else "threads of the app server"
        arriving = f"signing in over {args.arrive:g} s" if args.arrive else "all signing in at once"
        print(f"{args.users} users ({arriving}, {thinking}) for {args.seconds:.0f} s against "
              f"gunicorn -w {args.workers} on 127.0.0.1:{app_port}, PDFs made by {jobs} ...",
              flush=True)  # fmt: skip
        mixed = simulate(app_port, plan, url, args.seconds, args.users, not args.no_pdf, think,
                         args.arrive)  # fmt: skip
        # With pauses a thread asks less often: a longer baseline, for as many answers.
        base_seconds = max(30.0 if think[1] else 10.0, args.seconds / 4)
        base = baseline(minimal_port, base_seconds, args.users, think)
        rows = report([mixed, base])
        total = sum(len(t) for t in mixed["latencies"].values())
        errors = sum(len(e) for e in mixed["errors"].values())
        print(f"\napp: {total / mixed['wall']:.1f} requests/s over {mixed['wall']:.1f} s, "
              f"{errors} errors, {mixed['conflicts']} move conflicts (409, handled)")  # fmt: skip
        for kind, messages in {**mixed["errors"], **base["errors"]}.items():
            for message in sorted(set(messages))[:5]:
                print(f"  error {kind}: {message} (x{messages.count(message)})")
        ratio = rows["unit"]["p95"] / rows["minimal"]["p95"]
        verdict = "within" if ratio <= 10 else "NOT within"
        unit_p95, minimal_p95 = rows["unit"]["p95"], rows["minimal"]["p95"]
        print(f"p95(unit page) / p95(minimal) = {unit_p95:.1f} / {minimal_p95:.1f} ms = "
              f"{ratio:.1f}x ({verdict} the 10x target)")  # fmt: skip
        return 0 if errors == 0 else 1
    finally:
        for server in servers:
            stop_server(server)
        if cluster is not None:
            cluster.stop()
        if redis is not None:
            redis.stop()
        print(f"server logs: {logs}")


if __name__ == "__main__":
    sys.exit(main())

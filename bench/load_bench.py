"""Load benchmark: a realistic results morning, 50 people against gunicorn and PostgreSQL.

    .venv/bin/python bench/load_bench.py [--seconds 120] [--users 50] [--workers N]
        [--database-url postgresql+psycopg://...] [--no-pdf] [--no-import] [--think 1-5]
        [--arrive 0] [--jobs rq|thread]

1. PostgreSQL: a private throw-away cluster (initdb into a temporary directory, pg_ctl start
   on a free loopback port, as scripts/test.sh; run as `postgres` when root), or the empty
   database of --database-url. The demo organisation (app.demo.build_demo: two years of APV
   results through the real import, follow-ups and actions, a user per role) is written into it,
   plus one spare account per HR person for HR to edit. With Redis (--jobs rq, the default)
   the newest measurement's results sections are then prepared as an import prepares them
   (`flask --app wsgi kompas prepare`, app/blueprints/results/preparing.py): last week's
   import, before the morning.
2. Two gunicorn servers with the same settings, `gunicorn -c gunicorn.conf.py --max-requests 0
   --no-control-socket` on 127.0.0.1, with gunicorn.conf.py's worker count (KOMPAS_WORKERS,
   else one per core; --workers N passes -w N to both instead): the real app (wsgi:app,
   KOMPAS_ENV=production, a random SECRET_KEY) and the minimal Flask app of
   bench/board_bench.py (one fixed page). LOGIN_RATE_LIMIT and LOGIN_ACCOUNT_RATE_LIMIT are
   raised for the run, since every
   simulated user signs in from 127.0.0.1. One RQ worker (app.worker.Worker, at the idle
   CPU priority, as deploy/kompas-reports.service) makes report PDFs and prepared sections.
3. --users threads, each a person with its own cookies (sessions signed in over loopback http
   with the production Secure cookie, as bench/board_bench.py does), cycling through the
   demo's HR, head-of-department and leader logins. All press "sign in" at the same moment
   (argon2), or at moments spread over the first --arrive seconds. Each then reads for 1-5 s
   (--think) before every click and picks at random (weights, of what the person may do):
     overview  GET /results/                                                    20
     unit      GET /units/<code>, a unit the person sees                        25
     board     GET /board/ (the person's default board)                         15
     move      POST /board/actions/<id>/move, htmx, with the version the person
               last knew, as board.js sends it; 409 = a conflict the app handled,
               counted apart, the version then re-read as the board would show   10
     archive   GET /reports/                                                      5
     pdf       a unit report GET /reports/unit/<measurement>/<code>.pdf
               (--no-pdf leaves it out)                                           5
     writing   leaders only: a follow-up step of a unit they lead (not the plan)
               is opened (GET, "step_page") and then autosaved 2-6 times, one
               POST every 2-4 s (typing, then htmx's `input delay:1500ms`), each
               the whole form as htmx serialises it (hidden csrf_token, inputs,
               checked boxes, selected options, textareas with a line added),
               with the version the page was loaded at, updated from each save's
               answer as htmx does (out of band); a 409 (another person saved the
               same step in between: the demo's leaders share their steps) is
               counted as a conflict and the person stops typing there          15
     hr_edit   HR only: its spare account's page GET /admin/users/<id>
               ("admin_page"), then either a role given and taken back (POST
               .../roles, POST .../roles/<a>/delete, "role_edit") or the account
               deactivated and activated again (POST .../active twice,
               "user_edit")                                                     10
   Minute one (--no-import leaves it out): the first HR person, at a random moment between
   10 s and 50 s, imports this year's results file again through the web import: GET
   /imports/ ("import_page"), POST /imports/check with the demo's file (app.demo.
   demo_results_csv, multipart, "import_check": the upload; the check runs as a job), the
   staged page polled once a second as htmx does ("import_poll") until the preview with the
   confirm form is there, POST .../confirm ("import_confirm": starts the import job), then
   the page polled until the import is done (the check again, the write of the results, the
   figures, the new release; it deletes every prepared section and queues their preparation
   on the RQ worker, which makes them at idle priority while the morning goes on).
   Then, on the same machine, the same number of threads request the minimal page, with the
   same pauses, for a quarter of the time (at least 30 s with pauses, 10 s without): the
   baseline "minimal".
4. Every timing is the wall time on the client of one HTTP request: a new connection to
   127.0.0.1, the request sent, the whole answer read (no redirect followed, nothing the
   page links to fetched), so it includes gunicorn's queueing behind other requests, the
   app's work (sign-in check, access from the database, queries, rendering) and the network
   on loopback. Exceptions: "pdf" is the person's whole wait for the file: the first GET,
   then (when not made before) the job page polled every second as the browser does
   (each poll also counted as "pdf_poll") and the download; "unit" is split into
       unit_first   the first GET of that unit page by anyone since the newest release (the
                    import in minute one starts a new one): its results section may still
                    have to be rendered in the request, unless the worker prepared it first;
       unit_repeat  every later GET of a unit page already asked for in this release.
   The application keeps no per-person cache and sends no ETag, so a person's own second
   visit is not treated differently from anyone else's.
5. Prints per kind: requests, requests/s, p50/p95/p99, errors (a status other than 200, 302
   for sign-in and the admin and import posts, 409 for moves; exceptions); the 409s; when
   the import was confirmed and when the worker had prepared its sections again (the
   `prepared_section` table polled once a second); and p95(unit_first), p95(unit_repeat)
   and p95(board) against p95(minimal), the target being within 10x with 0 errors; and, as a
   diagnosis, the same p95s in the first 20 s, in the 15 s from the import's confirm and in
   the rest of the morning (where the slow requests come from).
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
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from board_bench import (  # noqa: E402 - after the path
    GUNICORN_SETTINGS,
    Client,
    free_port,
    gunicorn,
    percentile,
    stop_server,
    wait_ready,
)

PASSWORD = "load benchmark password"  # noqa: S105 - local only
DOMAIN_LOGINS = ("hr@", "chef.bf@", "leder@")  # who does a results morning: HR and leaders
MIX = [("overview", 20), ("unit", 25), ("board", 15), ("move", 10), ("archive", 5),
       ("pdf", 5), ("writing", 15), ("hr_edit", 10)]  # fmt: skip
CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
STEP_VERSION = re.compile(rb'id="step-version" value="(\d+)"')
FORM_POSTS = {"Content-Type": "application/x-www-form-urlencoded"}
HTMX = {**FORM_POSTS, "HX-Request": "true"}
WRITING_STEPS = ("analysis", "preparation", "dialogue", "evaluation")  # the plan has no autosave


class DraftForm(HTMLParser):
    """The fields of a step page's autosaving form (`form[data-draft]`), as htmx serialises
    it on `input`: named inputs (checkboxes and radios only when checked), the selected
    option of each select, textareas; no submit button."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.action: str | None = None
        self.inside = False
        self.fields: list[list[str]] = []
        self.textareas: list[int] = []
        self.select: str | None = None
        self.first_option: str | None = None
        self.chosen = False
        self.textarea: int | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form" and "data-draft" in a and "hx-post" in a:
            self.inside, self.action = True, a["hx-post"]
        elif not self.inside or "disabled" in a:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append([a["name"], a.get("value", "on" if kind == "checkbox" else "")])
        elif tag == "textarea" and a.get("name"):
            self.fields.append([a["name"], ""])
            self.textarea = len(self.fields) - 1
            self.textareas.append(self.textarea)
        elif tag == "select" and a.get("name"):
            self.select, self.first_option, self.chosen = a["name"], None, False
        elif tag == "option" and self.select is not None:
            value = a.get("value", "")
            if self.first_option is None:
                self.first_option = value
            if "selected" in a:
                self.fields.append([self.select, value])
                self.chosen = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select" and self.select is not None:
            if not self.chosen and self.first_option is not None:
                self.fields.append([self.select, self.first_option])
            self.select = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.fields[self.textarea][1] += data


def multipart(fields: dict[str, str], name: str, file_name: str, content: bytes
              ) -> tuple[bytes, str]:  # fmt: skip
    """A form with one file, as a browser posts it."""
    boundary = "----kompas" + secrets.token_hex(12)
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
                     f"{value}\r\n".encode())  # fmt: skip
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                 f'filename="{file_name}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                 + content + b"\r\n")  # fmt: skip
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def configured_workers() -> int:
    """gunicorn.conf.py's worker count on this machine (as gunicorn will read it)."""
    import runpy

    return int(runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"])


def start_server(target: str, port: int, workers: int | None, env: dict, log: Path,
                 pythonpath: Path) -> subprocess.Popen:  # fmt: skip
    """gunicorn with gunicorn.conf.py; -w only when --workers was given."""
    count = ["-w", str(workers)] if workers else []
    command = [gunicorn(), *count, "-b", f"127.0.0.1:{port}", "--pythonpath", str(pythonpath),
               *GUNICORN_SETTINGS, target]  # fmt: skip
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


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
         "--worker-class", "app.worker.Worker"],
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


def build(url: str, hr_people: int) -> dict:
    """The demo organisation in the database, a spare account for each HR person to edit;
    what the simulated users need to know of it."""
    os.environ.setdefault("KOMPAS_ENV", "testing")
    from sqlalchemy import select

    from app import create_app
    from app.demo import DEMO_LOGINS, build_demo, demo_results_csv
    from app.extensions import db
    from app.models import Action, FollowUp, Measurement, Unit
    from app.services.questionnaires import read_template
    from app.services.users import create_user

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        build_demo(db.session, password=PASSWORD)
        spare = [
            create_user(db.session, None, email=f"vikar{i}@bench.example", name=f"Vikar {i}")
            for i in range(hr_people)
        ]
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
        measurement = db.session.scalar(
            select(Measurement).where(
                Measurement.year == 2026, Measurement.remeasure_of_id.is_(None)
            )
        )
        follow_ups = db.session.execute(
            select(FollowUp.unit_id).where(FollowUp.measurement_id == measurement.id)
        ).scalars().all()  # fmt: skip
        people = []
        for login in DEMO_LOGINS:
            if not login.email.startswith(DOMAIN_LOGINS):
                continue
            seen = below(login.unit_code)
            writes = login.email.startswith(("chef.bf@", "leder@"))
            people.append(
                {
                    "email": login.email,
                    "hr": login.email.startswith("hr@"),
                    "units": sorted(units[i].code for i in seen),
                    "actions": [a.id for a in actions if a.unit_id in seen],
                    "steps": [
                        f"/followup/{measurement.id}/{quote(units[u].code)}/{step}"
                        for u in sorted(follow_ups)
                        if u in seen and writes
                        for step in WRITING_STEPS
                    ],  # fmt: skip
                }
            )
        versions = {a.id: a.version for a in actions}
        results_file = demo_results_csv(2026, read_template("apv")["questions"]).encode()
        spare_ids = [u.id for u in spare]
        db.session.remove()
        db.engine.dispose()
    return {"people": people, "versions": versions, "measurement_id": measurement.id,
            "measurement_name": measurement.name, "spare": spare_ids,
            "results_file": results_file}  # fmt: skip


def prepare_pages(env: dict) -> None:
    """What an import does (app/blueprints/results/preparing.py): last week's results were
    imported before the morning, so their results sections are prepared."""
    started = time.perf_counter()
    flask = str(Path(sys.executable).parent / "flask")
    done = subprocess.run([flask, "--app", "wsgi", "kompas", "prepare"], cwd=ROOT, env=env,
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

    def prepared(self) -> int:
        with self.lock:
            # Unit pages' sections only ("da"; not the overview's rows "da:r100" nor the
            # analysis tables "da:a", which the worker makes in the same pass).
            return self.connection.execute(
                "SELECT count(*) FROM prepared_section WHERE position(':' in locale) = 0"
            ).fetchone()[0]

    def close(self) -> None:
        self.connection.close()


def simulate(port: int, plan: dict, url: str, seconds: float, users: int, pdf: bool,
             think: tuple[float, float], arrive: float, do_import: bool) -> dict:  # fmt: skip
    """--users threads doing the morning's mix; latencies per kind, errors, conflicts."""
    latencies: dict[str, list[float]] = defaultdict(list)
    moments: dict[str, list[tuple[float, float]]] = defaultdict(list)  # (start, seconds)
    errors: dict[str, list[str]] = defaultdict(list)
    conflicts: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    versions = dict(plan["versions"])
    database = Versions(url)
    start_barrier = threading.Barrier(users)
    window: dict[str, float] = {}
    release = {"epoch": 0, "seen": set()}  # unit pages asked for since the newest release
    events: dict[str, float] = {}
    hr_index = [i for i in range(users) if plan["people"][i % len(plan["people"])]["hr"]]
    importer = hr_index[0] if do_import and hr_index else None
    spare = {index: plan["spare"][n] for n, index in enumerate(hr_index)}

    def timed(kind: str, client: Client, method: str, path: str, body: str | bytes | None = None,
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
            moments[kind].append((began, spent))
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

    def unit_page(client: Client, code: str) -> None:
        with lock:
            key = (release["epoch"], code)
            first = key not in release["seen"]
            release["seen"].add(key)
        timed("unit_first" if first else "unit_repeat", client, "GET", f"/units/{code}")

    def token_of(page: bytes, token: str) -> str:
        found = CSRF.search(page)
        return found.group(1).decode() if found else token

    def writing(client: Client, rng: random.Random, who: dict, token: str) -> None:
        """A leader opens a follow-up step and types: an autosave every 2-4 s."""
        path = rng.choice(who["steps"])
        status, page = timed("step_page", client, "GET", path)
        form = DraftForm()
        form.feed(page.decode("utf-8", "replace"))
        if status != 200 or form.action is None or not form.textareas:
            with lock:
                if path in who["steps"] and status == 200:
                    who["steps"].remove(path)  # not the person's to edit: read only
            return
        fields = form.fields
        for n in range(rng.randint(2, 6)):
            if time.perf_counter() > window["end"]:
                return
            time.sleep(rng.uniform(2, 4))
            field = fields[rng.choice(form.textareas)]
            field[1] = (field[1] + f" Noteret {n} ({rng.randrange(1000)}).")[-2000:]
            status, answer = timed("autosave", client, "POST", form.action,
                                   urlencode([tuple(f) for f in fields]), HTMX,
                                   ok=(200, 409))  # fmt: skip
            saved = STEP_VERSION.search(answer)
            if status == 200 and saved:
                # The new version comes back out of band, and htmx puts it into the form:
                # the next save is not taken for a stale one.
                for f in fields:
                    if f[0] == "version":
                        f[1] = saved.group(1).decode()
            if status == 409:
                with lock:
                    conflicts["autosave"] += 1
                return

    def hr_edit(client: Client, rng: random.Random, index: int) -> None:
        """HR opens its spare account and changes a role, or the account itself."""
        user = f"/admin/users/{spare[index]}"
        status, page = timed("admin_page", client, "GET", user)
        token = token_of(page, "")
        if status != 200:
            return
        if rng.random() < 0.5:
            code = rng.choice(plan["people"][0]["units"][:60])
            form = urlencode({"csrf_token": token, "unit_code": code, "role": "leader"})
            timed("role_edit", client, "POST", f"{user}/roles", form, FORM_POSTS, ok=(302,))
            _, page = client.request("GET", user)[::2]
            for assignment in set(re.findall(rb"/roles/(\d+)/delete", page)):
                form = urlencode({"csrf_token": token_of(page, token)})
                timed("role_edit", client, "POST",
                      f"{user}/roles/{assignment.decode()}/delete", form, FORM_POSTS,
                      ok=(302,))  # fmt: skip
        else:
            form = urlencode({"csrf_token": token})
            for _ in range(2):  # deactivated, then active again
                timed("user_edit", client, "POST", f"{user}/active", form, FORM_POSTS,
                      ok=(302,))  # fmt: skip

    def import_results(client: Client) -> None:
        """HR uploads this year's file through the web import and confirms it."""
        status, page = timed("import_page", client, "GET", "/imports/")
        body, kind = multipart({"csrf_token": token_of(page, ""),
                                "measurement_id": str(plan["measurement_id"])},
                               "file", "apv-2026.csv", plan["results_file"])  # fmt: skip
        began = time.perf_counter()
        try:
            status, headers, _ = client.request("POST", "/imports/check", body,
                                                {"Content-Type": kind})  # fmt: skip
        except Exception as error:  # noqa: BLE001 - counted as an error of its kind
            with lock:
                errors["import_check"].append(repr(error))
            return
        with lock:
            latencies["import_check"].append(time.perf_counter() - began)
            if status != 302:
                errors["import_check"].append(f"{status} POST /imports/check")
                return
        staged = urlsplit(headers.get("Location", "")).path
        # The check runs as a job: HR's page polls it every second (as htmx does) until the
        # preview with the confirm form is there.
        page = wait_for(client, staged, lambda text: 'name="measurement_name"' in text)
        if page is None:
            with lock:
                errors["import_check"].append("the check job did not finish in 300 s")
            return
        # The file replaces this year's results: HR types the measurement's name to confirm.
        form = urlencode({"csrf_token": token_of(page, ""),
                          "measurement_name": plan["measurement_name"]})  # fmt: skip
        events["import_started"] = time.perf_counter()
        status, _ = timed("import_confirm", client, "POST", f"{staged}/confirm", form,
                          FORM_POSTS, ok=(302,))  # fmt: skip
        if status != 302:
            return
        # The import runs as a job too: done when the page shows no progress bar any more.
        if wait_for(client, staged, lambda text: "<progress" not in text) is None:
            with lock:
                errors["import_confirm"].append("the import job did not finish in 300 s")
            return
        with lock:
            release["epoch"] += 1
        events["imported"] = time.perf_counter()

    def wait_for(client: Client, path: str, done: Callable[[str], bool]) -> bytes | None:
        """The page at `path`, polled once a second (each poll timed as "import_poll") until
        `done` says it is there; None after 300 s."""
        deadline = time.perf_counter() + 300
        while time.perf_counter() < deadline:
            status, page = timed("import_poll", client, "GET", path)
            if status == 200 and done(page.decode("utf-8", "replace")):
                return page
            time.sleep(1)
        return None

    def person(index: int) -> None:
        try:
            one_person(index)
        except Exception as error:  # noqa: BLE001 - the bench's own fault, counted
            with lock:
                errors["bench"].append(repr(error))

    def one_person(index: int) -> None:
        rng = random.Random(index)
        who = plan["people"][index % len(plan["people"])]
        who = {**who, "steps": list(who["steps"])}
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
        timed("sign_in", client, "POST", "/auth/login", form, FORM_POSTS, ok=(302,))
        token = found.group(1).decode()  # the form token is bound to the session's secret
        _, board = client.request("GET", "/board/")[::2]
        token = token_of(board, token)
        import_at = window["start"] + rng.uniform(10, 50) if index == importer else None
        deadline = window["end"]
        while time.perf_counter() < deadline:
            pause(rng, think)
            if import_at is not None and time.perf_counter() >= import_at:
                import_at = None
                import_results(client)
                continue
            mix = [(k, w) for k, w in MIX if (pdf or k != "pdf")
                   and (k != "writing" or who["steps"]) and (k != "hr_edit" or who["hr"])
                   and (k != "move" or who["actions"])]  # fmt: skip
            kind = rng.choices([k for k, _ in mix], [w for _, w in mix])[0]
            code = quote(rng.choice(who["units"]))
            if kind == "overview":
                timed(kind, client, "GET", "/results/")
            elif kind == "unit":
                unit_page(client, code)
            elif kind == "board":
                timed(kind, client, "GET", "/board/")
            elif kind == "archive":
                timed(kind, client, "GET", "/reports/")
            elif kind == "pdf":
                fetch_pdf(client, f"/reports/unit/{plan['measurement_id']}/{code}.pdf")
            elif kind == "writing":
                writing(client, rng, who, token)
            elif kind == "hr_edit":
                hr_edit(client, rng, index)
            else:
                action_id = rng.choice(who["actions"])
                with lock:
                    version = versions[action_id]
                form = urlencode({"csrf_token": token, "status": rng.randrange(5),
                                  "version": version, "return_to": "/board/"})  # fmt: skip
                status, _ = timed(kind, client, "POST", f"/board/actions/{action_id}/move", form,
                                  HTMX, ok=(200, 409))  # fmt: skip
                if status == 200:
                    with lock:
                        versions[action_id] = max(versions[action_id], version + 1)
                elif status == 409:
                    fresh_version = database.current(action_id)
                    with lock:
                        conflicts["move"] += 1
                        versions[action_id] = max(versions[action_id], fresh_version)

    def watch_preparation() -> None:
        """When the worker has the sections again after the import (polled once a second)."""
        before = database.prepared()
        events["prepared_before"] = before
        while time.perf_counter() < window["end"] + 30:
            time.sleep(1)
            count = database.prepared()
            if "imported" in events and count >= before:
                events["prepared_again"] = time.perf_counter()
                events["prepared_count"] = count
                return
            if "imported" not in events and time.perf_counter() > window["end"]:
                return

    window["start"] = time.perf_counter()
    window["end"] = window["start"] + seconds + 5  # sign-ins first
    threads = [threading.Thread(target=person, args=(i,)) for i in range(users)]
    watcher = threading.Thread(target=watch_preparation, daemon=True)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - window["start"]
    watcher.join(timeout=35)
    database.close()
    return {"latencies": latencies, "errors": errors, "conflicts": dict(conflicts),
            "wall": wall, "events": events, "start": window["start"],
            "moments": moments}  # fmt: skip


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


ORDER = ["sign_in", "overview", "unit_first", "unit_repeat", "board", "move", "archive", "pdf",
         "pdf_poll", "step_page", "autosave", "admin_page", "role_edit", "user_edit",
         "import_page", "import_check", "import_poll", "import_confirm", "minimal"]  # fmt: skip


def report(results: list[dict]) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    print(f"\n{'kind':<15}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'errors':>7}")  # fmt: skip
    measured = {k: (t, r) for r in results for k, t in r["latencies"].items()}
    for kind in sorted(measured, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER)):
        times, result = measured[kind]
        ordered = sorted(times)
        rows[kind] = r = {
            "requests": len(ordered),
            "rps": len(ordered) / result["wall"],
            "p50": 1000 * percentile(ordered, 50),
            "p95": 1000 * percentile(ordered, 95),
            "p99": 1000 * percentile(ordered, 99),
            "errors": len(result["errors"].get(kind, [])),
        }
        print(f"{kind:<15}{r['requests']:>9}{r['rps']:>8.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}"
              f"{r['p99']:>9.1f}{r['errors']:>7}")  # fmt: skip
    return rows


SERVER_KINDS = [  # an access-log line's method and path -> the kind it is timed as
    ("sign_in", "POST", re.compile(r"/auth/login")),
    ("overview", "GET", re.compile(r"/results/(\?|$)")),
    ("unit", "GET", re.compile(r"/units/[^/?]+(\?|$)")),
    ("board", "GET", re.compile(r"/board/(\?|$)")),
    ("move", "POST", re.compile(r"/board/actions/\d+/move")),
    ("archive", "GET", re.compile(r"/reports/(\?|$)")),
    ("step_page", "GET", re.compile(r"/followup/\d+/[^/]+/\w+$")),
    ("autosave", "POST", re.compile(r"/followup/\d+/[^/]+/\w+$")),
    ("admin_page", "GET", re.compile(r"/admin/users/\d+$")),
    ("admin_edit", "POST", re.compile(r"/admin/users/\d+/")),
    ("minimal", "GET", re.compile(r"/$")),
]
ACCESS_LINE = re.compile(r'"(GET|POST) (\S+) HTTP/[\d.]+" (\d+) \S+ ([\d.]+)s')


def server_times(*logs: Path) -> None:
    """Each kind's time in the gunicorn worker, from its access log: from the moment a worker
    took the request to the last byte sent. Not in it: the wait in the listen queue while
    every worker was busy (the client's time minus this is mostly that queue). A worker also
    waits for the CPU when other processes hold it (the load average)."""
    found: dict[str, list[float]] = defaultdict(list)
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            match = ACCESS_LINE.search(line)
            if not match:
                continue
            method, path, seconds = match[1], match[2], float(match[4])
            for kind, wanted, pattern in SERVER_KINDS:
                if method == wanted and pattern.match(path):
                    found[kind].append(seconds)
                    break
    print(f"\nin the worker (access log){'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for kind, _, _ in SERVER_KINDS:
        times = sorted(found.get(kind, []))
        if times:
            p50, p95 = 1000 * percentile(times, 50), 1000 * percentile(times, 95)
            mean = 1000 * sum(times) / len(times)
            print(f"  {kind:<24}{len(times):>9}{p50:>9.1f}{p95:>9.1f}{mean:>9.1f}")


def when_slow(mixed: dict) -> None:
    """Where in the morning the target kinds' p95 comes from (a diagnosis; the target is
    judged on the whole morning above): the first 20 s (every worker's first request of a
    kind compiles its SQL; everyone's first clicks at once), the 15 s from the import's
    confirm (first views render their sections until the worker has made them) and the rest."""
    start, imported = mixed["start"], mixed["events"].get("import_started")
    print("\nwhen (p95 ms, requests): first 20 s | 15 s from the import's confirm | the rest")

    def part(moment: float) -> int:
        if moment - start < 20:
            return 0
        return 1 if imported is not None and 0 <= moment - imported < 15 else 2

    for kind in ("unit_first", "unit_repeat", "board"):
        parts: list[list[float]] = [[], [], []]
        for began, spent in mixed["moments"].get(kind, []):
            parts[part(began)].append(spent)
        cells = [f"{percentile(sorted(p), 95) * 1000:6.1f} ({len(p):3d})" if p else "     -      "
                 for p in parts]  # fmt: skip
        print(f"  {kind:12s} " + " | ".join(cells))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers for both servers (default: gunicorn.conf.py's, "
                             "KOMPAS_WORKERS or 2 x cores + 1)")  # fmt: skip
    parser.add_argument("--database-url", help="an empty PostgreSQL database to use instead")
    parser.add_argument("--no-pdf", action="store_true", help="leave the unit report PDF out")
    parser.add_argument("--no-import", action="store_true", help="leave minute one's import out")
    parser.add_argument("--jobs", choices=("rq", "thread"), default="rq",
                        help="where report PDFs and prepared sections are made: rq (default, "
                             "as in production: a private redis-server for REDIS_URL and one "
                             "RQ worker at the idle CPU priority) or thread (in the app "
                             "server processes)")  # fmt: skip
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
    workers = args.workers or configured_workers()

    cluster = None if args.database_url else Cluster()
    redis = RedisServer() if args.jobs == "rq" else None
    servers = []
    logs = Path(tempfile.mkdtemp(prefix="kompas-load-logs-"))
    try:
        url = args.database_url or cluster.start()  # type: ignore[union-attr]
        hr_people = sum(1 for i in range(args.users) if i % len(DOMAIN_LOGINS) == 0)
        plan = build(url, hr_people)
        env = {**os.environ, "KOMPAS_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
               "DATABASE_URL": url, "LOGIN_RATE_LIMIT": "100000 per minute",
               "LOGIN_ACCOUNT_RATE_LIMIT": "100000 per minute"}  # fmt: skip
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
        source = "--workers" if args.workers else "gunicorn.conf.py"
        print(f"{args.users} users ({arriving}, {thinking}) for {args.seconds:.0f} s against "
              f"gunicorn -w {workers} ({source}, {os.cpu_count()} cores) on 127.0.0.1:{app_port}, "
              f"PDFs and prepared sections made by {jobs}"
              f"{'' if args.no_import else ', an import in minute one'} ...",
              flush=True)  # fmt: skip
        load_before = os.getloadavg()
        mixed = simulate(app_port, plan, url, args.seconds, args.users, not args.no_pdf, think,
                         args.arrive, not args.no_import)  # fmt: skip
        load_after = os.getloadavg()
        # With pauses a thread asks less often: a longer baseline, for as many answers.
        base_seconds = max(30.0 if think[1] else 10.0, args.seconds / 4)
        base = baseline(minimal_port, base_seconds, args.users, think)
        rows = report([mixed, base])
        server_times(app_log, minimal_log)
        print(f"\nmachine load (1-minute average, {os.cpu_count()} cores): "
              f"{load_before[0]:.1f} before the morning, {load_after[0]:.1f} at its end; the "
              f"bench's own client threads and PostgreSQL share the cores")  # fmt: skip
        total = sum(len(t) for t in mixed["latencies"].values())
        errors = sum(len(e) for e in mixed["errors"].values())
        errors += sum(len(e) for e in base["errors"].values())
        conflicts = ", ".join(f"{n} {k}" for k, n in sorted(mixed["conflicts"].items())) or "none"
        print(f"\napp: {total / mixed['wall']:.1f} requests/s over {mixed['wall']:.1f} s, "
              f"{errors} errors, conflicts (409, handled): {conflicts}")  # fmt: skip
        events, start = mixed["events"], mixed["start"]
        if "imported" in events:
            line = (f"import confirmed at {events['imported'] - start:.1f} s (the confirm took "
                    f"{events['imported'] - events['import_started']:.1f} s)")  # fmt: skip
            if "prepared_again" in events:
                line += (f"; all {events['prepared_count']} unit page sections there again "
                         f"{events['prepared_again'] - events['imported']:.0f} s later "
                         f"(worker and first views)")  # fmt: skip
            else:
                line += (f"; sections not all there again by the end "
                         f"({events['prepared_before']} before)")  # fmt: skip
            print(line)
        elif not args.no_import:
            print("the import did not happen (see errors)")
        for kind, messages in {**mixed["errors"], **base["errors"]}.items():
            for message in sorted(set(messages))[:5]:
                print(f"  error {kind}: {message} (x{messages.count(message)})")
        when_slow(mixed)
        minimal_p95 = rows["minimal"]["p95"]
        met = errors == 0
        for kind, label in (
            ("unit_first", "unit page, first visits"),
            ("unit_repeat", "unit page, repeat visits"),
            ("board", "board"),
        ):
            if kind not in rows:
                print(f"{label}: no requests")
                met = False
                continue
            ratio = rows[kind]["p95"] / minimal_p95
            met = met and ratio <= 10
            print(
                f"p95({label}) / p95(minimal) = {rows[kind]['p95']:.1f} / {minimal_p95:.1f} ms"
                f" = {ratio:.1f}x ({'within' if ratio <= 10 else 'NOT within'} the 10x target)"
            )
        print(f"target (unit page and board p95 <= 10x minimal, 0 errors): "
              f"{'met' if met else 'NOT met'}")  # fmt: skip
        return 0 if met else 1
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

"""Board benchmark: the status-arrow board under load, served by gunicorn, against a minimal route.

    .venv/bin/python bench/board_bench.py [--units 5000] [--actions 20000] [--seconds 10]
        [--concurrency 4] [--workers 2] [--department CODE] [--rebuild] [--profile]

1. Builds (or reuses, from bench/data/) a SQLite database: the large file of
   ../shared/tools/gen_results.py imported through the real import (imports.check + apply,
   which also computes the figures), then follow-ups for 4 of 5 units (their five steps, their
   routing from the traffic light, two plan themes each) and --actions actions spread over
   them (owners: the member of the unit; deadlines from 60 days ago to 120 days ahead;
   statuses 0-4 with an update record for the moved ones; a few passed on), written with
   bulk inserts. A leader of a department (by default the largest department below the root
   that holds at most a tenth of the units) and a member who owns ~50 actions are created
   through the user services, with passwords.
2. Starts two gunicorn servers with the same settings, `gunicorn -c gunicorn.conf.py -w 2
   -b 127.0.0.1:PORT --max-requests 0 --no-control-socket` (the project's production
   config, sync workers; recycling off so no worker restart lands in the figures): the real
   app (`wsgi:app`, KOMPAS_ENV=production, a random SECRET_KEY, DATABASE_URL pointing at a
   copy of the database) and a minimal Flask app whose one route returns a fixed page
   (`bench/board_bench.py:minimal_app()`). Both are stopped (SIGTERM, then SIGKILL to their
   process group) however the run ends.
3. A second process (the load generator: threads with http.client, a new connection per
   request, as sync gunicorn workers close each connection) signs in as the leader and as
   the member through the real sign-in form, warms every worker up, then, in interleaved
   rounds so that all see the same machine, runs each of
      minimal   GET /                                   (the minimal app)
      subtree   GET /board/?scope=subtree&unit=DEPT     (the leader)
      mine      GET /board/?scope=mine                  (the member)
   for --seconds in all (at most --max-requests requests), --concurrency requests at a time.
   It prints requests/s, p50 and p95 of each, the server CPU per request (the workers'
   CPU time from /proc, less sensitive to other load on the machine than the latencies)
   and the ratio p95(board)/p95(minimal); the target is a ratio within 10.

Sign-in over plain http: production sets SESSION_COOKIE_SECURE, which only tells a client
not to send the cookie over http; the server never looks. The load generator keeps its
cookies itself (it is not a browser) and sends them back over loopback http, so the app runs
with its production configuration unchanged.

--profile skips the load test and profiles both board views in-process through the Flask
test client: queries (count and time), template rendering and the top functions. (The
rendered-board cache the earlier "made anew" rounds went around is gone since issue 16: every
board is made on every request.)
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_results.py"
sys.path.insert(0, str(ROOT))

BUILD_VERSION = 3  # bump when the data the build writes changes (3: no change stamps)
SEED = 2025
PASSWORD = "board benchmark password"  # noqa: S105 - local only
LEADER_EMAIL = "leder@bench.example"
MINE_EMAIL = "ejer@bench.example"
MINE_ACTIONS = 50
ACTIONS_PER_FOLLOW_UP = 5
USER_AGENT = "kompas-board-bench"
MINIMAL_PAGE = (
    "<!doctype html><html lang=da><head><meta charset=utf-8><title>Kompas</title></head>"
    "<body><h1>Kompas</h1><p>A fixed page.</p></body></html>"
)

THEMES = [
    "Psykologisk tryghed", "Krav og balance", "Motivation og tilfredshed", "Anerkendelse",
    "Ledelse og planlægning", "Fysisk arbejdsmiljø", "Sygefravær", "Samarbejde på tværs",
]  # fmt: skip
ACTIVITIES = [
    "Makkerordning for nye kolleger", "Fast fredagsmøde om arbejdsgange", "Ny vagtplan",
    "Kursus i konflikthåndtering", "Trivselssamtaler hvert kvartal", "Støjdæmpning i fælles rum",
    "Fælles prioritering af opgaver", "Tavlemøde hver morgen", "Mentorordning",
    "Evaluering af mødekulturen", "Retningslinjer for mails efter fyraften",
    "Temadag om psykologisk tryghed", "Opfølgning på sygefravær", "Bedre introduktion",
]  # fmt: skip
FIRST = "Anne Bo Camilla Dorte Emil Frederik Gitte Hans Ida Jens Karen Lars Mette Niels".split()
LAST = "Andersen Bech Christensen Dahl Eriksen Frandsen Hansen Jensen Larsen Madsen".split()
COMMENTS = [
    "Godt i gang", "Venter på svar fra HR", "Drøftet på personalemødet",
    "Halvdelen af teamet har været med", "Skal følges op i næste måned",
]  # fmt: skip


# --- the minimal app (gunicorn imports this module and calls minimal_app()) ------------------


def minimal_app() -> Any:
    from flask import Flask

    app = Flask("minimal")

    @app.get("/")
    def index() -> str:
        return MINIMAL_PAGE

    return app


# --- the data -------------------------------------------------------------------------------


def large_file(units: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"large-{units}.csv"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(GENERATOR), "large", "--units", str(units), "-o", str(path)],
            check=True,
        )
    return path


def fingerprint(units: int, actions: int, department: str | None) -> str:
    """Changes with the build's parameters, this file's BUILD_VERSION and the schema."""
    from sqlalchemy.schema import CreateTable

    from app import models  # noqa: F401 - the tables
    from app.extensions import db

    digest = hashlib.sha256(f"{BUILD_VERSION}:{SEED}:{units}:{actions}:{department}".encode())
    for table in db.metadata.sorted_tables:
        digest.update(str(CreateTable(table)).encode())
    return digest.hexdigest()[:12]


def database(units: int, actions: int, department: str | None, rebuild: bool) -> tuple[Path, dict]:
    """The cached database and what the build wrote down about it; built when missing."""
    key = fingerprint(units, actions, department)
    path = DATA / f"board-{units}u-{actions}a-{key}.db"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists() and not rebuild:
        return path, json.loads(meta_path.read_text())
    for stale in DATA.glob(f"board-{units}u-{actions}a-*"):  # older builds of the same size
        stale.unlink()
    csv_path = large_file(units)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    start = time.perf_counter()
    meta = build(partial, csv_path, actions, department)
    meta["build_seconds"] = round(time.perf_counter() - start, 1)
    partial.rename(path)
    meta_path.write_text(json.dumps(meta, indent=1))
    return path, meta


def build(path: Path, csv_path: Path, n_actions: int, department_code: str | None) -> dict:
    os.environ.setdefault("KOMPAS_ENV", "testing")
    from sqlalchemy import func, insert, select

    from app import create_app
    from app.extensions import db
    from app.models import (
        STEPS,
        Action,
        ActionUpdate,
        AuditEvent,
        FollowUp,
        FollowUpStep,
        PlanTheme,
        Role,
        RoleAssignment,
        Route,
        Step,
        StepState,
        Unit,
        UnitFigures,
        User,
    )
    from app.services import followup, imports
    from app.services.measurements import find_or_prepare_measurement
    from app.services.users import assign_role, create_user

    rng = random.Random(SEED)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        session = db.session
        db.create_all()
        print(f"building {path.name}: importing {csv_path.name} ...", flush=True)
        measurement = find_or_prepare_measurement(
            session, name="Benchmark", year=2025, template_code=None
        )
        checked = imports.check(
            session, csv_path.read_bytes(), file_name=csv_path.name, year=2025,
            questionnaire=measurement.questionnaire,
        )  # fmt: skip
        assert checked.ok, checked.result.errors[:3]
        imports.apply(session, None, checked, measurement)
        session.commit()
        print("  imported; writing follow-ups, users and actions ...", flush=True)

        # The tree, and each unit's chain up to the root.
        parent: dict[int, int | None] = dict(session.execute(select(Unit.id, Unit.parent_id)).all())
        code_of = dict(session.execute(select(Unit.id, Unit.code)).all())
        root = next(u for u, p in parent.items() if p is None)

        def chain(unit_id: int) -> list[int]:
            out: list[int] = []
            node: int | None = unit_id
            while node is not None:
                out.append(node)
                node = parent[node]
            return out

        children: dict[int, list[int]] = {}
        for unit_id, parent_id in parent.items():
            if parent_id is not None:
                children.setdefault(parent_id, []).append(unit_id)

        def subtree(unit_id: int) -> list[int]:
            out, todo = [], [unit_id]
            while todo:
                node = todo.pop()
                out.append(node)
                todo.extend(children.get(node, ()))
            return out

        # The department whose leader the benchmark signs in as.
        if department_code:
            department = next(u for u, c in code_of.items() if c == department_code)
        else:
            sizes = {u: len(subtree(u)) for u in children.get(root, ())}
            fitting = [u for u, n in sizes.items() if n <= len(parent) // 10]
            department = max(fitting or sizes, key=sizes.__getitem__)
        department_units = set(subtree(department))

        # Follow-ups for 4 of 5 units below the root, with the routing followup.start gives.
        figures = {
            unit_id: (shown, colour, overall)
            for unit_id, shown, colour, overall in session.execute(
                select(
                    UnitFigures.unit_id, UnitFigures.shown, UnitFigures.colour,
                    UnitFigures.overall_score,
                ).where(UnitFigures.measurement_id == measurement.id)
            )
        }  # fmt: skip
        average = followup.organisation_average(session, measurement)
        remeasure_by = followup.remeasure_date(measurement)

        def routing(unit_id: int) -> tuple[str | None, Route, int | None, bool]:
            """followup.routing without its queries (checked against it below)."""
            shown, colour, overall = figures[unit_id]
            colour = colour if shown else None
            overall = overall if shown else None
            below = overall is not None and average is not None and overall < average
            up = chain(unit_id)
            department_id = up[-2] if len(up) >= 3 else None
            if colour == "red":
                return colour, Route.DEPARTMENT_HR, department_id, True
            if colour == "yellow" and below:
                return colour, Route.DEPARTMENT, department_id, True
            return colour, Route.UNIT, None, False

        candidates = sorted(u for u in parent if u != root and u in figures)
        n_follow_ups = min(len(candidates), max(1, n_actions // ACTIONS_PER_FOLLOW_UP))
        follow_up_units = sorted(rng.sample(candidates, n_follow_ups))
        for unit_id in rng.sample(follow_up_units, min(30, n_follow_ups)):
            unit = session.get(Unit, unit_id)
            real = followup.routing(session, measurement, unit, session.get(
                UnitFigures, (measurement.id, unit_id)))  # fmt: skip
            assert routing(unit_id) == (
                real.colour,
                real.route,
                real.department_unit_id,
                real.remeasure,
            ), (unit_id, routing(unit_id), real)
        now = datetime.now(UTC)
        session.execute(
            insert(FollowUp),
            [
                {
                    "measurement_id": measurement.id, "unit_id": unit_id,
                    "uses_parent_figures": not figures[unit_id][0], "colour": r[0],
                    "route": r[1], "department_unit_id": r[2], "remeasure": r[3],
                    "remeasure_by": remeasure_by if r[3] else None,
                    "approved_by_body": "", "created_at": now, "updated_at": now,
                }
                for unit_id in follow_up_units
                for r in [routing(unit_id)]
            ],
        )  # fmt: skip
        follow_up_of = dict(
            session.execute(
                select(FollowUp.unit_id, FollowUp.id).where(
                    FollowUp.measurement_id == measurement.id
                )
            ).all()
        )
        done_until = {Step.ANALYSIS, Step.PREPARATION, Step.DIALOGUE}
        session.execute(
            insert(FollowUpStep),
            [
                {
                    "follow_up_id": follow_up_id, "step": step, "data": {},
                    "state": StepState.DONE if step in done_until else (
                        StepState.IN_PROGRESS if step == Step.PLAN else StepState.NOT_STARTED),
                    "updated_at": now if step in done_until else None,
                }
                for follow_up_id in follow_up_of.values()
                for step in STEPS
            ],
        )  # fmt: skip
        session.execute(
            insert(PlanTheme),
            [
                {"follow_up_id": follow_up_id, "title": title, "current_score": None,
                 "target_score": None, "goal": "", "approach": "", "position": position}
                for follow_up_id in follow_up_of.values()
                for position, title in enumerate(rng.sample(THEMES, 2))
            ],
        )  # fmt: skip
        themes_of: dict[int, list[int]] = {}
        for follow_up_id, theme_id in session.execute(
            select(PlanTheme.follow_up_id, PlanTheme.id).order_by(PlanTheme.id)
        ):
            themes_of.setdefault(follow_up_id, []).append(theme_id)

        # One member per follow-up unit: the owners (no password: they never sign in here).
        session.execute(
            insert(User),
            [
                {"email": f"medlem{i}@bench.example",
                 "name": f"{rng.choice(FIRST)} {rng.choice(LAST)} ({code_of[unit_id]})",
                 "password_hash": None, "active": True, "language": "da", "created_at": now,
                 "reminders_enabled": True}
                for i, unit_id in enumerate(follow_up_units)
            ],
        )  # fmt: skip
        member_ids = dict(
            session.execute(
                select(User.email, User.id).where(User.email.like("medlem%@bench.example"))
            ).all()
        )
        member_of = {
            u: member_ids[f"medlem{i}@bench.example"] for i, u in enumerate(follow_up_units)
        }
        session.execute(
            insert(RoleAssignment),
            [{"user_id": user_id, "unit_id": unit_id, "role": Role.MEMBER}
             for unit_id, user_id in member_of.items()],
        )  # fmt: skip

        # The two who sign in, through the services (passwords hashed as at sign-up).
        leader = create_user(session, None, email=LEADER_EMAIL, name="Leder Bench",
                             password=PASSWORD)  # fmt: skip
        assign_role(session, None, leader, session.get(Unit, department), Role.LEADER)
        mine = create_user(session, None, email=MINE_EMAIL, name="Ejer Bench", password=PASSWORD)

        # The actions: units drawn at random among the follow-ups.
        today = date.today()
        action_units = [rng.choice(follow_up_units) for _ in range(n_actions)]
        # The member owns every action of a few units (outside the department), ~50 in all.
        by_unit: dict[int, list[int]] = {}
        for index, unit_id in enumerate(action_units):
            by_unit.setdefault(unit_id, []).append(index)
        owned: set[int] = set()
        mine_units = []
        for unit_id in rng.sample(follow_up_units, len(follow_up_units)):
            if len(owned) >= MINE_ACTIONS:
                break
            if unit_id in department_units or unit_id not in by_unit:
                continue
            mine_units.append(unit_id)
            owned.update(by_unit[unit_id][: MINE_ACTIONS - len(owned)])
        for unit_id in mine_units:
            assign_role(session, None, mine, session.get(Unit, unit_id), Role.MEMBER)
        rows = []
        for index, unit_id in enumerate(action_units):
            follow_up_id = follow_up_of[unit_id]
            status = rng.randrange(5)
            owner_draw = rng.random()
            owner_id, owner_name = member_of[unit_id], ""
            if index in owned:
                owner_id = mine.id
            elif owner_draw < 0.1:
                owner_id, owner_name = None, rng.choice(["Hele teamet", "Ledelsen", "TR og AMR"])
            elif owner_draw < 0.15:
                owner_id = None
            escalate_draw = rng.random()
            rows.append(
                {
                    "follow_up_id": follow_up_id,
                    "theme_id": rng.choice([*themes_of[follow_up_id], None]),
                    "unit_id": unit_id,
                    "title": rng.choice(ACTIVITIES),
                    "owner_user_id": owner_id,
                    "owner_name": owner_name,
                    "deadline": (
                        None if rng.random() < 0.05
                        else today + timedelta(days=rng.randint(-60, 120))
                    ),
                    "status": status,
                    "escalated_to_unit_id": parent[unit_id] if escalate_draw < 0.03 else None,
                    "escalated_to_function": "MED-udvalget" if 0.03 <= escalate_draw < 0.05 else "",
                    "effect_rating": None,
                    "carry_over": False,
                    "last_comment": rng.choice(COMMENTS) if status and rng.random() < 0.5 else "",
                    "version": 2 if status else 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )  # fmt: skip
        session.execute(insert(Action), rows)
        created = session.execute(
            select(Action.id, Action.unit_id, Action.title, Action.status, Action.owner_user_id,
                   Action.last_comment)
        ).all()  # fmt: skip
        session.execute(
            insert(AuditEvent),
            [{"at": now, "user_id": None, "action": "action.created", "object_type": "action",
              "object_id": a.id, "unit_id": a.unit_id, "details": {"title": a.title}}
             for a in created],
        )  # fmt: skip
        session.execute(
            insert(ActionUpdate),
            [{"action_id": a.id, "at": now, "user_id": a.owner_user_id, "status": a.status,
              "comment": a.last_comment}
             for a in created if a.status],
        )  # fmt: skip
        session.commit()

        department_actions = session.scalar(
            select(func.count()).select_from(Action).where(
                (Action.unit_id.in_(department_units))
                | (Action.escalated_to_unit_id.in_(department_units))
            )
        )  # fmt: skip
        mine_actions = session.scalar(
            select(func.count()).select_from(Action).where(Action.owner_user_id == mine.id)
        )
        meta = {
            "units": len(parent),
            "actions": session.scalar(select(func.count()).select_from(Action)),
            "follow_ups": len(follow_up_of),
            "users": session.scalar(select(func.count()).select_from(User)),
            "department": code_of[department],
            "department_units": len(department_units),
            "department_actions": department_actions,
            "mine_actions": mine_actions,
            "mine_units": len(mine_units),
            "measurement_id": measurement.id,
        }
        db.session.remove()
        db.engine.dispose()
    return meta


# --- the load generator (the second process) ------------------------------------------------


class Client:
    """Cookies kept by hand: the production session cookie is Secure, and a browser would
    not send it over http; the server does not care, and loopback is what is measured."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def request(
        self, method: str, path: str, body: str | None = None, extra: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers={**self.headers(), **(extra or {})})
            response = connection.getresponse()
            data = response.read()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            return response.status, dict(response.getheaders()), data
        finally:
            connection.close()

    def sign_in(self, email: str, password: str) -> None:
        from urllib.parse import urlencode

        status, _, page = self.request("GET", "/auth/login")
        assert status == 200, status
        found = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
            rb'name="csrf_token"[^>]*value="([^"]+)"', page
        )
        assert found, "no csrf_token on the sign-in page"
        form = urlencode(
            {"csrf_token": found.group(1).decode(), "email": email, "password": password}
        )
        status, headers, _ = self.request(
            "POST", "/auth/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert status == 302 and "login" not in headers.get("Location", ""), (status, headers)


def load(port: int, path: str, headers: dict[str, str], concurrency: int, seconds: float,
         max_requests: int) -> dict:  # fmt: skip
    """`concurrency` threads, each one request at a time, for `seconds` or `max_requests`."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    issued = 0
    start = time.perf_counter()
    deadline = start + seconds

    def worker() -> None:
        nonlocal issued
        clock = time.perf_counter
        while True:
            with lock:
                if issued >= max_requests or clock() >= deadline:
                    return
                issued += 1
                number = issued
            began = clock()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            # "{n}" in a path: a new address each time, so that no cache can answer.
            connection.request("GET", path.replace("{n}", str(number)), headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            spent = clock() - began
            with lock:
                latencies.append(spent)
                if response.status != 200:
                    failures.append(response.status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "failures": failures, "wall": time.perf_counter() - start}


def client_main(plan: dict) -> dict:
    app_port, minimal_port = plan["app_port"], plan["minimal_port"]
    leader, mine = Client(app_port), Client(app_port)
    leader.sign_in(LEADER_EMAIL, PASSWORD)
    mine.sign_in(MINE_EMAIL, PASSWORD)
    targets = {
        "minimal": (minimal_port, "/", {"User-Agent": USER_AGENT}),
        "subtree": (app_port, plan["subtree_path"], leader.headers()),
        "mine": (app_port, plan["mine_path"], mine.headers()),
    }
    master = {name: plan["app_pid"] for name in targets} | {"minimal": plan["minimal_pid"]}
    pages = {}
    for name, (port, path, headers) in targets.items():
        # Every worker warmed up (templates compiled, first queries done), and the page checked.
        for _ in range(2):
            warm = load(port, path, headers, plan["concurrency"], 60, plan["concurrency"])
            assert not warm["failures"], (name, warm["failures"])
        status, _, body = Client(port).request("GET", path, extra=headers)
        assert status == 200, (name, status)
        pages[name] = {
            "bytes": len(body),
            "cards": body.count(b'<li class="kompas-card'),
            "signed_in": b"/auth/login" not in body or name == "minimal",
        }
    results: dict[str, dict] = {name: {"latencies": [], "failures": [], "wall": 0.0, "cpu": 0.0}
                                for name in targets}  # fmt: skip
    rounds = plan["rounds"]
    for _ in range(rounds):  # interleaved: each target sees the same machine
        for name, (port, path, headers) in targets.items():
            cpu = workers_cpu(master[name])
            got = load(port, path, headers, plan["concurrency"], plan["seconds"] / rounds,
                       plan["max_requests"] // rounds)  # fmt: skip
            results[name]["cpu"] += workers_cpu(master[name]) - cpu
            for key in ("latencies", "failures"):
                results[name][key] += got[key]
            results[name]["wall"] += got["wall"]
    summary = {}
    for name, got in results.items():
        latencies = sorted(got["latencies"])
        summary[name] = {
            "requests": len(latencies),
            "failures": len(got["failures"]),
            "rps": len(latencies) / got["wall"],
            "p50_ms": 1000 * percentile(latencies, 50),
            "p95_ms": 1000 * percentile(latencies, 95),
            "max_ms": 1000 * latencies[-1],
            "mean_ms": 1000 * statistics.fmean(latencies),
            "cpu_ms": 1000 * got["cpu"] / len(latencies),
            **pages[name],
        }
    return summary


def workers_cpu(master_pid: int) -> float:
    """CPU seconds used so far by the gunicorn master's workers, the running ones and those
    that have exited (Linux /proc: utime + stime, and the master's cutime + cstime)."""

    def stat(pid: int | str) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    try:
        master = stat(master_pid)
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return float("nan")
    ticks = int(master[13]) + int(master[14])
    for pid in children:
        try:
            fields = stat(pid)
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


# --- the servers ----------------------------------------------------------------------------


# Both servers: the project's gunicorn.conf.py (which gunicorn reads from the working
# directory anyway: sync workers, access log, timeouts), with worker recycling off so that
# restarts (every ~2,000 requests there) do not land in the measurement, and without
# gunicorn 27's control socket, whose one default path the two servers would share.
GUNICORN_SETTINGS = ["-c", str(ROOT / "gunicorn.conf.py"), "--max-requests", "0",
                     "--no-control-socket"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn() -> str:
    local = ROOT / ".venv" / "bin" / "gunicorn"
    return str(local) if local.exists() else (shutil.which("gunicorn") or "gunicorn")


def start_server(target: str, port: int, workers: int, env: dict, log: Path,
                 pythonpath: Path) -> subprocess.Popen:  # fmt: skip
    command = [gunicorn(), "-w", str(workers), "-b", f"127.0.0.1:{port}",
               "--pythonpath", str(pythonpath), *GUNICORN_SETTINGS, target]  # fmt: skip
    with log.open("w") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def wait_ready(server: subprocess.Popen, port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            status, _, _ = Client(port).request("GET", path)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn on port {port} did not answer: {log.read_text()[-2000:]}")


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM to the master (gunicorn stops its workers), then SIGKILL to its group."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


# --- profiling (in-process, through the test client) ----------------------------------------


def profile(db_path: Path, meta: dict, paths: dict[str, str]) -> None:
    import cProfile
    import pstats

    from flask import before_render_template, template_rendered
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db
    from app.services import passwords

    passwords._hasher = passwords.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}"})
    queries: list[float] = []
    rendering: list[float] = []
    started: list[float] = []
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_: Any) -> None:
        started.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(*_: Any) -> None:
        queries.append(time.perf_counter() - started.pop())

    depth = [0]

    def _render_start(*_: Any, **__: Any) -> None:
        if depth[0] == 0:
            started_render[0] = time.perf_counter()
        depth[0] += 1

    def _render_done(*_: Any, **__: Any) -> None:
        depth[0] -= 1
        if depth[0] == 0:
            rendering.append(time.perf_counter() - started_render[0])

    started_render = [0.0]
    before_render_template.connect(_render_start, app)
    template_rendered.connect(_render_done, app)
    for name, email in (("subtree", LEADER_EMAIL), ("mine", MINE_EMAIL)):
        client = app.test_client()
        response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        client.get(paths[name])  # warm up
        queries.clear()
        rendering.clear()
        runs = 3
        began, cpu = time.perf_counter(), time.process_time()
        for _ in range(runs):
            response = client.get(paths[name])
            assert response.status_code == 200
        total = (time.perf_counter() - began) / runs
        cpu = (time.process_time() - cpu) / runs
        cards = response.data.count(b'<li class="kompas-card')
        print(f"{name}: {paths[name]}  ({cards} cards, {len(response.data) / 1000:.0f} kB)")
        print(f"  {total * 1000:.1f} ms per request ({cpu * 1000:.1f} ms CPU); "
              f"{len(queries) / runs:.0f} queries taking {sum(queries) / runs * 1000:.1f} ms; "
              f"template rendering (with the queries made while rendering) "
              f"{sum(rendering) / runs * 1000:.1f} ms")  # fmt: skip
        profiler = cProfile.Profile()
        profiler.enable()
        client.get(paths[name])
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(
            r"(app/|jinja2|sqlalchemy/orm/query|wtforms)", 25
        )


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--actions", type=int, default=20000)
    parser.add_argument("--department", help="unit code of the department (default: chosen)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="requests at a time")
    parser.add_argument("--seconds", type=float, default=10, help="load time per target")
    parser.add_argument("--max-requests", type=int, default=20000, help="cap per target")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    parser.add_argument("--rebuild", action="store_true", help="build the database again")
    parser.add_argument("--profile", action="store_true", help="profile, no load test")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:  # the load generator: the plan on stdin, the figures on stdout
        print(json.dumps(client_main(json.loads(sys.stdin.read()))))
        return

    cached, meta = database(args.units, args.actions, args.department, args.rebuild)
    paths = {
        "subtree": f"/board/?scope=subtree&unit={meta['department']}",
        "mine": "/board/?scope=mine",
        "minimal": "/",
    }
    print(
        f"board benchmark: {meta['units']} units, {meta['actions']} actions in "
        f"{meta['follow_ups']} follow-ups, {meta['users']} users; department "
        f"{meta['department']} ({meta['department_units']} units, "
        f"{meta['department_actions']} actions); the member owns {meta['mine_actions']} actions "
        f"in {meta['mine_units']} units  [{cached.name}"
        + (f", built in {meta['build_seconds']} s" if "build_seconds" in meta else "")
        + "]",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "board.db"  # a copy: sign-ins write, the cache stays as built
        shutil.copyfile(cached, db_path)
        if args.profile:
            profile(db_path, meta, paths)
            return
        run(args, meta, db_path, Path(tmp), paths)


def run(args: argparse.Namespace, meta: dict, db_path: Path, tmp: Path, paths: dict) -> None:
    env = {
        **os.environ,
        "KOMPAS_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{db_path}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    app_port, minimal_port = free_port(), free_port()
    servers = []
    began = time.perf_counter()
    load_before = os.getloadavg()
    try:
        servers.append(start_server("wsgi:app", app_port, args.workers, env, tmp / "app.log",
                                    ROOT))  # fmt: skip
        servers.append(start_server("board_bench:minimal_app()", minimal_port, args.workers,
                                    env, tmp / "minimal.log", ROOT / "bench"))  # fmt: skip
        wait_ready(servers[0], app_port, "/healthz", tmp / "app.log")
        wait_ready(servers[1], minimal_port, "/", tmp / "minimal.log")
        plan = {
            "app_port": app_port, "minimal_port": minimal_port, "concurrency": args.concurrency,
            "app_pid": servers[0].pid, "minimal_pid": servers[1].pid,
            "seconds": args.seconds, "max_requests": args.max_requests, "rounds": args.rounds,
            "subtree_path": paths["subtree"], "mine_path": paths["mine"],
        }  # fmt: skip
        output = subprocess.run(
            [sys.executable, __file__, "--client"], input=json.dumps(plan), text=True,
            capture_output=True, timeout=600,
        )  # fmt: skip
        if output.returncode != 0:
            raise RuntimeError(f"the load generator failed:\n{output.stderr[-3000:]}")
        summary = json.loads(output.stdout.strip().splitlines()[-1])
    finally:
        for server in servers:
            stop_server(server)
    print(
        f"  servers: gunicorn -c gunicorn.conf.py -w {args.workers} --max-requests 0 "
        f"--no-control-socket (sync workers) on 127.0.0.1, the app with "
        f"KOMPAS_ENV=production (Secure session cookie sent back by the client over "
        f"loopback http); load from a second process: {args.concurrency} threads, a new "
        f"connection per request, {args.rounds} interleaved rounds, ~{args.seconds:.0f} s "
        f"per target; {os.cpu_count()} CPUs shared by servers and client"
    )
    in_scope = {"subtree": meta["department_actions"], "mine": meta["mine_actions"]}
    labels = {
        "minimal": "minimal Flask route  GET /",
        "subtree": f"subtree board        GET {paths['subtree']}",
        "mine": f"my actions           GET {paths['mine']}",
    }
    for name in ("minimal", "subtree", "mine"):
        got = summary[name]
        cards = f"{got['cards']:5d} cards" if name != "minimal" else " " * 11
        failed = f"   {got['failures']} FAILED" if got["failures"] else ""
        print(
            f"  {labels[name]:<52} {got['requests']:6d} req {got['rps']:8.1f} req/s   "
            f"p50 {got['p50_ms']:7.1f} ms   p95 {got['p95_ms']:7.1f} ms   {cards} "
            f"{got['bytes'] / 1000:7.1f} kB   server CPU {got['cpu_ms']:6.2f} ms/req{failed}"
        )
        if not got["signed_in"]:
            print(f"    {name}: the page was the sign-in page: the session was not accepted")
        if name in in_scope and not got["cards"]:
            print(f"    {name}: no cards shown, the data has {in_scope[name]}")
    base = summary["minimal"]["p95_ms"]
    for name in ("subtree", "mine"):
        ratio = summary[name]["p95_ms"] / base
        verdict = "within target" if ratio <= 10 else "OVER target"
        print(f"  ratio p95({name})/p95(minimal): {ratio:6.1f}   (target <= 10: {verdict})")
    print(
        f"  run took {time.perf_counter() - began:.0f} s (servers up to servers down); load "
        f"average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f} (other work on "
        f"the machine moves the figures: compare runs)"
    )


if __name__ == "__main__":
    main()

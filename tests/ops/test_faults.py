"""Fault test: the database server dies while an import and a board move are written.

The test runs its own throw-away PostgreSQL cluster (as scripts/test.sh does), so it can stop
it (`pg_ctl stop -m immediate`: the connections are cut, nothing is shut down cleanly) in the
middle of a transaction and start it again. Each write must either complete or roll back, the
same app object must answer /healthz 200 again after the restart (pool_pre_ping), and nothing
half-written may remain. Skipped only when the PostgreSQL binaries are missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from app import create_app
from app.extensions import db
from app.models import (
    Action,
    ActionUpdate,
    Measurement,
    Organisation,
    OrganisationKind,
    Role,
    Unit,
    UnitResult,
)
from app.services import followup, imports
from app.services.measurements import find_or_prepare_measurement
from tests.conftest import PASSWORD, login
from tests.followup_data import measure
from tests.stored_counts import stored_answers

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_results.py"
WAIT = 30  # seconds: no step of the test should come near this

pg_bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
pytestmark = pytest.mark.skipif(
    not pg_bins and shutil.which("initdb") is None,
    reason="PostgreSQL binaries (initdb, pg_ctl) are not installed; scripts/test.sh installs them",
)


class Cluster:
    """A private PostgreSQL cluster on a free loopback port, run as `postgres` when root."""

    def __init__(self) -> None:
        initdb = pg_bins[-1] if pg_bins else shutil.which("initdb")
        self.bin = Path(initdb).parent  # type: ignore[arg-type]
        self.dir = Path(tempfile.mkdtemp(prefix="kompas-faults-"))
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_pg:
            shutil.chown(self.dir, "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust",
                  "--no-sync")  # fmt: skip
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_pg, str(self.bin / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, timeout=60)  # fmt: skip

    def start(self) -> None:
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.dir} -F -c fsync=off "
                   "-c full_page_writes=off")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w",
                  "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        """Cut every connection at once: the server process dies without a clean shutdown."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")

    def create_database(self, name: str) -> str:
        subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "postgres", name], check=True, timeout=30)  # fmt: skip
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        subprocess.run([*self.as_pg, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"),
                        "-m", "immediate", "stop"], capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    server = Cluster()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def live(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """A Kompas app on a fresh database of the private cluster, with the small measured tree,
    two members of A1 and one action."""
    name = "faults_" + "".join(c if c.isalnum() else "_" for c in request.node.name).lower()
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": cluster.create_database(name[:60])})
    # A failed request answers 500 as in production, instead of raising into the test.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    from app.services.users import assign_role, create_user

    with app.app_context():
        db.create_all()
        db.session.add(Organisation(name="T", kind=OrganisationKind.MUNICIPALITY))
        units: dict[str, Unit] = {}
        for code, parent in [("R", None), ("A", "R"), ("A1", "A"), ("A2", "A"), ("B", "R"),
                             ("B1", "B")]:  # fmt: skip
            units[code] = Unit(code=code, name=f"Enhed {code}", parent=units.get(parent or ""))
            db.session.add(units[code])
        db.session.flush()
        measurement = measure()
        user = create_user(db.session, None, email="one@x.dk", name="One", password=PASSWORD)
        assign_role(db.session, None, user, units["A1"], Role.MEMBER)
        follow_up = followup.start(db.session, user, measurement, units["A1"])
        action = followup.add_action(db.session, user, follow_up, title="Under strømsvigt")
        db.session.commit()
        app.config["FAULT_ACTION_ID"] = action.id
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _healthy_again(app: Flask) -> None:
    """The same app object, never restarted, answers /healthz 200 once the server is back."""
    response = app.test_client().get("/healthz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["database"] == "ok"


def _down(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 503, response.get_json()


def _in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list]:
    """Run `target` in a thread; the list gets its return value or the exception."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(target())
        except Exception as error:  # noqa: BLE001 - reported to the test
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# --- the import ---------------------------------------------------------------------------


def test_database_cut_while_an_import_is_written(
    live: Flask, cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server dies halfway through the unit_result COPY of a full APV file: the
    import's transaction rolls back as a whole, and the same import succeeds afterwards."""
    path = tmp_path / "apv-2027.csv"
    subprocess.run([sys.executable, str(GENERATOR), "apv", "--year", "2027", "--seed", "3",
                    "-o", str(path)], check=True, timeout=60)  # fmt: skip
    with live.app_context():
        measurement = find_or_prepare_measurement(
            db.session, name="APV 2027", year=2027, template_code="apv"
        )
        db.session.commit()
        measurement_id = measurement.id
        checked = imports.check(db.session, path.read_bytes(), file_name=path.name, year=2027,
                                questionnaire=measurement.questionnaire)  # fmt: skip
        assert checked.ok, checked.result.errors[:3]
        expected_rows = len(checked.result.units)  # one unit_result row each
        expected_answers = len(checked.result.results)
        units_before = db.session.scalar(select(func.count()).select_from(Unit))
        small_before = len(stored_answers())
        db.session.remove()
    assert expected_rows > 20

    halfway, stopped = threading.Event(), threading.Event()
    real_rows = imports._unit_result_rows

    def rows_with_a_cut(*args: Any, **kwargs: Any) -> Iterator[tuple]:
        for index, row in enumerate(real_rows(*args, **kwargs)):
            if index == expected_rows // 2:
                halfway.set()  # the COPY is under way: half the rows are on the wire
                stopped.wait(WAIT)
            yield row

    monkeypatch.setattr(imports, "_unit_result_rows", rows_with_a_cut)

    def write() -> str:
        with live.app_context():
            target = db.session.get(Measurement, measurement_id)
            try:
                imports.apply(db.session, None, checked, target)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()
        return "committed"

    thread, outcome = _in_thread(write)
    assert halfway.wait(WAIT), f"the import never reached its COPY: {outcome}"
    cluster.stop()
    stopped.set()
    thread.join(WAIT)
    assert not thread.is_alive()
    with live.app_context():
        _down(live)
    cluster.start()

    with live.app_context():
        _healthy_again(live)
        written = len(stored_answers(UnitResult.measurement_id == measurement_id))
        unit_results = db.session.scalar(
            select(func.count())
            .select_from(UnitResult)
            .where(UnitResult.measurement_id == measurement_id)
        )
        units_after = db.session.scalar(select(func.count()).select_from(Unit))
        if outcome == ["committed"]:  # it beat the cut: then all of it is there
            assert written == expected_answers
        else:
            assert isinstance(outcome[0], Exception), outcome
            assert (written, unit_results, units_after) == (0, 0, units_before)
        others = len(stored_answers(UnitResult.measurement_id != measurement_id))
        assert others == small_before  # the measurement that was there is untouched
        db.session.remove()

    # The same app imports the same file afterwards, completely.
    monkeypatch.setattr(imports, "_unit_result_rows", real_rows)
    assert write() == "committed"
    with live.app_context():
        written = len(stored_answers(UnitResult.measurement_id == measurement_id))
        assert written == expected_answers
        db.session.remove()


# --- the board move -----------------------------------------------------------------------


Hold = tuple[threading.Event, threading.Event]


def _statement_hook(app: Flask, matches: Callable[[str], bool]) -> Hold:
    """Hold the first statement that `matches` until the test has stopped the server."""
    reached, resume = threading.Event(), threading.Event()
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not reached.is_set() and matches(statement):
            reached.set()
            resume.wait(WAIT)

    @event.listens_for(engine, "commit")
    def hold_commit(conn: Any) -> None:
        if not reached.is_set() and matches("COMMIT"):
            reached.set()
            resume.wait(WAIT)

    return reached, resume


@pytest.mark.parametrize(
    "cut_at",
    [
        "UPDATE action",  # the version-checked UPDATE of the card
        "INSERT INTO action_update",  # the card moved, its history row on its way
        "COMMIT",  # everything sent, the commit not yet
    ],
)
def test_database_cut_while_a_card_is_moved(live: Flask, cluster: Cluster, cut_at: str) -> None:
    """The server dies while POST /board/actions/<id>/move is served: the move is either
    stored whole (status, version and its update row) or not at all, and the board works
    again after the restart without restarting the app."""
    action_id = live.config["FAULT_ACTION_ID"]
    client = live.test_client()
    login(client, "one@x.dk")
    reached, resume = _statement_hook(live, lambda sql: sql.lstrip().startswith(cut_at))

    def post() -> int:
        response = client.post(
            f"/board/actions/{action_id}/move",
            data={"status": 2, "version": 1, "return_to": "/board/"},
            headers={"HX-Request": "true"},
        )
        return response.status_code

    thread, outcome = _in_thread(post)
    assert reached.wait(WAIT), f"the move never reached {cut_at}: {outcome}"
    cluster.stop()
    resume.set()
    thread.join(WAIT)
    assert not thread.is_alive()
    cluster.start()

    with live.app_context():
        _healthy_again(live)
        action = db.session.get(Action, action_id)
        updates = list(
            db.session.scalars(select(ActionUpdate).where(ActionUpdate.action_id == action_id))
        )
        moved = (action.version, action.status, [u.status for u in updates]) == (2, 2, [2])
        untouched = (action.version, action.status, updates) == (1, 0, [])
        assert moved or untouched, (outcome, action.version, action.status, updates)
        if outcome == [200]:  # the client was told it moved: then it must have
            assert moved
        version = action.version
        db.session.remove()

    # The same app, the same signed-in client: the card moves now.
    response = client.post(
        f"/board/actions/{action_id}/move",
        data={"status": 3, "version": version, "return_to": "/board/"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    with live.app_context():
        action = db.session.get(Action, action_id)
        assert (action.version, action.status) == (version + 1, 3)
        db.session.remove()

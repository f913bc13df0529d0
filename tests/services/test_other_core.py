"""Work on the other core (app/services/other_core.py): the caller gets the value, or the
exception, the work gives inline, whatever happens to the child; no child where a fork is
unsafe; a child left behind is ended; and an import whose release is made in a child stores
exactly what the inline import stores."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Question, Unit
from app.services import import_jobs, imports, other_core, report_jobs
from app.services.measurements import find_or_prepare_measurement
from tests.services.test_import_pipeline import generate, released

PARENT = os.getpid()


def in_child() -> bool:
    return os.getpid() != PARENT


@pytest.fixture(autouse=True)
def forking_is_possible() -> None:
    """A fork needs this process to run one thread: the job threads earlier tests started
    are ended, any other thread (a live server's request) is given a few seconds to end."""
    import_jobs.stop_pool()
    report_jobs.stop_pool()
    deadline = time.monotonic() + 10
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    if not other_core.may_fork():
        pytest.fail(
            "other_core.may_fork() is False here (one core, or threads left running by "
            f"another test: {threading.enumerate()}): these tests need a fork"
        )


def test_the_work_is_done_in_a_child_and_its_value_comes_back_whole() -> None:
    big = bytes(range(256)) * 40_000  # 10 MB: far more than a pipe holds

    def work() -> tuple[int, bytes]:
        return os.getpid(), big

    with other_core.started(work) as pending:
        assert pending.in_child
        pid, value = pending.result()
    assert pid != PARENT
    assert value == big


def test_an_exception_in_the_work_reaches_the_caller_as_inline() -> None:
    def work() -> int:
        raise ValueError("unit 'X' names unknown parent 'Y'")

    with other_core.started(work) as pending:
        assert pending.in_child
        with pytest.raises(ValueError, match="unknown parent"):
            pending.result()


@pytest.mark.parametrize(
    "failure",
    [
        lambda: os._exit(3),  # the child dies
        lambda: os.kill(os.getpid(), 9),  # the child is killed (e.g. out of memory)
        lambda: lambda: None,  # its value cannot be pickled
    ],
    ids=["exits", "killed", "unpicklable"],
)
def test_a_child_that_fails_leaves_the_work_to_be_done_here(failure: Callable[[], Any]) -> None:
    def work() -> str:
        if in_child():
            return failure()  # type: ignore[no-any-return]
        return "done here"

    with other_core.started(work) as pending:
        assert pending.in_child
        assert pending.result() == "done here"


def test_no_child_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not other_core.may_fork()
        with other_core.started(os.getpid) as pending:
            assert not pending.in_child
            assert pending.result() == PARENT
    finally:
        stop.set()
        other.join()


def test_no_child_when_the_work_is_not_worth_one() -> None:
    with other_core.started(os.getpid, worth_a_child=False) as pending:
        assert not pending.in_child
        assert pending.result() == PARENT


def test_a_child_whose_result_is_not_asked_for_is_ended_and_reaped() -> None:
    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="the import failed"):
        with other_core.started(lambda: time.sleep(60)) as pending:
            assert pending.in_child
            child = pending._pid
            raise RuntimeError("the import failed")
    assert time.perf_counter() - started < 10
    assert child is not None
    with pytest.raises(ChildProcessError):  # already reaped: no zombie left
        os.waitpid(child, os.WNOHANG)


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()


def released_by_code() -> dict[str, Any]:
    """`released()`, with units and questions by code: ids differ between two imports on
    PostgreSQL, whose sequences do not go back with a rollback."""
    code_of = dict(db.session.execute(select(Unit.id, Unit.code)).tuples().all())
    question_code = dict(db.session.execute(select(Question.id, Question.code)).tuples().all())
    stored = released()
    return {
        "figures": sorted(
            (code_of[unit], code_of.get(parent), *rest) for unit, parent, *rest in stored["figures"]
        ),
        "anonymity": stored["anonymity"],
        "alerts": sorted(
            (code_of[unit], opened, due, tuple(sorted(question_code[q] for q in questions)))
            for unit, opened, due, questions in stored["alerts"]
        ),
    }


def imported(path: Path) -> dict[str, Any]:
    measurement = find_or_prepare_measurement(db.session, name="M", year=2025, template_code=None)
    checked = imports.check(
        db.session,
        path,
        file_name=path.name,
        year=2025,
        questionnaire=measurement.questionnaire,
        threshold=measurement.threshold,
    )
    assert checked.ok, checked.result.errors[:3]
    imports.apply(db.session, None, checked, measurement)
    db.session.flush()
    db.session.expire_all()
    return released_by_code()


def test_an_import_whose_release_is_made_in_a_child_stores_what_the_inline_one_does(
    ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    children: list[bool] = []
    real_started = other_core.started

    def watched(*args: Any, **kwargs: Any) -> Any:
        manager = real_started(*args, **kwargs)
        pending = manager.__enter__()
        children.append(pending.in_child)

        class Entered:
            def __enter__(self) -> Any:
                return pending

            def __exit__(self, *exc: Any) -> Any:
                return manager.__exit__(*exc)

        return Entered()

    monkeypatch.setattr(other_core, "started", watched)
    with tempfile.TemporaryDirectory() as tmp:
        path = generate("large", Path(tmp) / "large.csv", seed=11, units=120)
        monkeypatch.setattr(imports, "RELEASE_ON_OTHER_CORE_FROM", 0)
        in_a_child = imported(path)
        db.session.rollback()
        monkeypatch.setattr(imports, "RELEASE_ON_OTHER_CORE_FROM", 10**9)
        inline = imported(path)
    assert children == [True, False]
    assert in_a_child["figures"], "the release stores figures"
    assert in_a_child == inline

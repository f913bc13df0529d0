"""Pure work done on the machine's other core while this process goes on with its own.

An import has two large pieces of Python that need nothing from each other once the file is
read: writing the imported counts into the database, and making the release (roll-up,
suppression, scores, the audit, the figures as JSON) from the parsed counts. Python runs one
of them at a time per process, so the release is made in a forked child, which sees the
parsed file as it was at the fork, and sends back only its result, pickled through a pipe.

The child is a fork, so it is used only where a fork is safe and pays:
- this process runs one thread (the command line; a job on an RQ worker). A fork copies only
  the calling thread, and a lock another thread held stays locked in the child for ever, so
  a web process's job threads make the work run inline instead;
- the machine gives this process more than one core;
- the work is a pure function (`app/domain` and plain values): the child touches no database
  connection, no file but the pipe, and leaves with `os._exit` (no atexit handler, no buffer
  of the parent's flushed twice, no connection closed under the parent).

Whatever goes wrong in the child (an exception, a crash, a result that cannot be pickled),
the work is done again here, inline: the caller gets the same value, or the same exception,
as if no child had been used.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")

_MISSING = object()


class Pending(Generic[T]):
    """The result of work started by `started`: `result()` waits for it."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._pid: int | None = None
        self._read_end: int | None = None
        self._value: object = _MISSING

    @property
    def in_child(self) -> bool:
        """Whether the work is being done by a child process (else: at `result()`)."""
        return self._pid is not None

    def _start(self) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: do the work, send it, leave
            status = 1
            try:
                os.close(read_end)
                with os.fdopen(write_end, "wb") as out:
                    pickle.dump(self._work(), out, protocol=pickle.HIGHEST_PROTOCOL)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self._pid, self._read_end = pid, read_end

    def result(self) -> T:
        """The work's value: the child's, once it has sent it; else the work done here."""
        if self._value is _MISSING:
            value: object = _MISSING
            if self._pid is not None and self._read_end is not None:
                value = self._collect(self._pid, self._read_end)
            self._value = self._work() if value is _MISSING else value
        return self._value  # type: ignore[return-value]

    def _collect(self, pid: int, read_end: int) -> object:
        """The child's value, or _MISSING when it failed. Reads to the end before waiting
        for the child: a result larger than the pipe's buffer would otherwise never end."""
        with os.fdopen(read_end, "rb") as received:
            self._read_end = None
            try:
                data = received.read()
            except OSError:
                data = b""
        _, status = os.waitpid(pid, 0)
        self._pid = None
        if status != 0 or not data:
            return _MISSING
        try:
            return pickle.loads(data)  # noqa: S301 - our own child's result, through our pipe
        except Exception:  # noqa: BLE001 - a damaged result is the child's failure: redo it
            return _MISSING

    def _abandon(self) -> None:
        """The caller stopped before asking for the result: end the child, reap it."""
        if self._read_end is not None:
            os.close(self._read_end)
            self._read_end = None
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self._pid, 0)
            self._pid = None


def may_fork() -> bool:
    """Whether work can be done in a forked child here (see the module's docstring)."""
    return hasattr(os, "fork") and threading.active_count() == 1 and _cores() > 1


def _cores() -> int:
    """The cores this process may run on (all of the machine's where that cannot be told)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


@contextmanager
def started(work: Callable[[], T], *, worth_a_child: bool = True) -> Iterator[Pending[T]]:
    """`work` started on the other core where that is safe (`may_fork`) and `worth_a_child`
    (a fork and the pickled result cost a few milliseconds); else it is done inline at
    `result()`. Leaving the block without the result ends the child."""
    pending = Pending(work)
    if worth_a_child and may_fork():
        pending._start()
    try:
        yield pending
    finally:
        pending._abandon()

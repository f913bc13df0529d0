"""The app server's own threads for background jobs (the `thread` backend, without Redis):
a pool started at the first job and stopped on request."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor


class JobThreads:
    """A ThreadPoolExecutor made when first needed. `stop` lets its threads end once their
    jobs are done (the next job starts a new pool): idle, they stay alive, and a process with
    threads makes an import's release inline instead of in a child
    (app/services/other_core.py); the tests of that call it."""

    def __init__(self, name: str, workers: int = 2) -> None:
        self._name = name
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix=self._name
                )
            return self._executor

    def stop(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None

"""Backup and restore of the whole database.

SQLite through its online backup API (a consistent copy while the app runs); PostgreSQL
through pg_dump and pg_restore in their custom format.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import Engine, make_url


class BackupError(RuntimeError):
    pass


def _pg_args(engine: Engine) -> tuple[list[str], dict[str, str]]:
    url = make_url(engine.url)
    args = ["--no-owner", "--no-privileges"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {"PGPASSWORD": url.password} if url.password else {}
    return args + ["--dbname", url.database or ""], env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        if not candidates:
            raise BackupError(
                f"{name} is not installed (Debian: apt-get install postgresql-client)"
            )
        found = str(candidates[-1])
    return found


def backup(engine: Engine, target: Path) -> None:
    if engine.dialect.name == "sqlite":
        source_path = make_url(engine.url).database
        if not source_path or source_path == ":memory:":
            raise BackupError("an in-memory database cannot be backed up")
        with sqlite3.connect(source_path) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return
    if engine.dialect.name == "postgresql":
        import os

        args, env = _pg_args(engine)
        result = subprocess.run(  # noqa: S603 - fixed tool, arguments from our own config
            [_tool("pg_dump"), "--format=custom", "--file", str(target), *args],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(result.stderr.strip())
        return
    raise BackupError(f"no backup for {engine.dialect.name}")


def restore(engine: Engine, source: Path) -> None:
    """Replace the database's contents with the backup's."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    engine.dispose()  # no pooled connection may hold the old database open
    if engine.dialect.name == "sqlite":
        target_path = make_url(engine.url).database
        if not target_path or target_path == ":memory:":
            raise BackupError("an in-memory database cannot be restored into")
        with sqlite3.connect(source) as backup_db, sqlite3.connect(target_path) as live:
            backup_db.backup(live)
        return
    if engine.dialect.name == "postgresql":
        import os

        args, env = _pg_args(engine)
        result = subprocess.run(  # noqa: S603
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--single-transaction",
                *args,
                str(source),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(result.stderr.strip())
        return
    raise BackupError(f"no restore for {engine.dialect.name}")

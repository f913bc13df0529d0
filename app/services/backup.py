"""Backup and restore of the whole database.

SQLite through its online backup API (a consistent copy while the app runs); PostgreSQL
through pg_dump and pg_restore in their custom format.
"""

from __future__ import annotations

import os
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


def _sqlite_file(engine: Engine) -> str:
    path = make_url(engine.url).database
    if not path or path == ":memory:":
        raise BackupError("an in-memory database cannot be backed up or restored")
    return path


def _run_pg_tool(engine: Engine, tool: str, options: list[str], files: list[str]) -> None:
    """pg_dump or pg_restore with the connection of `engine`; fails with its own message."""
    args, env = _pg_args(engine)
    result = subprocess.run(  # noqa: S603 - fixed tool, arguments from our own config
        [_tool(tool), *options, *args, *files],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(result.stderr.strip())


def backup(engine: Engine, target: Path) -> None:
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(_sqlite_file(engine)) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return
    if engine.dialect.name == "postgresql":
        _run_pg_tool(engine, "pg_dump", ["--format=custom", "--file", str(target)], [])
        return
    raise BackupError(f"no backup for {engine.dialect.name}")


def restore(engine: Engine, source: Path) -> None:
    """Replace the database's contents with the backup's."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    engine.dispose()  # no pooled connection may hold the old database open
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(source) as backup_db, sqlite3.connect(_sqlite_file(engine)) as live:
            backup_db.backup(live)
        return
    if engine.dialect.name == "postgresql":
        _run_pg_tool(
            engine, "pg_restore", ["--clean", "--if-exists", "--single-transaction"], [str(source)]
        )
        return
    raise BackupError(f"no restore for {engine.dialect.name}")

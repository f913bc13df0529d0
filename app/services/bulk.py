"""Writing many rows at once inside the session's transaction, with JSON columns given as the
text SQLAlchemy's JSON type would write (made by the caller, once per distinct value).

PostgreSQL gets them through COPY, SQLite through the driver's executemany with plain tuples
(SQLAlchemy's per-row parameter processing would double the time); any other database a Core
insert of the decoded values.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from app.extensions import MAY_HAVE_WRITTEN

_SQLITE_BATCH = 50_000


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    json_columns: Collection[str] = (),
) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table` on the session's
    connection, inside its transaction."""
    connection = session.connection()
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        driver_connection = connection.connection.driver_connection
        if driver_connection is None:  # only after the pool invalidated it
            raise RuntimeError("the database connection was closed")
        if json_columns:
            # Large JSON values are compressed as they are stored: lz4 where the server has it
            # takes half of pglz's time. For this transaction only; reading is the same.
            if connection.exec_driver_sql(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
                " WHERE name = 'default_toast_compression'"
            ).scalar():
                connection.exec_driver_sql("SET LOCAL default_toast_compression = 'lz4'")
        connection.info[MAY_HAVE_WRITTEN] = True  # SQLAlchemy never sees the COPY
        with driver_connection.cursor().copy(
            f"COPY {table.name} ({names}) FROM STDIN"  # noqa: S608
        ) as copy:
            for row in rows:
                copy.write_row(row)
        return
    if connection.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608
        iterator = iter(rows)
        while batch := list(islice(iterator, _SQLITE_BATCH)):
            connection.exec_driver_sql(statement, batch)
        return
    connection.execute(
        insert(table),
        [
            {
                name: json.loads(value) if name in json_columns else value
                for name, value in zip(columns, row, strict=True)
            }
            for row in rows
        ],
    )

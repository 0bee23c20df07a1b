"""INSERT ... ON CONFLICT, which SQLite and PostgreSQL spell the same way."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_or_ignore(connection: Connection, table: Table) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def insert_for_upsert(connection: Connection, table: Table) -> Any:
    """An insert whose `.on_conflict_do_update(...)` and `.excluded` both dialects accept."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)

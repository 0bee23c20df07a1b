"""Statements built once per dialect: building one costs more than running it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

_built: dict[tuple[str, str], Any] = {}


def cached(connection: Connection, name: str, build: Callable[[Connection], Any]) -> Any:
    """The statement `name` for this connection's dialect, built on first use."""
    key = (connection.dialect.name, name)
    statement = _built.get(key)
    if statement is None:
        statement = _built[key] = build(connection)
    return statement


def insert_or_ignore(connection: Connection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, which SQLite and PostgreSQL spell the same way."""
    return _dialect(connection).insert(table).on_conflict_do_nothing()


def insert_for_upsert(connection: Connection, table: Table) -> Any:
    """An insert whose `.on_conflict_do_update(...)` and `.excluded` both dialects accept."""
    return _dialect(connection).insert(table)


def _dialect(connection: Connection) -> Any:
    return postgresql if connection.dialect.name == "postgresql" else sqlite

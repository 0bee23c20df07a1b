"""Connecting to the store: engines for SQLite or PostgreSQL, migrations, node claims."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from landline.core.ids import MAX_NODE
from landline.store.schema import nodes

MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def create_engines(url: str) -> tuple[Engine, Engine]:
    """(writer, reader) engines. They are one engine except on SQLite."""
    url = normalize_url(url)
    if not url.startswith("sqlite"):
        engine = create_engine(
            url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True
        )
        return engine, engine
    writer = _sqlite_engine(url, immediate=True, pool_size=1)
    reader = _sqlite_engine(url, immediate=False, pool_size=8)
    return writer, reader


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=0 if immediate else 8,
        connect_args={"check_same_thread": False, "timeout": 30},
        # Errors that reach a log never carry the values of a statement.
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the lock up front, so two processes never deadlock upgrading
        # a read transaction to a write one.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def migrate(engine: Engine) -> None:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def claim_node(engine: Engine, now_ms: int) -> int:
    """A node number for snowflake ids, distinct from every recently started process."""
    with engine.begin() as connection:
        row = connection.execute(
            insert(nodes)
            .values(started_at=now_ms, host=socket.gethostname()[:255], pid=os.getpid())
            .returning(nodes.c.id)
        ).one()
    return int(row.id) % (MAX_NODE + 1)

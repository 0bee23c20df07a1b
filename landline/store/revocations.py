"""Telling every process at once that sessions have ended.

API processes cache session lookups (api/context.py). A revoke, a logout or a line's
change of state made anywhere must reach every cache before the next request:

- in this process, a counter that the store functions ending sessions bump;
- on SQLite (one machine), a file beside the database whose change time every process
  checks, touched after such a transaction commits;
- on PostgreSQL, a NOTIFY sent in that transaction, and a thread per process that
  LISTENs; while that thread is not connected, nothing is cached.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

CHANNEL = "landline_sessions"
RECONNECT_S = 1.0


# Sessions ended by this process: any store, any thread.
_ended_here = 0
_ended_lock = threading.Lock()


def announce(connection: Connection) -> None:
    """Tell every process that sessions end; called inside the transaction that ends them."""
    _bump()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
        return
    # After the commit too: a process that read the session between the bump above and
    # the commit could otherwise cache it as still live.
    database = connection.engine.url.database
    marker = Path(database + ".sessions") if database and database != ":memory:" else None
    after_commit(connection, lambda: _touch(marker))


def _touch(marker: Path | None) -> None:
    _bump()
    if marker is not None:
        marker.touch(mode=0o600)
        os.utime(marker)


def _bump() -> None:
    global _ended_here
    with _ended_lock:
        _ended_here += 1


def after_commit(connection: Connection, callback: Callable[[], None]) -> None:
    """Run `callback` once the writer has committed this connection's transaction."""
    connection.info.setdefault("after_commit", []).append(callback)


class Revocations:
    """Watches for sessions ended by any process, for one store."""

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self._dialect = engine.dialect.name
        database = engine.url.database
        self._file = (
            Path(database + ".sessions")
            if self._dialect == "sqlite" and database and database != ":memory:"
            else None
        )
        self._url = engine.url
        self._heard = 0
        self._listening = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def generation(self) -> object | None:
        """A value that changes whenever sessions may have ended; None when no change
        could be noticed in time (nothing may be cached then)."""
        if self._dialect == "postgresql":
            self._listen()
            return (_ended_here, self._heard) if self._listening else None
        if self._file is None:
            return _ended_here
        try:
            changed = os.stat(self._file).st_mtime_ns
        except FileNotFoundError:
            changed = 0
        return (_ended_here, changed)

    def _listen(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="landline-revocations", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        url = make_url(self._url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening = True
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._heard += 1
            except Exception as exc:
                log.warning("listening for session changes failed (%s); retrying", type(exc))
            finally:
                # Changes may have been missed while not listening.
                self._listening = False
                self._heard += 1
            self._stop.wait(RECONNECT_S)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

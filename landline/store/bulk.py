"""Running one statement for many rows straight on the database driver.

The statements are still SQLAlchemy Core, compiled once per dialect and column set. For
the hot paths (storing sends, moving statuses) two costs dominated once many requests
shared a transaction: SQLAlchemy's per-row parameter handling, and, on SQLite, the
driver giving up and taking back the GIL around every row it steps (in a busy server
each take-back waits for the event loop thread). So rows go to the driver as plain
tuples, inside the caller's transaction: on SQLite an insert becomes one multi-row
`INSERT ... VALUES (...), (...)` per chunk of rows; everything else is one
`executemany`.

Only for plain values (numbers, text, booleans, None).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

# Bound parameters per statement: below SQLite's 32766 and PostgreSQL's 65535.
MAX_PARAMS = 30_000
MAX_ROWS = 500


@dataclass(frozen=True)
class _Plan:
    sql: str  # for one row
    order: tuple[str, ...]  # the row's values, in placeholder order
    fixed: dict[str, Any]  # values the statement itself binds (SET deleted = false)
    # For an INSERT: the SQL before and after its one VALUES group, the group, and
    # the values that follow it. None when rows cannot be packed into one statement.
    head: str | None = None
    group: str = ""
    tail: str = ""
    trailing: tuple[Any, ...] = ()


_plans: dict[tuple[str, int, tuple[str, ...]], _Plan] = {}
# Keeps each planned statement alive, so its id() is never reused by another.
_statements: dict[int, Any] = {}
_dialects: dict[str, Dialect] = {}


def execute_many(connection: Connection, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Run `statement` for every row; every row must have the same keys."""
    if not rows:
        return
    plan = _plan(connection, statement, tuple(rows[0]))
    merged = [{**row, **plan.fixed} for row in rows] if plan.fixed else rows
    pick = itemgetter(*plan.order)
    values = [(pick(row),) for row in merged] if len(plan.order) == 1 else list(map(pick, merged))
    dialect = connection.dialect
    cursor = connection.connection.cursor()
    sql = plan.sql
    try:
        if plan.head is None:
            cursor.executemany(sql, values)
            return
        width = len(plan.order)
        chunk = max(1, min(MAX_ROWS, MAX_PARAMS // max(width, 1)))
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            sql = plan.head + ", ".join([plan.group] * len(part)) + plan.tail
            flat = [value for row in part for value in row]
            flat.extend(plan.trailing)
            cursor.execute(sql, flat)
    except dialect.loaded_dbapi.Error as exc:
        raise _as_sqlalchemy_error(connection, cursor, sql, exc) from exc
    finally:
        cursor.close()


def _plan(connection: Connection, statement: Any, columns: tuple[str, ...]) -> _Plan:
    key = (connection.dialect.name, id(statement), columns)
    found = _plans.get(key)
    if found is not None:
        return found
    compiled = statement.compile(dialect=_positional(connection.dialect), column_keys=list(columns))
    names = tuple(compiled.positiontup)
    fixed: dict[str, Any] = {}
    for name in names:
        if name in columns:
            continue
        bind = compiled.binds[name]
        if bind.value is None or bind.callable is not None:
            # A column with a Python-side default, say: not for this path.
            raise ValueError(f"rows lack {name} for {compiled.string[:60]!r}")
        fixed[name] = bind.value
    found = _Plan(compiled.string, names, fixed)
    if getattr(statement, "is_insert", False) and connection.dialect.name == "sqlite":
        # psycopg's executemany already sends every row in one pipeline, and a query
        # text that changed with the row count would miss its statement caches.
        found = _packed(found, connection.dialect.paramstyle)
    _statements[id(statement)] = statement
    _plans[key] = found
    return found


def _positional(dialect: Dialect) -> Dialect:
    """The dialect itself if it binds by position, else a copy that does (%s)."""
    if dialect.positional:
        return dialect
    copy = _dialects.get(dialect.name)
    if copy is None:
        copy = _dialects[dialect.name] = type(dialect)(paramstyle="format")  # type: ignore[call-arg]
    return copy


def _packed(plan: _Plan, paramstyle: str) -> _Plan:
    """Split an INSERT's SQL around its VALUES group, to repeat the group per row."""
    sql = plan.sql
    start = sql.find(" VALUES (")
    if start < 0:
        return plan
    open_at = start + len(" VALUES ")
    depth, end = 0, -1
    for index in range(open_at, len(sql)):
        if sql[index] == "(":
            depth += 1
        elif sql[index] == ")":
            depth -= 1
            if depth == 0:
                end = index + 1
                break
    if end < 0:
        return plan
    group = sql[open_at:end]
    placeholder = "?" if paramstyle == "qmark" else "%s"
    in_group = group.count(placeholder)
    if sql.count(placeholder) != len(plan.order) or in_group > len(plan.order):
        return plan
    trailing_names = plan.order[in_group:]
    if any(name not in plan.fixed for name in trailing_names):
        return plan
    return _Plan(
        sql=sql,
        order=plan.order[:in_group],
        fixed=plan.fixed,
        head=sql[:open_at],
        group=group,
        tail=sql[end:],
        trailing=tuple(plan.fixed[name] for name in trailing_names),
    )


def rows(connection: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one statement written with `?` placeholders on the driver, inside the
    caller's transaction; returns its rows (for UPDATE ... RETURNING, say).

    For set-based statements whose text depends on how many rows they carry (a VALUES
    list), where compiling through SQLAlchemy each time would cost more than the query.
    """
    dialect = connection.dialect
    if dialect.paramstyle != "qmark":
        sql = sql.replace("%", "%%").replace("?", "%s")
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description is not None else []
    except dialect.loaded_dbapi.Error as exc:
        raise _as_sqlalchemy_error(connection, cursor, sql, exc) from exc
    finally:
        cursor.close()


def marks(count: int, group: str = "?") -> str:
    """`count` placeholder groups, comma-separated: `(?, ?), (?, ?)` for a VALUES list."""
    return ", ".join([group] * count)


def _as_sqlalchemy_error(connection: Connection, cursor: Any, sql: str, exc: Any) -> Exception:
    """What SQLAlchemy would have raised: callers catch sqlalchemy.exc errors, and a
    connection the database dropped is marked so the next transaction connects afresh."""
    dialect = connection.dialect
    gone = dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor)
    if gone:
        connection.invalidate(exc)
    return DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error, gone, dialect=dialect)

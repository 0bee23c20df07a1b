"""Upgrading keeps what a store held: texts waiting in the old outbox still go out, and
the history of every text reads as before."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from landline.core.status import lifecycle
from landline.store.database import MIGRATIONS, create_engines


def _upgrade(engine: object, revision: str) -> None:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:  # type: ignore[attr-defined]
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


MESSAGE = (
    "INSERT INTO messages (id, device_id, root_id, fingerprint, contact_id, direction,"
    " line_number, contact_number, body, status, created_at, updated_at)"
    " VALUES (:id, 1, :id, '7', 9, :direction, '+12065550123', '+12065550100', 'hi',"
    " :status, 1000, 1000)"
)


def test_the_outbox_and_history_move_into_messages(db_url: str) -> None:
    writer, reader = create_engines(db_url)
    try:
        _upgrade(writer, "0002")
        with writer.begin() as c:
            # Delivered: 2 -> 1 -> 6; waiting to be retried; inbound.
            c.execute(text(MESSAGE), {"id": 1, "direction": "ZO", "status": 6})
            c.execute(text(MESSAGE), {"id": 2, "direction": "ZO", "status": 2})
            c.execute(text(MESSAGE), {"id": 3, "direction": "MO", "status": 4})
            for message_id, status, at in (
                (1, 2, 1000),
                (1, 1, 1100),
                (1, 6, 1200),
                (2, 2, 1000),
                (3, 4, 1000),
            ):
                c.execute(
                    text("INSERT INTO message_status VALUES (:m, :s, :at)"),
                    {"m": message_id, "s": status, "at": at},
                )
            c.execute(
                text(
                    "INSERT INTO outbox (message_id, device_id, available_at, attempts,"
                    " ignore_opt_out) VALUES (2, 1, 5000, 3, false)"
                )
            )
        _upgrade(writer, "head")
        with writer.connect() as c:
            rows = {
                row.id: row
                for row in c.execute(
                    text(
                        "SELECT id, status, direction, created_at, sent_at, ended_at, due_at,"
                        " attempts FROM messages"
                    )
                )
            }
        histories = {
            m: lifecycle(r.status, r.direction == "ZO", r.created_at, r.sent_at, r.ended_at)
            for m, r in rows.items()
        }
        assert histories == {
            1: [(2, 1000), (1, 1100), (6, 1200)],
            2: [(2, 1000)],
            3: [(4, 1000)],
        }
        assert (rows[2].due_at, rows[2].attempts) == (5000, 3)
        assert rows[1].due_at is None and rows[3].due_at is None
    finally:
        writer.dispose()
        reader.dispose()

"""Lines with an inbox page open somewhere, until when.

An event is kept only when something will read it (store/events.py): a webhook that
wants it, or an open inbox page, whose live updates read the events table from any
process. Each process with open pages marks their lines here, for a minute at a time,
renewed while the pages stay open.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, select

from landline.store.schema import live_lines
from landline.store.statements import insert_for_upsert


def keep(connection: Connection, device_ids: Collection[int], until: int) -> None:
    """Keep the events of these lines until `until` (or later, if already marked so)."""
    if not device_ids:
        return
    stmt = insert_for_upsert(connection, live_lines)
    connection.execute(
        stmt.on_conflict_do_update(
            index_elements=[live_lines.c.device_id],
            set_={"until": stmt.excluded.until},
            where=live_lines.c.until < stmt.excluded.until,
        ),
        [{"device_id": device_id, "until": until} for device_id in sorted(device_ids)],
    )


def watched(connection: Connection, device_ids: Collection[int], now: int) -> set[int]:
    """Which of these lines have a page open somewhere."""
    return set(
        connection.scalars(
            select(live_lines.c.device_id).where(
                live_lines.c.device_id.in_(sorted(device_ids)), live_lines.c.until >= now
            )
        )
    )

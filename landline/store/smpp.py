"""The SMPP connector's memory: the parts each SMSC accepted, receipts that came before
their submit was recorded, and parts of inbound texts still waiting for their siblings.

A text is delivered when every one of its parts is, and failed as soon as any part
fails (core.receipts decides what one receipt says; this module adds up the parts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, select, text, tuple_, update

from landline.carriers.base import Receipt
from landline.store.schema import smpp_early_receipts, smpp_parts, smpp_submits
from landline.store.statements import insert_or_ignore

ACCEPTED, DELIVERED, FAILED, REJECTED = "accepted", "delivered", "failed", "rejected"
# Receipts for ids never recorded are kept this long (a submit_sm_resp is never later).
EARLY_RECEIPT_TTL_MS = 7 * 24 * 3_600_000
MAX_PARTS_LOADED = 100_000


@dataclass(frozen=True)
class PartRecord:
    message_id: int
    part: int
    parts: int
    smsc_id: str | None  # canonical; None when the SMSC refused it
    smpp_status: int = 0


@dataclass(frozen=True)
class ReceiptReport:
    smsc_id: str  # canonical
    delivered: bool
    stat: str


def accepted_parts(connection: Connection, message_ids: Sequence[int]) -> dict[int, set[int]]:
    """Per message, the part numbers an SMSC already holds (they must not go again)."""
    held: dict[int, set[int]] = {}
    for start in range(0, len(message_ids), 500):
        rows = connection.execute(
            select(smpp_submits.c.message_id, smpp_submits.c.part).where(
                smpp_submits.c.message_id.in_(message_ids[start : start + 500]),
                smpp_submits.c.state != REJECTED,
            )
        )
        for message_id, part in rows:
            held.setdefault(message_id, set()).add(part)
    return held


def record_parts(
    connection: Connection, connector: str, records: Sequence[PartRecord], now: int
) -> list[Receipt]:
    """Remember what the SMSC answered for these parts; apply any receipt that came
    first. Returns the texts that receipts have now settled."""
    if not records:
        return []
    _one_at_a_time(connection, connector)
    connection.execute(
        insert_or_ignore(connection, smpp_submits),
        [
            {
                "message_id": r.message_id,
                "part": r.part,
                "parts": r.parts,
                "connector": connector,
                "smsc_id": r.smsc_id,
                "state": ACCEPTED if r.smsc_id is not None else REJECTED,
                "smpp_status": r.smpp_status or None,
                "stat": None,
                "submitted_at": now,
                "updated_at": now,
            }
            for r in records
        ],
    )
    keys = [r.smsc_id for r in records if r.smsc_id is not None]
    early: list[ReceiptReport] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        where = and_(
            smpp_early_receipts.c.connector == connector, smpp_early_receipts.c.smsc_id.in_(chunk)
        )
        early.extend(
            ReceiptReport(row.smsc_id, bool(row.delivered), row.stat)
            for row in connection.execute(select(smpp_early_receipts).where(where))
        )
        if early:
            connection.execute(delete(smpp_early_receipts).where(where))
    return apply_receipts(connection, connector, early, now) if early else []


def apply_receipts(
    connection: Connection, connector: str, reports: Sequence[ReceiptReport], now: int
) -> list[Receipt]:
    """Mark the parts these receipts name; keep those naming no part we know for later.
    Returns, for each text this settles, its Receipt (delivered only once every part is)."""
    if not reports:
        return []
    _one_at_a_time(connection, connector)
    keys = sorted({r.smsc_id for r in reports})
    known: dict[str, list[Any]] = {}
    for start in range(0, len(keys), 500):
        found = connection.execute(
            select(smpp_submits.c.message_id, smpp_submits.c.part, smpp_submits.c.smsc_id).where(
                smpp_submits.c.connector == connector,
                smpp_submits.c.smsc_id.in_(keys[start : start + 500]),
            )
        )
        for row in found:
            known.setdefault(row.smsc_id, []).append(row)
    touched: set[int] = set()
    unknown: dict[str, ReceiptReport] = {}
    # One statement per outcome and stat, however many receipts came.
    groups: dict[tuple[str, str], list[str]] = {}
    for report in reports:
        rows = known.get(report.smsc_id)
        if not rows:
            unknown[report.smsc_id] = report
            continue
        state = DELIVERED if report.delivered else FAILED
        groups.setdefault((state, report.stat[:16]), []).append(report.smsc_id)
        touched.update(row.message_id for row in rows)
    for (state, stat), smsc_ids in groups.items():
        # A part's first final receipt stands; a repeated or contrary one changes nothing.
        connection.execute(
            update(smpp_submits)
            .where(
                smpp_submits.c.connector == connector,
                smpp_submits.c.smsc_id.in_(smsc_ids),
                smpp_submits.c.state == ACCEPTED,
            )
            .values(state=state, stat=stat, updated_at=now)
        )
    if unknown:
        connection.execute(
            insert_or_ignore(connection, smpp_early_receipts),
            [
                {
                    "connector": connector,
                    "smsc_id": r.smsc_id,
                    "delivered": r.delivered,
                    "stat": r.stat[:16],
                    "received_at": now,
                }
                for r in unknown.values()
            ],
        )
    return _settled(connection, sorted(touched), now)


def _one_at_a_time(connection: Connection, connector: str) -> None:
    """Take the connector's lock until the transaction ends (PostgreSQL; SQLite has one
    writer). Recording parts and applying receipts each read what the other writes: run
    side by side (several writer threads or processes), a receipt could find no part
    and be kept as early while the part found no early receipt, and both would wait
    for ever."""
    if connection.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(connector.encode(), digest_size=8).digest(), "big")
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key - (1 << 63)})


def _settled(connection: Connection, message_ids: list[int], now: int) -> list[Receipt]:
    if not message_ids:
        return []
    states: dict[int, tuple[int, list[str]]] = {}
    rows = connection.execute(
        select(smpp_submits.c.message_id, smpp_submits.c.parts, smpp_submits.c.state).where(
            smpp_submits.c.message_id.in_(message_ids)
        )
    )
    for row in rows:
        states.setdefault(row.message_id, (row.parts, []))[1].append(row.state)
    settled = []
    for message_id, (parts, part_states) in states.items():
        if FAILED in part_states or REJECTED in part_states:
            settled.append(Receipt(message_id, False, now))
        elif part_states.count(DELIVERED) == parts:
            settled.append(Receipt(message_id, True, now))
    return settled


def forget_early_receipts(connection: Connection, before: int) -> int:
    """Drop receipts no submit claimed in time (an SMSC's mistake, or another ESME's)."""
    result = connection.execute(
        delete(smpp_early_receipts).where(smpp_early_receipts.c.received_at < before)
    )
    return int(result.rowcount or 0)


def submits_of(connection: Connection, message_id: int) -> list[Any]:
    """What the SMSC answered for each part of a text (for operators and tests)."""
    return list(
        connection.execute(
            select(smpp_submits)
            .where(smpp_submits.c.message_id == message_id)
            .order_by(smpp_submits.c.part)
        )
    )


# --- inbound parts -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPart:
    id: int
    source: str
    destination: str
    reference: int
    total: int
    seq: int
    wide: bool
    data_coding: int
    payload: bytes
    received_at: int


def add_part(connection: Connection, connector: str, part: StoredPart) -> None:
    connection.execute(
        insert_or_ignore(connection, smpp_parts).values(connector=connector, **part.__dict__)
    )


def waiting_parts(connection: Connection, connector: str) -> list[StoredPart]:
    rows = connection.execute(
        select(smpp_parts)
        .where(smpp_parts.c.connector == connector)
        .order_by(smpp_parts.c.received_at, smpp_parts.c.id)
        .limit(MAX_PARTS_LOADED)
    )
    return [_stored_part(row) for row in rows]


def parts_of(
    connection: Connection, connector: str, keys: Iterable[tuple[str, str, int, int]]
) -> list[StoredPart]:
    """Every stored part of these texts (source, destination, reference, total), from
    any process, oldest first."""
    wanted = list(keys)
    if not wanted:
        return []
    rows = connection.execute(
        select(smpp_parts)
        .where(
            smpp_parts.c.connector == connector,
            tuple_(
                smpp_parts.c.source,
                smpp_parts.c.destination,
                smpp_parts.c.reference,
                smpp_parts.c.total,
            ).in_(wanted),
        )
        .order_by(smpp_parts.c.received_at, smpp_parts.c.id)
    )
    return [_stored_part(row) for row in rows]


def _stored_part(row: Any) -> StoredPart:
    return StoredPart(
        id=row.id,
        source=row.source,
        destination=row.destination,
        reference=row.reference,
        total=row.total,
        seq=row.seq,
        wide=bool(row.wide),
        data_coding=row.data_coding,
        payload=bytes(row.payload),
        received_at=row.received_at,
    )


def drop_parts(
    connection: Connection, connector: str, keys: Iterable[tuple[str, str, int, int]]
) -> None:
    """Forget the parts of texts now stored whole (or as far as they got)."""
    wanted = list(keys)
    if not wanted:
        return
    connection.execute(
        delete(smpp_parts).where(
            smpp_parts.c.connector == connector,
            tuple_(
                smpp_parts.c.source,
                smpp_parts.c.destination,
                smpp_parts.c.reference,
                smpp_parts.c.total,
            ).in_(wanted),
        )
    )

"""What the web inbox reads: conversations and messages a page at a time by keyset
(never OFFSET), so the thousandth page costs what the first does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, literal, or_, select, tuple_, update

from landline.store import revocations
from landline.store.schema import (
    contacts,
    conversations,
    deliveries,
    events,
    lines,
    messages,
    sessions,
    sim_inbound,
    sim_submissions,
)


@dataclass(frozen=True)
class ConversationCursor:
    """Where a page of conversations ended: the last one's time and fingerprint."""

    at: int
    fingerprint: str


# A search reads at most this many conversations per page, latest first; the next page
# goes on from where it stopped, so every request costs the same however big the inbox.
SEARCH_WINDOW = 5000


def conversations_page(
    connection: Connection,
    device_id: int,
    *,
    limit: int,
    after: ConversationCursor | None = None,
    search: str = "",
    window: int = SEARCH_WINDOW,
) -> tuple[list[Any], ConversationCursor | None]:
    """A page of conversations latest first, with the saved name of their last contact,
    and where the next page starts (None: there is none). `search` matches a number's
    digits or a saved first or last name; it may give a short (even empty) page with a
    next one, having looked through `window` conversations."""
    where = [conversations.c.device_id == device_id, conversations.c.deleted.is_(False)]
    if after is not None:
        # The first condition is implied by the second; it gives the planner a range.
        where += [
            conversations.c.last_message_at <= after.at,
            tuple_(conversations.c.last_message_at, conversations.c.fingerprint)
            < tuple_(literal(after.at), literal(after.fingerprint)),
        ]
    latest_first = (conversations.c.last_message_at.desc(), conversations.c.fingerprint.desc())
    if not search:
        rows = connection.execute(
            _with_contact(conversations).where(*where).order_by(*latest_first).limit(limit + 1)
        ).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return list(rows), _cursor_of(rows[-1]) if more else None
    scanned = select(conversations).where(*where).order_by(*latest_first).limit(window).subquery()
    pattern = "%" + _escape_like(search.lower()) + "%"
    digits = "".join(ch for ch in search if ch.isdigit())
    matches = [
        func.lower(func.coalesce(contacts.c.first_name, "")).like(pattern, escape="\\"),
        func.lower(func.coalesce(contacts.c.last_name, "")).like(pattern, escape="\\"),
    ]
    if digits:
        matches.append(scanned.c.members.like("%" + digits + "%"))
    rows = connection.execute(
        _with_contact(scanned)
        .where(or_(*matches))
        .order_by(scanned.c.last_message_at.desc(), scanned.c.fingerprint.desc())
        .limit(limit + 1)
    ).all()
    if len(rows) > limit:
        rows = rows[:limit]
        return list(rows), _cursor_of(rows[-1])
    # Fewer matches than a page: the window is used up; go on after its last row, if full.
    last = connection.execute(
        select(scanned.c.last_message_at, scanned.c.fingerprint)
        .order_by(scanned.c.last_message_at, scanned.c.fingerprint)
        .limit(1)
    ).first()
    count = connection.execute(select(func.count()).select_from(scanned)).scalar_one()
    return list(rows), _cursor_of(last) if last is not None and count >= window else None


def _with_contact(source: Any) -> Any:
    return select(
        source.c.fingerprint,
        source.c.members,
        source.c.last_message_at,
        source.c.last_message_body,
        source.c.unread_count,
        contacts.c.first_name,
        contacts.c.last_name,
        contacts.c.opted_out,
    ).outerjoin(
        contacts,
        (contacts.c.device_id == source.c.device_id) & (contacts.c.id == source.c.last_contact_id),
    )


def _cursor_of(row: Any) -> ConversationCursor:
    return ConversationCursor(int(row.last_message_at), str(row.fingerprint))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def any_line(connection: Connection) -> bool:
    return connection.execute(select(lines.c.device_id).limit(1)).first() is not None


def unread_total(connection: Connection, device_id: int, cap: int) -> int:
    """Unread texts across the line's conversations, counted over at most `cap`
    conversations that have any (the tab title needs no more)."""
    having = (
        select(conversations.c.unread_count)
        .where(conversations.c.device_id == device_id, conversations.c.unread_count > 0)
        .limit(cap)
        .subquery()
    )
    return int(
        connection.execute(select(func.coalesce(func.sum(having.c.unread_count), 0))).scalar_one()
    )


def conversation(connection: Connection, device_id: int, fingerprint: str) -> Row[Any] | None:
    return connection.execute(
        select(conversations).where(
            conversations.c.device_id == device_id,
            conversations.c.fingerprint == fingerprint,
            conversations.c.deleted.is_(False),
        )
    ).one_or_none()


def messages_page(
    connection: Connection,
    device_id: int,
    fingerprint: str,
    *,
    limit: int,
    before: int | None = None,
    after: int | None = None,
) -> list[Any]:
    """Visible messages of a conversation, newest first: those older than `before`, or
    (for live updates) those newer than `after`."""
    query = select(messages).where(
        messages.c.device_id == device_id,
        messages.c.fingerprint == fingerprint,
        messages.c.deleted_at.is_(None),
    )
    if before is not None:
        query = query.where(messages.c.id < before)
    if after is not None:
        query = query.where(messages.c.id > after)
    return list(connection.execute(query.order_by(messages.c.id.desc()).limit(limit)).all())


def opted_out_numbers(connection: Connection, device_id: int, numbers: list[str]) -> set[str]:
    return set(
        connection.scalars(
            select(contacts.c.number).where(
                contacts.c.device_id == device_id,
                contacts.c.number.in_(numbers),
                contacts.c.opted_out.is_(True),
            )
        )
    )


def contacts_of(connection: Connection, device_id: int, numbers: list[str]) -> list[Any]:
    return list(
        connection.execute(
            select(contacts).where(
                contacts.c.device_id == device_id, contacts.c.number.in_(numbers)
            )
        ).all()
    )


def events_after(
    connection: Connection,
    since: int,
    device_ids: list[int],
    limit: int,
    until: int | None = None,
) -> list[Any]:
    """Events of these lines with ids above `since` (and at most `until`), oldest first,
    each with its message's conversation."""
    query = (
        select(
            events.c.id,
            events.c.device_id,
            events.c.kind,
            events.c.message_id,
            events.c.status,
            events.c.data,
            messages.c.fingerprint,
        )
        .outerjoin(messages, messages.c.id == events.c.message_id)
        .where(events.c.id > since, events.c.device_id.in_(device_ids))
    )
    if until is not None:
        query = query.where(events.c.id <= until)
    return list(connection.execute(query.order_by(events.c.id).limit(limit)).all())


def last_event_id(connection: Connection) -> int:
    return int(connection.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one())


def texts_to_handset(connection: Connection, number: str, *, limit: int) -> list[Any]:
    """What the simulated network was given for one handset, newest first, with the
    message's status as the network's receipt left it."""
    return list(
        connection.execute(
            select(
                sim_submissions.c.message_id,
                sim_submissions.c.source,
                sim_submissions.c.body,
                sim_submissions.c.outcome,
                sim_submissions.c.done,
                sim_submissions.c.media,
                messages.c.status,
                messages.c.created_at,
            )
            .outerjoin(messages, messages.c.id == sim_submissions.c.message_id)
            .where(sim_submissions.c.destination == number)
            .order_by(sim_submissions.c.message_id.desc())
            .limit(limit)
        ).all()
    )


def texts_from_handset(connection: Connection, number: str, *, limit: int) -> list[Any]:
    """What one handset has texted lines, newest first."""
    return list(
        connection.execute(
            select(
                sim_inbound.c.id,
                sim_inbound.c.destination,
                sim_inbound.c.body,
                sim_inbound.c.done,
                sim_inbound.c.media,
            )
            .where(sim_inbound.c.source == number)
            .order_by(sim_inbound.c.id.desc())
            .limit(limit)
        ).all()
    )


def handsets(connection: Connection, *, limit: int) -> list[str]:
    """Handset numbers the network has texts for, most recent first."""
    latest = func.max(sim_submissions.c.message_id)
    return list(
        connection.scalars(
            select(sim_submissions.c.destination)
            .group_by(sim_submissions.c.destination)
            .order_by(latest.desc())
            .limit(limit)
        )
    )


def session_keys(connection: Connection, device_id: int, *, limit: int) -> list[Any]:
    """A line's live session keys (only their hashes are stored), newest first."""
    return list(
        connection.execute(
            select(sessions.c.key_hash, sessions.c.operator_id, sessions.c.created_at)
            .where(sessions.c.device_id == device_id, sessions.c.revoked_at.is_(None))
            .order_by(sessions.c.created_at.desc())
            .limit(limit)
        ).all()
    )


def revoke_by_hash_prefix(connection: Connection, device_id: int, prefix: str, now: int) -> int:
    """Revoke the line's live key whose hash starts with `prefix` (hex, 16 characters)."""
    revocations.announce(connection)
    return int(
        connection.execute(
            update(sessions)
            .where(
                sessions.c.device_id == device_id,
                sessions.c.key_hash.like(prefix + "%"),
                sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        ).rowcount
    )


def last_delivery(
    connection: Connection, device_id: int, kind: str, host: str, *, within: int
) -> Any | None:
    """The latest attempted delivery of one of the line's receivers (by event kind and
    host), looked for among the line's `within` latest deliveries."""
    recent = (
        select(deliveries)
        .where(deliveries.c.device_id == device_id)
        .order_by(deliveries.c.event_id.desc())
        .limit(within)
        .subquery()
    )
    return connection.execute(
        select(
            recent.c.state,
            recent.c.last_status,
            recent.c.last_error,
            recent.c.last_attempt_at,
        )
        .where(
            recent.c.kind == kind,
            recent.c.host == host,
            recent.c.last_attempt_at.is_not(None),
        )
        .order_by(recent.c.event_id.desc())
        .limit(1)
    ).first()

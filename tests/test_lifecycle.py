"""A message's life, as a client sees it: queued, in progress, one final status.

Every test runs on SQLite and on PostgreSQL. Tests that need time to pass use the
manual clock (`timed_landline`: receipts come 1 s after a submit, by that clock).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import phonenumbers
from conftest import Landline, start_landline
from sqlalchemy import select
from watched_lines import add_watched_line

from landline.carriers.base import InboundText, Receipt
from landline.core.status import FINAL_STATUSES
from landline.store.schema import events, messages

LINE = "2065550123"
# A valid number outside North America, from the numbering library's own examples.
_EXAMPLE = phonenumbers.example_number_for_type("GB", phonenumbers.PhoneNumberType.MOBILE)
assert _EXAMPLE is not None
UK_MOBILE = phonenumbers.format_number(_EXAMPLE, phonenumbers.PhoneNumberFormat.E164)


def send(server: Landline, session: str, to: str, body: str = "Hello") -> int:
    answer = server.call("/message/send", session=session, contacts=to, body=body)
    assert answer["success"] is True, answer
    return int(answer["response"]["tokens"][0]["message"])


def get(server: Landline, session: str, message_id: int) -> dict[str, Any]:
    answer = server.call("/message/get", session=session, id=str(message_id))
    assert answer["success"] is True, answer
    return answer["response"]  # type: ignore[no-any-return]


def history(server: Landline, session: str, message_id: int) -> list[int]:
    return [step["statusCode"] for step in get(server, session, message_id)["statusHistory"]]


def event_kinds(server: Landline, message_id: int) -> list[str]:
    rows = server.store.read_sync(
        lambda c: c.execute(
            select(events.c.kind).where(events.c.message_id == message_id).order_by(events.c.id)
        ).all()
    )
    return [row.kind for row in rows]


def outbox_row(server: Landline, message_id: int) -> Any:
    return server.store.read_sync(
        lambda c: c.execute(
            select(messages.c.attempts, messages.c.due_at.label("available_at")).where(
                messages.c.id == message_id, messages.c.due_at.is_not(None)
            )
        ).one_or_none()
    )


def report_receipt(server: Landline, message_id: int, delivered: bool) -> None:
    receipt = Receipt(message_id, delivered, server.clock.now_ms())
    server.run(lambda: server.runtime.carrier_events.receipts("simulator", [receipt]))


def test_delivered_text_moves_queued_in_progress_delivered(timed_landline: Landline) -> None:
    server = timed_landline
    _, session = add_watched_line(server, LINE)
    message_id = send(server, session, "+12065551234")
    # Queued, unless the dispatcher (woken by the send) has already handed it over.
    assert get(server, session, message_id)["statusCode"] in (2, 1)

    server.settle()
    got = get(server, session, message_id)
    assert got["statusCode"] == 1
    assert got["isInFinalState"] is False

    server.clock.advance(seconds=1)  # type: ignore[attr-defined]
    server.settle()
    got = get(server, session, message_id)
    assert got["statusCode"] == 6
    assert got["isInFinalState"] is True
    assert got["dateDelivered"] is not None
    assert [step["statusCode"] for step in got["statusHistory"]] == [2, 1, 6]
    assert all(step["date"] for step in got["statusHistory"])
    assert event_kinds(server, message_id) == [
        "message.send",
        "message.progress",
        "message.progress",
    ]


def test_undeliverable_number_ends_in_error_by_receipt(timed_landline: Landline) -> None:
    server = timed_landline
    _, session = add_watched_line(server, LINE)
    message_id = send(server, session, "+12065550001")
    server.settle()
    assert get(server, session, message_id)["statusCode"] == 1

    server.clock.advance(seconds=1)  # type: ignore[attr-defined]
    server.settle()
    got = get(server, session, message_id)
    assert got["statusCode"] == 7
    assert got["errorState"] is True
    assert got["dateDelivered"] is None
    assert history(server, session, message_id) == [2, 1, 7]


def test_number_that_never_confirms_stays_in_progress(timed_landline: Landline) -> None:
    server = timed_landline
    _, session = add_watched_line(server, LINE)
    message_id = send(server, session, "+12065550002")
    server.settle()
    server.clock.advance(seconds=3600)  # type: ignore[attr-defined]
    server.settle()
    got = get(server, session, message_id)
    assert got["statusCode"] == 1
    assert got["isInFinalState"] is False
    assert history(server, session, message_id) == [2, 1]


def test_a_text_no_receipt_confirms_ends_as_delivered_without_confirmation(
    timed_landline: Landline,
) -> None:
    server = timed_landline
    _, session = add_watched_line(server, LINE)
    silent = send(server, session, "+12065550002")
    confirmed = send(server, session, "+12065550100")
    server.settle()
    sweep = server.runtime.receipt_timeouts.run_once

    server.clock.advance(seconds=47 * 3600)  # type: ignore[attr-defined]
    assert server.run(sweep) == 0
    assert get(server, session, silent)["statusCode"] == 1

    server.clock.advance(seconds=3600 + 1)  # type: ignore[attr-defined]
    server.settle()
    assert server.run(sweep) == 1
    assert history(server, session, silent) == [2, 1, 0]
    assert history(server, session, confirmed) == [2, 1, 6]
    assert event_kinds(server, silent) == ["message.send", "message.progress", "message.progress"]

    # A receipt that turns up after all changes nothing: the text already ended.
    late = [Receipt(silent, delivered=True, at=server.clock.now_ms())]
    server.run(lambda: server.runtime.carrier_events.receipts("simulator", late))
    assert history(server, session, silent) == [2, 1, 0]


def test_text_the_network_rejects_ends_in_error_confirmed(timed_landline: Landline) -> None:
    server = timed_landline
    _, session = add_watched_line(server, LINE)
    message_id = send(server, session, "+12065550004")
    server.settle()
    got = get(server, session, message_id)
    assert got["statusCode"] == 5
    assert got["isInFinalState"] is True
    assert history(server, session, message_id) == [2, 5]
    assert outbox_row(server, message_id) is None

    # Nothing more happens to it, however long we wait.
    server.clock.advance(seconds=3600)  # type: ignore[attr-defined]
    server.settle()
    assert history(server, session, message_id) == [2, 5]


def test_busy_network_is_retried_after_its_back_off_then_delivered(
    timed_landline: Landline,
) -> None:
    server = timed_landline
    clock: Any = server.clock
    _, session = add_watched_line(server, LINE)
    message_id = send(server, session, "+12065550005")

    # First attempt: the network is busy. The text stays queued and waits 1 s.
    server.settle()
    first = outbox_row(server, message_id)
    assert first.attempts == 1
    assert first.available_at == clock.now_ms() + 1000
    assert get(server, session, message_id)["statusCode"] == 2

    clock.advance(ms=999)
    server.settle()
    assert outbox_row(server, message_id).attempts == 1, "retried before its back-off"

    # Second attempt, busy again: the wait doubles.
    clock.advance(ms=1)
    server.settle()
    second = outbox_row(server, message_id)
    assert second.attempts == 2
    assert second.available_at == clock.now_ms() + 2000
    assert get(server, session, message_id)["statusCode"] == 2

    clock.advance(ms=1999)
    server.settle()
    assert outbox_row(server, message_id).attempts == 2, "retried before its back-off"

    # Third attempt: accepted, then confirmed by the receipt.
    clock.advance(ms=1)
    server.settle()
    assert outbox_row(server, message_id) is None
    assert get(server, session, message_id)["statusCode"] == 1
    clock.advance(seconds=1)
    server.settle()
    assert history(server, session, message_id) == [2, 1, 6]


def test_a_repeated_receipt_cannot_change_the_final_status(timed_landline: Landline) -> None:
    server = timed_landline
    _, session = add_watched_line(server, LINE)
    message_id = send(server, session, "+12065551234")
    server.settle()

    report_receipt(server, message_id, delivered=True)
    report_receipt(server, message_id, delivered=True)
    # A contradicting late report changes nothing either.
    report_receipt(server, message_id, delivered=False)
    # And the network's own receipt, when it comes, is one more repeat.
    server.clock.advance(seconds=1)  # type: ignore[attr-defined]
    server.settle()

    got = get(server, session, message_id)
    assert got["statusCode"] == 6
    codes = [step["statusCode"] for step in got["statusHistory"]]
    assert codes == [2, 1, 6]
    assert len([code for code in codes if code in FINAL_STATUSES]) == 1
    assert event_kinds(server, message_id).count("message.progress") == 2


def test_a_receipt_that_overtakes_the_submit_record_is_kept(timed_landline: Landline) -> None:
    server = timed_landline
    _, session = add_watched_line(server, LINE)
    # Only the test's own rounds dispatch, so the receipt surely comes first.
    server.run(server.runtime.dispatcher.stop)
    message_id = send(server, session, "+12065551234")

    # The network reports before the dispatcher has recorded its submit.
    report_receipt(server, message_id, delivered=True)
    assert history(server, session, message_id) == [2, 1, 6]

    server.settle()
    server.clock.advance(seconds=1)  # type: ignore[attr-defined]
    server.settle()
    assert get(server, session, message_id)["statusCode"] == 6
    assert history(server, session, message_id) == [2, 1, 6]
    assert outbox_row(server, message_id) is None


def test_number_outside_every_route_answers_minus_124(landline: Landline) -> None:
    _, session = add_watched_line(landline, LINE)
    answer = landline.call("/message/send", session=session, contacts=UK_MOBILE, body="Hi")
    assert answer["success"] is False
    assert answer["response"]["code"] == -124
    assert UK_MOBILE in answer["response"]["desc"]
    # Nothing was stored for it.
    assert landline.call("/message/list", session=session)["size"] == 0


def test_number_is_sent_once_a_route_covers_it(db_url: str, tmp_path: Path) -> None:
    server = start_landline(db_url, tmp_path, routes="+1=simulator,+44=simulator")
    try:
        _, session = add_watched_line(server, LINE)
        message_id = send(server, session, UK_MOBILE)
        server.settle()
        got = get(server, session, message_id)
        assert got["statusCode"] == 6
        assert got["finalDestination"] == UK_MOBILE
        assert history(server, session, message_id) == [2, 1, 6]
    finally:
        server.stop()


def test_inbound_text_lands_in_the_conversation_with_that_contact(
    timed_landline: Landline,
) -> None:
    server = timed_landline
    _, session = add_watched_line(server, LINE)
    sent_id = send(server, session, "+12065551234", body="Are you coming?")
    fingerprint = get(server, session, sent_id)["fingerprint"]

    server.handset_texts("+12065551234", LINE, "On my way")
    server.handset_texts("+12065559876", LINE, "Someone else")
    server.settle()

    conversation = server.call("/conversation/get", session=session, fingerprint=fingerprint)
    assert conversation["success"] is True
    found = conversation["response"]["messages"]
    assert [m["body"] for m in found] == ["On my way", "Are you coming?"]
    reply = found[0]
    assert reply["messageType"] == "MO"
    assert reply["finalSource"] == "2065551234"
    assert reply["finalDestination"] == LINE
    assert reply["fingerprint"] == fingerprint
    assert conversation["response"]["conversation"]["unreadCount"] == 1
    assert event_kinds(server, int(reply["id"])) == ["message.receive"]

    other = [
        m
        for m in server.call("/message/list", session=session)["response"]
        if m["body"] == "Someone else"
    ]
    assert len(other) == 1
    assert other[0]["fingerprint"] != fingerprint


def test_a_repeated_inbound_report_is_stored_once(timed_landline: Landline) -> None:
    server = timed_landline
    _, session = add_watched_line(server, LINE)
    text = InboundText("+12065551234", "+12065550123", "Twice?", "carrier-ref-42", 0)
    for _ in range(2):
        server.run(lambda: server.runtime.carrier_events.inbound("simulator", [text]))

    listed = server.call("/message/list", session=session)
    assert listed["size"] == 1
    only = listed["response"][0]
    assert only["body"] == "Twice?"
    assert event_kinds(server, int(only["id"])) == ["message.receive"]
    conversation = server.call(
        "/conversation/get", session=session, fingerprint=only["fingerprint"]
    )
    assert conversation["response"]["conversation"]["unreadCount"] == 1

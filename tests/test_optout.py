"""Opt-out (CONTRACT section 8): STOP and its synonyms, UNSTOP, HELP, and what a send
to someone who opted out does, seen through the API and the store."""

from __future__ import annotations

import json
import time
from typing import Any

from conftest import Landline
from sqlalchemy import func, select, update
from watched_lines import add_watched_line

from landline.core import numbers, optout
from landline.core.clock import ManualClock
from landline.store import contacts, outbox
from landline.store.schema import contacts as contacts_table
from landline.store.schema import events, sim_inbound, sim_submissions

LINE = "2065550123"
OTHER_LINE = "2065550199"
HELP_TEXT = "Acme help: call 206-555-0123"  # what conftest's add_line stores


def _pending(connection: Any, now: int) -> int:
    """Work due now: outbox rows, receipts the network owes, texts not yet taken in."""
    queries = [
        select(func.count())
        .select_from(sim_submissions)
        .where(sim_submissions.c.done.is_(False), sim_submissions.c.due_at <= now),
        select(func.count()).select_from(sim_inbound).where(sim_inbound.c.done.is_(False)),
    ]
    return outbox.waiting(connection, now) + sum(
        int(connection.execute(query).scalar_one()) for query in queries
    )


def _settle(landline: Landline) -> None:
    """Settle, then wait out work the server's own background workers hold a lease on
    (`settle` skips leased rows, so it can return while a round is in flight)."""
    deadline = time.monotonic() + 20
    while True:
        landline.settle()
        if not landline.store.read_sync(_pending, landline.clock.now_ms()):
            return
        assert time.monotonic() < deadline, "work still pending"
        time.sleep(0.01)


def _handset(index: int) -> str:
    # Clear of the simulator's special endings 0001-0005.
    return f"+1312555{1000 + index:04d}"


def _sent_to(landline: Landline, session: str, number: str) -> list[dict[str, Any]]:
    """The line's outbound texts to `number`, oldest first."""
    listed = landline.call("/message/list", session=session, limit=1000)["response"]
    shown = numbers.display(number)
    return [
        m for m in reversed(listed) if m["messageType"] == "ZO" and m["finalDestination"] == shown
    ]


def _submitted(landline: Landline) -> set[int]:
    """Message ids the simulated network was handed."""
    return set(
        landline.store.read_sync(lambda c: set(c.scalars(select(sim_submissions.c.message_id))))
    )


def _events(landline: Landline, kind: str, device_id: int) -> list[Any]:
    return list(
        landline.store.read_sync(
            lambda c: c.execute(
                select(events)
                .where(events.c.kind == kind, events.c.device_id == device_id)
                .order_by(events.c.id)
            ).all()
        )
    )


def _audit(landline: Landline, device_id: int, number: str) -> list[Any]:
    return landline.store.read_sync(contacts.opt_out_history, device_id, number)


def _opted_out(landline: Landline, session: str) -> dict[str, bool]:
    listed = landline.call("/contact/list", session=session, pageSize=100)["response"]
    return {c["mobileNumber"]: c["optOut"] for c in listed}


def _send(
    landline: Landline, session: str, *recipients: str, body: str = "Sale!"
) -> dict[str, Any]:
    answer = landline.call(
        "/message/send", session=session, contacts=",".join(recipients), body=body
    )
    assert answer["success"] is True, answer
    return answer["response"]  # type: ignore[no-any-return]


def _get(landline: Landline, session: str, message_id: str | int) -> dict[str, Any]:
    answer = landline.call("/message/get", session=session, id=message_id)
    assert answer["success"] is True, answer
    return answer["response"]  # type: ignore[no-any-return]


def test_every_stop_word_opts_out_of_that_line_only(landline: Landline) -> None:
    _, session = add_watched_line(landline, LINE)
    _, other_session = landline.add_line(OTHER_LINE)
    words = ["STOP", " stopall ", "Unsubscribe", "cancel", "END\n", "Quit", "revoke", "OptOut"]
    for index, word in enumerate(words):
        landline.handset_texts(_handset(index), LINE, word)
    landline.handset_texts(_handset(50), LINE, "stop please")
    _settle(landline)

    state = _opted_out(landline, session)
    assert all(state[numbers.display(_handset(i))] for i in range(len(words))), state
    assert state[numbers.display(_handset(50))] is False

    sent = _send(landline, session, *(_handset(i) for i in range(len(words))), _handset(50))
    codes = [token.get("code") for token in sent["tokens"]]
    assert codes == [-1234] * len(words) + [None]

    # The other line never heard the STOP: its texts still go out.
    other = _send(landline, other_session, _handset(0))
    assert "code" not in other["tokens"][0]
    _settle(landline)
    assert _get(landline, other_session, other["root"])["statusCode"] == 6
    assert _get(landline, session, sent["tokens"][-1]["message"])["statusCode"] == 6
    assert _opted_out(landline, other_session)[numbers.display(_handset(0))] is False
    # Texting "stop please" is a conversation, not a keyword: no confirmation reply.
    assert [m["body"] for m in _sent_to(landline, session, _handset(50))] == ["Sale!"]


def test_send_to_an_opted_out_contact_ends_at_once_with_minus_1234(landline: Landline) -> None:
    device_id, session = add_watched_line(landline, LINE)
    handset = _handset(1)
    landline.handset_texts(handset, LINE, "STOP")
    _settle(landline)

    sent = _send(landline, session, handset, body="Are you still there?")
    token = sent["tokens"][0]
    assert token["message"].isdigit() and token["message"] == sent["root"]
    assert token["code"] == -1234
    assert "STOP" in token["desc"]
    assert token["contact"] and token["device"] == device_id and token["fingerprint"]

    # Final before anything runs: no dispatcher round is needed to know it.
    message = _get(landline, session, token["message"])
    assert message["statusCode"] == -1234
    assert [h["statusCode"] for h in message["statusHistory"]] == [2, -1234]
    assert message["isInFinalState"] is True

    _settle(landline)
    assert _get(landline, session, token["message"])["statusCode"] == -1234
    assert int(token["message"]) not in _submitted(landline)
    progress = [e.message_id for e in _events(landline, "message.progress", device_id)]
    assert int(token["message"]) in progress
    sends = [e.message_id for e in _events(landline, "message.send", device_id)]
    assert int(token["message"]) in sends


def test_start_words_opt_back_in_and_every_change_is_kept(landline: Landline) -> None:
    device_id, session = add_watched_line(landline, LINE)
    handset = _handset(2)
    before = landline.clock.now_ms()
    for word in ("STOP", "unstop", "END", " Start ", "quit", "YES"):
        landline.handset_texts(handset, LINE, word)
        _settle(landline)
        opted_out = optout.classify(word) is optout.Keyword.STOP
        assert _opted_out(landline, session)[numbers.display(handset)] is opted_out
        token = _send(landline, session, handset, body=f"after {word.strip()}")["tokens"][0]
        assert ("code" in token) is opted_out
    _settle(landline)
    after = landline.clock.now_ms()

    trail = _audit(landline, device_id, handset)
    assert [(row.opt_out, row.keyword) for row in trail] == [
        (True, "STOP"),
        (False, "unstop"),
        (True, "END"),
        (False, "Start"),
        (True, "quit"),
        (False, "YES"),
    ]
    times = [row.created_at for row in trail]
    assert times == sorted(times) and before <= times[0] and times[-1] <= after
    # Each entry points at the text that caused it.
    inbound = {
        m["id"]: m["body"]
        for m in landline.call("/message/list", session=session, limit=100)["response"]
    }
    assert [inbound[row.message_id].strip() for row in trail] == [row.keyword for row in trail]

    changes = _events(landline, "optout.change", device_id)
    assert len(changes) == len(trail)
    data = [json.loads(e.data) for e in changes]
    assert [d["optOut"] for d in data] == [True, False, True, False, True, False]
    assert {d["number"] for d in data} == {handset}

    # The texts sent while opted in went out; the others ended at -1234.
    statuses = {m["body"]: m["statusCode"] for m in _sent_to(landline, session, handset)}
    assert statuses["after STOP"] == statuses["after END"] == statuses["after quit"] == -1234
    assert statuses["after unstop"] == statuses["after Start"] == statuses["after YES"] == 6


def test_a_stop_is_confirmed_once(landline: Landline) -> None:
    device_id, session = add_watched_line(landline, LINE)
    handset = _handset(3)
    landline.handset_texts(handset, LINE, "STOP")
    _settle(landline)
    landline.handset_texts(handset, LINE, "stop")
    _settle(landline)

    replies = _sent_to(landline, session, handset)
    assert [m["body"] for m in replies] == [optout.STOP_CONFIRMATION]
    # The confirmation itself reaches the handset, opt-out or not.
    assert replies[0]["statusCode"] == 6
    assert len(_audit(landline, device_id, handset)) == 1
    assert len(_events(landline, "optout.change", device_id)) == 1
    # Both STOP texts are in the conversation.
    inbound = [
        m
        for m in landline.call("/message/list", session=session)["response"]
        if m["messageType"] == "MO"
    ]
    assert [m["body"] for m in inbound] == ["stop", "STOP"]

    # Opting back in is confirmed once too; "yes" while opted in is just a word.
    for word in ("START", "start", "yes"):
        landline.handset_texts(handset, LINE, word)
        _settle(landline)
    bodies = [m["body"] for m in _sent_to(landline, session, handset)]
    assert bodies == [optout.STOP_CONFIRMATION, optout.START_CONFIRMATION]


def test_help_and_info_get_the_help_text(landline: Landline) -> None:
    device_id, session = add_watched_line(landline, LINE)
    handset = _handset(4)
    landline.handset_texts(handset, LINE, "HELP")
    _settle(landline)
    landline.handset_texts(handset, LINE, " info ")
    _settle(landline)
    replies = _sent_to(landline, session, handset)
    assert [m["body"] for m in replies] == [HELP_TEXT, HELP_TEXT]
    assert all(m["statusCode"] == 6 for m in replies)
    assert _opted_out(landline, session)[numbers.display(handset)] is False
    assert _events(landline, "optout.change", device_id) == []

    # Someone who opted out can still ask for help.
    landline.handset_texts(handset, LINE, "STOP")
    _settle(landline)
    landline.handset_texts(handset, LINE, "Help")
    _settle(landline)
    bodies = [m["body"] for m in _sent_to(landline, session, handset)]
    assert bodies == [HELP_TEXT, HELP_TEXT, optout.STOP_CONFIRMATION, HELP_TEXT]
    assert _opted_out(landline, session)[numbers.display(handset)] is True


def test_a_group_send_skips_only_the_contact_who_opted_out(landline: Landline) -> None:
    _, session = add_watched_line(landline, LINE)
    group = [_handset(10), _handset(11), _handset(12)]
    landline.handset_texts(group[1], LINE, "Stop")
    _settle(landline)

    sent = _send(landline, session, *group, body="Team meeting at 3")
    tokens = sent["tokens"]
    assert [t.get("code") for t in tokens] == [None, -1234, None]
    assert len({t["message"] for t in tokens}) == 3
    _settle(landline)
    assert [_get(landline, session, t["message"])["statusCode"] for t in tokens] == [6, -1234, 6]
    submitted = _submitted(landline)
    assert int(tokens[0]["message"]) in submitted and int(tokens[2]["message"]) in submitted
    assert int(tokens[1]["message"]) not in submitted


def test_a_text_scheduled_before_a_stop_is_never_sent(
    timed_landline: Landline, manual_clock: ManualClock
) -> None:
    landline = timed_landline
    device_id, session = add_watched_line(landline, LINE)
    handset, other = _handset(20), _handset(21)
    when = manual_clock.now_ms() + 60_000
    answer = landline.call(
        "/message/send",
        session=session,
        contacts=f"{handset},{other}",
        body="Reminder",
        scheduledDate=when,
    )
    assert answer["success"] is True, answer
    tokens = answer["response"]["tokens"]
    landline.handset_texts(handset, LINE, "STOP")
    _settle(landline)

    stopped = _get(landline, session, tokens[0]["message"])
    assert stopped["statusCode"] == -1234
    assert [h["statusCode"] for h in stopped["statusHistory"]] == [2, -1234]
    waiting = landline.call("/message/scheduled", session=session)["response"]
    assert [m["id"] for m in waiting] == [int(tokens[1]["message"])]

    manual_clock.advance(seconds=61)
    _settle(landline)
    manual_clock.advance(seconds=2)
    _settle(landline)
    assert _submitted(landline) == {
        int(tokens[1]["message"]),
        int(_sent_to(landline, session, handset)[-1]["id"]),  # the STOP confirmation
    }
    assert _get(landline, session, tokens[1]["message"])["statusCode"] == 6
    assert _get(landline, session, tokens[0]["message"])["statusCode"] == -1234
    progress = [e.message_id for e in _events(landline, "message.progress", device_id)]
    assert progress.count(int(tokens[0]["message"])) == 1


def test_a_queued_text_to_a_contact_who_opted_out_meanwhile_is_never_sent(
    timed_landline: Landline, manual_clock: ManualClock
) -> None:
    """The dispatcher checks the opt-out again when it takes a text: a STOP recorded
    while the text was out of reach (held by another worker) still stops it."""
    landline = timed_landline
    device_id, session = add_watched_line(landline, LINE)
    handset = _handset(30)
    when = manual_clock.now_ms() + 60_000
    answer = landline.call(
        "/message/send", session=session, contacts=handset, body="Later", scheduledDate=when
    )
    message_id = int(answer["response"]["tokens"][0]["message"])
    number = numbers.to_e164(handset)
    landline.store.write_sync(
        lambda c: c.execute(
            update(contacts_table)
            .where(contacts_table.c.device_id == device_id, contacts_table.c.number == number)
            .values(opted_out=True)
        )
    )

    manual_clock.advance(seconds=61)
    _settle(landline)
    got = _get(landline, session, message_id)
    assert got["statusCode"] == -1234
    assert [h["statusCode"] for h in got["statusHistory"]] == [2, -1234]
    assert message_id not in _submitted(landline)

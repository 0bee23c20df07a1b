"""Scheduled texts: listed while they wait, sent at their time, not before, and kept
across a restart. The manual clock stands in for the passing of time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from conftest import Landline, start_landline
from conftest import get_message as get

from landline.core.clock import ManualClock
from landline.settings import Settings

LINE = "2065550123"
CONTACT = "+12065551234"


def on_the_second(clock: ManualClock) -> int:
    """Move the clock forward to a whole second, so ISO 8601 dates (to the second) and
    epoch milliseconds name the same instant."""
    clock.advance(ms=(1000 - clock.now_ms() % 1000) % 1000)
    return clock.now_ms()


def schedule(server: Landline, session: str, when: str, body: str = "Later") -> int:
    answer = server.call(
        "/message/send", session=session, contacts=CONTACT, body=body, scheduledDate=when
    )
    assert answer["success"] is True, answer
    return int(answer["response"]["tokens"][0]["message"])


def scheduled_ids(server: Landline, session: str) -> list[int]:
    answer = server.call("/message/scheduled", session=session)
    assert answer["success"] is True, answer
    return [int(m["id"]) for m in answer["response"]]


def count_handovers(server: Landline) -> list[int]:
    """Record the message id of every text the dispatcher hands to the carrier."""
    simulator = server.runtime.simulator
    handed: list[int] = []
    submit = simulator.submit

    async def counting(batch: Any) -> Any:
        handed.extend(submission.message_id for submission in batch)
        async for done in submit(batch):
            yield done

    simulator.submit = counting  # type: ignore[method-assign]
    return handed


def rendered(ms: int, tz: str) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).isoformat(timespec="seconds")


def test_scheduled_text_waits_for_its_time_then_goes_at_once(
    timed_landline: Landline, manual_clock: ManualClock
) -> None:
    server = timed_landline
    _, session = server.add_line(LINE)
    start = on_the_second(manual_clock)
    due = start + 60_000
    handed = count_handovers(server)
    message_id = schedule(server, session, str(due))

    got = get(server, session, message_id)
    assert got["statusCode"] == 2
    assert got["scheduledDate"] == rendered(due, "America/Los_Angeles")
    assert scheduled_ids(server, session) == [message_id]

    manual_clock.advance(seconds=59)
    server.settle()
    assert get(server, session, message_id)["statusCode"] == 2
    assert server.carrier_copies(message_id) == 0
    assert handed == []
    assert scheduled_ids(server, session) == [message_id]

    # At its time, the first dispatcher round hands it to the carrier.
    manual_clock.advance(seconds=1)
    server.settle()
    assert get(server, session, message_id)["statusCode"] == 1
    assert server.carrier_copies(message_id) == 1
    assert handed == [message_id]
    assert scheduled_ids(server, session) == []

    manual_clock.advance(seconds=1)
    server.settle()
    got = get(server, session, message_id)
    assert [step["statusCode"] for step in got["statusHistory"]] == [2, 1, 6]
    # It still says when it was meant to go.
    assert got["scheduledDate"] == rendered(due, "America/Los_Angeles")


def test_idle_dispatcher_sends_a_text_that_fell_due_within_a_second(
    db_url: str, tmp_path: Path, manual_clock: ManualClock
) -> None:
    # A scheduled text becomes due without anything waking the dispatcher, so how
    # late it leaves is bounded by how often an idle dispatcher looks: with the
    # default settings, the background dispatcher must find it within a second.
    server = start_landline(
        db_url, tmp_path, clock=manual_clock, poll_interval_ms=Settings().poll_interval_ms
    )
    try:
        _, session = server.add_line(LINE)
        handed = count_handovers(server)
        rounds = count_rounds(server)
        sent = schedule(server, session, str(on_the_second(manual_clock) + 60_000))
        # The send woke the dispatcher; once a round that began after it has found
        # nothing due, the dispatcher is idle and only its own polling can find the text.
        after = len(rounds)
        wait_until(lambda: any(claimed == 0 for claimed in rounds[after + 1 :]), 5.0)
        assert handed == []

        manual_clock.advance(seconds=60)
        started = time.monotonic()
        wait_until(lambda: handed == [sent], 5.0)
        assert time.monotonic() - started < 1.0
    finally:
        server.stop()


def count_rounds(server: Landline) -> list[int]:
    """Record how many texts each dispatcher round claims, background rounds included."""
    dispatcher = server.runtime.dispatcher
    claimed: list[int] = []
    run_once = dispatcher.run_once

    async def counting() -> int:
        found = await run_once()
        claimed.append(found)
        return found

    dispatcher.run_once = counting  # type: ignore[method-assign]
    return claimed


def wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_scheduled_date_as_iso_8601_with_an_offset_names_the_same_instant(
    timed_landline: Landline, manual_clock: ManualClock
) -> None:
    server = timed_landline
    _, session = server.add_line(LINE, timezone="America/New_York")
    due = on_the_second(manual_clock) + 120_000
    moment = datetime.fromtimestamp(due / 1000, UTC)
    india = moment.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    utc_z = moment.isoformat().replace("+00:00", "Z")

    by_epoch = schedule(server, session, str(due), body="epoch")
    by_india = schedule(server, session, india, body="india")
    by_utc = schedule(server, session, utc_z, body="utc")

    listed = server.call("/message/scheduled", session=session)["response"]
    assert {int(m["id"]) for m in listed} == {by_epoch, by_india, by_utc}
    # Whatever offset the client wrote, the date comes back in the line's time zone.
    expected = rendered(due, "America/New_York")
    assert {m["scheduledDate"] for m in listed} == {expected}
    assert expected.endswith(("-05:00", "-04:00"))

    manual_clock.advance(ms=119_999)
    server.settle()
    assert all(get(server, session, mid)["statusCode"] == 2 for mid in listed_ids(listed))
    manual_clock.advance(ms=1)
    server.settle()
    assert all(get(server, session, mid)["statusCode"] == 1 for mid in listed_ids(listed))


def listed_ids(listed: list[dict[str, Any]]) -> list[int]:
    return [int(m["id"]) for m in listed]


def test_scheduled_date_in_the_past_or_too_far_ahead_is_refused(
    timed_landline: Landline, manual_clock: ManualClock
) -> None:
    server = timed_landline
    _, session = server.add_line(LINE)
    now = manual_clock.now_ms()
    for when in (str(now - 120_000), str(now + 400 * 24 * 3600 * 1000), "2030-01-01T10:00:00"):
        answer = server.call(
            "/message/send", session=session, contacts=CONTACT, body="x", scheduledDate=when
        )
        assert answer["success"] is False, when
        assert answer["response"]["code"] == -703
        assert "scheduledDate" in answer["response"]["desc"]
    assert scheduled_ids(server, session) == []


def test_scheduled_text_survives_a_restart_and_goes_once(
    db_url: str, tmp_path: Path, timed_landline: Landline, manual_clock: ManualClock
) -> None:
    first = timed_landline
    _, session = first.add_line(LINE)
    due = manual_clock.now_ms() + 60_000
    message_id = schedule(first, session, str(due))
    first.stop()

    second = start_landline(db_url, tmp_path, clock=manual_clock, sim_receipt_delay_ms=1000)
    try:
        handed = count_handovers(second)
        assert scheduled_ids(second, session) == [message_id]
        manual_clock.advance(seconds=30)
        second.settle()
        assert get(second, session, message_id)["statusCode"] == 2

        manual_clock.advance(seconds=30)
        second.settle()
        assert get(second, session, message_id)["statusCode"] == 1
        manual_clock.advance(seconds=1)
        second.settle()
        manual_clock.advance(seconds=60)
        second.settle()
        got = get(second, session, message_id)
        assert [step["statusCode"] for step in got["statusHistory"]] == [2, 1, 6]
        assert second.carrier_copies(message_id) == 1
        assert handed == [message_id]
    finally:
        second.stop()

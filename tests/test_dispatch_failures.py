"""A carrier connector that hangs, raises or refuses: what becomes of the texts.

The misbehaving connector is a class of this file, plugged in where a real connector
sits (the edge of the network); everything between the API and it is the real server
on a real store. Time is a clock the test moves, so the back-off is checked to the
millisecond without waiting for it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
from conftest import Landline, free_port, get_message, history

from landline.carriers.base import (
    CarrierSink,
    Submission,
    SubmitOutcome,
    SubmitResult,
    Submitted,
)
from landline.core.backoff import CARRIER_MAX_ATTEMPTS, carrier_retry_delay_ms
from landline.core.clock import ManualClock
from landline.dispatch.dispatcher import Dispatcher
from landline.runtime import Runtime
from landline.settings import Settings

LINE = "2065550123"
FLAKY = "+13125550100"  # routed to the connector under test
SIMULATED = "+12065550100"  # routed to the simulated network
TIMEOUT_S = 0.2

QUEUED, IN_PROGRESS, ERROR_CONFIRMED = 2, 1, 5


class FlakyConnector:
    """A carrier that behaves as `mode` says, per submission:

    - "accept": takes it; "retry": not now; "reject": refuses it for good;
    - "hang": never answers; "raise": fails with an exception before answering.
    """

    name = "flaky"

    def __init__(self) -> None:
        self.mode = "accept"
        self.seen: list[Submission] = []

    async def start(self, sink: CarrierSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def submit(self, batch: Sequence[Submission]) -> AsyncIterator[Submitted]:
        for submission in batch:
            self.seen.append(submission)
            if self.mode == "hang":
                await asyncio.Event().wait()
            if self.mode == "raise":
                raise ConnectionResetError("carrier link dropped")
            outcome = {
                "accept": SubmitOutcome.ACCEPTED,
                "retry": SubmitOutcome.RETRY,
                "reject": SubmitOutcome.REJECTED,
            }[self.mode]
            ref = f"ref-{submission.message_id}" if outcome is SubmitOutcome.ACCEPTED else None
            yield Submitted(submission, SubmitResult(outcome, carrier_ref=ref, reason=self.mode))


@pytest.fixture
def flaky() -> FlakyConnector:
    return FlakyConnector()


@pytest.fixture
def server(
    db_url: str, tmp_path: Path, manual_clock: ManualClock, flaky: FlakyConnector
) -> Iterator[Landline]:
    """A server without background workers (texts move only in `settle()`), whose
    dispatcher gives up on a connector after TIMEOUT_S."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        sim_receipt_delay_ms=0,
        poll_interval_ms=50,
        routes=f"{FLAKY[:5]}=flaky,+1=simulator",
    )
    runtime = Runtime(settings, clock=manual_clock, workers=False)
    runtime.connectors[flaky.name] = flaky
    runtime.dispatcher = Dispatcher(
        runtime.store,
        manual_clock,
        runtime.routes,
        runtime.connectors,
        lease_ms=int(settings.lease_seconds * 1000),
        poll_ms=settings.poll_interval_ms,
        submit_timeout_s=TIMEOUT_S,
    )
    found = Landline(runtime, free_port())
    found.start()
    yield found
    found.stop()


def send(server: Landline, key: str, contacts: str) -> list[int]:
    answer = server.call("/message/send", session=key, contacts=contacts, body="Hello")
    assert answer["success"] is True, answer
    return [int(token["message"]) for token in answer["response"]["tokens"]]


def status(server: Landline, key: str, message_id: int) -> int:
    return int(get_message(server, key, message_id)["statusCode"])


def attempts(flaky: FlakyConnector, message_id: int) -> list[int]:
    return [s.attempt for s in flaky.seen if s.message_id == message_id]


def test_not_now_is_retried_with_back_off_then_ends_as_an_error(
    server: Landline, manual_clock: ManualClock, flaky: FlakyConnector
) -> None:
    _, key = server.add_line(LINE)
    flaky.mode = "retry"
    (message_id,) = send(server, key, FLAKY)
    server.settle()
    assert attempts(flaky, message_id) == [1]
    assert status(server, key, message_id) == QUEUED

    for attempt in range(1, CARRIER_MAX_ATTEMPTS):
        delay = carrier_retry_delay_ms(attempt)
        # Not a millisecond early...
        manual_clock.advance(ms=delay - 1)
        server.settle()
        assert attempts(flaky, message_id) == list(range(1, attempt + 1))
        assert status(server, key, message_id) == QUEUED
        # ...and at its time, the next attempt.
        manual_clock.advance(ms=1)
        server.settle()
        assert attempts(flaky, message_id) == list(range(1, attempt + 2))

    # The last attempt failed too: the text ends, and is not tried again.
    assert status(server, key, message_id) == ERROR_CONFIRMED
    assert history(server, key, message_id) == [QUEUED, ERROR_CONFIRMED]
    manual_clock.advance(seconds=3600)
    server.settle()
    assert len(attempts(flaky, message_id)) == CARRIER_MAX_ATTEMPTS
    assert status(server, key, message_id) == ERROR_CONFIRMED


def test_the_back_off_doubles_to_a_ceiling() -> None:
    delays = [carrier_retry_delay_ms(n) for n in range(1, CARRIER_MAX_ATTEMPTS)]
    assert delays[:4] == [1_000, 2_000, 4_000, 8_000]
    assert all(b == min(2 * a, 300_000) for a, b in itertools.pairwise(delays))
    assert max(delays) == 300_000


def test_a_refusal_ends_the_text_at_once(
    server: Landline, manual_clock: ManualClock, flaky: FlakyConnector
) -> None:
    _, key = server.add_line(LINE)
    flaky.mode = "reject"
    (message_id,) = send(server, key, FLAKY)
    server.settle()
    assert status(server, key, message_id) == ERROR_CONFIRMED
    manual_clock.advance(seconds=3600)
    server.settle()
    assert attempts(flaky, message_id) == [1]


def test_a_connector_that_hangs_past_its_timeout_is_tried_again_later(
    server: Landline, manual_clock: ManualClock, flaky: FlakyConnector
) -> None:
    _, key = server.add_line(LINE)
    flaky.mode = "hang"
    flaky_id, simulated_id = send(server, key, f"{FLAKY},{SIMULATED}")
    server.settle()
    # The hung carrier held up nothing else: the simulated network's text went.
    assert status(server, key, simulated_id) != QUEUED
    assert status(server, key, flaky_id) == QUEUED
    assert attempts(flaky, flaky_id) == [1]

    flaky.mode = "accept"
    manual_clock.advance(ms=carrier_retry_delay_ms(1) - 1)
    server.settle()
    assert attempts(flaky, flaky_id) == [1]
    manual_clock.advance(ms=1)
    server.settle()
    assert attempts(flaky, flaky_id) == [1, 2]
    assert status(server, key, flaky_id) == IN_PROGRESS
    assert history(server, key, flaky_id) == [QUEUED, IN_PROGRESS]


def test_a_connector_that_raises_is_tried_again_later_then_gives_up(
    server: Landline, manual_clock: ManualClock, flaky: FlakyConnector
) -> None:
    _, key = server.add_line(LINE)
    flaky.mode = "raise"
    (message_id,) = send(server, key, FLAKY)
    server.settle()
    assert status(server, key, message_id) == QUEUED
    for attempt in range(1, CARRIER_MAX_ATTEMPTS):
        manual_clock.advance(ms=carrier_retry_delay_ms(attempt))
        server.settle()
    assert attempts(flaky, message_id) == list(range(1, CARRIER_MAX_ATTEMPTS + 1))
    assert status(server, key, message_id) == ERROR_CONFIRMED


def test_texts_a_connector_answered_before_it_failed_keep_their_answer(
    server: Landline, manual_clock: ManualClock, flaky: FlakyConnector
) -> None:
    """The carrier took the first text, then the link dropped: the first is sent, the
    second waits for its retry and is not lost."""
    _, key = server.add_line(LINE)
    first, second = send(server, key, f"{FLAKY},+13125550101")
    answered: list[int] = []
    submit = flaky.submit

    async def answer_one_then_drop(batch: Sequence[Submission]) -> AsyncIterator[Submitted]:
        async for done in submit(batch[:1]):
            answered.append(done.submission.message_id)
            yield done
        raise ConnectionResetError("carrier link dropped")

    flaky.submit = answer_one_then_drop  # type: ignore[method-assign]
    server.settle()
    assert answered == [first]
    assert status(server, key, first) == IN_PROGRESS
    assert status(server, key, second) == QUEUED

    flaky.submit = submit  # type: ignore[method-assign]
    manual_clock.advance(ms=carrier_retry_delay_ms(1))
    server.settle()
    assert status(server, key, second) == IN_PROGRESS
    # The text the carrier already had was not handed over again.
    assert attempts(flaky, first) == [1]

"""The delivery rules, each on its own: what fails an attempt, the retry schedule, giving up
after 72 hours, hosts that go down and come back, per-host queues, redundant hosts,
signatures, and the URL guard at connect time.

Time rules run on the manual clock: the test moves it and drives the engine's rounds
(`deliver`); the receivers are real HTTP servers on loopback.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp.abc import AbstractResolver, ResolveResult
from conftest import Landline, free_port
from webhook_fixtures import (
    LINE,
    Receiver,
    add_webhook,
    all_deliveries,
    deliver,
    delivery,
    failures,
    host_row,
    ok,
    secret_of,
    start_server,
)

from landline.core.clock import ManualClock
from landline.settings import Settings
from landline.webhooks.signing import signature

SECOND, MINUTE, HOUR = 1_000, 60_000, 3_600_000


class SwitchableResolver(AbstractResolver):
    """Names answer from `table`, which a test may change between add and delivery."""

    def __init__(self) -> None:
        self.table: dict[str, str] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.table:
            raise OSError(f"{host}: no such name")
        return [
            {
                "hostname": host,
                "host": self.table[host],
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    """Receivers a test makes with `receivers.append(Receiver(...))`, stopped after it."""
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.stop()


def receiver(made: list[Receiver], mode: str = "ok", **options: Any) -> Receiver:
    found = Receiver(mode, **options)
    made.append(found)
    return found


@pytest.fixture
def server(db_url: str, tmp_path: Path, manual_clock: ManualClock) -> Iterator[Landline]:
    found = start_server(db_url, tmp_path, manual_clock, webhook_timeout_s=0.5)
    yield found
    found.stop()


def line(server: Landline, number: str = LINE) -> str:
    return server.add_line(number)[1]


def send_texts(server: Landline, key: str, count: int = 1, first: int = 1000) -> list[int]:
    """Send `count` texts (one `send` event each); returns their message ids."""
    ids: list[int] = []
    for start in range(0, count, 15):
        contacts = [f"+1206555{first + n:04d}" for n in range(start, min(count, start + 15))]
        sent = ok(server.call("/message/send", session=key, contacts=",".join(contacts), body="Hi"))
        ids.extend(int(token["message"]) for token in sent["tokens"])
    return ids


def only_delivery(server: Landline) -> Any:
    [found] = all_deliveries(server)
    return found


def advance_to(server: Landline, clock: ManualClock, at: int) -> None:
    clock.advance(ms=max(at - clock.now_ms(), 0))
    deliver(server)


# -- what fails an attempt


def _tls_receiver(made: list[Receiver]) -> Receiver:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    return receiver(made, ssl_context=context)


@pytest.mark.parametrize(
    ("mode", "kind", "status"),
    [
        ("fail", "http", 500),
        ("redirect", "redirect", 302),
        ("close", "protocol", None),
        ("hang", "timeout", None),
        ("closed-port", "connect", None),
        ("untrusted-tls", "tls", None),
        ("no-dns", "dns", None),
    ],
)
def test_an_attempt_fails_and_is_retried_10_seconds_later(
    db_url: str,
    tmp_path: Path,
    manual_clock: ManualClock,
    receivers: list[Receiver],
    mode: str,
    kind: str,
    status: int | None,
) -> None:
    resolver = SwitchableResolver()
    server = start_server(
        db_url,
        tmp_path,
        manual_clock,
        webhook_timeout_s=0.5,
        runtime_options={"resolver": resolver},
    )
    try:
        key = line(server)
        if mode == "closed-port":
            url = f"http://127.0.0.1:{free_port()}/hook"
        elif mode == "untrusted-tls":
            url = _tls_receiver(receivers).url()
        elif mode == "no-dns":
            # It resolved when it was added; it does not any more.
            resolver.table["hooks.example"] = "127.0.0.1"
            url = f"http://hooks.example:{receiver(receivers).port}/hook"
        else:
            url = receiver(receivers, mode).url()
        add_webhook(server, key, url, "send")
        resolver.table.clear()
        send_texts(server, key)
        started = time.monotonic()
        deliver(server)
        elapsed = time.monotonic() - started
        found = only_delivery(server)
        now = manual_clock.now_ms()
        assert (found.state, found.attempts, found.last_error, found.last_status) == (
            "failed",
            1,
            kind,
            status,
        )
        assert found.next_at == now + 10 * SECOND
        [failure] = failures(server, found.event_id)
        assert (failure.attempt, failure.kind, failure.status, failure.at) == (1, kind, status, now)
        if mode == "redirect":
            # Not followed: the receiver saw the one request.
            assert [seen.path for seen in receivers[0].seen] == ["/hook"]
        if mode == "hang":
            assert 0.4 < elapsed < 5
        # 9.999 s later nothing happens; at 10 s it is tried again.
        manual_clock.advance(ms=10 * SECOND - 1)
        deliver(server)
        assert delivery(server, found.event_id).attempts == 1
        manual_clock.advance(ms=1)
        deliver(server)
        assert delivery(server, found.event_id).attempts == 2
    finally:
        for made in receivers:
            made.release()
        server.stop()


def test_an_answer_in_2xx_is_delivered(server: Landline, receivers: list[Receiver]) -> None:
    hook = receiver(receivers)
    key = line(server)
    add_webhook(server, key, hook.url(), "send")
    send_texts(server, key)
    deliver(server)
    found = only_delivery(server)
    assert (found.state, found.attempts, found.last_status) == ("delivered", 1, 200)
    assert found.delivered_at == server.clock.now_ms()
    assert failures(server, found.event_id) == []
    assert len(hook.seen) == 1


def test_the_time_limit_is_7_seconds_by_default(tmp_path: Path) -> None:
    from landline.runtime import Runtime

    assert Settings().webhook_timeout_s == 7.0
    runtime = Runtime(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'l.db'}"))
    try:
        assert runtime.webhooks._client.limits.timeout_s == 7.0
    finally:
        runtime.store.close()
    with pytest.raises(ValueError):
        Settings(webhook_timeout_s=8)


# -- the schedule


def test_retries_wait_10_s_doubling_to_10_minutes_and_give_up_after_72_hours(
    server: Landline, manual_clock: ManualClock, receivers: list[Receiver]
) -> None:
    hook = receiver(receivers, "fail")
    key = line(server)
    add_webhook(server, key, hook.url(), "send")
    send_texts(server, key)
    event_at = manual_clock.now_ms()
    deliver(server)
    waits = []
    for _ in range(8):
        found = only_delivery(server)
        wait = found.next_at - manual_clock.now_ms()
        waits.append(wait // SECOND)
        # Nothing goes before its time.
        advance_to(server, manual_clock, found.next_at - 1)
        assert only_delivery(server).attempts == found.attempts
        advance_to(server, manual_clock, found.next_at)
        assert only_delivery(server).attempts == found.attempts + 1
    assert waits == [10, 20, 40, 80, 160, 320, 600, 600]
    assert len(hook.seen) == 9
    # Still failing 72 hours after the event: given up, and kept.
    advance_to(server, manual_clock, event_at + 72 * HOUR)
    found = only_delivery(server)
    assert found.state == "given-up"
    assert found.given_up_at == event_at + 72 * HOUR
    manual_clock.advance(seconds=3600)
    deliver(server)
    assert only_delivery(server).state == "given-up"
    # Replayed, it starts afresh, with the same webhook-id.
    hook.mode = "ok"
    answer = ok(server.call("/webhook/replay", session=key, deliveryId=f"msg_{found.event_id}"))
    assert answer == {"replayed": 1, "complete": True}
    replayed = only_delivery(server)
    assert (replayed.state, replayed.window_start) == ("pending", manual_clock.now_ms())
    deliver(server)
    assert only_delivery(server).state == "delivered"
    assert {seen.webhook_id for seen in hook.seen} == {f"msg_{found.event_id}"}


def test_a_line_replays_what_was_given_up_in_a_time_window(
    server: Landline, manual_clock: ManualClock, receivers: list[Receiver]
) -> None:
    hook = receiver(receivers, "fail")
    key = line(server)
    add_webhook(server, key, hook.url(), "send")
    early = manual_clock.now_ms()
    send_texts(server, key, 3)
    manual_clock.advance(seconds=3600)
    send_texts(server, key, 2, first=2000)
    deliver(server)
    advance_to(server, manual_clock, early + 74 * HOUR)
    assert {d.state for d in all_deliveries(server)} == {"given-up"}
    hook.mode = "ok"
    # Only the first hour's three.
    window = {"since": str(early - 1000), "until": str(early + 1800 * SECOND)}
    answer = ok(server.call("/webhook/replay", session=key, **window))
    assert answer == {"replayed": 3, "complete": True}
    deliver(server)
    states = [d.state for d in all_deliveries(server)]
    assert states == ["delivered"] * 3 + ["given-up"] * 2
    desc = server.call("/webhook/replay", session=key)["response"]["desc"]
    assert "deliveryId, or since" in desc


# -- hosts that go down


def fail_until_down(server: Landline, clock: ManualClock, host: str, rounds: int = 30) -> None:
    """Keep trying the deliveries due until `host` is down."""
    for _ in range(rounds):
        found = host_row(server, host)
        if found is not None and found.down_since is not None:
            return
        due = min(d.next_at for d in all_deliveries(server) if d.state in ("pending", "failed"))
        advance_to(server, clock, due)
    raise AssertionError(f"{host} never went down")


def test_a_host_failing_for_an_hour_is_down_probed_every_10_minutes_then_drained_in_order(
    db_url: str, tmp_path: Path, manual_clock: ManualClock, receivers: list[Receiver]
) -> None:
    server = start_server(
        db_url, tmp_path, manual_clock, webhook_timeout_s=0.5, webhook_host_concurrency=1
    )
    try:
        hook = receiver(receivers, "fail")
        key = line(server)
        add_webhook(server, key, hook.url(), "send")
        [first] = send_texts(server, key)
        started = manual_clock.now_ms()
        deliver(server)
        fail_until_down(server, manual_clock, hook.host)
        down = host_row(server, hook.host)
        # An hour of nothing but failures: 10, 30, 70, ... 3,630 s.
        assert down.down_since - started == 3630 * SECOND
        assert down.next_probe_at == down.down_since + 10 * MINUTE
        tried = len(hook.seen)
        assert tried == 12
        # While it is down, new events and due retries wait.
        manual_clock.advance(seconds=5)
        later = send_texts(server, key, 2, first=2000)
        for _ in range(3):
            manual_clock.advance(seconds=150)
            deliver(server)
        assert len(hook.seen) == tried
        # Ten minutes on, one probe: the oldest delivery.
        advance_to(server, manual_clock, down.next_probe_at)
        assert len(hook.seen) == tried + 1
        probed = hook.seen[-1]
        assert probed.json["id"] == first
        advance_to(server, manual_clock, down.next_probe_at + 10 * MINUTE - 1)
        assert len(hook.seen) == tried + 1
        # The receiver is back: the next probe succeeds, and the backlog follows, oldest
        # first.
        hook.mode = "ok"
        advance_to(server, manual_clock, down.next_probe_at + 10 * MINUTE)
        deliver(server)
        assert [seen.json["id"] for seen in hook.seen[tried + 1 :]] == [first, *later]
        assert {d.state for d in all_deliveries(server)} == {"delivered"}
        back = host_row(server, hook.host)
        assert (back.down_since, back.first_failure_at) == (None, None)
    finally:
        server.stop()


# -- queues per host


def test_a_dead_host_holds_only_its_own_slots(
    db_url: str, tmp_path: Path, manual_clock: ManualClock, receivers: list[Receiver]
) -> None:
    server = start_server(db_url, tmp_path, manual_clock, webhook_host_concurrency=3)
    try:
        dead, healthy = receiver(receivers, "hang"), receiver(receivers, "ok")
        dead_key, healthy_key = line(server, "2065550123"), line(server, "2065550124")
        add_webhook(server, dead_key, dead.url(), "send")
        add_webhook(server, healthy_key, healthy.url(), "send")
        send_texts(server, dead_key, 20)
        send_texts(server, healthy_key, 30)
        deadline = time.monotonic() + 20
        while len(healthy.seen) < 30:
            assert time.monotonic() < deadline, f"{len(healthy.seen)} of 30 delivered"
            server.run(server.runtime.webhooks.run_once)
            time.sleep(0.02)
        # The dead host has exactly its three slots' worth in flight, no more.
        assert len(dead.seen) == 3
        dead.release()
        deliver(server)
        assert {d.state for d in all_deliveries(server)} == {"delivered"}
        assert len(dead.seen) == 20
    finally:
        server.stop()


# -- several hosts for one receiver


def test_redundant_hosts_get_each_event_once_and_traffic_moves_while_one_is_down(
    server: Landline, manual_clock: ManualClock, receivers: list[Receiver]
) -> None:
    first, second = receiver(receivers), receiver(receivers)
    key = line(server)
    add_webhook(server, key, first.url(), "send")
    manual_clock.advance(ms=1)
    add_webhook(server, key, second.url(), "send")
    # Both up: the oldest webhook's host takes everything, once.
    send_texts(server, key, 3)
    deliver(server)
    assert (len(first.seen), len(second.seen)) == (3, 0)
    # The first host fails; its deliveries retry there until it has failed for an hour,
    # then go to the second.
    first.mode = "fail"
    [stuck] = send_texts(server, key, 1, first=2000)
    deliver(server)
    fail_until_down(server, manual_clock, first.host)
    deliver(server)
    assert [seen.json["id"] for seen in second.seen] == [stuck]
    # New events go straight to the host that is up.
    [fresh] = send_texts(server, key, 1, first=3000)
    deliver(server)
    assert second.seen[-1].json["id"] == fresh
    # Every 10 minutes the down host is still probed, with a delivery that then goes on
    # to the host that is up if the probe fails.
    down = host_row(server, first.host)
    manual_clock.advance(ms=down.next_probe_at - manual_clock.now_ms())
    [probe] = send_texts(server, key, 1, first=4000)
    deliver(server)
    assert first.seen[-1].json["id"] == probe
    assert second.seen[-1].json["id"] == probe
    # Back: the next probe succeeds, and the first host takes its traffic again.
    first.mode = "ok"
    manual_clock.advance(ms=10 * MINUTE)
    [returned] = send_texts(server, key, 1, first=5000)
    deliver(server)
    assert first.seen[-1].json["id"] == returned
    [after] = send_texts(server, key, 1, first=6000)
    deliver(server)
    assert first.seen[-1].json["id"] == after
    # Each event was delivered once in all.
    delivered = [s.event_id for r in (first, second) for s in r.seen if s.answered == "ok"]
    states = {d.event_id: d.state for d in all_deliveries(server)}
    assert set(states.values()) == {"delivered"}
    assert sorted(delivered) == sorted(states)


def test_changing_or_removing_a_webhook_moves_or_gives_up_what_waits_for_it(
    server: Landline, manual_clock: ManualClock, receivers: list[Receiver]
) -> None:
    broken, fixed = receiver(receivers, "fail"), receiver(receivers)
    key = line(server)
    hook_id = add_webhook(server, key, broken.url(), "send")
    send_texts(server, key)
    deliver(server)
    assert only_delivery(server).state == "failed"
    ok(server.call("/webhook/update", session=key, webhookId=str(hook_id), url=fixed.url()))
    deliver(server)
    assert only_delivery(server).state == "delivered" and len(fixed.seen) == 1
    # A delivery waiting for the line's last webhook of its kind is given up with it.
    fixed.mode = "fail"
    send_texts(server, key, 1, first=2000)
    deliver(server)
    ok(server.call("/webhook/delete", session=key, webhookId=str(hook_id)))
    waiting = all_deliveries(server)[-1]
    assert (waiting.state, waiting.last_error) == ("given-up", "no webhook")


# -- signatures


def signed_with(seen: Any, secret: str) -> bool:
    expected = signature(secret, seen.webhook_id, int(seen.headers["webhook-timestamp"]), seen.body)
    return expected in seen.headers["webhook-signature"].split(" ")


def test_every_attempt_is_signed_with_a_stable_id_and_its_own_timestamp(
    server: Landline, manual_clock: ManualClock, receivers: list[Receiver]
) -> None:
    hook = receiver(receivers, "fail")
    key = line(server)
    add_webhook(server, key, hook.url(), "send")
    secret = secret_of(server, key)
    send_texts(server, key)
    deliver(server)
    hook.mode = "ok"
    advance_to(server, manual_clock, only_delivery(server).next_at)
    tries = hook.wait_for(2)
    assert tries[0].webhook_id == tries[1].webhook_id == f"msg_{only_delivery(server).event_id}"
    stamps = [int(seen.headers["webhook-timestamp"]) for seen in tries]
    assert stamps[1] - stamps[0] == 10
    assert all(signed_with(seen, secret) for seen in tries)
    assert tries[0].verify(secret)["body"] == "Hi"


def test_after_a_rotation_both_secrets_sign_for_24_hours(
    server: Landline, manual_clock: ManualClock, receivers: list[Receiver]
) -> None:
    hook = receiver(receivers)
    key = line(server)
    add_webhook(server, key, hook.url(), "send")
    old = secret_of(server, key)
    new = ok(server.call("/webhook/rotate", session=key))["secret"]
    send_texts(server, key)
    deliver(server)
    manual_clock.advance(ms=24 * HOUR - 1)
    send_texts(server, key, 1, first=2000)
    deliver(server)
    manual_clock.advance(ms=1)
    send_texts(server, key, 1, first=3000)
    deliver(server)
    at_once, just_before, after = hook.wait_for(3)
    for seen in (at_once, just_before):
        assert len(seen.headers["webhook-signature"].split(" ")) == 2
        assert signed_with(seen, new) and signed_with(seen, old)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert signed_with(after, new) and not signed_with(after, old)


# -- the URL guard, again at connect time


def test_a_name_that_resolves_elsewhere_at_delivery_cannot_reach_a_refused_address(
    db_url: str, tmp_path: Path, manual_clock: ManualClock, receivers: list[Receiver]
) -> None:
    resolver = SwitchableResolver()
    server = start_server(
        db_url,
        tmp_path,
        manual_clock,
        webhook_allow_nets="",
        runtime_options={"resolver": resolver},
    )
    try:
        target = receiver(receivers)
        key = line(server)
        # Public when it is added...
        resolver.table["rebind.example"] = "93.184.215.14"
        add_webhook(server, key, f"http://rebind.example:{target.port}/hook", "send")
        # ...loopback when it is delivered to.
        resolver.table["rebind.example"] = "127.0.0.1"
        send_texts(server, key)
        deliver(server)
        found = only_delivery(server)
        assert (found.state, found.last_error) == ("failed", "refused")
        [failure] = failures(server, found.event_id)
        assert "loopback" in failure.error
        assert target.seen == []
        # And a URL naming a refused address is refused when added.
        answer = server.http.post(
            "/webhook/add",
            data={"session": key, "type": "message", "event": "send", "url": target.url()},
        ).json()
        assert answer["success"] is False and "loopback" in answer["response"]["desc"]
    finally:
        server.stop()


def test_tls_deliveries_verify_the_certificate(
    db_url: str, tmp_path: Path, manual_clock: ManualClock, receivers: list[Receiver]
) -> None:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    secure = receiver(receivers, ssl_context=context)
    trusting = ssl.create_default_context()
    trusting.minimum_version = ssl.TLSVersion.TLSv1_2
    authority.configure_trust(trusting)
    server = start_server(db_url, tmp_path, manual_clock, runtime_options={"webhook_tls": trusting})
    try:
        key = line(server)
        add_webhook(server, key, secure.url(), "send")
        send_texts(server, key)
        deliver(server)
        assert only_delivery(server).state == "delivered"
        assert secure.seen[0].json["body"] == "Hi"
    finally:
        server.stop()

"""user/login against anyone: hashing off the event loop, the same work for unknown
users, throttled failures, Argon2id with old PBKDF2 hashes upgraded, client addresses."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import argon2
import httpx
import pytest
from conftest import Landline, start_landline
from pydantic import ValidationError
from sqlalchemy import select, update

from landline.api import clients
from landline.core import passwords
from landline.core.clock import ManualClock
from landline.core.throttle import FailureCounts, LoginThrottle, address_key
from landline.settings import Settings
from landline.store import lines
from landline.store.schema import lines as lines_table
from landline.store.schema import operators as operators_table

LINE = "+12065550123"
OTHER_LINE = "+12065550124"
PASSWORD = "correct horse"
WINDOW_S = 15 * 60


@pytest.fixture
def server(db_url: str, tmp_path: Path, manual_clock: ManualClock) -> Iterator[Landline]:
    server = start_landline(db_url, tmp_path, clock=manual_clock)
    yield server
    server.stop()


def login(
    server: Landline, username: str, password: str, *, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return server.http.post(
        "/user/login", data={"username": username, "password": password}, headers=headers
    )


def assert_throttled(response: httpx.Response, why: str, seconds: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(seconds)
    assert response.json() == {
        "success": False,
        "response": {"code": -429, "desc": f"{why}; try again in {seconds} s"},
    }


def assert_logged_in(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    key = response.json()["response"]
    assert isinstance(key, str)
    return key


def stored_hash(server: Landline, number: str) -> str:
    return str(
        server.store.read_sync(
            lambda c: c.execute(
                select(lines_table.c.password_hash).where(lines_table.c.number == number)
            ).scalar_one()
        )
    )


class Gate:
    """Holds every password check until released, so a test can look at the server
    while logins are in the middle of hashing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        original: Callable[[str, str | None], bool] = passwords.verify

        def held(password: str, stored: str | None) -> bool:
            self.started.set()
            assert self.release.wait(timeout=30), "the gate was never opened"
            return original(password, stored)

        monkeypatch.setattr(passwords, "verify", held)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate(monkeypatch)
    yield gate
    gate.release.set()  # even when the test failed, so no hashing thread stays held


def in_background(server: Landline, username: str, password: str) -> Callable[[], httpx.Response]:
    """Start a login on its own connection; returns a function that waits for its answer."""
    answers: list[httpx.Response] = []

    def run() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            answers.append(
                http.post("/user/login", data={"username": username, "password": password})
            )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def answer() -> httpx.Response:
        thread.join(timeout=30)
        assert answers, "the login never answered"
        return answers[0]

    return answer


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


# -- hashing off the event loop


def test_a_login_being_hashed_does_not_hold_other_requests(server: Landline, gate: Gate) -> None:
    _, session = server.add_line(LINE, password=PASSWORD)
    answer = in_background(server, LINE, PASSWORD)
    assert gate.started.wait(timeout=10), "the login never reached the password check"

    # The login is still hashing; another client is answered meanwhile.
    listed = server.http.post("/message/list", data={"session": session}, timeout=5)
    assert listed.status_code == 200 and listed.json()["success"] is True
    assert server.runtime.password_pool.in_flight == 1

    gate.release.set()
    assert_logged_in(answer())


def test_when_every_hashing_thread_and_the_queue_are_taken_a_login_is_refused_at_once(
    db_url: str, tmp_path: Path, gate: Gate
) -> None:
    server = start_landline(db_url, tmp_path, login_threads=1, login_queue=1)
    try:
        server.add_line(LINE, password=PASSWORD)
        hashing = in_background(server, LINE, PASSWORD)
        assert gate.started.wait(timeout=10)
        queued = in_background(server, LINE, PASSWORD)
        pool = server.runtime.password_pool
        wait_until(lambda: pool.in_flight == 2, "the second login never queued")

        refused = server.http.post(
            "/user/login", data={"username": LINE, "password": PASSWORD}, timeout=5
        )
        assert_throttled(refused, "Too many logins in progress", 1)

        gate.release.set()
        assert_logged_in(hashing())
        assert_logged_in(queued())
        wait_until(lambda: pool.in_flight == 0, "the pool never emptied")
        assert_logged_in(login(server, LINE, PASSWORD))
    finally:
        gate.release.set()
        server.stop()


# -- unknown users cost what a wrong password costs


def test_an_unknown_user_runs_the_same_verification_as_a_wrong_password(
    server: Landline, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add_line(LINE, password=PASSWORD)
    server.add_line(OTHER_LINE, password=None)
    verified: list[str] = []
    original = passwords._argon2_verify

    def counting(stored: str, password: str) -> bool | None:
        verified.append(stored)
        return original(stored, password)

    monkeypatch.setattr(passwords, "_argon2_verify", counting)

    def hashes_checked(username: str) -> list[str]:
        verified.clear()
        response = login(server, username, "not the password")
        assert response.status_code == 401
        assert response.json()["response"] == {"code": -100, "desc": "Invalid username or password"}
        return list(verified)

    line_hash = stored_hash(server, LINE)
    assert hashes_checked(LINE) == [line_hash]
    # An unknown number, an unknown operator, a line with no password: one check each,
    # against a hash of the same scheme and cost as a real one.
    for username in ("+12065550199", "nobody", OTHER_LINE):
        (checked,) = hashes_checked(username)
        assert checked == passwords.dummy_hash()
    assert argon2.extract_parameters(passwords.dummy_hash()) == argon2.extract_parameters(line_hash)
    # No user name longer than the store keeps can exist: refused before any work.
    verified.clear()
    too_long = login(server, "x" * 256, "pw")
    assert too_long.json()["response"]["code"] == -703 and verified == []


# -- throttling failed logins


def test_failures_for_one_number_are_throttled_until_the_window_passes(
    server: Landline, manual_clock: ManualClock
) -> None:
    server.add_line(LINE, password=PASSWORD)
    server.add_line(OTHER_LINE, password=PASSWORD)
    for _ in range(5):
        assert login(server, LINE, "wrong").status_code == 401

    # Even the right password, in any way of writing the number, must wait.
    assert_throttled(login(server, LINE, PASSWORD), "Too many failed logins", WINDOW_S)
    assert_throttled(login(server, LINE[2:], PASSWORD), "Too many failed logins", WINDOW_S)
    # Another line is not held up.
    assert_logged_in(login(server, OTHER_LINE, PASSWORD))

    manual_clock.advance(seconds=WINDOW_S - 1)
    assert_throttled(login(server, LINE, PASSWORD), "Too many failed logins", 1)
    manual_clock.advance(seconds=1)
    assert_logged_in(login(server, LINE, PASSWORD))


def test_a_good_login_clears_the_numbers_failures(server: Landline) -> None:
    server.add_line(LINE, password=PASSWORD)
    for _ in range(2):
        for _ in range(4):
            assert login(server, LINE, "wrong").status_code == 401
        assert_logged_in(login(server, LINE, PASSWORD))


def test_failures_from_one_address_are_throttled_whatever_the_user_name(
    db_url: str, tmp_path: Path, manual_clock: ManualClock
) -> None:
    server = start_landline(db_url, tmp_path, clock=manual_clock, login_failures_per_address=3)
    try:
        server.add_line(LINE, password=PASSWORD)
        for username in ("+12065550191", "+12065550192", "someone"):
            assert login(server, username, "guess").status_code == 401
        assert_throttled(login(server, LINE, PASSWORD), "Too many failed logins", WINDOW_S)
        # This server trusts no proxy, so a client cannot name itself someone else.
        assert_throttled(
            login(server, LINE, PASSWORD, forwarded_for="198.51.100.7"),
            "Too many failed logins",
            WINDOW_S,
        )
        manual_clock.advance(seconds=WINDOW_S)
        assert_logged_in(login(server, LINE, PASSWORD))
    finally:
        server.stop()


def test_x_forwarded_for_names_the_client_behind_a_trusted_proxy(
    db_url: str, tmp_path: Path, manual_clock: ManualClock
) -> None:
    server = start_landline(
        db_url,
        tmp_path,
        clock=manual_clock,
        login_failures_per_address=2,
        trusted_proxies="127.0.0.0/8, ::1",
    )
    try:
        server.add_line(LINE, password=PASSWORD)
        for username in ("+12065550191", "+12065550192"):
            response = login(server, username, "guess", forwarded_for="198.51.100.7")
            assert response.status_code == 401
        assert_throttled(
            login(server, LINE, PASSWORD, forwarded_for="198.51.100.7"),
            "Too many failed logins",
            WINDOW_S,
        )
        # What the client itself put further left does not get it out.
        assert_throttled(
            login(server, LINE, PASSWORD, forwarded_for="203.0.113.9, 198.51.100.7"),
            "Too many failed logins",
            WINDOW_S,
        )
        # Another client behind the same proxy is not held up.
        assert_logged_in(login(server, LINE, PASSWORD, forwarded_for="198.51.100.8"))
    finally:
        server.stop()


def test_failure_counts_follow_the_window_on_a_manual_clock() -> None:
    clock = ManualClock(start_ms=1_000_000)
    counts = FailureCounts(limit=2, window_ms=60_000, max_keys=100)
    counts.add("a", clock.now_ms())
    clock.advance(seconds=10)
    assert counts.wait_ms("a", clock.now_ms()) == 0
    counts.add("a", clock.now_ms())
    # The window opened at the first failure, 10 s ago.
    assert counts.wait_ms("a", clock.now_ms()) == 50_000
    assert counts.wait_ms("b", clock.now_ms()) == 0
    clock.advance(seconds=50)
    assert counts.wait_ms("a", clock.now_ms()) == 0
    assert len(counts) == 0
    counts.add("a", clock.now_ms())
    counts.take_back("a")
    assert len(counts) == 0


def test_failure_counts_keep_a_bounded_number_of_keys() -> None:
    clock = ManualClock(start_ms=0)
    counts = FailureCounts(limit=1, window_ms=60_000, max_keys=3)
    for key in ("a", "b", "c", "d"):
        counts.add(key, clock.now_ms())
        clock.advance(seconds=1)
    assert len(counts) == 3
    # The oldest went first; the others still wait.
    assert counts.wait_ms("a", clock.now_ms()) == 0
    assert [counts.wait_ms(key, clock.now_ms()) > 0 for key in "bcd"] == [True, True, True]
    for n in range(10_000):
        counts.add(f"flood {n}", clock.now_ms())
    assert len(counts) == 3


def test_a_login_attempt_counts_until_it_succeeds_or_is_abandoned() -> None:
    throttle = LoginThrottle(per_user=2, per_address=3, window_ms=60_000)
    now, here = ManualClock(start_ms=0).now_ms(), "192.0.2.1"
    # Two logins racing with the limit at two: a third may not start before they end.
    assert throttle.begin("alice", here, now) == 0  # will fail
    assert throttle.begin("alice", here, now) == 0  # will succeed
    assert throttle.begin("alice", here, now) == 60_000
    throttle.succeeded("alice", here)
    assert len(throttle.users) == 0
    # The address keeps alice's failure; a success or an abandoned attempt is taken back.
    assert throttle.begin("bob", here, now) == 0
    assert throttle.begin("carol", here, now) == 0
    assert throttle.begin("dave", here, now) == 60_000
    throttle.abandoned("carol", here)
    assert throttle.begin("dave", here, now) == 0
    # An unknown address is not counted.
    assert throttle.begin("erin", "", now) == 0
    assert len(throttle.addresses) == 1


def test_an_ipv6_client_counts_as_its_whole_slash_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("") is None and address_key("unix socket") is None


# -- hashes: Argon2id now, PBKDF2 before


def pbkdf2_hash(password: str, rounds: int = 10_000) -> str:
    """A hash as Landline stored passwords before Argon2id."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)
    return f"pbkdf2_sha256${rounds}${salt.hex()}${digest.hex()}"


def test_an_old_pbkdf2_hash_still_logs_in_and_becomes_argon2id(server: Landline) -> None:
    device_id, _ = server.add_line(LINE, password=None)
    old = pbkdf2_hash(PASSWORD)
    server.store.write_sync(
        lambda c: c.execute(
            update(lines_table)
            .where(lines_table.c.device_id == device_id)
            .values(password_hash=old)
        )
    )
    assert login(server, LINE, "wrong").status_code == 401
    assert stored_hash(server, LINE) == old

    assert_logged_in(login(server, LINE, PASSWORD))
    new = stored_hash(server, LINE)
    assert new.startswith("$argon2id$") and not passwords.needs_update(new)
    assert passwords.verify(PASSWORD, new)
    assert_logged_in(login(server, LINE, PASSWORD))
    assert login(server, LINE, "wrong").status_code == 401


def test_an_operators_old_hash_is_upgraded_too(server: Landline) -> None:
    device_id, _ = server.add_line(LINE, password=PASSWORD)
    old, now = pbkdf2_hash("op pw"), server.clock.now_ms()
    server.store.write_sync(
        lambda c: lines.add_operator(
            c,
            operator_id=server.store.ids.next_id(),
            device_id=device_id,
            username="alice",
            password_hash=old,
            now=now,
        )
    )
    key = assert_logged_in(login(server, "alice", "op pw"))
    assert key.endswith(f":{device_id}")
    kept = server.store.read_sync(
        lambda c: c.execute(
            select(operators_table.c.password_hash).where(operators_table.c.username == "alice")
        ).scalar_one()
    )
    assert kept.startswith("$argon2id$") and passwords.verify("op pw", kept)


def test_a_hash_of_other_parameters_is_due_for_an_update() -> None:
    current = passwords.hash_password(PASSWORD)
    weaker = argon2.PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash(PASSWORD)
    assert passwords.check(PASSWORD, current) == passwords.Check(ok=True)
    upgraded = passwords.check(PASSWORD, weaker)
    assert upgraded.ok and upgraded.new_hash is not None
    assert argon2.extract_parameters(upgraded.new_hash) == argon2.extract_parameters(current)
    assert passwords.check("wrong", weaker) == passwords.Check(ok=False)
    assert passwords.verify(PASSWORD, pbkdf2_hash(PASSWORD, rounds=1000))
    assert passwords.needs_update(pbkdf2_hash(PASSWORD, rounds=1000))


# -- the client's address


def scope(peer: tuple[str, int] | None, *forwarded: str) -> dict[str, Any]:
    return {
        "client": peer,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


def test_x_forwarded_for_is_honoured_only_from_a_trusted_proxy() -> None:
    proxies = clients.parse_networks("10.0.0.0/8, 2001:db8::/32")
    address = clients.client_address
    # No trusted proxies, or a peer that is not one: the peer, whatever the header says.
    assert address(scope(("192.0.2.1", 5000), "203.0.113.5"), ()) == "192.0.2.1"
    assert address(scope(("192.0.2.1", 5000), "203.0.113.5"), proxies) == "192.0.2.1"
    # From a trusted proxy: the right-most address that is not a trusted proxy.
    assert address(scope(("10.0.0.1", 5000), "203.0.113.5"), proxies) == "203.0.113.5"
    assert address(scope(("10.0.0.1", 5000), "1.1.1.1, 203.0.113.5, 10.0.0.2"), proxies) == (
        "203.0.113.5"
    )
    assert address(scope(("10.0.0.1", 5000), "1.1.1.1", "203.0.113.5"), proxies) == ("203.0.113.5")
    assert address(scope(("2001:db8::1", 5000), "[2001:db9::7]:443"), proxies) == "2001:db9::7"
    assert address(scope(("10.0.0.1", 5000), "203.0.113.5:8443"), proxies) == "203.0.113.5"
    # Nothing usable in the header: the last hop a trusted proxy vouched for.
    assert address(scope(("10.0.0.1", 5000)), proxies) == "10.0.0.1"
    assert address(scope(("10.0.0.1", 5000), "unknown"), proxies) == "10.0.0.1"
    assert address(scope(("10.0.0.1", 5000), "203.0.113.5, junk, 10.0.0.3"), proxies) == (
        "10.0.0.3"
    )
    assert address(scope(None, "203.0.113.5"), proxies) == ""
    with pytest.raises(ValueError):
        clients.parse_networks("10.0.0.0/8, not-a-network")
    with pytest.raises(ValidationError):
        Settings(trusted_proxies="10.0.0.0/33")

"""What one client may hold of the HTTP server: header bytes, header count, the time to
send headers, idle keep-alive time, connections, and the wait on shutdown.

Driven with raw sockets, as an attacker would, against the server the tests always run
(small limits, so each test takes about a second at most) and against `landline serve`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Landline, start_quiet_landline
from pydantic import ValidationError

from landline.settings import Settings

HEADER_BYTES = 2048
HEADER_COUNT = 20
HEADER_SECONDS = 0.5
KEEP_ALIVE_SECONDS = 0.5
# Time the server may take beyond a limit before the test calls it a failure.
MARGIN = 2.5
REQUEST = (
    b"POST /noop HTTP/1.1\r\nHost: landline.test\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\n\r\na=b1"
)
JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def envelope(self) -> dict[str, Any]:
        assert self.headers["content-type"] == JSON_TYPE
        decoded: dict[str, Any] = json.loads(self.body)
        return decoded


def read_answer(sock: socket.socket, seconds: float = 5) -> Answer:
    """One HTTP answer with a content-length, read off the socket."""
    sock.settimeout(seconds)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (ln.split(":", 1) for ln in lines)}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed in the middle of the body"
        body += chunk
    return Answer(int(status_line.split()[1]), headers, body)


def closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closes the connection (reading and dropping anything it
    still sends); fails if it stays open longer than `seconds`."""
    started = time.monotonic()
    deadline = started + seconds
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            if not sock.recv(65536):
                return time.monotonic() - started
        except ConnectionResetError:
            return time.monotonic() - started
        except TimeoutError:
            raise AssertionError(f"connection still open after {seconds} s") from None


@contextmanager
def connection(server: Landline) -> Iterator[socket.socket]:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        yield sock


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landline]:
    tmp_path = tmp_path_factory.mktemp("limits")
    landline = start_quiet_landline(
        f"sqlite:///{tmp_path / 'landline.db'}",
        tmp_path,
        max_header_bytes=HEADER_BYTES,
        max_header_count=HEADER_COUNT,
        header_timeout_seconds=HEADER_SECONDS,
        body_timeout_seconds=HEADER_SECONDS,
        keep_alive_seconds=KEEP_ALIVE_SECONDS,
    )
    yield landline
    landline.stop()


def test_a_request_just_within_the_limits_is_served_on_a_kept_alive_connection(
    server: Landline,
) -> None:
    fill = b"".join(b"X-Fill-%d: %s\r\n" % (i, b"v" * 100) for i in range(HEADER_COUNT - 4))
    body = b"a=" + b"b" * 2000
    head = (
        b"POST /noop HTTP/1.1\r\nHost: landline.test\r\n" + fill + b"Content-Length: %d\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" % len(body)
    )
    # Headers just under the limit, and with the body in the same packet well over it.
    assert HEADER_BYTES - 200 < len(head) < HEADER_BYTES
    request = head + body
    with connection(server) as sock:
        for _ in range(3):
            sock.sendall(request)
            answer = read_answer(sock)
            assert answer.status == 200
            assert answer.envelope()["success"] is True


def test_a_malformed_request_answers_400_in_the_envelope(server: Landline) -> None:
    with connection(server) as sock:
        sock.sendall(b"POST /noop HTTP/1.1\r\nHost landline.test\r\n\r\n")
        answer = read_answer(sock)
        assert answer.status == 400
        assert answer.envelope() == {
            "success": False,
            "response": {"code": -703, "desc": "Bad arguments: invalid HTTP request"},
        }
        closed_within(sock, MARGIN)


@pytest.mark.parametrize(
    "setting",
    [
        {"max_header_bytes": 100},
        {"max_header_count": 0},
        {"header_timeout_seconds": 0},
        {"keep_alive_seconds": -1},
        {"max_connections": 0},
        {"shutdown_grace_seconds": -1},
    ],
    ids=lambda setting: next(iter(setting)),
)
def test_limits_that_would_break_every_request_are_refused_at_start(
    tmp_path: Path, setting: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, **setting)


@pytest.mark.parametrize("finished", [False, True], ids=["unfinished", "finished"])
def test_headers_over_the_size_limit_answer_431(server: Landline, finished: bool) -> None:
    request = b"POST /noop HTTP/1.1\r\nHost: landline.test\r\nX-Big: " + b"a" * HEADER_BYTES
    if finished:
        request += b"\r\nContent-Length: 0\r\n\r\n"
    with connection(server) as sock:
        sock.sendall(request)
        answer = read_answer(sock)
        assert answer.status == 431
        assert answer.envelope() == {
            "success": False,
            "response": {"code": -703, "desc": "Bad arguments: request line and headers too large"},
        }
        closed_within(sock, MARGIN)


def test_a_header_sent_without_end_is_cut_off_near_the_limit(server: Landline) -> None:
    total = 64 * 1024 * 1024
    chunk = b"a" * 65536
    sent = 0
    with connection(server) as sock:
        sock.settimeout(10)
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            sock.sendall(b"GET /noop HTTP/1.1\r\nX-Endless: ")
            while sent < total:
                sent += sock.send(chunk)
    # What the operating system buffers on both sides, not what the server kept.
    assert sent < total / 4, sent


def test_too_many_headers_answer_431(server: Landline) -> None:
    headers = b"".join(b"X-H%d: 1\r\n" % i for i in range(HEADER_COUNT + 1))
    with connection(server) as sock:
        sock.sendall(REQUEST.replace(b"Host:", headers + b"Host:"))
        answer = read_answer(sock)
        assert answer.status == 431
        assert answer.envelope()["response"] == {
            "code": -703,
            "desc": "Bad arguments: too many headers",
        }
        closed_within(sock, MARGIN)


def test_half_a_header_is_answered_408_and_closed_after_the_header_timeout(
    server: Landline,
) -> None:
    with connection(server) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /noop HTTP/1.1\r\nHost: landline.test\r\nX-Slow: a")
        answer = read_answer(sock, HEADER_SECONDS + MARGIN)
        waited = time.monotonic() - started
        assert answer.status == 408
        assert answer.envelope()["response"]["code"] == -1
        closed_within(sock, MARGIN)
    assert waited >= HEADER_SECONDS * 0.9


def test_a_body_that_never_ends_is_answered_408_after_the_body_timeout(
    server: Landline,
) -> None:
    with connection(server) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /noop HTTP/1.1\r\nHost: landline.test\r\nContent-Length: 1000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\na=b"
        )
        answer = read_answer(sock, HEADER_SECONDS + MARGIN)
        waited = time.monotonic() - started
        assert answer.status == 408
        assert answer.envelope()["response"]["desc"] == "Unknown error: the body took too long"
        closed_within(sock, MARGIN)
    assert waited >= HEADER_SECONDS * 0.9


def test_a_header_trickled_byte_by_byte_is_cut_off_at_the_header_timeout(
    server: Landline,
) -> None:
    request = b"POST /noop HTTP/1.1\r\nHost: landline.test\r\nX-Slow: " + b"a" * 1500
    with connection(server) as sock:
        started = time.monotonic()
        answer = b""
        for byte in request:
            if time.monotonic() > started + HEADER_SECONDS + MARGIN:
                raise AssertionError("every byte restarted the clock")
            try:
                sock.sendall(bytes([byte]))
                sock.settimeout(0.05)
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                pass
            break
    assert answer.startswith(b"HTTP/1.1 408")


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(server: Landline) -> None:
    with connection(server) as sock:
        sock.settimeout(HEADER_SECONDS + MARGIN)
        assert sock.recv(65536) == b""


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(
    server: Landline,
) -> None:
    with connection(server) as sock:
        sock.sendall(REQUEST)
        assert read_answer(sock).status == 200
        waited = closed_within(sock, KEEP_ALIVE_SECONDS + MARGIN)
    assert waited >= KEEP_ALIVE_SECONDS * 0.9


def test_past_the_connection_limit_new_connections_are_refused(tmp_path: Path) -> None:
    limit = 3
    landline = start_quiet_landline(
        f"sqlite:///{tmp_path / 'landline.db'}", tmp_path, max_connections=limit
    )
    try:
        with connection(landline) as a, connection(landline) as b, connection(landline) as c:
            first = [a, b, c]
            for sock in first:  # an answer shows the server holds the connection
                sock.sendall(REQUEST)
                assert read_answer(sock).status == 200
            with connection(landline) as refused:
                answer = read_answer(refused)
                assert answer.status == 503
                assert answer.envelope()["response"] == {
                    "code": -1,
                    "desc": "Unknown error: too many connections",
                }
                closed_within(refused, MARGIN)
            for sock in first:
                sock.sendall(REQUEST)
                assert read_answer(sock).status == 200
        # The server notices the closes in its own time; then there is room again.
        deadline = time.monotonic() + 5
        while True:
            with connection(landline) as again:
                again.sendall(REQUEST)
                if read_answer(again).status == 200:
                    break
            assert time.monotonic() < deadline, "no room after the first connections closed"
    finally:
        landline.stop()


# -- the real command


@contextmanager
def landline_serve(tmp_path: Path, **settings: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`landline serve` in a process of its own: (the process, its port)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDLINE_")}
    env.update({f"LANDLINE_{name.upper()}": value for name, value in settings.items()})
    env["LANDLINE_LOG_LEVEL"] = "warning"
    process = subprocess.Popen(
        [sys.executable, "-m", "landline", "serve", "--api-only", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert found, f"{first}{process.communicate(timeout=30)[1]}"
        port = int(found[1])
        _wait_until_serving(port)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def _wait_until_serving(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(REQUEST)
                assert read_answer(sock).status == 200
                return
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "landline serve did not start"
            time.sleep(0.05)


def _peak_memory_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert found, status
    return int(found[1]) / 1024


def test_endless_headers_on_many_connections_leave_the_memory_alone(tmp_path: Path) -> None:
    """The attack as reported: 20 connections sending 16 MB of header each."""
    with landline_serve(tmp_path) as (process, port):
        before = _peak_memory_mb(process.pid)

        def attack(_: int) -> int:
            sent = 0
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                try:
                    sock.sendall(b"GET /noop HTTP/1.1\r\nX-Endless: ")
                    while sent < 16 * 1024 * 1024:
                        sent += sock.send(b"a" * 65536)
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    pass
            return sent

        with ThreadPoolExecutor(20) as pool:
            sent = list(pool.map(attack, range(20)))
        grown = _peak_memory_mb(process.pid) - before
    assert grown < 40, f"the server grew by {grown:.0f} MB; clients sent {sum(sent)} bytes"


def test_sigterm_waits_for_a_stuck_request_no_longer_than_the_grace_period(
    tmp_path: Path,
) -> None:
    grace = 1.0
    with landline_serve(tmp_path, shutdown_grace_seconds=str(grace)) as (process, port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            # A body that never ends; "100 Continue" shows the server is reading it.
            sock.sendall(
                b"POST /noop HTTP/1.1\r\nHost: landline.test\r\nExpect: 100-continue\r\n"
                b"Content-Length: 1000\r\n\r\n"
            )
            assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
            sock.sendall(b"a=" + b"b" * 8)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            answer = read_answer(sock, grace + MARGIN)
            assert answer.status == 503
            assert answer.envelope()["response"]["code"] == -1
            process.wait(timeout=grace + MARGIN)
            waited = time.monotonic() - started
        _, err = process.communicate(timeout=30)
    # uvicorn ends by raising the signal it caught again, as a process without it would.
    assert process.returncode in (0, -signal.SIGTERM), err
    assert waited >= grace * 0.9
    assert "Traceback" not in err, err

"""What an operator and a developer see and do: the admin commands for deliveries, hosts,
secrets and replays; a line's ACL; /metrics; the development receiver."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Landline, free_port
from typer.testing import CliRunner
from webhook_fixtures import (
    LINE,
    Receiver,
    add_webhook,
    all_deliveries,
    deliver,
    ok,
    secret_of,
    start_server,
)

from landline import accounts
from landline.cli import app
from landline.cli.errors import CliError
from landline.core import acl
from landline.core.clock import ManualClock

HOUR = 3_600_000


@pytest.fixture
def server(tmp_path: Path, manual_clock: ManualClock) -> Iterator[Landline]:
    # SQLite in the data folder, where the admin commands look for it.
    (tmp_path / "data").mkdir()
    found = start_server(
        f"sqlite:///{tmp_path / 'data' / 'landline.db'}",
        tmp_path,
        manual_clock,
        webhook_timeout_s=0.5,
        trusted_proxies="127.0.0.1",
    )
    yield found
    found.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.stop()


def landline(tmp_path: Path, *args: str) -> Any:
    """Run an admin command in this process, on the server's store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDLINE_")}
    # Errors a user can cause end as a CliError, which `landline` prints as one line.
    return CliRunner().invoke(app, [*args, "--data-dir", str(tmp_path / "data")], env=env)


def send(server: Landline, key: str, count: int = 1) -> None:
    contacts = ",".join(f"+1206555{1000 + n}" for n in range(count))
    ok(server.call("/message/send", session=key, contacts=contacts, body="Hi"))


# -- the admin commands


def test_deliveries_and_hosts_show_every_attempt_and_each_hosts_state(
    server: Landline, manual_clock: ManualClock, receiver: Receiver, tmp_path: Path
) -> None:
    _, key = server.add_line(LINE)
    add_webhook(server, key, receiver.url(), "send")
    receiver.mode = "fail"
    send(server, key)
    deliver(server)
    receiver.mode = "redirect"
    manual_clock.advance(seconds=10)
    deliver(server)
    receiver.mode = "ok"
    manual_clock.advance(seconds=20)
    deliver(server)
    receiver.mode = "hang"
    send(server, key)
    deliver(server)
    [done, waiting] = all_deliveries(server)

    shown = landline(tmp_path, "admin", "webhooks", "deliveries", "--line", LINE)
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert f"msg_{done.event_id}" in text and f"msg_{waiting.event_id}" in text
    assert "HTTP 500" in text and "redirect 302" in text and "timeout" in text
    assert "HTTP 200 delivered" in text
    assert re.search(r"\bdelivered\b", text) and re.search(r"\bfailed\b", text)
    only = landline(tmp_path, "admin", "webhooks", "deliveries", "--state", "delivered")
    assert f"msg_{done.event_id}" in only.output and f"msg_{waiting.event_id}" not in only.output
    later = landline(tmp_path, "admin", "webhooks", "deliveries", "--since", "2099-01-01T00:00:00Z")
    assert "msg_" not in later.output

    hosts = landline(tmp_path, "admin", "webhooks", "hosts")
    assert hosts.exit_code == 0, hosts.output
    row = next(line for line in hosts.output.splitlines() if receiver.host in line)
    assert "failing since" in row and re.search(r"\b1\b", row)
    receiver.release()


def test_the_secret_command_prints_and_rotates_the_lines_secret(
    server: Landline, tmp_path: Path
) -> None:
    _, key = server.add_line(LINE)
    shown = landline(tmp_path, "admin", "webhooks", "secret", LINE)
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip() == secret_of(server, key)
    rotated = landline(tmp_path, "admin", "webhooks", "secret", LINE, "--rotate")
    new = rotated.stdout.strip()
    assert new.startswith("whsec_") and new != shown.output.strip()
    assert "also signs until" in rotated.stderr
    assert secret_of(server, key) == new
    missing = landline(tmp_path, "admin", "webhooks", "secret", "2065550999")
    assert isinstance(missing.exception, CliError)
    assert str(missing.exception) == "no line +12065550999"


def test_replay_from_the_command_line(
    server: Landline, manual_clock: ManualClock, receiver: Receiver, tmp_path: Path
) -> None:
    _, key = server.add_line(LINE)
    add_webhook(server, key, receiver.url(), "send")
    receiver.mode = "fail"
    send(server, key, 3)
    deliver(server)
    manual_clock.advance(ms=73 * HOUR)
    deliver(server)
    first, *rest = all_deliveries(server)
    assert {d.state for d in (first, *rest)} == {"given-up"}
    receiver.mode = "ok"
    one = landline(tmp_path, "admin", "webhooks", "replay", "--delivery", f"msg_{first.event_id}")
    assert one.exit_code == 0, one.output
    deliver(server)
    assert [d.state for d in all_deliveries(server)] == ["delivered", "given-up", "given-up"]
    window = landline(tmp_path, "admin", "webhooks", "replay", "--line", LINE, "--since", "100h")
    assert window.exit_code == 0, window.output
    assert '"replayed": 2' in window.output
    deliver(server)
    assert {d.state for d in all_deliveries(server)} == {"delivered"}


# -- the ACL


def test_a_lines_acl_lets_only_its_networks_use_its_session_keys(
    server: Landline, tmp_path: Path
) -> None:
    _, key = server.add_line(LINE)

    def status(**headers: str) -> tuple[int, Any]:
        answer = server.http.post("/message/list", data={"session": key}, headers=headers)
        return answer.status_code, answer.json()

    set_to = landline(tmp_path, "admin", "line", "acl", LINE, "203.0.113.0/24,2001:db8::/32")
    assert set_to.exit_code == 0, set_to.output
    code, answer = status()
    assert code == 401 and answer["response"]["code"] == -100
    assert "127.0.0.1" in answer["response"]["desc"]
    # Behind the trusted proxy (127.0.0.1 here), X-Forwarded-For names the client.
    assert status(**{"X-Forwarded-For": "203.0.113.9"})[0] == 200
    assert status(**{"X-Forwarded-For": "2001:db8::7"})[0] == 200
    assert status(**{"X-Forwarded-For": "198.51.100.1"})[0] == 401
    # A client cannot slip in an address of its own before the proxy's.
    assert status(**{"X-Forwarded-For": "203.0.113.9, 198.51.100.1"})[0] == 401
    assert landline(tmp_path, "admin", "line", "acl", LINE, "clear").exit_code == 0
    assert status()[0] == 200
    bad = landline(tmp_path, "admin", "line", "acl", LINE, "203.0.113.0/33")
    assert isinstance(bad.exception, CliError) and "203.0.113.0/33" in str(bad.exception)


def test_forwarded_addresses_count_only_from_trusted_proxies(db_url: str, tmp_path: Path) -> None:
    untrusting = start_server(db_url, tmp_path)
    try:
        _, key = untrusting.add_line(LINE)
        accounts.set_acl(untrusting.store, "+1" + LINE, acl.parse("203.0.113.0/24"))
        answer = untrusting.http.post(
            "/message/list", data={"session": key}, headers={"X-Forwarded-For": "203.0.113.9"}
        )
        assert answer.status_code == 401 and answer.json()["response"]["code"] == -100
        accounts.set_acl(untrusting.store, "+1" + LINE, acl.parse("127.0.0.0/8"))
        answer = untrusting.http.post("/message/list", data={"session": key})
        assert answer.status_code == 200
    finally:
        untrusting.stop()


# -- /metrics


def sample(page: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{name}{{{wanted}}}" if labels else name
    for line in page.splitlines():
        if line.startswith(prefix + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_messages_deliveries_and_read_queues_from_the_store(
    server: Landline, manual_clock: ManualClock, receiver: Receiver
) -> None:
    _, key = server.add_line(LINE)
    add_webhook(server, key, receiver.url(), "send")
    before = server.http.get("/metrics").text
    send(server, key, 3)
    server.http.post("/message/list", data={"session": "nope"})
    deliver(server)
    receiver.mode = "fail"
    send(server, key, 2)
    deliver(server)
    page = server.http.get("/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    text = page.text

    def grew(name: str, **labels: str) -> float:
        return sample(text, name, **labels) - sample(before, name, **labels)

    assert grew("landline_api_requests_total", endpoint="message/send", result="ok") == 2
    assert grew("landline_api_requests_total", endpoint="message/list", result="-100") == 1
    assert grew("landline_api_request_seconds_count", endpoint="message/send") == 2
    assert grew("landline_messages_total", event="accepted") == 5
    assert grew("landline_webhook_deliveries_total", outcome="delivered") == 3
    assert grew("landline_webhook_deliveries_total", outcome="failed") == 2
    assert grew("landline_webhook_attempts_total", result="ok") == 3
    assert grew("landline_webhook_attempts_total", result="http") == 2
    assert grew("landline_webhook_attempt_seconds_count") == 5
    # Read from the store: five texts wait for the dispatcher; two deliveries wait.
    assert sample(text, "landline_outbox_due") == 5
    assert sample(text, "landline_webhook_queue_depth", host=receiver.host) == 2
    assert sample(text, "landline_webhook_queue_oldest_seconds", host=receiver.host) == 0
    assert sample(text, "landline_webhook_hosts_down") == 0
    server.settle()
    after = server.http.get("/metrics").text
    assert (
        sample(after, "landline_messages_total", event="final_6")
        - sample(before, "landline_messages_total", event="final_6")
        == 5
    )


# -- the development receiver


def test_sim_receiver_prints_each_delivery_and_checks_its_signature(
    server: Landline, tmp_path: Path
) -> None:
    _, key = server.add_line(LINE)
    port = free_port()
    secret = secret_of(server, key)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "landline",
            "sim",
            "receiver",
            "--port",
            str(port),
            "--secret",
            secret,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("LANDLINE_")},
    )
    try:
        assert process.stdout is not None
        assert b"Receiving webhooks" in process.stdout.readline()
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        add_webhook(server, key, f"http://127.0.0.1:{port}/hooks/receive", "receive")
        server.handset_texts("+12065550100", LINE, "Got the webhook?")
        server.settle()
        deliver(server)
        lines = [process.stdout.readline().decode() for _ in range(2)]
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert "POST /hooks/receive msg_" in lines[0]
    assert "signature verified" in lines[0]
    assert '"body": "Got the webhook?"' in lines[1]

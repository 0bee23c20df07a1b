"""The program split: `landline serve --api-only` and `landline worker` sharing PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from conftest import free_port, postgres_schema


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    with postgres_schema() as (_, url):
        yield url


def _landline(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "landline", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_until(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_api_only_accepts_and_a_separate_worker_delivers(
    pg_schema_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "LANDLINE_DATABASE_URL": pg_schema_url,
        "LANDLINE_DATA_DIR": str(tmp_path),
        "LANDLINE_SIM_RECEIPT_DELAY_MS": "0",
        "LANDLINE_POLL_INTERVAL_MS": "50",
        "LANDLINE_LOG_LEVEL": "warning",
    }
    created = subprocess.run(
        [sys.executable, "-m", "landline", "admin", "line", "add", "2065550123"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    session = __import__("json").loads(created.stdout)["session"]
    port = free_port()
    api = _landline("serve", "--api-only", "--port", str(port), env=env)
    worker: subprocess.Popen[bytes] | None = None
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        _wait_until(lambda: client.get("/noop").status_code == 200)
        sent = client.post(
            "/message/send", data={"session": session, "contacts": "2065550100", "body": "hi"}
        )
        message_id = sent.json()["response"]["tokens"][0]["message"]

        def status() -> int:
            answer = client.get(
                "/message/get", params={"session": session, "id": message_id}
            ).json()
            return int(answer["response"]["statusCode"])

        assert status() == 2
        # No workers in the API process, nor in a child of it (as `landline serve` has).
        children = Path(f"/proc/{api.pid}/task/{api.pid}/children").read_text().split()
        assert children == []

        before_worker = int(time.time() * 1000)
        worker = _landline("worker", env=env)
        _wait_until(lambda: status() == 6)
        # The worker, not the API process, moved it: the API alone left it queued (a
        # dispatcher there would have been woken by the send and sent it at once).
        with psycopg.connect(pg_schema_url) as conn:
            sent_at, attempts = conn.execute(
                "SELECT sent_at, attempts FROM messages WHERE id = %s", (int(message_id),)
            ).fetchone() or (None, None)
        assert sent_at is not None and sent_at >= before_worker
        assert attempts == 1
    finally:
        for process in (api, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=20)

"""`landline sim smsc`, the command, with a real SMPP client this project did not write:
Kannel's bearerbox binds to it and gets a text through, and our receipt back. Skipped
when Kannel is not installed (`.ci/run` installs it)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import free_port
from test_smpp_kannel import (
    BEARERBOX,
    HANDSET,
    SMSBOX,
    Callbacks,
    _config,
    _wait_for_port,
)

pytestmark = pytest.mark.skipif(
    BEARERBOX is None or SMSBOX is None,
    reason="Kannel is not installed (apt-get install -y kannel gives bearerbox and smsbox)",
)


@pytest.fixture
def sim_smsc(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    log = (tmp_path / "smsc.out").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "landline",
            "sim",
            "smsc",
            "--port",
            str(port),
            "--account",
            "kannel:secret",
            "--message-ids",
            "hex",
            "--receipt-ids",
            "decimal",
        ],
        stdout=log,
        stderr=log,
    )
    try:
        _wait_for_port(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_kannel_sends_a_text_through_landline_sim_smsc(sim_smsc: int, tmp_path: Path) -> None:
    callbacks = Callbacks()
    admin, box, sendsms = free_port(), free_port(), free_port()
    conf = tmp_path / "kannel.conf"
    conf.write_text(_config(sim_smsc, admin, box, sendsms, callbacks.port, tmp_path))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for program, port in ((BEARERBOX, box), (SMSBOX, sendsms)):
            output = (tmp_path / f"{Path(str(program)).name}.out").open("wb")
            processes.append(
                subprocess.Popen([str(program), str(conf)], stdout=output, stderr=output)
            )
            _wait_for_port(port, processes[-1])
        dlr_url = f"http://127.0.0.1:{callbacks.port}/dlr?tag=cli&type=%d"
        query = {
            "username": "tester",
            "password": "foobar",
            "to": HANDSET,
            "text": "Through landline sim smsc",
            "dlr-mask": "3",
            "dlr-url": dlr_url,
        }
        # bearerbox may still be binding: smsbox queues the text until it has.
        answer = httpx.get(f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms", params=query)
        assert answer.status_code == 202, answer.text
        delivered = callbacks.wait_for("/dlr", lambda q: q.get("tag") == "cli", timeout=30)
        # type 1: delivered to the phone, which only our receipt can have told Kannel,
        # matched by Kannel from our hex submit_sm_resp id to the decimal receipt id.
        assert delivered["type"] == "1"
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        callbacks.close()

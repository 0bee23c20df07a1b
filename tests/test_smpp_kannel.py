"""Interoperability with a real SMPP peer: Kannel's bearerbox binds to our SMSC simulator.

Kannel (Debian package `kannel`) is an SMS gateway with its own, long-used SMPP client.
bearerbox binds to the simulator as a transceiver; smsbox gives it an HTTP interface:

- a text sent through smsbox's `sendsms` reaches the simulator as submit_sm, in the GSM
  7-bit coding our segments module reads, and a long one in parts with a UDH that our
  reassembler puts back together;
- the simulator's receipt (hex id in the submit_sm_resp, decimal in the receipt, as
  Kannel's msg-id-type 0x01 expects) goes back, and Kannel reports the text delivered;
- a handset's text from the simulator, split by each of our methods, reaches smsbox's
  service whole.

Skipped when bearerbox is not installed.
"""

from __future__ import annotations

import asyncio
import queue
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port

from landline.carriers.smpp.pdus import SubmitSm
from landline.carriers.smpp.smsc import SmscConfig, SmscSimulator
from landline.core import segments
from landline.core.reassembly import Reassembler
from landline.core.receipts import IdBase


def _find(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/local/sbin")


BEARERBOX, SMSBOX = _find("bearerbox"), _find("smsbox")
pytestmark = pytest.mark.skipif(
    BEARERBOX is None or SMSBOX is None,
    reason="Kannel is not installed (apt-get install -y kannel gives bearerbox and smsbox)",
)

LINE, HANDSET = "12065550123", "12065550100"


class Callbacks:
    """An HTTP server that records the requests Kannel makes (DLRs and MO texts)."""

    def __init__(self) -> None:
        self.requests: queue.Queue[tuple[str, dict[str, str]]] = queue.Queue()
        calls = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                # latin-1 keeps %b's raw octets as they came
                query = dict(urllib.parse.parse_qsl(parsed.query, encoding="latin-1"))
                calls.put((parsed.path, query))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(
        self, path: str, accept: Callable[[dict[str, str]], bool], timeout: float = 20
    ) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                got_path, query = self.requests.get(timeout=remaining)
            except queue.Empty:
                break
            if got_path == path and accept(query):
                return query
        raise AssertionError(f"Kannel did not call {path} in time")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Gateway:
    smsc: SmscSimulator
    loop: asyncio.AbstractEventLoop
    callbacks: Callbacks
    sendsms_port: int
    logs: Path

    def run(self, make: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(timeout=timeout)

    def sendsms(self, **params: str) -> httpx.Response:
        query = {"username": "tester", "password": "foobar", "to": HANDSET, **params}
        return httpx.get(f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms", params=query)


def _config(smsc_port: int, admin: int, box: int, sendsms: int, callbacks: int, logs: Path) -> str:
    return f"""
group = core
admin-port = {admin}
admin-password = not-used
smsbox-port = {box}
box-allow-ip = 127.0.0.1
log-file = "{logs}/bearerbox.log"
log-level = 0
dlr-storage = internal
sms-combine-concatenated-mo = true

group = smsc
smsc = smpp
smsc-id = simulator
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = kannel
smsc-password = secret
system-type = ""
msg-id-type = 0x01
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
global-sender = {LINE}
log-file = "{logs}/smsbox.log"
log-level = 0

group = sendsms-user
username = tester
password = foobar
max-messages = 5
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "http://127.0.0.1:{callbacks}/mo?from=%p&to=%P&coding=%c&charset=%C&bin=%b"
"""


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    logs = tmp_path_factory.mktemp("kannel")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    config = SmscConfig(
        accounts={"kannel": "secret"}, message_ids=IdBase.HEX, receipt_ids=IdBase.DECIMAL
    )
    smsc = SmscSimulator(config)
    asyncio.run_coroutine_threadsafe(smsc.start(), loop).result(10)
    callbacks = Callbacks()
    admin, box, sendsms = free_port(), free_port(), free_port()
    conf = logs / "kannel.conf"
    conf.write_text(_config(smsc.port, admin, box, sendsms, callbacks.port, logs))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for program, port in ((BEARERBOX, box), (SMSBOX, sendsms)):
            output = (logs / f"{Path(str(program)).name}.out").open("wb")
            processes.append(
                subprocess.Popen([str(program), str(conf)], stdout=output, stderr=output)
            )
            _wait_for_port(port, processes[-1])
        gateway = Gateway(smsc, loop, callbacks, sendsms, logs)
        gateway.run(lambda: smsc.wait_until(lambda: len(smsc.esmes) == 1, timeout=20))
        yield gateway
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
        asyncio.run_coroutine_threadsafe(smsc.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_kannel_binds_as_a_transceiver(gateway: Gateway) -> None:
    [esme] = gateway.smsc.esmes
    assert (esme.system_id, esme.mode.name) == ("kannel", "TRANSCEIVER")


def _submits_after(
    gateway: Gateway, send: Callable[[], httpx.Response], count: int, timeout: float = 20
) -> list[SubmitSm]:
    """The submit_sm PDUs that `send` makes Kannel send."""
    smsc = gateway.smsc
    before = len(smsc.submits())
    response = send()
    assert response.status_code == 202, response.text
    gateway.run(lambda: smsc.wait_until(lambda: len(smsc.submits()) >= before + count, timeout))
    return smsc.submits()[before:]


def test_a_sendsms_arrives_as_submit_sm_and_its_receipt_goes_back(gateway: Gateway) -> None:
    dlr_url = f"http://127.0.0.1:{gateway.callbacks.port}/dlr?tag=first&type=%d&smsc_id=%F"
    [submit] = _submits_after(
        gateway,
        lambda: gateway.sendsms(
            text="Hello from Kannel €[1]", **{"dlr-mask": "3", "dlr-url": dlr_url}
        ),
        1,
    )
    assert (submit.source_addr, submit.destination_addr) == (LINE, HANDSET)
    assert submit.registered_delivery & 0x01
    part = segments.read_part(submit.short_message, submit.data_coding, submit.esm_class)
    assert (part.data_coding, part.text) == (segments.Coding.GSM7, "Hello from Kannel €[1]")
    # Kannel matched our decimal receipt id to the hex id of our submit_sm_resp.
    delivered = gateway.callbacks.wait_for("/dlr", lambda q: q.get("tag") == "first")
    assert delivered["type"] == "1"


def test_a_long_sendsms_arrives_in_parts_we_can_put_together(gateway: Gateway) -> None:
    text = "Kannel splits this text into parts with a UDH. " * 5
    submits = _submits_after(gateway, lambda: gateway.sendsms(text=text), 2)
    reassembler = Reassembler()
    done = []
    for now, submit in enumerate(submits):
        part = segments.read_part(submit.short_message, submit.data_coding, submit.esm_class)
        assert part.concat is not None and part.concat.total == 2
        done += reassembler.add(submit.source_addr, submit.destination_addr, part, now)
    assert [d.text for d in done] == [text]


@pytest.mark.parametrize("split", ["udh8", "udh16", "sar", "payload"])
@pytest.mark.parametrize(
    "text",
    ["Reply from the handset ✓ " * 5, "Thanks, see you {later} at 3! " * 7],
    ids=["ucs2", "gsm7"],
)
def test_a_handsets_text_reaches_the_smsbox_service_whole(
    gateway: Gateway, split: str, text: str
) -> None:
    marker = f"{split}-{len(text)}"
    statuses = gateway.run(
        lambda: gateway.smsc.send_text(
            HANDSET,
            LINE,
            text + marker,
            split=split,  # type: ignore[arg-type]
            reference=len(marker) + len(split),
        )
    )
    assert set(statuses) == {0}

    def is_ours(query: dict[str, str]) -> bool:
        return marker in _mo_text(query)

    query = gateway.callbacks.wait_for("/mo", is_ours)
    assert _mo_text(query) == text + marker
    assert (query["from"], query["to"]) == (HANDSET, LINE)


def _mo_text(query: dict[str, str]) -> str:
    raw = query.get("bin", "").encode("latin-1")
    charset = query.get("charset") or ("UTF-16BE" if query.get("coding") == "2" else "UTF-8")
    return raw.decode(charset, errors="replace")

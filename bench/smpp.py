"""SMPP throughput on loopback: the candidate libraries' clients, and our SMSC simulator.

Each run binds one ESME, sends `--count` submit_sm PDUs as fast as the client allows
(with `--window` outstanding, where the client has a window), and counts the
submit_sm_resp PDUs that come back. The server runs in its own process:

- sink: a bare asyncio SMPP server in this file that reads only the header and answers
  from a template, so the client is what is measured;
- smsc: `landline.carriers.smpp.smsc` (the simulator), recording nothing, sending no
  receipts (the submits do not ask for them).

Clients:
- smpp34: smpp34.Client (Rust/tokio session, asyncio bridge), window `--window`;
- smpplib: smpplib.client.Client (blocking sockets, a listener thread), window
  `--window` held by a semaphore, and "unbounded" (send all, then read);
- aiosmpplib: aiosmpplib.ESME fed from its broker (it has no window);
- landline: our Session (`landline.carriers.smpp.session`) with our PDU layer;
  "landline+receipts" asks for a receipt with each text and answers every deliver_sm,
  counting a text once both its submit_sm_resp and its receipt have come.

Runs are interleaved and repeated `--rounds` times; the table gives medians, of the
rate and of the CPU time each side spent per submit_sm (user + system, all threads).
On a shared machine the CPU time is the steadier figure: the rate moves with whatever
else runs, the work per PDU does not.

    python3 bench/smpp.py                      # everything
    python3 bench/smpp.py --only landline smpp34 --count 20000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = struct.Struct(">IIII")
SOURCE, DESTINATION, TEXT = "12065550123", "12065550100", b"hello world"


# --- the sink --------------------------------------------------------------------------


async def _sink_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    count = 0
    try:
        while True:
            length, command, _, sequence = HEADER.unpack(await reader.readexactly(16))
            if length > 16:
                await reader.readexactly(length - 16)
            if command in (1, 2, 9):
                writer.write(HEADER.pack(21, command | 0x80000000, 0, sequence) + b"SINK\x00")
            elif command == 4:
                count += 1
                message_id = b"%x\x00" % count
                writer.write(
                    HEADER.pack(16 + len(message_id), 0x80000004, 0, sequence) + message_id
                )
            elif command in (0x15, 6):
                writer.write(HEADER.pack(16, command | 0x80000000, 0, sequence))
            if writer.transport.get_write_buffer_size() > 1 << 16:
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def _run_sink(port: int) -> None:
    server = await asyncio.start_server(_sink_connection, "127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()


# --- servers in their own process --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(kind: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    if kind == "sink":
        args = [sys.executable, __file__, "--serve-sink", str(port)]
    else:
        args = [
            sys.executable,
            "-m",
            "landline.carriers.smpp.smsc",
            "--port",
            str(port),
            "--account",
            "bench:bench",
            "--record-limit",
            "0",
        ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(args, stdout=subprocess.PIPE, env=env)
    assert process.stdout is not None
    process.stdout.readline()  # "ready" / "listening on"
    return process, port


# --- clients ----------------------------------------------------------------------------


async def _landline(port: int, count: int, window: int, receipts: bool = False) -> int:
    """Our session; with `receipts`, each submit asks for a receipt and a text only
    counts once its receipt has come and been answered."""
    from landline.carriers.smpp import pdus
    from landline.carriers.smpp.session import open_esme

    bind = pdus.Bind(pdus.BindMode.TRANSCEIVER, "bench", "bench")
    session, _ = await open_esme("127.0.0.1", port, bind, window=window)
    body = pdus.SubmitSm(SOURCE, DESTINATION, TEXT, registered_delivery=int(receipts))
    answered = 0
    receipted = 0

    async def one() -> None:
        nonlocal answered
        response = await session.request(body)
        answered += response.status == 0

    async def answer_receipts() -> None:
        nonlocal receipted
        while receipted < count:
            request = await session.next_request()
            session.respond(request, pdus.DeliverSmResp())
            receipted += isinstance(request.body, pdus.DeliverSm)

    receiving = asyncio.ensure_future(answer_receipts() if receipts else asyncio.sleep(0))
    await asyncio.gather(*(one() for _ in range(count)))
    await asyncio.wait_for(receiving, 120)
    await session.unbind()
    return min(answered, receipted) if receipts else answered


async def _smpp34(port: int, count: int, window: int) -> int:
    import smpp34

    client = smpp34.Client(
        host="127.0.0.1", port=port, system_id="bench", password="bench", window_size=window
    )
    smsc = await client.connect()
    # smpp34 holds `window` on the wire; a few more waiting in Python keep it full.
    room = asyncio.Semaphore(window * 2)
    answered = 0

    async def one() -> None:
        nonlocal answered
        async with room:
            response = await smsc.submit_sm(DESTINATION, TEXT, source_addr=SOURCE)
            answered += response.is_success

    await asyncio.gather(*(one() for _ in range(count)))
    await smsc.unbind()
    await client.stop()
    return answered


def _smpplib(port: int, count: int, window: int | None) -> int:
    import smpplib.client

    client = smpplib.client.Client("127.0.0.1", port, allow_unknown_opt_params=True)
    room = threading.Semaphore(window) if window else None
    answered = 0
    done = threading.Event()

    def on_sent(pdu: object) -> None:
        nonlocal answered
        answered += 1
        if room is not None:
            room.release()
        if answered == count:
            done.set()

    def listen() -> None:
        with contextlib.suppress(Exception):  # it raises when the connection closes
            client.listen()

    client.set_message_sent_handler(on_sent)
    client.connect()
    client.bind_transceiver(system_id="bench", password="bench")
    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    for _ in range(count):
        if room is not None:
            room.acquire()
        client.send_message(source_addr=SOURCE, destination_addr=DESTINATION, short_message=TEXT)
    done.wait(300)
    client.disconnect()
    listener.join(5)
    return answered


async def _aiosmpplib(port: int, count: int, window: int) -> int:
    from aiosmpplib import ESME, AbstractHook, PhoneNumber, SubmitSm, SubmitSmResp
    from aiosmpplib.log import ERROR

    class Hook(AbstractHook):
        def __init__(self) -> None:
            self.answered = 0
            self.failed = 0
            self.done = asyncio.Event()

        async def sending(self, smpp_message: object, pdu: bytes, client_id: str) -> None:
            pass

        async def received(self, smpp_message: object, pdu: bytes, client_id: str) -> None:
            if isinstance(smpp_message, SubmitSmResp):
                self.answered += 1
                self._check()

        async def send_error(self, smpp_message: object, error: Exception, client_id: str) -> None:
            self.failed += 1
            self._check()

        def _check(self) -> None:
            if self.answered + self.failed >= count:
                self.done.set()

    class Uncorrelated(logging.Handler):
        """Counts responses it could not match to the request it sent."""

        count = 0

        def emit(self, record: logging.LogRecord) -> None:
            if "Could not correlate SMPP response" in record.getMessage():
                Uncorrelated.count += 1

    hook = Hook()
    esme = ESME(
        smsc_host="127.0.0.1",
        smsc_port=port,
        system_id="bench",
        password="bench",
        hook=hook,
        log_level=ERROR,
        log_handler=Uncorrelated(),
    )
    runner = asyncio.ensure_future(esme.start())
    for index in range(count):
        message = SubmitSm(
            short_message=TEXT.decode(),
            source=PhoneNumber(SOURCE),
            destination=PhoneNumber(DESTINATION),
            log_id=str(index),
        )
        await esme.broker.enqueue(message)
    await asyncio.wait_for(hook.done.wait(), 300)
    await esme.stop()
    runner.cancel()
    # A response it cannot match to its request reaches the hook, but the text's
    # message id is lost to the application (no receipt can be matched): not OK.
    return hook.answered - max(hook.failed, Uncorrelated.count)


CLIENTS: dict[str, Callable[[int, int, int], int]] = {
    "landline": lambda port, count, window: asyncio.run(_landline(port, count, window)),
    "landline+receipts": lambda port, count, window: asyncio.run(
        _landline(port, count, window, receipts=True)
    ),
    "smpp34": lambda port, count, window: asyncio.run(_smpp34(port, count, window)),
    "smpplib": _smpplib,
    "smpplib-unbounded": lambda port, count, window: _smpplib(port, count, None),
    "aiosmpplib": lambda port, count, window: asyncio.run(_aiosmpplib(port, count, window)),
}

RUNS = [
    ("sink", "landline"),
    ("sink", "smpp34"),
    ("sink", "smpplib"),
    ("sink", "smpplib-unbounded"),
    ("sink", "aiosmpplib"),
    ("smsc", "landline"),
    ("smsc", "smpp34"),
    ("smsc", "landline+receipts"),
]


@dataclass
class Run:
    rate: float  # submit_sm answered OK per second of wall time
    answered: int
    client_cpu_us: float  # CPU time (user + system, all threads) per submit_sm
    server_cpu_us: float


def _process_cpu(pid: int) -> float:
    """CPU seconds a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_once(server_kind: str, client: str, count: int, window: int) -> Run:
    process, port = start_server(server_kind)
    try:
        server_before, client_before = _process_cpu(process.pid), _own_cpu()
        started = time.perf_counter()
        answered = CLIENTS[client](port, count, window)
        elapsed = time.perf_counter() - started
        server_cpu = _process_cpu(process.pid) - server_before
        client_cpu = _own_cpu() - client_before
    finally:
        process.terminate()
        process.wait(10)
    return Run(answered / elapsed, answered, client_cpu / count * 1e6, server_cpu / count * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=40_000)
    parser.add_argument("--aiosmpplib-count", type=int, default=3_000, help="it is slow")
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="clients to run")
    parser.add_argument("--serve-sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sink:
        asyncio.run(_run_sink(args.serve_sink))
        return
    runs = [run for run in RUNS if not args.only or run[1] in args.only]
    results: dict[tuple[str, str], list[Run]] = {run: [] for run in runs}
    shortfall: dict[tuple[str, str], int] = {run: 0 for run in runs}
    for round_number in range(args.rounds):
        for server_kind, client in runs:
            count = args.aiosmpplib_count if client == "aiosmpplib" else args.count
            run = run_once(server_kind, client, count, args.window)
            results[(server_kind, client)].append(run)
            shortfall[(server_kind, client)] += count - run.answered
            print(
                f"round {round_number + 1} {server_kind:5} {client:18} {run.rate:9,.0f}/s"
                f"  client {run.client_cpu_us:5.0f} us  server {run.server_cpu_us:5.0f} us",
                flush=True,
            )
    print(
        f"\n| server | client | submit_sm/s | client CPU µs/submit | server CPU µs/submit "
        f"| not answered OK |  (medians of {args.rounds})"
    )
    print("|---|---|---:|---:|---:|---:|")
    for (server_kind, client), runs_of in results.items():
        rate = statistics.median(r.rate for r in runs_of)
        client_cpu = statistics.median(r.client_cpu_us for r in runs_of)
        server_cpu = statistics.median(r.server_cpu_us for r in runs_of)
        lost = shortfall[(server_kind, client)]
        print(
            f"| {server_kind} | {client} | {rate:,.0f} | {client_cpu:,.0f} | {server_cpu:,.0f} "
            f"| {lost} |"
        )


if __name__ == "__main__":
    main()

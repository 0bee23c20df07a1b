"""MMS benchmark: `messaging/send` and `hostedContent/get` against the real server.

It starts `landline serve` (the real command, SQLite in a fresh folder, the simulated
carrier delivering what is sent), creates an MMS line, and measures in one run:

- upload: POST /messaging/send with one 100 KB JPEG (multipart) at `--concurrency`
  keep-alive connections, against POST /noop taking the same multipart body (the
  server reads and parses it, then answers a constant): target at least 0.4 of it;
- download: GET /hostedContent/get of a 100 KB file, against Starlette's FileResponse
  serving the same bytes from disk under the same uvicorn: target at least 0.5 of it;
- memory: the server's resident memory (API process and its worker child) while 32
  connections upload 590 KB pictures without pause: it must stay under 200 MB.

    python3 bench/mms.py                     # 3 interleaved rounds, 5 s per phase
    python3 bench/mms.py --rounds 5 --duration 4 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
LINE = "+12065550123"
RECIPIENT = "+12065550177"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def landline(*args: str) -> list[str]:
    return [sys.executable, "-m", "landline", *args]


def picture(size: int, seed: int) -> bytes:
    from PIL import Image

    side = max(8, int((size / 1.0) ** 0.5))
    rng = random.Random(seed)
    for _ in range(20):
        noise = bytes(rng.randrange(256) for _ in range(side * side))
        buffer = io.BytesIO()
        Image.frombytes("L", (side, side), noise).save(buffer, "JPEG", quality=92)
        data = buffer.getvalue()
        if abs(len(data) - size) < size * 0.05:
            return data
        side = int(side * (size / len(data)) ** 0.5)
    return data


def multipart(path: str, fields: dict[str, str], file: bytes) -> bytes:
    boundary = "bench" + uuid.uuid4().hex
    body = b""
    for name, value in fields.items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    body += file + f"\r\n--{boundary}--\r\n".encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


# -- the load generator: keep-alive connections, each sending as soon as it is answered


class Counts:
    def __init__(self) -> None:
        self.ok = 0
        self.errors = 0
        self.stopping = False
        self.first_error = b""


async def _connection(port: int, request: bytes, counts: Counts, expect_body: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while not counts.stopping:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lowered = head.lower()
            start = lowered.find(b"content-length:")
            length = int(lowered[start + 15 : lowered.find(b"\r\n", start)])
            body = await reader.readexactly(length)
            if head[9:12] == b"200" and expect_body in body:
                counts.ok += 1
            else:
                counts.errors += 1
                counts.first_error = counts.first_error or head[:12] + body[:200]
    finally:
        writer.close()


async def _drive(
    port: int, request: bytes, concurrency: int, seconds: float, expect: bytes
) -> Counts:
    counts = Counts()
    tasks = [
        asyncio.create_task(_connection(port, request, counts, expect)) for _ in range(concurrency)
    ]
    await asyncio.sleep(seconds)
    counts.stopping = True
    await asyncio.gather(*tasks)
    return counts


def rate(port: int, request: bytes, args: argparse.Namespace, expect: bytes = b"") -> float:
    asyncio.run(_drive(port, request, args.concurrency, args.warmup, expect))
    started = time.perf_counter()
    counts = asyncio.run(_drive(port, request, args.concurrency, args.duration, expect))
    elapsed = time.perf_counter() - started
    if counts.errors:
        print(f"  {counts.errors} errors, first: {counts.first_error!r}", file=sys.stderr)
    return counts.ok / elapsed


# -- the processes


def wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("exited:\n" + log.read_text())
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError("did not start:\n" + log.read_text())


def start(command: list[str], port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_for(port, process, log)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


FILE_SERVER = textwrap.dedent(
    """
    import sys, uvicorn
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Route
    path = sys.argv[2]
    async def serve(request):
        return FileResponse(path, media_type="image/jpeg")
    app = Starlette(routes=[Route("/file", serve)])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                http="httptools", loop="uvloop")
    """
)


def rss_mb(pid: int, children: bool = True) -> float:
    """Resident memory of a process (and its children), in MB."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        if not children:
            raise OSError
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids.extend(int(child) for child in children)
    for each in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="landline-bench-mms-"))
    data_dir = work / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDLINE_")}
    env.update(
        LANDLINE_SIM_RECEIPT_DELAY_MS="0",
        LANDLINE_LOG_LEVEL="warning",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    added = subprocess.run(
        landline("admin", "line", "add", LINE, "--mms", "--data-dir", str(data_dir)),
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    session = json.loads(added.stdout)["session"]
    port = free_port()
    server = start(
        landline("serve", "--port", str(port), "--data-dir", str(data_dir)),
        port, env, work / "server.log",
    )  # fmt: skip
    photo = picture(100 * 1024, 1)
    query = f"?session={quote(session)}&to={quote(RECIPIENT)}"
    rounds: dict[str, list[float]] = {"noop": [], "send": [], "file": [], "hosted": []}
    memory: dict[str, float] = {}
    on_disk = work / "photo.jpg"
    on_disk.write_bytes(photo)
    file_port = free_port()
    files = start(
        [sys.executable, "-c", FILE_SERVER, str(file_port), str(on_disk)],
        file_port, env, work / "files.log",
    )  # fmt: skip
    try:
        upload = multipart("/messaging/send" + query, {"body": "Bench photo"}, photo)
        noop = multipart("/noop" + query, {"body": "Bench photo"}, photo)
        print(f"upload body: {len(upload) // 1024} KB; {args.concurrency} connections")
        key = stored_key(port, session, photo)
        hosted = get(f"/hostedContent/get?session={quote(session)}&storageKey={key}")
        # Each pair runs back to back, round after round, so a change in the machine's
        # load (it is shared) moves both sides of a ratio alike.
        for number in range(args.rounds):
            rounds["noop"].append(rate(port, noop, args, b'"success":true'))
            rounds["send"].append(rate(port, upload, args, b'"status":"queued"'))
            rounds["file"].append(rate(file_port, get("/file"), args))
            rounds["hosted"].append(rate(port, hosted, args))
            print(
                f"  round {number + 1}: send {rounds['send'][-1]:.0f}/{rounds['noop'][-1]:.0f}, "
                f"get {rounds['hosted'][-1]:.0f}/{rounds['file'][-1]:.0f} req/s"
            )
        memory = measure_memory(server.pid, port, query, args)
    finally:
        stop(files)
        stop(server)

    send_ratios = [a / b for a, b in zip(rounds["send"], rounds["noop"], strict=True)]
    get_ratios = [a / b for a, b in zip(rounds["hosted"], rounds["file"], strict=True)]
    print(f"medians of {args.rounds} rounds of {args.duration:g} s:")
    print(f"noop (same multipart body):        {median(rounds['noop']):8.0f} req/s")
    print(
        f"messaging/send, 100 KB JPEG:       {median(rounds['send']):8.0f} req/s  "
        f"ratio {median(send_ratios):.2f} (target >= 0.4)"
    )
    print(f"FileResponse, 100 KB:              {median(rounds['file']):8.0f} req/s")
    print(
        f"hostedContent/get, 100 KB:         {median(rounds['hosted']):8.0f} req/s  "
        f"ratio {median(get_ratios):.2f} (target >= 0.5)"
    )
    print(
        f"RSS, 32 concurrent 590 KB uploads: {memory['api_peak']:8.0f} MB peak, API process "
        f"(idle {memory['api_before']:.0f} MB; {int(memory['uploads'])} uploads; "
        "target < 200 MB)"
    )
    print(
        f"  with its worker child:           {memory['rss_peak']:8.0f} MB peak "
        f"(idle {memory['rss_before']:.0f} MB)"
    )


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def stored_key(port: int, session: str, photo: bytes) -> str:
    """Send one picture and answer its storage key."""
    import httpx

    base = f"http://127.0.0.1:{port}"
    sent = httpx.post(
        f"{base}/messaging/send",
        params={"session": session, "to": RECIPIENT},
        files={"image": ("photo.jpg", photo, "image/jpeg")},
    ).json()
    parts = httpx.get(
        f"{base}/messageAttachment/list",
        params={"session": session, "messageId": sent["response"]["id"]},
    ).json()
    return str(parts["response"][0]["storageKey"])


def measure_memory(pid: int, port: int, query: str, args: argparse.Namespace) -> dict[str, float]:
    """Peak RSS while 32 connections upload pictures of just under 600 KB without pause."""
    big = multipart("/messaging/send" + query, {}, picture(590 * 1024, 2))
    assert len(big) < 600 * 1024, len(big)
    peak = [rss_mb(pid)]
    api_peak = [rss_mb(pid, children=False)]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak.append(rss_mb(pid))
            api_peak.append(rss_mb(pid, children=False))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        uploads = asyncio.run(_drive(port, big, 32, args.duration, b'"queued"')).ok
    finally:
        done.set()
        sampler.join()
    return {
        "uploads": uploads,
        "rss_before": peak[0],
        "rss_peak": max(peak),
        "api_before": api_peak[0],
        "api_peak": max(api_peak),
    }


if __name__ == "__main__":
    main()

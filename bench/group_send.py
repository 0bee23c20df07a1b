"""Group-send benchmark: does a 1,000-member group send hold up other lines' sends?

For each database it starts `landline serve` (the real command, in a subprocess, with
the simulated network answering at once), makes two lines, gives the first a group of
1,000 members (through group/addMember), and then, while the second line sends one text
every `--interval-ms`:

- baseline: the second line alone, `--texts` texts;
- group: the same, with the first line's group send made part-way through.

For every text of the second line it records the API's answer time (message/send, client
side) and the time from its acceptance to its hand-over to the carrier (`sent_at -
created_at`, from the store). The group phase counts the texts accepted while the group
send was being stored or handed over. Figures are ratios against the baseline of the same
run, and the added milliseconds.

    python3 bench/group_send.py                    # both databases
    python3 bench/group_send.py --db sqlite
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import Server, database, landline_command

GROUP_LINE = "+12065550123"
OTHER_LINE = "+12065550124"
MEMBERS = 1000
# Last four digits 1000-1999: numbers the simulated network delivers at once.
MEMBER_NUMBERS = [f"+1206{n:07d}" for n in range(7_001_000, 7_001_000 + MEMBERS)]
OTHER_NUMBERS = [f"+1303{n:07d}" for n in range(7_000_000, 7_100_000) if n % 10_000 >= 1000]


@dataclass
class Phase:
    name: str
    api_ms: list[float] = field(default_factory=list)
    handoff_ms: list[float] = field(default_factory=list)


def add_line(server: Server, number: str) -> None:
    import subprocess

    subprocess.run(
        landline_command(
            "admin",
            "line",
            "add",
            number,
            "--password",
            "bench-pass",
            "--data-dir",
            str(server.data_dir),
        ),
        env=server.env,
        check=True,
        capture_output=True,
    )


def login(http: httpx.Client, number: str) -> str:
    answer = http.post("/user/login", data={"username": number, "password": "bench-pass"}).json()
    return str(answer["response"])


def engine_for(url: str | None, data_dir: Path) -> sa.Engine:
    if url is None:
        return sa.create_engine(f"sqlite:///{data_dir / 'landline.db'}")
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def times_of(engine: sa.Engine, ids: list[int]) -> dict[int, tuple[int, int | None]]:
    """message id -> (created_at, sent_at)."""
    query = sa.text("SELECT id, created_at, sent_at FROM messages WHERE id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    with engine.connect() as conn:
        return {row[0]: (row[1], row[2]) for row in conn.execute(query, {"ids": ids})}


def wait_handed_over(engine: sa.Engine, ids: list[int], limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = times_of(engine, ids)
        if len(found) == len(ids) and all(sent is not None for _, sent in found.values()):
            return
        time.sleep(0.1)
    raise RuntimeError("texts were not handed over in time")


def steady_sends(
    http: httpx.Client, session: str, count: int, interval_s: float, offset: int
) -> list[tuple[int, float]]:
    """(message id, API milliseconds) of `count` sends, one every `interval_s`."""
    sent = []
    next_at = time.perf_counter()
    for index in range(count):
        next_at += interval_s
        started = time.perf_counter()
        answer = http.post(
            "/message/send",
            data={"session": session, "contacts": OTHER_NUMBERS[offset + index], "body": "hi"},
        ).json()
        elapsed = (time.perf_counter() - started) * 1000
        sent.append((int(answer["response"]["root"]), elapsed))
        time.sleep(max(0.0, next_at - time.perf_counter()))
    return sent


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="landline-bench-") as tmp, database(kind) as url:
        server = Server(Path(tmp), url, 0)
        add_line(server, GROUP_LINE)
        add_line(server, OTHER_LINE)
        server.start()
        engine = engine_for(url, Path(tmp))
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as http:
                return _run(kind, args, http, engine)
        finally:
            engine.dispose()
            server.stop()


def _run(
    kind: str, args: argparse.Namespace, http: httpx.Client, engine: sa.Engine
) -> dict[str, Any]:
    group_session, other_session = login(http, GROUP_LINE), login(http, OTHER_LINE)
    address = http.post("/group/save", data={"session": group_session, "name": "Everyone"}).json()[
        "response"
    ]["address"]
    print(f"[{kind}] adding {MEMBERS} members ...", flush=True)
    for number in MEMBER_NUMBERS:
        http.post(
            "/group/addMember",
            data={"session": group_session, "group": address, "mobileNumber": number},
        ).raise_for_status()
    interval = args.interval_ms / 1000
    baseline, during = Phase("baseline"), Phase("group")
    group_api, group_handover, group_final = [], [], []
    offset = 0
    # Rounds alternate alone and with a group send, so both see the same machine.
    for round_no in range(args.rounds):
        print(f"[{kind}] round {round_no + 1}: alone ...", flush=True)
        sent = steady_sends(http, other_session, args.texts, interval, offset)
        offset += args.texts
        wait_handed_over(engine, [mid for mid, _ in sent])
        _collect(engine, sent, baseline, None)

        print(f"[{kind}] round {round_no + 1}: with a group send ...", flush=True)
        answer: dict[str, Any] = {}
        sender = threading.Thread(
            target=_group_send,
            args=(str(http.base_url), group_session, address, args.texts * interval / 4, answer),
        )
        sender.start()
        sent = steady_sends(http, other_session, args.texts, interval, offset)
        offset += args.texts
        sender.join()
        group_ids = answer["ids"]
        wait_handed_over(engine, group_ids + [mid for mid, _ in sent])
        group_times = times_of(engine, group_ids)
        window = (
            min(created for created, _ in group_times.values()),
            max(handed or created for created, handed in group_times.values()),
        )
        _collect(engine, sent, during, window)
        group_api.append(answer["api_ms"])
        group_handover.append(window[1] - window[0])
        group_final.append(_final_count(engine, group_ids))
    return {
        "database": kind,
        "baseline": baseline,
        "group": during,
        "group_api_ms": statistics.median(group_api),
        "group_handover_ms": statistics.median(group_handover),
        "group_final": min(group_final),
    }


def _group_send(
    base_url: str, session: str, address: str, delay_s: float, answer: dict[str, Any]
) -> None:
    time.sleep(delay_s)
    with httpx.Client(base_url=base_url, timeout=120) as own:
        started = time.perf_counter()
        found = own.post(
            "/message/send", data={"session": session, "contacts": address, "body": "Sale today"}
        ).json()
        answer["api_ms"] = (time.perf_counter() - started) * 1000
        answer["ids"] = [int(t["message"]) for t in found["response"]["tokens"]]


def _collect(
    engine: sa.Engine,
    sent: list[tuple[int, float]],
    phase: Phase,
    window: tuple[int, int] | None,
) -> None:
    """Add the texts of `sent` to `phase`: all of them, or those accepted in `window`."""
    handoffs = times_of(engine, [mid for mid, _ in sent])
    for mid, api_ms in sent:
        created, handed = handoffs[mid]
        if window is None or window[0] - 50 <= created <= window[1]:
            phase.api_ms.append(api_ms)
            phase.handoff_ms.append(float((handed or created) - created))


def _final_count(engine: sa.Engine, ids: list[int], limit_s: float = 120) -> int:
    query = sa.text(
        "SELECT count(*) FROM messages WHERE id IN :ids AND ended_at IS NOT NULL"
    ).bindparams(sa.bindparam("ids", expanding=True))
    deadline = time.monotonic() + limit_s
    count = 0
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            count = int(conn.execute(query, {"ids": ids}).scalar_one())
        if count == len(ids):
            break
        time.sleep(0.2)
    return count


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| database | texts of the other line | API p50 ms | API p99 ms | API max ms "
        "| hand-over p50 ms | hand-over p99 ms | hand-over max ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for result in results:
        base, during = result["baseline"], result["group"]
        for phase in (base, during):
            label = "alone" if phase is base else f"during the group send ({len(phase.api_ms)})"
            lines.append(
                f"| {result['database']} | {label} | {quantile(phase.api_ms, 0.5):.1f} "
                f"| {quantile(phase.api_ms, 0.99):.1f} | {max(phase.api_ms):.1f} "
                f"| {quantile(phase.handoff_ms, 0.5):.0f} | {quantile(phase.handoff_ms, 0.99):.0f} "
                f"| {max(phase.handoff_ms):.0f} |"
            )
        api_ratio = quantile(during.api_ms, 0.99) / quantile(base.api_ms, 0.99)
        handoff_ratio = quantile(during.handoff_ms, 0.99) / max(quantile(base.handoff_ms, 0.99), 1)
        added_api = max(during.api_ms) - statistics.median(base.api_ms)
        added_handoff = max(during.handoff_ms) - statistics.median(base.handoff_ms)
        notes.append(
            f"- {result['database']}: the group send's own answer took "
            f"{result['group_api_ms']:.0f} ms (median of the rounds); its 1,000 texts were handed "
            f"over within {result['group_handover_ms']:.0f} ms, and in every round "
            f"{result['group_final']} of 1,000 reached a "
            f"final status. The other line's worst answer was {added_api:.0f} ms over its "
            f"alone median (ratio p99 {api_ratio:.2f}), its worst hand-over "
            f"{added_handoff:.0f} ms over (ratio p99 {handoff_ratio:.2f})."
        )
    return "\n".join([*lines, "", *notes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--texts", type=int, default=200, help="texts of the other line per phase")
    parser.add_argument("--interval-ms", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="alone/group pairs per database")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [bench_database(kind, args) for kind in kinds]
    print(report(results))


if __name__ == "__main__":
    main()

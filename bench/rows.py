"""Rows written over one text's life, send to final receipt, counted by PostgreSQL.

Starts `landline serve` on a new PostgreSQL schema (receipts after 0 ms), sends texts
through the API one request at a time, waits until every one has its final status,
and reads PostgreSQL's own counts of rows inserted, updated and deleted in each table
of the schema (pg_stat_user_tables), before and after. Two cases: texts to numbers the
line has never texted (a contact and a conversation are created), and texts to one
number it already has.

    python3 bench/rows.py [--texts 200]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from load import PG_ADMIN_URL, Server, database


def table_counts(schema: str) -> dict[str, tuple[int, int, int]]:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
            " WHERE schemaname = %s",
            (schema,),
        ).fetchall()
    return {name: (ins, upd, dele) for name, ins, upd, dele in rows}


def settled_counts(schema: str) -> dict[str, tuple[int, int, int]]:
    """A backend hands its statistics over at most once a second, and an idle one only
    after ten: wait until the counters have not moved for longer than that."""
    last = table_counts(schema)
    still = 0.0
    while still < STILL_S:
        time.sleep(1.0)
        now = table_counts(schema)
        still = still + 1.0 if now == last else 0.0
        last = now
    return last


STILL_S = 12.0


def wait_final(http: httpx.Client, session: str, ids: list[str]) -> None:
    deadline = time.monotonic() + 120
    for message_id in ids:
        while True:
            got = http.post("/message/get", data={"session": session, "id": message_id}).json()
            if got["response"]["isInFinalState"]:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"message {message_id} never ended")
            time.sleep(0.05)


def measure(server: Server, session: str, schema: str, numbers: list[str]) -> dict[str, float]:
    before = settled_counts(schema)
    ids = []
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as http:
        for number in numbers:
            answer = http.post(
                "/message/send", data={"session": session, "contacts": number, "body": "hi"}
            ).json()
            ids.append(answer["response"]["tokens"][0]["message"])
        wait_final(http, session, ids)
    after = settled_counts(schema)
    per_table: dict[str, float] = {}
    for table, counts in after.items():
        old = before.get(table, (0, 0, 0))
        written = sum(counts) - sum(old)
        if written:
            per_table[table] = written / len(numbers)
    return per_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="landline-rows-") as tmp, database("postgresql") as url:
        assert url is not None
        found = re.search(r"search_path%3D(\w+)", url)
        assert found is not None
        schema = found.group(1)
        server = Server(Path(tmp), url, receipt_delay_ms=0)
        session = server.add_line()
        server.start()
        try:
            fresh = [f"+1206555{1000 + n:04d}" for n in range(args.texts)]
            known = ["+13125557777"] * args.texts
            cases = {"to new numbers": fresh, "to one known number": known}
            for name, numbers in cases.items():
                per_table = measure(server, session, schema, numbers)
                total = sum(per_table.values())
                shown = ", ".join(f"{t} {n:.2f}" for t, n in sorted(per_table.items()))
                print(f"{name}: {total:.2f} rows per text ({shown})")
        finally:
            server.stop()


if __name__ == "__main__":
    main()

"""Sends of concurrent requests share one transaction; session lookups are cached.

What a client must not notice: every concurrent send is stored once and answered with
its own ids, a bad send in a shared batch fails alone, a conversation shows its newest
text, and a revoked session or suspended line stops working at once. And that the
batching happens: sends that arrive together share a commit (counted on the writer's
engine), so these tests fail if the writer goes back to one transaction per request.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from conftest import Landline, fresh_line
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from landline.api import context
from landline.core import ids, outbound, sessions
from landline.store import lines, sends


def send_all(server: Landline, forms: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Post every form at once, from as many connections."""

    def post(form: dict[str, str]) -> dict[str, Any]:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            return http.post("/message/send", data=form).json()  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(post, forms))


def test_concurrent_sends_are_each_stored_once_with_their_own_ids(
    server: Landline, commits: Commits
) -> None:
    key = fresh_line(server).key
    forms = [
        {"session": key, "contacts": f"20655501{i % 8:02d}", "body": f"text {i}"} for i in range(24)
    ]
    answers = send_all(server, forms)
    assert all(a["success"] for a in answers), answers
    # Requests that arrived together were stored together (the writer's batching).
    assert max(commits.sends_per_call) > 1, commits.sends_per_call
    assert commits.count < len(forms)
    sent = [a["response"]["tokens"][0]["message"] for a in answers]
    assert len(set(sent)) == len(forms)

    listed = server.call("/message/list", session=key, limit=100)
    assert listed["size"] == len(forms)
    by_id = {m["id"] if "id" in m else m["uuid"]: m["body"] for m in listed["response"]}
    for answer, form in zip(answers, forms, strict=True):
        message_id = answer["response"]["tokens"][0]["message"]
        got = server.call("/message/get", session=key, id=message_id)["response"]
        assert got["body"] == form["body"]
    assert len(by_id) == len(forms)

    # Three texts went to each contact; the conversation shows the newest of them.
    conversations = server.call("/conversation/list", session=key, limit=100)["response"]
    assert len(conversations) == 8
    for conversation in conversations:
        mine = [
            (int(a["response"]["tokens"][0]["message"]), f["body"])
            for a, f in zip(answers, forms, strict=True)
            if a["response"]["fingerprint"] == conversation["fingerprint"]
        ]
        assert len(mine) == 3
        newest_id, newest_body = max(mine)
        assert conversation["lastMessageId"] == newest_id
        assert conversation["lastMessageBody"] == newest_body


class Commits:
    """Counts the writer's commits, and the sends each call of `record_sends` stored."""

    def __init__(self, server: Landline, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.sends_per_call: list[int] = []
        event.listen(server.store.writer_engine, "commit", self._committed)
        self._engine = server.store.writer_engine
        record = sends.record_sends

        def counting(connection: Any, plans: list[Any]) -> Any:
            self.sends_per_call.append(len(plans))
            return record(connection, plans)

        # The API looks the function up at each send, so this is the one it uses.
        monkeypatch.setattr(sends, "record_sends", counting)

    def _committed(self, _connection: Any) -> None:
        self.count += 1

    def stop(self) -> None:
        event.remove(self._engine, "commit", self._committed)


@pytest.fixture
def commits(server: Landline, monkeypatch: pytest.MonkeyPatch) -> Iterator[Commits]:
    found = Commits(server, monkeypatch)
    yield found
    found.stop()


def test_sends_queued_together_are_stored_in_one_transaction(
    server: Landline, commits: Commits
) -> None:
    device_id, key, _ = fresh_line(server)
    store = server.store
    line = store.read_sync(lines.by_device, device_id)
    plans = [
        outbound.plan_send(
            device_id=device_id,
            line_number=line.number,
            numbers=[f"+120655502{n:02d}"],
            body=f"together {n}",
            now=server.clock.now_ms(),
            scheduled_at=None,
            next_id=store.ids.next_id,
        )
        for n in range(6)
    ]

    async def together() -> list[Any]:
        return await asyncio.gather(*(store.write_merged(sends.record_sends, p) for p in plans))

    before = commits.count
    outcomes = server.run(together)
    assert all(isinstance(o, sends.SendOutcome) for o in outcomes)
    # Six sends, one transaction and one call storing all of them per writer: the sends
    # take turns between the writers (one on SQLite, several on PostgreSQL).
    writers = store.writers
    assert commits.count - before == min(writers, 6)
    assert sorted(commits.sends_per_call) == sorted(
        len(range(w, 6, writers)) for w in range(writers)
    )
    bodies = sorted(m["body"] for m in server.call("/message/list", session=key)["response"])
    assert bodies == [f"together {n}" for n in range(6)]


def test_a_bad_send_in_a_shared_batch_fails_alone(server: Landline) -> None:
    device_id, key, _ = fresh_line(server)
    store = server.store
    line = store.read_sync(lines.by_device, device_id)

    def plan(number: str, body: str) -> outbound.SendPlan:
        return outbound.plan_send(
            device_id=device_id,
            line_number=line.number,
            numbers=[number],
            body=body,
            now=server.clock.now_ms(),
            scheduled_at=None,
            next_id=store.ids.next_id,
        )

    first, second = plan("+12065550111", "first"), plan("+12065550112", "second")
    # Reuses a stored message's id: the database refuses it.
    clash = plan("+12065550113", "clash")
    store.write_sync(lambda c: sends.record_send(c, clash))

    async def together() -> tuple[Any, ...]:
        return await asyncio.gather(
            store.write_merged(sends.record_sends, first),
            store.write_merged(sends.record_sends, clash),
            store.write_merged(sends.record_sends, second),
            return_exceptions=True,
        )

    ok_first, failed, ok_second = server.run(together)
    assert isinstance(failed, IntegrityError)
    assert isinstance(ok_first, sends.SendOutcome)
    assert isinstance(ok_second, sends.SendOutcome)
    bodies = sorted(m["body"] for m in server.call("/message/list", session=key)["response"])
    assert bodies == ["clash", "first", "second"]


def test_a_suspended_line_answers_401_at_once(server: Landline) -> None:
    device_id, key, _ = fresh_line(server)
    assert server.call("/message/list", session=key)["success"] is True
    line = server.store.read_sync(lines.by_device, device_id)
    assert server.store.write_sync(lambda c: lines.set_state(c, line.number, "suspended"))
    response = server.http.post("/message/list", data={"session": key})
    assert response.status_code == 401
    assert "suspended" in response.json()["response"]["desc"]


def _revoke_behind_the_servers_back(server: Landline, key: str) -> None:
    """Revoke as another process would: with a connection of its own."""
    statement = "UPDATE sessions SET revoked_at = 1 WHERE key_hash = {}"
    key_hash = sessions.hash_key(key)
    url: str = server.store.url
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(statement.format("?"), (key_hash,))
    else:
        with psycopg.connect(url) as conn:
            conn.execute(statement.format("%s"), (key_hash,))


def test_a_session_revoked_by_another_process_ends_within_the_cache_bound(
    server: Landline, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = fresh_line(server).key
    assert server.call("/message/list", session=key)["success"] is True
    _revoke_behind_the_servers_back(server, key)

    class Later:
        """The monotonic clock, read just past the cache's bound."""

        @staticmethod
        def monotonic() -> float:
            import time

            return time.monotonic() + context.SESSION_CACHE_SECONDS + 0.01

    monkeypatch.setattr(context, "time", Later)
    response = server.http.post("/message/list", data={"session": key})
    assert response.status_code == 401


def test_contact_ids_do_not_depend_on_the_batch(server: Landline) -> None:
    device_id, key, _ = fresh_line(server)
    forms = [{"session": key, "contacts": "2065550150,2065550151", "body": "hi"}] * 6
    answers = send_all(server, forms)
    contacts = {t["contact"] for a in answers for t in a["response"]["tokens"]}
    assert contacts == {
        ids.contact_id(device_id, "+12065550150"),
        ids.contact_id(device_id, "+12065550151"),
    }

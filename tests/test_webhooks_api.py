"""webhook/add, list, update, delete, secret, rotate: what a client sends and sees."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from conftest import Landline, ok, postgres_schema
from conftest import fresh_line as new_line
from webhook_fixtures import start_server

from landline.api.app import ENDPOINTS
from landline.core import times

PUBLIC = "93.184.215.14"
HOOK = "http://127.0.0.1:9/hook"


class FixedResolver(AbstractResolver):
    """Answers names from a table; anything else does not resolve."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.table:
            raise OSError(f"{host} does not resolve")
        address = self.table[host]
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        return None


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Landline]:
    """One server per database for this module's tests, each test with a line of its own.
    Names resolve from a table: `public.example` is public, `inside.example` private."""
    tmp_path = tmp_path_factory.mktemp("webhook-api")
    resolver = FixedResolver({"public.example": PUBLIC, "inside.example": "10.1.2.3"})
    options = {"resolver": resolver}
    if request.param == "sqlite":
        found = start_server(f"sqlite:///{tmp_path / 'l.db'}", tmp_path, runtime_options=options)
        yield found
        found.stop()
        return
    with postgres_schema() as (_, url):
        found = start_server(url, tmp_path, runtime_options=options)
        yield found
        found.stop()



def fresh_line(server: Landline) -> str:
    """A line of its own (with a password); its session key."""
    return new_line(server, password="secret").key


def call(server: Landline, path: str, **params: Any) -> dict[str, Any]:
    # Not server.call: its own `method` is the HTTP method, and webhooks have one too.
    answer: dict[str, Any] = server.http.post(path, data=params).json()
    return answer


def refused(answer: dict[str, Any]) -> str:
    assert answer["success"] is False, answer
    assert answer["response"]["code"] == -703, answer
    return str(answer["response"]["desc"])


def test_add_answers_the_webhook_in_a_list_with_post_by_default(server: Landline) -> None:
    key = fresh_line(server)
    added = ok(call(server, "/webhook/add", session=key, type="message", event="receive", url=HOOK))
    assert len(added) == 1
    hook = added[0]
    assert set(hook) == {"webhookId", "type", "event", "url", "method"}
    assert isinstance(hook["webhookId"], int) and 0 < hook["webhookId"] < 2**53
    assert (hook["type"], hook["event"], hook["url"], hook["method"]) == (
        "message",
        "receive",
        HOOK,
        "POST",
    )
    listed = ok(call(server, "/webhook/list", session=key))
    assert listed == added


def test_every_event_and_method_can_be_added_and_listed_oldest_first(server: Landline) -> None:
    key = fresh_line(server)
    wanted = [
        ("message", "receive", "POST"),
        ("message", "send", "PUT"),
        ("message", "progress", "GET"),
        ("message", "read", "post"),
        ("message", "delete", "Put"),
        ("optout", "change", "get"),
    ]
    for kind, event, method in wanted:
        ok(
            server.http.get(
                "/webhook/add",
                params={
                    "session": key,
                    "type": kind,
                    "event": event,
                    "url": f"https://public.example/{event}?a=1",
                    "method": method,
                },
            ).json()
        )
    listed = ok(call(server, "/webhook/list", session=key))
    assert [(h["type"], h["event"], h["method"]) for h in listed] == [
        (kind, event, method.upper()) for kind, event, method in wanted
    ]
    assert listed[0]["url"] == "https://public.example/receive?a=1"


GOOD = "https://public.example/hook"


@pytest.mark.parametrize(
    ("params", "says"),
    [
        (
            {"type": "mesage", "event": "receive", "url": GOOD},
            "type must be one of message, optout",
        ),
        (
            {"type": "message", "event": "recieve", "url": GOOD},
            "event must be one of receive, send",
        ),
        (
            {"type": "message", "event": "change", "url": GOOD},
            "event must be one of receive, send, progress, read, delete for type message",
        ),
        ({"type": "optout", "event": "receive", "url": GOOD}, "event must be one of change"),
        (
            {"type": "message", "event": "receive", "url": GOOD, "method": "PATCH"},
            "method must be one of POST, PUT, GET",
        ),
        ({"type": "message", "event": "receive", "url": "ftp://public.example/x"}, "http or https"),
        ({"type": "message", "event": "receive", "url": "public.example/x"}, "http or https"),
        ({"type": "message", "event": "receive", "url": "http://10.0.0.7/x"}, "private address"),
        (
            {"type": "message", "event": "receive", "url": "http://169.254.169.254/latest"},
            "cloud metadata",
        ),
        ({"type": "message", "event": "receive", "url": "http://0x0a000001/x"}, "10.0.0.1"),
        (
            {"type": "message", "event": "receive", "url": "http://inside.example/x"},
            "resolves to 10.1.2.3, a private address",
        ),
        (
            {"type": "message", "event": "receive", "url": "http://nowhere.example/x"},
            "does not resolve",
        ),
        ({"type": "message", "url": GOOD}, "event is required"),
        ({"event": "receive", "url": GOOD}, "type is required"),
        ({"type": "message", "event": "receive"}, "url is required"),
    ],
)
def test_add_refuses_what_it_cannot_deliver_to_and_says_which(
    server: Landline, params: dict[str, str], says: str
) -> None:
    key = fresh_line(server)
    desc = refused(call(server, "/webhook/add", session=key, **params))
    assert says in desc, desc
    assert ok(call(server, "/webhook/list", session=key)) == []


def test_update_changes_url_and_method_and_answers_the_webhook(server: Landline) -> None:
    key = fresh_line(server)
    [hook] = ok(call(server, "/webhook/add", session=key, type="message", event="send", url=HOOK))
    hook_id = hook["webhookId"]
    [changed] = ok(call(server, "/webhook/update", session=key, webhookId=hook_id, method="put"))
    assert changed == {**hook, "method": "PUT"}
    [moved] = ok(
        call(
            server, "/webhook/update", session=key, webhookId=hook_id, url="https://public.example/"
        )
    )
    assert moved == {**hook, "method": "PUT", "url": "https://public.example/"}
    desc = refused(
        call(server, "/webhook/update", session=key, webhookId=hook_id, url="http://10.0.0.1/")
    )
    assert "private address" in desc
    assert ok(call(server, "/webhook/list", session=key)) == [moved]


def test_delete_answers_an_empty_list(server: Landline) -> None:
    key = fresh_line(server)
    [hook] = ok(call(server, "/webhook/add", session=key, type="optout", event="change", url=HOOK))
    assert ok(call(server, "/webhook/delete", session=key, webhookId=hook["webhookId"])) == []
    assert ok(call(server, "/webhook/list", session=key)) == []
    desc = refused(call(server, "/webhook/delete", session=key, webhookId=hook["webhookId"]))
    assert "not found" in desc


def test_a_session_sees_and_changes_only_its_own_lines_webhooks(server: Landline) -> None:
    mine, theirs = fresh_line(server), fresh_line(server)
    [hook] = ok(
        call(server, "/webhook/add", session=theirs, type="message", event="read", url=HOOK)
    )
    assert ok(call(server, "/webhook/list", session=mine)) == []
    for path, extra in (("/webhook/update", {"method": "GET"}), ("/webhook/delete", {})):
        desc = refused(call(server, path, session=mine, webhookId=hook["webhookId"], **extra))
        assert f"webhook {hook['webhookId']} not found" in desc
    assert ok(call(server, "/webhook/list", session=theirs)) == [hook]


def test_webhook_calls_need_a_session(server: Landline) -> None:
    for path in ("/webhook/add", "/webhook/list", "/webhook/secret", "/webhook/replay"):
        answer = server.http.post(path, data={"type": "message"})
        assert answer.status_code == 401
        assert answer.json()["response"]["code"] == -100


def test_a_line_reads_and_rotates_its_signing_secret(server: Landline) -> None:
    key = fresh_line(server)
    first = ok(call(server, "/webhook/secret", session=key))
    assert first["secret"].startswith("whsec_") and first["previousSecretValidUntil"] is None
    assert ok(call(server, "/webhook/secret", session=key)) == first
    rotated = ok(call(server, "/webhook/rotate", session=key))
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != first["secret"]
    until = times.parse_instant(rotated["previousSecretValidUntil"])
    assert abs(until - (server.clock.now_ms() + 24 * 3_600_000)) < 60_000
    assert ok(call(server, "/webhook/secret", session=key))["secret"] == rotated["secret"]
    # Another line has a secret of its own.
    other = ok(call(server, "/webhook/secret", session=fresh_line(server)))
    assert other["secret"] not in (first["secret"], rotated["secret"])


def test_the_secret_is_stored_encrypted(server: Landline) -> None:
    from sqlalchemy import select

    from landline.store.schema import lines

    key = fresh_line(server)
    secret = ok(call(server, "/webhook/secret", session=key))["secret"]
    stored = server.store.read_sync(
        lambda c: list(
            c.scalars(select(lines.c.webhook_secret).where(lines.c.webhook_secret.is_not(None)))
        )
    )
    assert stored and all(secret not in value and "whsec_" not in value for value in stored)


def test_the_openapi_document_describes_every_webhook_call(server: Landline) -> None:
    doc = server.http.get("/openapi.json").json()
    for path in (
        "webhook/add",
        "webhook/list",
        "webhook/update",
        "webhook/delete",
        "webhook/secret",
        "webhook/rotate",
        "webhook/replay",
    ):
        assert path in ENDPOINTS
        assert set(doc["paths"][f"/{path}"]) == {"get", "post"}
    add = doc["paths"]["/webhook/add"]["get"]["parameters"]
    method = next(p for p in add if p["name"] == "method")
    assert method["schema"] == {"type": "string", "enum": ["POST", "PUT", "GET"], "default": "POST"}
    assert doc["components"]["schemas"]["Webhook"]["required"] == [
        "webhookId",
        "type",
        "event",
        "url",
        "method",
    ]


def test_docs_name_every_webhook_call() -> None:
    api = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    for path in ENDPOINTS:
        if path.startswith("webhook/"):
            assert f"#### {path}" in api or f"{path}," in api or f", {path}" in api, path

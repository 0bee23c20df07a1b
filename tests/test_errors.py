"""The envelope and every error a client can cause (CONTRACT sections 2 and 4).

Each error is checked for its HTTP status, `success: false`, its code, a `desc` that
names what was wrong, and that the request changed nothing at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from conftest import Landline, fresh_line
from sqlalchemy import Connection, func, select

from landline.api.envelope import TOO_LARGE_PAGE
from landline.core import sessions
from landline.store import lines
from landline.store.schema import contacts, conversations, events, messages

BAD_ARGUMENTS = -703


@dataclass(frozen=True)
class Line:
    device_id: int
    key: str
    number: str
    sent_id: int
    received_id: int


@pytest.fixture
def line(server: Landline) -> Line:
    """A line with some history: one text sent and delivered, one received and unread."""
    device_id, key, number = fresh_line(server)
    sent = server.call("/message/send", session=key, contacts="2065550100", body="before")
    server.handset_texts("2065550101", number, "incoming")
    server.settle()
    received = server.call("/message/list", session=key)["response"][0]
    assert received["body"] == "incoming"
    return Line(device_id, key, number, int(sent["response"]["root"]), received["id"])


def state(server: Landline, line: Line) -> dict[str, Any]:
    """Everything a failed request must leave untouched."""

    def load(connection: Connection) -> dict[str, Any]:
        counts = {
            table.name: connection.execute(
                select(func.count()).select_from(table).where(table.c.device_id == line.device_id)
            ).scalar_one()
            for table in (messages, events, contacts, conversations)
        }
        rows = connection.execute(
            select(
                messages.c.id, messages.c.status, messages.c.read_at, messages.c.deleted_at
            ).where(messages.c.device_id == line.device_id)
        ).all()
        return {"counts": counts, "messages": sorted(tuple(row) for row in rows)}

    found = server.store.read_sync(load)
    found["listed"] = server.call("/message/list", session=line.key)["size"]
    return found


def assert_error(
    response: httpx.Response, status: int, code: int, *named: str
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    answer: dict[str, Any] = response.json()
    assert answer["success"] is False
    assert answer["response"]["code"] == code
    desc = answer["response"]["desc"]
    for word in named:
        assert word in desc, f"{word!r} not in {desc!r}"
    return answer


def send(server: Landline, line: Line, **params: Any) -> httpx.Response:
    return server.http.post("/message/send", data={"session": line.key, **params})


def test_sixteen_contacts_are_refused(server: Landline, line: Line) -> None:
    before = state(server, line)
    many = [f"20655502{n:02d}" for n in range(16)]
    response = send(server, line, contacts=many, body="hi")
    assert_error(response, 200, BAD_ARGUMENTS, "Bad arguments", "contacts", "15")
    assert state(server, line) == before
    # Fifteen is the limit, not over it.
    assert send(server, line, contacts=many[:15], body="hi").json()["success"] is True


def test_a_body_over_250_bytes_is_refused(server: Landline, line: Line) -> None:
    before = state(server, line)
    for body in ("x" * 251, "é" * 125 + "a", "€" * 83 + "ab"):
        assert len(body.encode()) == 251
        response = send(server, line, contacts="2065550100", body=body)
        assert_error(response, 200, BAD_ARGUMENTS, "body", "251")
    assert state(server, line) == before


@pytest.mark.parametrize("body", ["x" * 250, "é" * 125, "€" * 83 + "a", "😀" * 62 + "ab"])
def test_a_body_of_250_bytes_is_sent(server: Landline, line: Line, body: str) -> None:
    assert len(body.encode()) == 250
    answer = send(server, line, contacts="2065550100", body=body).json()
    assert answer["success"] is True, answer
    got = server.call("/message/get", session=line.key, id=answer["response"]["root"])
    assert got["response"]["body"] == body
    assert got["response"]["bodySize"] == 250


@pytest.mark.parametrize("body", [None, ""])
def test_an_empty_or_missing_body_is_refused(
    server: Landline, line: Line, body: str | None
) -> None:
    before = state(server, line)
    params = {} if body is None else {"body": body}
    response = send(server, line, contacts="2065550100", **params)
    assert_error(response, 200, BAD_ARGUMENTS, "body")
    assert state(server, line) == before


@pytest.mark.parametrize("bad", ["12345", "206555010", "abc", "+1206555010x", "+999123456789"])
def test_a_bad_number_is_refused_by_name(server: Landline, line: Line, bad: str) -> None:
    before = state(server, line)
    response = send(server, line, contacts=["2065550100", bad], body="hi")
    assert_error(response, 200, BAD_ARGUMENTS, "contacts", bad)
    assert state(server, line) == before


def test_missing_contacts_are_refused(server: Landline, line: Line) -> None:
    before = state(server, line)
    assert_error(send(server, line, body="hi"), 200, BAD_ARGUMENTS, "contacts")
    assert_error(send(server, line, contacts=",", body="hi"), 200, BAD_ARGUMENTS, "contacts")
    assert state(server, line) == before


def test_a_valid_number_with_no_route_answers_124(server: Landline, line: Line) -> None:
    before = state(server, line)
    response = send(server, line, contacts=["2065550100", "+442071838750"], body="hi")
    assert_error(response, 200, -124, "+442071838750")
    assert state(server, line) == before


def test_bad_arguments_are_reported_before_the_route_or_the_lines_state(
    server: Landline, line: Line
) -> None:
    before = state(server, line)
    many = ["+442071838750"] + [f"20655502{n:02d}" for n in range(15)]
    assert_error(send(server, line, contacts=many, body="hi"), 200, BAD_ARGUMENTS, "contacts")
    response = send(server, line, contacts="+442071838750", body="x" * 251)
    assert_error(response, 200, BAD_ARGUMENTS, "body")
    assert server.store.write_sync(lambda c: lines.set_state(c, line.number, "spam"))
    response = send(server, line, contacts="2065550100", body="")
    assert_error(response, 200, BAD_ARGUMENTS, "body")
    assert_error(send(server, line, contacts="+442071838750", body="hi"), 200, -801)
    assert state(server, line) == before


def test_a_missing_session_answers_401(server: Landline, line: Line) -> None:
    before = state(server, line)
    for params in ({}, {"session": ""}, {"session": "None"}):
        response = server.http.post(
            "/message/send", data={"contacts": "2065550100", "body": "hi", **params}
        )
        assert_error(response, 401, -100, "session")
    response = server.http.get("/message/list")
    assert_error(response, 401, -100, "session")
    assert state(server, line) == before


@pytest.mark.parametrize(
    "key",
    [
        "not-a-session-key",
        f"{uuid.uuid4()}:309626613",
        f"{uuid.uuid4()}",
    ],
)
def test_an_unknown_session_answers_401(server: Landline, line: Line, key: str) -> None:
    before = state(server, line)
    response = server.http.post(
        "/message/send", data={"session": key, "contacts": "2065550100", "body": "hi"}
    )
    assert_error(response, 401, -100, "session")
    # Another line's device id in a made-up key does not open that line.
    forged = f"{uuid.uuid4()}:{line.device_id}"
    response = server.http.post("/message/list", data={"session": forged})
    assert_error(response, 401, -100, "session")
    assert state(server, line) == before


def stored_state(server: Landline, line: Line) -> dict[str, Any]:
    """`state`, read through a new session of the line (for when `line.key` is revoked)."""
    key = sessions.new_key(line.device_id)
    now = server.clock.now_ms()
    server.store.write_sync(
        lambda c: lines.create_session(
            c, key_hash=sessions.hash_key(key), device_id=line.device_id, operator_id=None,
            now=now,
        )
    )
    return state(server, Line(line.device_id, key, line.number, line.sent_id, line.received_id))


def test_a_session_revoked_by_logout_answers_401(server: Landline, line: Line) -> None:
    before = state(server, line)
    assert server.call("/user/logout", session=line.key) == {"success": True, "response": True}
    for path in ("/message/list", "/message/send", "/message/read", "/user/logout"):
        response = server.http.post(
            path,
            data={"session": line.key, "contacts": "2065550100", "body": "hi",
                  "message": str(line.received_id)},
        )
        assert_error(response, 401, -100, "session")
    assert stored_state(server, line) == before


def test_a_session_revoked_in_the_store_answers_401(server: Landline, line: Line) -> None:
    before = state(server, line)
    now = server.clock.now_ms()
    assert server.store.write_sync(
        lambda c: lines.revoke_session(c, sessions.hash_key(line.key), now)
    )
    response = send(server, line, contacts="2065550100", body="hi")
    assert_error(response, 401, -100, "session")
    assert stored_state(server, line) == before


def test_a_scheduled_date_in_the_past_or_over_a_year_ahead_is_refused(
    server: Landline, line: Line
) -> None:
    before = state(server, line)
    now = server.clock.now_ms()
    day = 24 * 3600 * 1000
    for when in (
        str(now - 5 * 60_000),
        str(now + 367 * day),
        "2015-08-19T16:53:45-07:00",
        "tomorrow",
        "1447707527",  # seconds, not milliseconds
        "2030-01-01T00:00:00",  # no offset: which time zone is unknown
    ):
        response = send(server, line, contacts="2065550100", body="later", scheduledDate=when)
        assert_error(response, 200, BAD_ARGUMENTS, "scheduledDate")
    assert state(server, line) == before
    # A minute of clock skew is tolerated.
    ok = send(server, line, contacts="2065550100", body="now-ish", scheduledDate=str(now - 30_000))
    assert ok.json()["success"] is True


@pytest.mark.parametrize("endpoint", ["get", "read", "delete"])
def test_an_unknown_message_id_is_not_found(
    server: Landline, line: Line, endpoint: str
) -> None:
    before = state(server, line)
    unknown = line.received_id + 12345
    path = f"/message/{endpoint}"
    key = "id" if endpoint == "get" else "message"
    response = server.http.post(path, data={"session": line.key, key: str(unknown)})
    assert_error(response, 200, BAD_ARGUMENTS, str(unknown), "not found")
    if endpoint != "get":
        # One unknown id among known ones: the known ones are left alone too.
        response = server.http.post(
            path, data={"session": line.key, "message": [str(line.received_id), str(unknown)]}
        )
        assert_error(response, 200, BAD_ARGUMENTS, str(unknown))
        assert str(line.received_id) not in response.json()["response"]["desc"]
    assert state(server, line) == before


@pytest.mark.parametrize("endpoint", ["get", "read", "delete", "cancel"])
def test_a_malformed_or_missing_message_id_is_refused(
    server: Landline, line: Line, endpoint: str
) -> None:
    before = state(server, line)
    name = "id" if endpoint == "get" else "message"
    response = server.http.post(f"/message/{endpoint}", data={"session": line.key, name: "abc"})
    assert_error(response, 200, BAD_ARGUMENTS, name, "abc")
    response = server.http.post(f"/message/{endpoint}", data={"session": line.key})
    assert_error(response, 200, BAD_ARGUMENTS, name)
    assert state(server, line) == before


def test_canceling_a_message_that_is_not_scheduled_is_refused(
    server: Landline, line: Line
) -> None:
    before = state(server, line)
    response = server.http.post(
        "/message/cancel", data={"session": line.key, "message": str(line.sent_id)}
    )
    assert_error(response, 200, BAD_ARGUMENTS, str(line.sent_id))
    assert state(server, line) == before


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/message/list", {"limit": "abc"}, "limit"),
        ("/message/list", {"limit": "0"}, "limit"),
        ("/message/list", {"start": "-1"}, "start"),
        ("/conversation/list", {"limit": "ten"}, "limit"),
        ("/contact/list", {"pageSize": "0"}, "pageSize"),
        ("/conversation/get", {}, "fingerprint"),
        ("/conversation/get", {"fingerprint": "12ab"}, "fingerprint"),
        ("/conversation/get", {"fingerprint": "123"}, "123"),
        ("/conversation/read", {"fingerprint": "123"}, "123"),
        ("/conversation/delete", {"fingerprint": "123"}, "123"),
        ("/contact/get", {"id": "123"}, "123"),
        ("/contact/get", {"mobileNumber": "12345"}, "mobileNumber"),
        ("/contact/save", {"address": "12345"}, "address"),
        ("/contact/save", {}, "address"),
        ("/contact/delete", {"contact": "123"}, "123"),
        ("/user/login", {"username": "2065550100"}, "password"),
        ("/user/login", {"password": "x"}, "username"),
    ],
)
def test_other_bad_arguments_name_the_parameter(
    server: Landline, line: Line, path: str, params: dict[str, str], named: str
) -> None:
    before = state(server, line)
    response = server.http.post(path, data={"session": line.key, **params})
    assert_error(response, 200, BAD_ARGUMENTS, named)
    assert state(server, line) == before


TOO_BIG = str(1 << 64)


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/message/get", {"id": TOO_BIG}, "id"),
        ("/message/read", {"message": TOO_BIG}, "message"),
        ("/message/delete", {"uuids": TOO_BIG}, "uuids"),
        ("/message/get", {"id": "-5"}, "id"),
        ("/message/list", {"start": TOO_BIG}, "start"),
        ("/conversation/get", {"fingerprint": TOO_BIG}, TOO_BIG),
        ("/contact/list", {"page": TOO_BIG}, "page"),
        ("/contact/get", {"id": TOO_BIG}, "id"),
        ("/contact/get", {"id": "²"}, "id"),
        ("/contact/delete", {"contact": TOO_BIG}, "contact"),
        # Found by schemathesis (tests/test_fuzz.py): 2**63 as a webhook id answered 500.
        ("/webhook/update", {"webhookId": str(2**63), "method": "put"}, "webhookId"),
        ("/webhook/delete", {"webhookId": str(2**63)}, "webhookId"),
        ("/webhook/update", {"webhookId": "9" * 19, "method": "put"}, "webhookId"),
        ("/webhook/replay", {"deliveryId": "9450300000600001700"}, "deliveryId"),
        ("/webhook/replay", {"deliveryId": f"msg_{2**63}"}, "deliveryId"),
    ],
)
def test_numbers_too_large_to_be_ids_are_bad_arguments(
    server: Landline, line: Line, path: str, params: dict[str, str], named: str
) -> None:
    # Not a 500: ids are 64-bit, so a larger number cannot name anything.
    before = state(server, line)
    response = server.http.post(path, data={"session": line.key, **params})
    assert_error(response, 200, BAD_ARGUMENTS, named)
    assert state(server, line) == before


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/message/send", {"contacts": "2065550100", "body": "a\x00b"}, "body"),
        ("/contact/save", {"address": "2065550100", "firstName": "a\x00"}, "firstName"),
        ("/user/login", {"username": "x\x00", "password": "pw"}, "username"),
    ],
)
def test_a_nul_character_is_a_bad_argument_on_every_database(
    server: Landline, line: Line, path: str, params: dict[str, str], named: str
) -> None:
    # PostgreSQL cannot store NUL; SQLite can. Both refuse it, the same way.
    before = state(server, line)
    response = server.http.post(path, data={"session": line.key, **params})
    assert_error(response, 200, BAD_ARGUMENTS, named, "NUL")
    assert state(server, line) == before


def test_a_suspended_line_answers_401(server: Landline, line: Line) -> None:
    before = state(server, line)
    assert server.store.write_sync(lambda c: lines.set_state(c, line.number, "suspended"))
    response = send(server, line, contacts="2065550100", body="hi")
    assert_error(response, 401, -100, "suspended")
    assert_error(server.http.post("/message/list", data={"session": line.key}), 401, -100)
    assert server.store.write_sync(lambda c: lines.set_state(c, line.number, "active"))
    assert state(server, line) == before


def test_a_spam_flagged_line_answers_801(server: Landline, line: Line) -> None:
    assert server.store.write_sync(lambda c: lines.set_state(c, line.number, "spam"))
    before = state(server, line)
    response = send(server, line, contacts="2065550100", body="buy now")
    assert_error(response, 200, -801, "Spam protection")
    assert state(server, line) == before
    # Reading still works: the flag stops sending, not the account.
    assert server.call("/message/list", session=line.key)["success"] is True


def test_a_request_over_600_kb_answers_413_with_the_html_page(
    server: Landline, line: Line
) -> None:
    before = state(server, line)
    response = send(server, line, contacts="2065550100", body="x" * (601 * 1024))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == TOO_LARGE_PAGE
    assert b"413 Request Entity Too Large" in response.content
    assert state(server, line) == before


def test_an_unknown_endpoint_answers_404_in_the_envelope(server: Landline, line: Line) -> None:
    before = state(server, line)
    response = server.http.post("/message/sned", data={"session": line.key})
    assert_error(response, 404, BAD_ARGUMENTS, "message/sned")
    response = server.http.get("/")
    assert response.status_code == 404 and response.json()["success"] is False
    assert state(server, line) == before

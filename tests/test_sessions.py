"""Logins, session keys and what a session can see (CONTRACT section 3)."""

from __future__ import annotations

import re
from typing import Any

from conftest import Landline, fresh_line, ok
from sqlalchemy import select

from landline.core import passwords, sessions
from landline.store import lines
from landline.store.schema import sessions as sessions_table

KEY_SHAPE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:(\d+)$"
)


def test_login_with_the_lines_number_answers_a_session_key(server: Landline) -> None:
    line = fresh_line(server, password="correct horse")
    for username in (line.number[2:], line.number, f"ptn:/{line.number[2:]}"):
        answer = server.call("/user/login", username=username, password="correct horse")
        key = ok(answer)
        assert isinstance(key, str)
        match = KEY_SHAPE.match(key)
        assert match, key
        assert int(match.group(1)) == line.device_id
        assert ok(server.call("/message/list", session=key)) == []
    # Each login is a session of its own.
    first = ok(server.call("/user/login", username=line.number, password="correct horse"))
    second = ok(server.call("/user/login", username=line.number, password="correct horse"))
    assert first != second
    # A GET login, as the official Python client sends it.
    response = server.http.get(
        "/user/login", params={"username": line.number[2:], "password": "correct horse"}
    )
    assert response.status_code == 200 and KEY_SHAPE.match(response.json()["response"])


def test_an_operator_logs_in_with_their_own_name_to_their_line(server: Landline) -> None:
    line = fresh_line(server, password="line pw")
    operator = f"op-{line.device_id}"
    now = server.clock.now_ms()
    server.store.write_sync(
        lambda c: lines.add_operator(
            c, operator_id=server.store.ids.next_id(), device_id=line.device_id,
            username=operator, password_hash=passwords.hash_password("op pw"), now=now,
        )
    )
    key = ok(server.call("/user/login", username=operator, password="op pw"))
    match = KEY_SHAPE.match(key)
    assert match and int(match.group(1)) == line.device_id
    ok(server.call("/message/send", session=key, contacts="2065550100", body="from an operator"))
    assert ok(server.call("/message/list", session=line.key))[0]["body"] == "from an operator"
    # The operator's password is not the line's, and the other way round.
    for username, password in ((operator, "line pw"), (line.number, "op pw")):
        response = server.http.post(
            "/user/login", data={"username": username, "password": password}
        )
        assert response.status_code == 401


def test_a_wrong_password_or_unknown_user_answers_401(server: Landline) -> None:
    line = fresh_line(server, password="right")
    no_password = fresh_line(server, password=None)
    for username, password in (
        (line.number, "wrong"),
        (line.number, "Right"),
        ("+14255559999", "right"),
        ("nobody", "right"),
        (no_password.number, "anything"),
    ):
        response = server.http.post(
            "/user/login", data={"username": username, "password": password}
        )
        assert response.status_code == 401, (username, response.text)
        answer = response.json()
        assert answer["success"] is False
        assert answer["response"]["code"] == -100
        # The answer does not tell which of the two was wrong.
        assert answer["response"]["desc"] == "Invalid username or password"


def test_logout_revokes_only_that_session(server: Landline) -> None:
    line = fresh_line(server, password="pw")
    other = ok(server.call("/user/login", username=line.number, password="pw"))
    mine = ok(server.call("/user/login", username=line.number, password="pw"))
    assert server.call("/user/logout", session=mine) == {"success": True, "response": True}
    response = server.http.post("/message/list", data={"session": mine})
    assert response.status_code == 401 and response.json()["success"] is False
    assert ok(server.call("/message/list", session=other)) == []
    assert ok(server.call("/message/list", session=line.key)) == []
    # Logging in again gives a working key.
    again = ok(server.call("/user/login", username=line.number, password="pw"))
    assert ok(server.call("/message/list", session=again)) == []


def test_a_session_sees_nothing_of_another_line(server: Landline) -> None:
    mine, theirs = fresh_line(server), fresh_line(server)
    sent = ok(server.call("/message/send", session=theirs.key, contacts="2065550100", body="b"))
    server.handset_texts("2065550101", theirs.number, "to them")
    saved = ok(
        server.call("/contact/save", session=theirs.key, address="2065550102", firstName="X")
    )
    hour = 3600 * 1000
    scheduled = ok(
        server.call(
            "/message/send", session=theirs.key, contacts="2065550103", body="later",
            scheduledDate=str(server.clock.now_ms() + hour),
        )
    )
    server.settle()
    their_messages = ok(server.call("/message/list", session=theirs.key))
    assert len(their_messages) == 3
    their_ids = [m["id"] for m in their_messages]

    def visible_to_them() -> Any:
        return [
            ok(server.call("/message/get", session=theirs.key, id=mid)) for mid in their_ids
        ]

    before = visible_to_them()

    for mid in their_ids:
        got = server.call("/message/get", session=mine.key, id=mid)
        assert got["success"] is False and got["response"]["code"] == -703
        assert "not found" in got["response"]["desc"]
    for listing in ("/message/list", "/conversation/list", "/message/scheduled"):
        answer = server.call(listing, session=mine.key)
        assert (answer["response"], answer["total"], answer["size"]) == ([], 0, 0), listing
    contacts = server.call("/contact/list", session=mine.key)
    assert (contacts["response"], contacts["total"], contacts["pages"]) == ([], 0, 0)

    for endpoint in ("read", "delete"):
        for ids in ([their_ids[0]], their_ids):
            answer = server.call(f"/message/{endpoint}", session=mine.key, message=ids)
            assert answer["success"] is False and answer["response"]["code"] == -703
    refused = server.call("/message/cancel", session=mine.key, message=scheduled["root"])
    assert refused["success"] is False
    for verb in ("get", "read", "delete"):
        answer = server.call(
            f"/conversation/{verb}", session=mine.key, fingerprint=sent["fingerprint"]
        )
        assert answer["success"] is False and answer["response"]["code"] == -703, verb
    for found in (
        server.call("/contact/get", session=mine.key, id=str(saved["id"])),
        server.call("/contact/get", session=mine.key, mobileNumber="2065550102"),
        server.call("/contact/delete", session=mine.key, contact=str(saved["id"])),
    ):
        assert found["success"] is False and found["response"]["code"] == -703

    # Nothing of theirs changed, and nothing leaked into mine.
    assert visible_to_them() == before
    assert ok(server.call("/message/scheduled", session=theirs.key))[0]["id"] == int(
        scheduled["root"]
    )
    kept = ok(server.call("/contact/get", session=theirs.key, id=str(saved["id"])))
    assert kept["firstName"] == "X"
    assert ok(server.call("/message/list", session=mine.key)) == []


def test_the_same_contact_on_two_lines_is_two_contacts(server: Landline) -> None:
    one, two = fresh_line(server), fresh_line(server)
    a = ok(server.call("/message/send", session=one.key, contacts="2065550100", body="1"))
    b = ok(server.call("/message/send", session=two.key, contacts="2065550100", body="2"))
    assert a["fingerprint"] != b["fingerprint"]
    assert a["tokens"][0]["contact"] != b["tokens"][0]["contact"]
    ok(server.call("/contact/save", session=one.key, address="2065550100", firstName="One"))
    theirs = ok(server.call("/contact/get", session=two.key, mobileNumber="2065550100"))
    assert theirs["firstName"] == ""


def test_the_sessions_table_stores_no_plaintext_key(server: Landline) -> None:
    line = fresh_line(server, password="pw")
    key = ok(server.call("/user/login", username=line.number, password="pw"))
    secret = key.split(":")[0]

    def rows(connection: Any) -> list[Any]:
        return list(
            connection.execute(
                select(sessions_table).where(sessions_table.c.device_id == line.device_id)
            )
        )

    stored = server.store.read_sync(rows)
    assert len(stored) == 2  # the one add_line made, and the login
    for row in stored:
        for value in row:
            text = str(value).lower()
            assert secret not in text and secret.replace("-", "") not in text
            assert line.key.split(":")[0] not in text
    assert sessions.hash_key(key) in {row.key_hash for row in stored}
    # Revoking in the store shuts the key out.
    now = server.clock.now_ms()
    assert server.store.write_sync(lambda c: lines.revoke_session(c, sessions.hash_key(key), now))
    assert server.http.post("/message/list", data={"session": key}).status_code == 401

"""The endpoints' answers, as an old client reads them (CONTRACT sections 4, 5 and 7)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import Landline, fresh_line, ok, send, start_quiet_landline
from sqlalchemy import select

from landline.core.clock import ManualClock
from landline.store.schema import sim_submissions

ISO_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
# Every field of the webhook payload (CONTRACT section 7) and its JSON type(s).
PAYLOAD_TYPES: dict[str, tuple[type, ...]] = {
    "body": (str,),
    "bodySize": (int,),
    "visible": (bool,),
    "hasAttachment": (bool,),
    "dateRead": (str, type(None)),
    "bcc": (type(None),),
    "finalDestination": (str,),
    "messageType": (str,),
    "deleted": (bool,),
    "statusCode": (int,),
    "id": (int,),
    "scheduledDate": (str, type(None)),
    "fingerprint": (str,),
    "messageTransport": (int,),
    "contactId": (int,),
    "address": (str,),
    "read": (bool,),
    "dateCreated": (str,),
    "dateDeleted": (str, type(None)),
    "dateDelivered": (str, type(None)),
    "cc": (type(None),),
    "finalSource": (str,),
    "deviceId": (int,),
}
DATE_FIELDS = ("dateRead", "scheduledDate", "dateCreated", "dateDeleted", "dateDelivered")


def assert_date_in_zone(text: str, zone: str) -> datetime:
    assert ISO_SECONDS.match(text), text
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == moment.astimezone(ZoneInfo(zone)).utcoffset(), (text, zone)
    return moment


# -- message/send


def test_send_to_one_contact(server: Landline) -> None:
    device_id, key, _ = fresh_line(server)
    first = send(server, key, "2065550100")
    assert set(first) >= {"fingerprint", "root", "tokens"}
    assert isinstance(first["root"], str) and first["root"].isdigit()
    [token] = first["tokens"]
    assert isinstance(token["message"], str) and token["message"].isdigit()
    assert isinstance(token["contact"], int)
    assert token["device"] == device_id
    assert isinstance(token["fingerprint"], str) and token["fingerprint"].isdigit()
    assert "code" not in token
    assert first["fingerprint"] == token["fingerprint"]

    again = send(server, key, "+12065550100")
    assert again["fingerprint"] == first["fingerprint"]
    assert again["tokens"][0]["contact"] == token["contact"]
    assert again["root"] != first["root"]
    assert again["tokens"][0]["message"] != token["message"]

    got = ok(server.call("/message/get", session=key, id=token["message"]))
    assert got["id"] == int(token["message"])
    assert (got["fingerprint"], got["contactId"], got["deviceId"]) == (
        token["fingerprint"], token["contact"], device_id
    )


def test_send_to_several_contacts(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    group = ["2065550100", "2065550101", "2065550102"]
    answer = send(server, key, group, body="to all")
    tokens = answer["tokens"]
    assert len(tokens) == 3
    assert len({t["message"] for t in tokens}) == 3
    assert answer["root"].isdigit()
    for number, token in zip(group, tokens, strict=True):
        got = ok(server.call("/message/get", session=key, id=token["message"]))
        assert got["address"] == f"ptn:/{number}"
        assert got["body"] == "to all"
        # Each token's fingerprint is that contact's own conversation.
        alone = send(server, key, number, body="just you")
        assert alone["fingerprint"] == token["fingerprint"] == got["fingerprint"]
        assert alone["tokens"][0]["contact"] == token["contact"]
    # The top-level fingerprint is the group's: none of the members', stable for the set.
    assert answer["fingerprint"] not in {t["fingerprint"] for t in tokens}
    assert answer["fingerprint"].isdigit()
    reordered = send(server, key, "+12065550102,2065550100,ptn:/2065550101", body="again")
    assert reordered["fingerprint"] == answer["fingerprint"]
    smaller = send(server, key, group[:2], body="two of you")
    assert smaller["fingerprint"] != answer["fingerprint"]
    # A repeated number is one recipient.
    twice = send(server, key, ["2065550100", "+12065550100"], body="once")
    assert len(twice["tokens"]) == 1


def test_send_to_a_contact_who_opted_out_answers_1234_in_the_token(server: Landline) -> None:
    _, key, number = fresh_line(server)
    server.handset_texts("2065550100", number, "STOP")
    server.settle()
    answer = send(server, key, ["2065550100", "2065550101"], body="still there?")
    stopped, fine = answer["tokens"]
    assert stopped["code"] == -1234 and "STOP" in stopped["desc"]
    assert "code" not in fine
    server.settle()
    got = ok(server.call("/message/get", session=key, id=stopped["message"]))
    assert got["statusCode"] == -1234
    assert ok(server.call("/message/get", session=key, id=fine["message"]))["statusCode"] == 6


# -- message objects


def test_message_objects_carry_every_payload_field_in_the_lines_time_zone(
    server: Landline,
) -> None:
    zone = "America/New_York"
    device_id, key, number = fresh_line(server, timezone=zone)
    sent = send(server, key, "2065550100", body="Hello, New York")
    server.handset_texts("2065550100", number, "Hi back ✓")
    server.settle()
    raw = server.http.post("/message/list", data={"session": key})
    # Parsed with Python's json, whose integers are exact, to check the 64-bit ids.
    inbound, outbound = raw.json()["response"]

    for message in (inbound, outbound):
        for field, types in PAYLOAD_TYPES.items():
            assert field in message, field
            assert isinstance(message[field], types), (field, message[field])
        for field in DATE_FIELDS:
            if message[field] is not None:
                assert_date_in_zone(message[field], zone)
        assert message["deviceId"] == device_id
        assert message["fingerprint"].isdigit()
        assert message["address"] == "ptn:/2065550100"
        assert message["visible"] is True and message["deleted"] is False
        assert message["dateDeleted"] is None and message["scheduledDate"] is None
        assert message["bodySize"] == len(message["body"].encode())
        assert isinstance(message["statusHistory"], list)
        for step in message["statusHistory"]:
            assert isinstance(step["statusCode"], int)
            assert_date_in_zone(step["date"], zone)

    assert outbound["id"] == int(sent["root"])
    assert outbound["contactId"] == sent["tokens"][0]["contact"]
    assert (outbound["messageType"], outbound["finalSource"], outbound["finalDestination"]) == (
        "ZO", number[2:], "2065550100"
    )
    assert outbound["statusCode"] == 6
    assert [s["statusCode"] for s in outbound["statusHistory"]] == [2, 1, 6]
    assert outbound["dateDelivered"] is not None

    assert (inbound["messageType"], inbound["finalSource"], inbound["finalDestination"]) == (
        "MO", "2065550100", number[2:]
    )
    assert inbound["body"] == "Hi back ✓" and inbound["bodySize"] == len("Hi back ✓".encode())
    assert inbound["read"] is False and inbound["dateRead"] is None
    assert inbound["fingerprint"] == outbound["fingerprint"]
    assert inbound["contactId"] == outbound["contactId"]

    ok(server.call("/message/read", session=key, message=inbound["id"]))
    read = ok(server.call("/message/get", session=key, id=inbound["id"]))
    assert read["read"] is True
    assert_date_in_zone(read["dateRead"], zone)

    # The same instant shows a different offset on a Los Angeles line.
    _, la_key, _ = fresh_line(server)
    la = ok(server.call("/message/get", session=la_key, id=send(server, la_key, "2065550100")[
        "root"]))
    ny_moment = assert_date_in_zone(outbound["dateCreated"], zone)
    la_moment = assert_date_in_zone(la["dateCreated"], "America/Los_Angeles")
    assert ny_moment.utcoffset() != la_moment.utcoffset()


# -- message/list, get, read, delete


def test_message_list_pages_newest_first(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    sent = [int(send(server, key, "2065550100", body=f"m{n}")["root"]) for n in range(5)]
    newest_first = sent[::-1]

    everything = server.call("/message/list", session=key)
    assert [m["id"] for m in everything["response"]] == newest_first
    assert (everything["total"], everything["size"]) == (5, 5)

    pages = []
    for start in (0, 2, 4, 5, 9):
        page = server.call("/message/list", session=key, start=start, limit=2)
        assert page["success"] is True and page["size"] == 5
        assert page["total"] == len(page["response"])
        pages.append([m["id"] for m in page["response"]])
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:], [], []]
    assert [m["body"] for m in everything["response"]] == ["m4", "m3", "m2", "m1", "m0"]

    # A client that pages until total is 0 sees every message once.
    seen: list[int] = []
    start = 0
    while True:
        page = server.call("/message/list", session=key, start=start, limit=3)
        if page["total"] == 0:
            break
        seen.extend(m["id"] for m in page["response"])
        start += page["total"]
    assert seen == newest_first


def test_message_get_answers_the_message_itself(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    root = send(server, key, "2065550100", body="get me")["root"]
    server.settle()
    got = server.call("/message/get", session=key, id=root)
    assert got["success"] is True and isinstance(got["response"], dict)
    assert got["response"]["body"] == "get me"
    listed = server.call("/message/list", session=key)["response"][0]
    assert got["response"] == listed
    # The deprecated `uuid` spelling of the id.
    assert server.call("/message/get", session=key, uuid=root)["response"]["id"] == int(root)


def test_message_read_marks_messages_and_lowers_the_unread_count(server: Landline) -> None:
    _, key, number = fresh_line(server)
    for body in ("one", "two", "three"):
        server.handset_texts("2065550100", number, body)
    server.settle()
    three, two, one = server.call("/message/list", session=key)["response"]
    fingerprint = one["fingerprint"]

    def unread() -> int:
        got = ok(server.call("/conversation/get", session=key, fingerprint=fingerprint))
        listed = ok(server.call("/conversation/list", session=key))[0]
        assert listed["unreadCount"] == got["conversation"]["unreadCount"]
        assert listed["new"] is (listed["unreadCount"] > 0)
        return int(got["conversation"]["unreadCount"])

    assert unread() == 3
    assert ok(server.call("/message/read", session=key, message=one["id"])) is True
    assert unread() == 2
    assert ok(server.call("/message/read", session=key, message=[two["id"], three["id"]]))
    assert unread() == 0
    for message in server.call("/message/list", session=key)["response"]:
        assert message["read"] is True and message["dateRead"] is not None
    # Reading again is harmless.
    assert ok(server.call("/message/read", session=key, message=one["id"])) is True
    assert unread() == 0


def test_message_delete_hides_the_message(server: Landline) -> None:
    zone = "America/New_York"
    _, key, number = fresh_line(server, timezone=zone)
    kept = int(send(server, key, "2065550100", body="keep")["root"])
    gone = int(send(server, key, "2065550100", body="delete me")["root"])
    server.handset_texts("2065550100", number, "unread and deleted")
    server.settle()
    inbound = server.call("/message/list", session=key)["response"][0]["id"]
    fingerprint = ok(server.call("/message/get", session=key, id=kept))["fingerprint"]
    assert ok(server.call("/conversation/get", session=key, fingerprint=fingerprint))[
        "conversation"]["unreadCount"] == 1

    assert ok(server.call("/message/delete", session=key, messages=[gone, inbound])) is True
    listed = server.call("/message/list", session=key)
    assert [m["id"] for m in listed["response"]] == [kept]
    assert listed["size"] == 1
    for message_id in (gone, inbound):
        got = ok(server.call("/message/get", session=key, id=message_id))
        assert got["deleted"] is True and got["visible"] is False
        assert_date_in_zone(got["dateDeleted"], zone)
    # Delivery records stay.
    assert ok(server.call("/message/get", session=key, id=gone))["statusCode"] == 6
    conversation = server.call("/conversation/get", session=key, fingerprint=fingerprint)
    assert [m["id"] for m in conversation["response"]["messages"]] == [kept]
    assert conversation["response"]["conversation"]["unreadCount"] == 0
    # Deleting again is harmless.
    assert ok(server.call("/message/delete", session=key, message=gone)) is True


# -- conversations


def test_conversation_list_and_get(server: Landline) -> None:
    device_id, key, number = fresh_line(server)
    to_a = send(server, key, "2065550100", body="to A")
    server.handset_texts("2065550101", number, "from B")
    server.settle()
    send(server, key, "2065550101", body="reply to B")

    listed = server.call("/conversation/list", session=key)
    assert listed["success"] is True and (listed["total"], listed["size"]) == (2, 2)
    b, a = listed["response"]
    assert a["fingerprint"] == to_a["fingerprint"]
    assert isinstance(a["id"], int) and isinstance(a["fingerprint"], str)
    assert a["fingerprint"].isdigit() and a["deviceId"] == device_id
    assert a["address"] == "ptn:/2065550100" and b["address"] == "ptn:/2065550101"
    assert a["deviceAddress"] == f"ptn:/{number[2:]}"
    assert (b["lastMessageBody"], b["unreadCount"], b["new"]) == ("reply to B", 1, True)
    assert a["lastContactMobileNumber"] == "2065550100"
    assert a["lastContactId"] == to_a["tokens"][0]["contact"]
    for field in ("lastMessageDate", "dateCreated", "lastUpdated"):
        assert_date_in_zone(a[field], "America/Los_Angeles")

    second = server.call("/conversation/list", session=key, start=1, limit=1)
    assert [c["fingerprint"] for c in second["response"]] == [a["fingerprint"]]
    assert (second["total"], second["size"]) == (1, 2)
    past = server.call("/conversation/list", session=key, start=2, limit=1)
    assert (past["response"], past["total"], past["size"]) == ([], 0, 2)

    got = server.call("/conversation/get", session=key, fingerprint=b["fingerprint"])
    assert set(got["response"]) == {"conversation", "messages"}
    assert got["response"]["conversation"] == b
    assert [m["body"] for m in got["response"]["messages"]] == ["reply to B", "from B"]
    assert (got["total"], got["size"]) == (2, 2)
    page = server.call(
        "/conversation/get", session=key, fingerprint=b["fingerprint"], start=1, limit=1
    )
    assert [m["body"] for m in page["response"]["messages"]] == ["from B"]
    assert (page["total"], page["size"]) == (1, 2)


def test_conversation_read(server: Landline) -> None:
    _, key, number = fresh_line(server)
    server.handset_texts("2065550100", number, "one")
    server.handset_texts("2065550100", number, "two")
    server.handset_texts("2065550101", number, "elsewhere")
    server.settle()
    fingerprint = next(
        c["fingerprint"]
        for c in ok(server.call("/conversation/list", session=key))
        if c["address"] == "ptn:/2065550100"
    )
    assert ok(server.call("/conversation/read", session=key, fingerprint=fingerprint)) is True
    got = ok(server.call("/conversation/get", session=key, fingerprint=fingerprint))
    assert got["conversation"]["unreadCount"] == 0 and got["conversation"]["new"] is False
    assert all(m["read"] for m in got["messages"])
    # The other conversation is untouched.
    other = [m for m in ok(server.call("/message/list", session=key)) if m["body"] == "elsewhere"]
    assert other[0]["read"] is False


def test_conversation_delete(server: Landline) -> None:
    _, key, number = fresh_line(server)
    to_a = send(server, key, "2065550100", body="to A")
    send(server, key, "2065550101", body="to B")
    server.handset_texts("2065550100", number, "from A")
    server.settle()
    fingerprint = to_a["fingerprint"]

    assert ok(server.call("/conversation/delete", session=key, fingerprint=fingerprint)) is True
    listed = server.call("/conversation/list", session=key)
    assert [c["address"] for c in listed["response"]] == ["ptn:/2065550101"]
    assert listed["size"] == 1
    assert [m["body"] for m in ok(server.call("/message/list", session=key))] == ["to B"]
    gone = server.call("/conversation/get", session=key, fingerprint=fingerprint)
    assert gone["success"] is False and gone["response"]["code"] == -703
    # The delivery record stays, hidden.
    hidden = ok(server.call("/message/get", session=key, id=to_a["root"]))
    assert hidden["deleted"] is True and hidden["statusCode"] == 6

    # A new text brings the conversation back, with only what came after.
    server.handset_texts("2065550100", number, "hello again")
    server.settle()
    back = ok(server.call("/conversation/get", session=key, fingerprint=fingerprint))
    assert [m["body"] for m in back["messages"]] == ["hello again"]
    assert back["conversation"]["unreadCount"] == 1


# -- contacts


def test_contact_save_creates_then_updates_only_the_given_fields(server: Landline) -> None:
    device_id, key, _ = fresh_line(server)
    created = ok(
        server.call(
            "/contact/save", session=key, address="ptn:/2065550100", firstName="Ada",
            lastName="Lovelace", email="ada@example.com", notes="VIP",
        )
    )
    assert isinstance(created["id"], int) and created["deviceId"] == device_id
    assert (created["address"], created["mobileNumber"]) == ("ptn:/2065550100", "2065550100")
    assert (created["firstName"], created["lastName"], created["email"], created["notes"]) == (
        "Ada", "Lovelace", "ada@example.com", "VIP"
    )
    assert_date_in_zone(created["dateCreated"], "America/Los_Angeles")

    updated = ok(server.call("/contact/save", session=key, address="+12065550100", lastName="King"))
    assert updated["id"] == created["id"]
    assert (updated["firstName"], updated["lastName"], updated["email"], updated["notes"]) == (
        "Ada", "King", "ada@example.com", "VIP"
    )
    # The contact a send creates is the same one.
    assert send(server, key, "2065550100")["tokens"][0]["contact"] == created["id"]
    assert ok(server.call("/contact/list", session=key))[0]["firstName"] == "Ada"


def test_contact_get_by_id_and_by_mobile_number(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    saved = ok(server.call("/contact/save", session=key, address="2065550100", firstName="Bo"))
    by_id = ok(server.call("/contact/get", session=key, id=str(saved["id"])))
    assert by_id == saved
    for spelling in ("2065550100", "+12065550100", "ptn:/2065550100"):
        assert ok(server.call("/contact/get", session=key, mobileNumber=spelling)) == saved
    missing = server.call("/contact/get", session=key, mobileNumber="2065550199")
    assert missing["success"] is False and missing["response"]["code"] == -703


def test_contact_list_pages(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    for n in range(5):
        ok(server.call("/contact/save", session=key, address=f"20655501{n:02d}", firstName=f"c{n}"))

    def page(number: int | None, size: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if number is not None:
            params["page"] = number
        if size is not None:
            params["pageSize"] = size
        answer = server.call("/contact/list", session=key, **params)
        assert answer["success"] is True
        assert answer["total"] == len(answer["response"])
        return answer

    everything = page(None, None)
    assert (everything["total"], everything["page"], everything["pages"]) == (5, 1, 1)
    names = [c["firstName"] for c in everything["response"]]
    assert sorted(names) == ["c0", "c1", "c2", "c3", "c4"]
    seen = []
    for number, expected in ((1, 2), (2, 2), (3, 1), (4, 0)):
        answer = page(number, 2)
        assert (answer["total"], answer["page"], answer["pages"]) == (expected, number, 3)
        seen.extend(c["firstName"] for c in answer["response"])
    assert seen == names
    # The document's own example asks for page 0.
    assert page(0, 10)["total"] == 5


def test_contact_delete(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    keep = ok(server.call("/contact/save", session=key, address="2065550100", firstName="K"))
    gone = ok(server.call("/contact/save", session=key, address="2065550101", firstName="G"))
    root = send(server, key, "2065550101", body="before delete")["root"]

    assert ok(server.call("/contact/delete", session=key, contact=str(gone["id"]))) is True
    assert [c["id"] for c in ok(server.call("/contact/list", session=key))] == [keep["id"]]
    again = server.call("/contact/get", session=key, id=str(gone["id"]))
    assert again["success"] is False
    # Messages with the contact remain.
    assert ok(server.call("/message/get", session=key, id=root))["body"] == "before delete"

    # Texting them again brings them back, with nothing of what was saved.
    send(server, key, "2065550101", body="after delete")
    back = ok(server.call("/contact/get", session=key, mobileNumber="2065550101"))
    assert back["id"] == gone["id"]
    assert back["firstName"] == ""
    assert len(ok(server.call("/contact/list", session=key))) == 2


# -- scheduled sends


@pytest.fixture
def timed_server(db_url: str, tmp_path: Path, manual_clock: ManualClock) -> Iterator[Landline]:
    """`timed_landline` without background workers, so `settle()` alone moves texts."""
    server = start_quiet_landline(db_url, tmp_path, clock=manual_clock, sim_receipt_delay_ms=1000)
    yield server
    server.stop()


def test_scheduled_messages_can_be_listed_and_canceled(
    timed_server: Landline, manual_clock: ManualClock
) -> None:
    server = timed_server
    zone = "America/New_York"
    _, key = server.add_line("2065550123", password=None, timezone=zone)
    now = manual_clock.now_ms()
    hour = 3600 * 1000
    later = send(server, key, "2065550100", body="in two hours", scheduledDate=str(now + 2 * hour))
    soon = send(server, key, "2065550101", body="in one hour", scheduledDate=str(now + hour))
    iso = datetime.fromtimestamp((now + 3 * hour) // 1000, ZoneInfo("Europe/Paris")).isoformat()
    third = send(server, key, "2065550102", body="in three hours", scheduledDate=iso)
    server.settle()

    waiting = server.call("/message/scheduled", session=key)
    assert waiting["total"] == 3
    assert [m["body"] for m in waiting["response"]] == [
        "in one hour", "in two hours", "in three hours"
    ]
    first = waiting["response"][0]
    assert first["statusCode"] == 2
    moment = assert_date_in_zone(first["scheduledDate"], zone)
    assert int(moment.timestamp() * 1000) == (now + hour) // 1000 * 1000

    canceled = server.call("/message/cancel", session=key, message=later["root"])
    assert canceled == {"success": True, "response": [later["root"]]}
    assert [m["body"] for m in ok(server.call("/message/scheduled", session=key))] == [
        "in one hour", "in three hours"
    ]

    manual_clock.advance(seconds=4 * 3600)
    server.settle()
    manual_clock.advance(seconds=2)
    server.settle()
    assert ok(server.call("/message/scheduled", session=key)) == []
    for answer in (soon, third):
        assert ok(server.call("/message/get", session=key, id=answer["root"]))["statusCode"] == 6
    never = ok(server.call("/message/get", session=key, id=later["root"]))
    assert never["statusCode"] == 2 and never["deleted"] is True
    assert [s["statusCode"] for s in never["statusHistory"]] == [2]
    submitted = server.store.read_sync(
        lambda c: set(c.scalars(select(sim_submissions.c.message_id)))
    )
    assert int(later["root"]) not in submitted
    assert {int(soon["root"]), int(third["root"])} <= submitted

    # Once sent, or once canceled, there is nothing left to cancel.
    for answer in (later, soon):
        refused = server.call("/message/cancel", session=key, message=answer["root"])
        assert refused["success"] is False and refused["response"]["code"] == -703

"""What a delivery carries: the document's flat message object, as the message was when
its event happened; the opt-out payload; JSON for POST and PUT, query fields for GET."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Landline, postgres_schema
from webhook_fixtures import (
    HANDSET,
    Receiver,
    add_webhook,
    deliver,
    ok,
    secret_of,
    start_server,
)

from landline.core import numbers, times

# The API document's example payload ("Receive a Text Message"), its `"read:true"` typo
# mended: the fields, their order and their JSON types.
DOCUMENT_EXAMPLE: dict[str, Any] = {
    "body": "Thanks for texting, this is an auto reply!",
    "bodySize": 42,
    "visible": True,
    "hasAttachment": False,
    "dateRead": None,
    "bcc": None,
    "finalDestination": "4257772300",
    "messageType": "MO",
    "deleted": False,
    "statusCode": 4,
    "id": 634151298329219072,
    "scheduledDate": None,
    "fingerprint": "132131532",
    "messageTransport": 9,
    "contactId": 3382213402,
    "address": "ptn:/4257772222",
    "read": True,
    "dateCreated": "2015-08-19T16:53:45-07:00",
    "dateDeleted": None,
    "dateDelivered": None,
    "cc": None,
    "finalSource": "4257772222",
    "deviceId": 299538202,
}
# Fields the example shows as null that hold a date once there is one.
DATES = {"dateRead", "scheduledDate", "dateCreated", "dateDeleted", "dateDelivered"}
OPTOUT_FIELDS = [
    "address",
    "contactId",
    "deviceId",
    "finalSource",
    "finalDestination",
    "optOut",
    "keyword",
    "dateCreated",
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Landline]:
    tmp_path = tmp_path_factory.mktemp("payloads")
    if request.param == "sqlite":
        found = start_server(f"sqlite:///{tmp_path / 'l.db'}", tmp_path)
        yield found
        found.stop()
        return
    with postgres_schema() as (_, url):
        found = start_server(url, tmp_path)
        yield found
        found.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.stop()


_numbers = iter(range(2065561000, 2065569999))


def fresh_line(server: Landline, timezone: str = "America/Los_Angeles") -> tuple[int, str, str]:
    number = str(next(_numbers))
    device_id, key = server.add_line(number, timezone=timezone)
    return device_id, key, number


def send(server: Landline, key: str, body: str = "Hello") -> int:
    sent = ok(server.call("/message/send", session=key, contacts=HANDSET, body=body))
    return int(sent["root"])


def assert_like_the_document(payload: dict[str, Any]) -> None:
    assert list(payload) == list(DOCUMENT_EXAMPLE)
    for name, example in DOCUMENT_EXAMPLE.items():
        value = payload[name]
        if name in DATES and value is not None:
            assert isinstance(value, str), (name, value)
            continue
        assert type(value) is type(example), (name, value)


def test_a_received_text_is_delivered_field_by_field_as_in_the_document(
    server: Landline, receiver: Receiver
) -> None:
    device_id, key, number = fresh_line(server, timezone="America/New_York")
    add_webhook(server, key, receiver.url("/message/receive"), "receive")
    server.handset_texts(HANDSET, number, "Thanks for texting, this is an auto reply!")
    server.settle()
    deliver(server)
    [seen] = receiver.wait_for(1)
    assert seen.method == "POST" and seen.path == "/message/receive"
    assert seen.headers["Content-Type"] == "application/json; charset=UTF-8"
    payload = seen.verify(secret_of(server, key))
    assert payload == seen.json
    assert_like_the_document(payload)
    message = ok(server.call("/message/get", session=key, id=str(payload["id"])))
    assert payload == {
        "body": "Thanks for texting, this is an auto reply!",
        "bodySize": 42,
        "visible": True,
        "hasAttachment": False,
        "dateRead": None,
        "bcc": None,
        "finalDestination": number,
        "messageType": "MO",
        "deleted": False,
        "statusCode": 4,
        "id": message["id"],
        "scheduledDate": None,
        "fingerprint": message["fingerprint"],
        "messageTransport": 9,
        "contactId": message["contactId"],
        "address": "ptn:/" + numbers.display(HANDSET),
        "read": False,
        "dateCreated": message["dateCreated"],
        "dateDeleted": None,
        "dateDelivered": message["dateDelivered"],
        "cc": None,
        "finalSource": numbers.display(HANDSET),
        "deviceId": device_id,
    }
    # In the line's time zone, with its offset, as the document writes dates.
    assert payload["dateCreated"].endswith(("-05:00", "-04:00"))
    assert seen.webhook_id.startswith("msg_")


def test_progress_payloads_describe_the_message_as_it_was_at_each_change(
    server: Landline, receiver: Receiver
) -> None:
    _, key, _ = fresh_line(server)
    add_webhook(server, key, receiver.url("/progress"), "progress")
    add_webhook(server, key, receiver.url("/send"), "send")
    message_id = send(server, key, "Status check")
    server.settle()
    # The message is at 6 before anything is delivered.
    assert ok(server.call("/message/get", session=key, id=str(message_id)))["statusCode"] == 6
    deliver(server)
    seen = receiver.wait_for(3)
    by_path: dict[str, list[dict[str, Any]]] = {}
    for request in sorted(seen, key=lambda s: s.event_id):
        by_path.setdefault(request.path, []).append(request.json)
    [sent] = by_path["/send"]
    assert (sent["statusCode"], sent["dateDelivered"], sent["messageType"]) == (2, None, "ZO")
    in_progress, delivered = by_path["/progress"]
    for payload in (sent, in_progress, delivered):
        assert_like_the_document(payload)
        assert payload["id"] == message_id and payload["read"] is True
    assert (in_progress["statusCode"], in_progress["dateDelivered"]) == (1, None)
    assert delivered["statusCode"] == 6 and delivered["dateDelivered"] is not None


def test_read_and_delete_payloads_keep_their_moment(server: Landline, receiver: Receiver) -> None:
    _, key, number = fresh_line(server)
    add_webhook(server, key, receiver.url("/read"), "read")
    add_webhook(server, key, receiver.url("/delete"), "delete")
    server.handset_texts(HANDSET, number, "Read me, then delete me")
    server.settle()
    [inbound] = ok(server.call("/message/list", session=key))
    ok(server.call("/message/read", session=key, message=str(inbound["id"])))
    ok(server.call("/message/delete", session=key, message=str(inbound["id"])))
    deliver(server)
    by_path = {request.path: request.json for request in receiver.wait_for(2)}
    read, deleted = by_path["/read"], by_path["/delete"]
    assert read["read"] is True and read["dateRead"] is not None
    # Deleted by the time it was delivered, but not when it was read.
    assert (read["deleted"], read["visible"], read["dateDeleted"]) == (False, True, None)
    assert (deleted["deleted"], deleted["visible"]) == (True, False)
    assert deleted["dateDeleted"] is not None and deleted["dateRead"] == read["dateRead"]


def test_put_sends_json_and_get_sends_the_same_fields_as_query_parameters(
    server: Landline, receiver: Receiver
) -> None:
    _, key, number = fresh_line(server)
    add_webhook(server, key, receiver.url("/put"), "receive", method="PUT")
    add_webhook(server, key, receiver.url("/get?account=7"), "send", method="GET")
    server.handset_texts(HANDSET, number, "Über & more")
    server.settle()
    send(server, key, "Reply: 50% off")
    deliver(server)
    by_path = {request.path: request for request in receiver.wait_for(2)}
    put, get = by_path["/put"], by_path["/get"]
    secret = secret_of(server, key)
    assert put.method == "PUT" and put.verify(secret)["body"] == "Über & more"
    assert get.method == "GET" and get.body == b""
    assert "Content-Type" not in get.headers
    fields = get.fields
    assert list(fields) == ["account", *DOCUMENT_EXAMPLE]
    assert fields["body"] == "Reply: 50% off"
    assert (fields["visible"], fields["deleted"], fields["dateRead"]) == ("true", "false", "")
    assert fields["statusCode"] == "2" and fields["id"].isdigit()
    assert fields["address"] == "ptn:/" + numbers.display(HANDSET)
    get.verify(secret)


def test_opt_out_changes_carry_their_own_payload(server: Landline, receiver: Receiver) -> None:
    device_id, key, number = fresh_line(server)
    add_webhook(server, key, receiver.url("/optout"), "change", type="optout")
    server.handset_texts(HANDSET, number, " stop ")
    server.settle()
    server.handset_texts(HANDSET, number, "START")
    server.settle()
    deliver(server)
    out, back = (s.json for s in sorted(receiver.wait_for(2), key=lambda s: s.event_id))
    assert list(out) == OPTOUT_FIELDS
    contact = ok(server.call("/contact/get", session=key, mobileNumber=HANDSET))
    assert out == {
        "address": "ptn:/" + numbers.display(HANDSET),
        "contactId": contact["id"],
        "deviceId": device_id,
        "finalSource": numbers.display(HANDSET),
        "finalDestination": number,
        "optOut": True,
        "keyword": "stop",
        "dateCreated": out["dateCreated"],
    }
    times.parse_instant(out["dateCreated"])
    assert (back["optOut"], back["keyword"]) == (False, "START")

"""The calls old Zipwhip clients make beyond the AT&T document (issue 11): user/get and
user/save, the signature, password/change, groups and group sends, blocking, the extra
contact fields and counts, and message/send's extra parameters.

Every call goes over real HTTP to a real server, on SQLite and on PostgreSQL. Bad input
must answer -703 in the envelope and change nothing; a session must see and change only
its own line's data.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Landline, start_quiet_landline
from sqlalchemy import select
from watched_lines import watch_every_event

from landline import accounts
from landline.core import ids, numbers, passwords
from landline.core.events import EventKind
from landline.store import groups as group_store
from landline.store import lines
from landline.store.schema import events, messages

_numbers = itertools.count(1000)


def new_number() -> str:
    """A line or handset number no other test of the module uses."""
    return f"+1425555{next(_numbers):04d}"


def ok(answer: dict[str, Any]) -> Any:
    assert answer["success"] is True, answer
    return answer["response"]


def refused(answer: dict[str, Any], code: int = -703, *words: str) -> str:
    assert answer["success"] is False, answer
    assert answer["response"]["code"] == code, answer
    desc = str(answer["response"]["desc"])
    for word in words:
        assert word in desc, desc
    return desc


class Session:
    """One line's session, as a client holds it."""

    def __init__(self, landline: Landline, number: str | None = None) -> None:
        self.landline = landline
        self.number = number or new_number()
        self.device_id, self.key = landline.add_line(self.number)

    def __call__(self, path: str, **params: Any) -> dict[str, Any]:
        return self.landline.call(path, session=self.key, **params)


@pytest.fixture
def server(shared_landline: Landline) -> Landline:
    return shared_landline


# --------------------------------------------------------------------------- user


def test_user_get_and_save_belong_to_the_signed_in_user(server: Landline) -> None:
    alice, bob = Session(server), Session(server)
    fresh = ok(alice("user/get"))
    assert fresh["user"]["mobileNumber"] == numbers.display(alice.number)
    assert fresh["user"]["firstName"] == "" and fresh["user"]["fullName"] == ""
    assert fresh["user"]["MOCount"] == 0 and fresh["user"]["ZOCount"] == 0
    assert fresh["settings"] == {"signature": "", "timezone": "America/Los_Angeles", "mms": False}
    assert fresh["groups"] == []

    saved = ok(
        alice(
            "user/save",
            firstName=" Ada ",
            lastName="Lovelace",
            businessName="Acme Bakery",
            email="ada@example.com",
            phoneKey="pk-1",
            notes="Owner",
            loc="Seattle",
        )
    )
    assert saved["fullName"] == "Ada Lovelace"
    assert saved["businessName"] == "Acme Bakery" and saved["loc"] == "Seattle"
    assert ok(alice("user/get"))["user"]["email"] == "ada@example.com"

    # Only the fields given change; an empty one clears.
    ok(alice("user/save", notes="", lastName="King"))
    user = ok(alice("user/get"))["user"]
    assert (user["notes"], user["lastName"], user["firstName"]) == ("", "King", "Ada")

    # Bad input: named, and nothing changes.
    refused(alice("user/save", firstName="x" * 256, lastName="Changed"), -703, "firstName")
    assert ok(alice("user/get"))["user"]["lastName"] == "King"

    # Another line sees only its own user.
    assert ok(bob("user/get"))["user"]["firstName"] == ""
    assert server.call("user/get")["response"]["code"] == -100


def test_an_operator_has_a_profile_of_their_own(server: Landline) -> None:
    line = Session(server)
    name = f"op{line.device_id}"
    assert accounts.add_operator(server.store, line.number, name, "operator-pw")
    op_key = ok(server.call("user/login", username=name, password="operator-pw"))
    ok(server.call("user/save", session=op_key, firstName="Olive"))
    ok(line("user/save", firstName="Line owner"))
    assert ok(server.call("user/get", session=op_key))["user"]["firstName"] == "Olive"
    assert ok(line("user/get"))["user"]["firstName"] == "Line owner"


def test_counts_of_texts_in_and_out(server: Landline) -> None:
    line = Session(server)
    friend = new_number()
    ok(line("message/send", contacts=friend, body="one"))
    ok(line("message/send", contacts=friend, body="two"))
    server.handset_texts(friend, line.number, "back")
    server.settle()
    user = ok(line("user/get"))["user"]
    assert (user["MOCount"], user["ZOCount"]) == (1, 2)
    contact = ok(line("contact/get", mobileNumber=friend))
    assert (contact["MOCount"], contact["ZOCount"]) == (1, 2)
    listed = ok(line("contact/list"))
    assert [(c["MOCount"], c["ZOCount"]) for c in listed] == [(1, 2)]


# --------------------------------------------------------------------------- signature


def test_the_signature_is_appended_and_counted_in_the_limit(server: Landline) -> None:
    line = Session(server)
    friend = new_number()
    assert ok(line("user/signature/get")) == ""
    assert ok(line("user/signature/set", signature="  -- Acme Bakery  ")) == "-- Acme Bakery"
    assert ok(line("user/signature/get")) == "-- Acme Bakery"
    assert ok(line("user/get"))["settings"]["signature"] == "-- Acme Bakery"

    token = ok(line("message/send", contacts=friend, body="Your cake is ready"))["tokens"][0]
    sent = ok(line("message/get", id=token["message"]))
    assert sent["body"] == "Your cake is ready\n-- Acme Bakery"
    server.settle()
    assert ok(line("message/get", id=token["message"]))["statusCode"] == 6

    # 240 bytes pass alone but not with 15 more: refused, saying why, and nothing stored.
    before = ok(line("message/list", limit=100))
    desc = refused(line("message/send", contacts=friend, body="x" * 240), -703, "signature")
    assert "255 bytes" in desc
    assert ok(line("message/list", limit=100)) == before

    # An empty signature removes it; too long a one is refused and the old one stays.
    refused(line("user/signature/set", signature="s" * 201), -703, "signature")
    assert ok(line("user/signature/get")) == "-- Acme Bakery"
    ok(line("user/signature/set", signature=""))
    token = ok(line("message/send", contacts=friend, body="x" * 250))["tokens"][0]
    assert ok(line("message/get", id=token["message"]))["body"] == "x" * 250


def test_the_signature_is_the_lines_own(server: Landline) -> None:
    alice, bob = Session(server), Session(server)
    ok(alice("user/signature/set", signature="-- Alice"))
    assert ok(bob("user/signature/get")) == ""
    token = ok(bob("message/send", contacts=new_number(), body="hi"))["tokens"][0]
    assert ok(bob("message/get", id=token["message"]))["body"] == "hi"


# --------------------------------------------------------------------------- password


def test_password_change(server: Landline) -> None:
    line = Session(server)
    other_key = ok(server.call("user/login", username=line.number, password="secret"))

    wrong = server.http.post(
        "/password/change",
        data={"session": line.key, "currentPassword": "nope", "password": "new-password"},
    )
    assert wrong.status_code == 200
    refused(wrong.json(), -100, "currentPassword")
    refused(line("password/change", currentPassword="secret", password="short"), -703, "password")
    refused(line("password/change", password="new-password"), -703, "currentPassword")
    ok(server.call("user/login", username=line.number, password="secret"))

    answer = line("password/change", currentPassword="secret", password="new-password")
    assert answer == {"success": True, "response": "", "sessions": None}
    refused(server.call("user/login", username=line.number, password="secret"), -100)
    ok(server.call("user/login", username=line.number, password="new-password"))
    # Other sessions stay valid unless asked otherwise.
    ok(server.call("user/get", session=other_key))
    ok(line("user/get"))

    ok(
        line(
            "password/change",
            currentPassword="new-password",
            password="newer-password",
            revokeOthers="true",
        )
    )
    assert server.call("user/get", session=other_key)["response"]["code"] == -100
    ok(line("user/get"))


# --------------------------------------------------------------------------- groups


def test_groups_are_named_lists_of_the_lines_contacts(server: Landline) -> None:
    line, stranger = Session(server), Session(server)
    ann, ben = new_number(), new_number()
    group = ok(line("group/save", name="Regulars", type="Group"))
    address = group["address"]
    assert address == f"group:/{group['id']}" and group["memberCount"] == 0

    member = ok(line("group/addMember", group=address, mobileNumber=ann, firstName="Ann"))
    assert member["firstName"] == "Ann" and member["mobileNumber"] == numbers.display(ann)
    ok(line("group/addMember", group=address, mobileNumber=f"ptn:/{ben}", notes="VIP"))
    ok(line("group/addMember", group=address, mobileNumber=ben))  # again: no change
    assert ok(line("group/get", address=address))["memberCount"] == 2
    listed = ok(line("group/members", group=address))
    assert [m["mobileNumber"] for m in listed] == sorted(
        [numbers.display(ann), numbers.display(ben)]
    )
    assert [g["address"] for g in ok(line("user/get"))["groups"]] == [address]

    renamed = ok(line("group/save", address=address, name="Best customers"))
    assert renamed["name"] == "Best customers" and renamed["type"] == "Group"

    # Remove by number or by contact id.
    ok(line("group/removeMember", group=address, member=ann))
    ben_id = ids.contact_id(line.device_id, ben)
    ok(line("group/removeMember", group=address, member=str(ben_id)))
    assert ok(line("group/members", group=address)) == []
    refused(line("group/removeMember", group=address, member=ann), -703, "not found")

    # Another line cannot see, change, fill, empty or send to it.
    refused(stranger("group/get", address=address), -703, "not found")
    refused(stranger("group/save", address=address, name="Mine"), -703, "not found")
    refused(stranger("group/addMember", group=address, mobileNumber=ann), -703, "not found")
    refused(stranger("group/members", group=address), -703, "not found")
    refused(stranger("group/delete", address=address), -703, "not found")
    refused(stranger("message/send", contacts=address, body="hi"), -703, "not found")
    assert ok(line("group/get", address=address))["name"] == "Best customers"

    ok(line("group/delete", address=address))
    refused(line("group/get", address=address), -703, "not found")
    # The members' contacts stay.
    assert ok(line("contact/get", mobileNumber=ann))["firstName"] == "Ann"


def test_bad_group_input_answers_minus_703_and_changes_nothing(server: Landline) -> None:
    line = Session(server)
    # The Java client sends only a type: the group is named after it.
    assert ok(line("group/save", type="Group"))["group"]["displayName"] == "Group"
    refused(line("group/save", name="x" * 256), -703, "name")
    refused(line("group/get"), -703, "address")
    refused(line("group/get", address="group:/abc"), -703, "group address")
    refused(line("group/get", address="group:/123"), -703, "not found")
    group = ok(line("group/save", name="G"))
    refused(
        line("group/addMember", group=group["address"], mobileNumber="12"), -703, "mobileNumber"
    )
    refused(line("group/removeMember", group=group["address"], member="not a number"), -703)
    assert ok(line("group/get", address=group["address"]))["memberCount"] == 0
    assert ok(line("contact/list")) == []
    assert len(ok(line("user/get"))["groups"]) == 2


def test_a_group_send_gives_each_member_their_own_text(server: Landline) -> None:
    line = Session(server)
    ann, ben, quitter, pest = (new_number() for _ in range(4))
    server.handset_texts(quitter, line.number, "STOP")
    server.settle()
    ok(line("contact/block", mobileNumber=pest))
    address = ok(line("group/save", name="Everyone"))["address"]
    for number in (ann, ben, quitter, pest):
        ok(line("group/addMember", group=address, mobileNumber=number))
    direct = new_number()

    result = ok(line("message/send", contacts=f"{address},{direct}", body="Open late today"))
    tokens = {t["contact"]: t for t in result["tokens"]}
    assert len(tokens) == 5
    assert len({t["message"] for t in tokens.values()}) == 5
    assert len({t["fingerprint"] for t in tokens.values()}) == 5
    by_number = {n: tokens[ids.contact_id(line.device_id, n)] for n in (ann, ben, direct)}
    assert all("code" not in t for t in by_number.values())
    assert tokens[ids.contact_id(line.device_id, quitter)]["code"] == -1234
    assert tokens[ids.contact_id(line.device_id, pest)]["code"] == -1235

    server.settle()
    final = {
        number: ok(line("message/get", id=token["message"]))["statusCode"]
        for number, token in [
            *by_number.items(),
            (quitter, tokens[ids.contact_id(line.device_id, quitter)]),
            (pest, tokens[ids.contact_id(line.device_id, pest)]),
        ]
    }
    assert final == {ann: 6, ben: 6, direct: 6, quitter: -1234, pest: -1235}
    # Nothing reached the network for the two it skipped.
    assert server.carrier_copies(int(tokens[ids.contact_id(line.device_id, pest)]["message"])) == 0
    # Each member has a conversation of their own.
    fingerprints = {c["fingerprint"] for c in ok(line("conversation/list", limit=50))}
    assert {t["fingerprint"] for t in tokens.values()} <= fingerprints


def test_a_group_send_is_bounded_by_the_group_size_limit(db_url: str, tmp_path: Path) -> None:
    server = start_quiet_landline(db_url, tmp_path, group_max_members=3)
    try:
        line = Session(server)
        address = ok(line("group/save", name="Small"))["address"]
        members = [new_number() for _ in range(3)]
        for number in members:
            ok(line("group/addMember", group=address, mobileNumber=number))
        refused(
            line("group/addMember", group=address, mobileNumber=new_number()), -703, "3 members"
        )
        assert ok(line("group/get", address=address))["memberCount"] == 3
        # Three members and a direct number: four recipients, over the limit of three.
        before = ok(line("message/list"))
        refused(
            line("message/send", contacts=[address, new_number()], body="hi"), -703, "at most 3"
        )
        assert ok(line("message/list")) == before
        assert len(ok(line("message/send", contacts=address, body="hi"))["tokens"]) == 3
    finally:
        server.stop()


def test_a_thousand_member_group_send_ends_once_for_every_member(server: Landline) -> None:
    line = Session(server)
    address = ok(line("group/save", name="Big"))["address"]
    group_id = int(address.split("/")[1])
    # Last four digits 1000-1999: numbers the simulated network delivers at once.
    members = [f"+1206{n:07d}" for n in range(7_001_000, 7_002_000)]
    now = server.clock.now_ms()

    def add_all(connection: Any) -> None:
        for number in members:
            group_store.add_member(
                connection,
                device_id=line.device_id,
                group_id=group_id,
                number=number,
                contact_id=ids.contact_id(line.device_id, number),
                now=now,
            )

    server.store.write_sync(add_all)
    assert ok(line("group/get", address=address))["memberCount"] == 1000
    result = ok(line("message/send", contacts=address, body="Sale today"))
    assert len(result["tokens"]) == 1000
    sent = [int(t["message"]) for t in result["tokens"]]

    def column(name: str) -> dict[int, Any]:
        return server.store.read_sync(
            lambda c: dict(
                c.execute(select(messages.c.id, messages.c[name]).where(messages.c.id.in_(sent)))
                .tuples()
                .all()
            )
        )

    # Stored in batches of 50, in order, each due 100 ms after the one before or when it
    # was stored if later (no worker has run yet).
    created = min(column("created_at").values())
    due = [at for _, at in sorted(column("due_at").items())]
    batches = [due[start : start + 50] for start in range(0, 1000, 50)]
    assert all(len(set(batch)) == 1 for batch in batches)
    starts = [batch[0] for batch in batches]
    assert starts == sorted(starts)
    assert all(at >= created + 100 * index for index, at in enumerate(starts))

    deadline = time.monotonic() + 60
    statuses = column("status")
    while set(statuses.values()) != {6} and time.monotonic() < deadline:
        server.settle(rounds=500)
        time.sleep(0.05)
        statuses = column("status")
    assert len(statuses) == 1000 and set(statuses.values()) == {6}
    assert len(set(column("ended_at"))) == 1000


# --------------------------------------------------------------------------- blocking


def _receive_events(landline: Landline, message_ids: list[int]) -> int:
    return len(
        landline.store.read_sync(
            lambda c: c.execute(
                select(events.c.id).where(
                    events.c.kind == str(EventKind.MESSAGE_RECEIVE),
                    events.c.message_id.in_(message_ids),
                )
            ).all()
        )
    )


def _inbound_from(landline: Landline, device_id: int, number: str) -> list[Any]:
    return landline.store.read_sync(
        lambda c: c.execute(
            select(messages).where(
                messages.c.device_id == device_id,
                messages.c.contact_number == number,
                messages.c.direction == "MO",
            )
        ).all()
    )


def test_a_blocked_numbers_texts_are_kept_hidden_and_fire_nothing(server: Landline) -> None:
    line, other = Session(server), Session(server)
    watch_every_event(server, line.device_id)
    pest = new_number()
    server.handset_texts(pest, line.number, "first")
    server.settle()
    blocked = ok(line("contact/block", mobileNumber=pest))
    assert blocked["blocked"] is True
    assert [c["blocked"] for c in ok(line("contact/list"))] == [True]
    # Blocking on one line does not block on another.
    server.handset_texts(pest, other.number, "to the other line")
    server.handset_texts(pest, line.number, "second")
    server.handset_texts(pest, line.number, "HELP")
    server.settle()

    stored = _inbound_from(server, line.device_id, pest)
    assert sorted(row.body for row in stored) == ["HELP", "first", "second"]
    hidden = [row for row in stored if row.body != "first"]
    assert all(row.blocked and row.deleted_at is not None for row in hidden)
    assert _receive_events(server, [row.id for row in hidden]) == 0
    assert _receive_events(server, [row.id for row in stored if row.body == "first"]) == 1
    # Lists and conversations show only what came before the block; no HELP reply went.
    assert [m["body"] for m in ok(line("message/list"))] == ["first"]
    conversation = ok(line("conversation/list"))[0]
    assert conversation["lastMessageBody"] == "first" and conversation["unreadCount"] == 1
    # The other line got its text as usual.
    assert [m["body"] for m in ok(other("message/list"))] == ["to the other line"]

    # Sends to it end at once with -1235, and nothing reaches the network.
    token = ok(line("message/send", contacts=pest, body="hello?"))["tokens"][0]
    assert token["code"] == -1235 and "blocked" in token["desc"]
    server.settle()
    assert ok(line("message/get", id=token["message"]))["statusCode"] == -1235
    assert server.carrier_copies(int(token["message"])) == 0

    # Unblocked, texts flow both ways again.
    assert ok(line("contact/unblock", mobileNumber=f"ptn:/{pest}"))["blocked"] is False
    token = ok(line("message/send", contacts=pest, body="welcome back"))["tokens"][0]
    assert "code" not in token
    server.handset_texts(pest, line.number, "thanks")
    server.settle()
    assert ok(line("message/get", id=token["message"]))["statusCode"] == 6
    assert ok(line("message/list"))[0]["body"] == "thanks"


def test_blocking_ends_waiting_texts_and_a_blocked_stop_still_counts(server: Landline) -> None:
    line = Session(server)
    pest = new_number()
    later = server.clock.now_ms() + 3_600_000
    token = ok(line("message/send", contacts=pest, body="later", scheduledDate=later))["tokens"][0]
    contact_id = ok(line("contact/get", mobileNumber=pest))["id"]
    ok(line("contact/block", contact=contact_id))
    assert ok(line("message/get", id=token["message"]))["statusCode"] == -1235
    assert ok(line("message/scheduled")) == []

    server.handset_texts(pest, line.number, "STOP")
    server.settle()
    contact = ok(line("contact/get", mobileNumber=pest))
    assert contact["optOut"] is True and contact["blocked"] is True
    # The line said nothing back: no confirmation to a blocked number.
    outbound = [m for m in ok(line("message/list", limit=50)) if m["messageType"] == "ZO"]
    assert [m["body"] for m in outbound] == ["later"]


def test_bad_block_input_changes_nothing_and_lines_are_apart(server: Landline) -> None:
    line, stranger = Session(server), Session(server)
    friend = new_number()
    ok(line("contact/save", address=friend, firstName="Fay"))
    refused(line("contact/block"), -703, "mobileNumber or contact")
    refused(line("contact/block", mobileNumber="555"), -703, "mobileNumber")
    refused(line("contact/block", contact="12345"), -703, "not found")
    friend_id = ok(line("contact/get", mobileNumber=friend))["id"]
    # Another line cannot block this line's contact by its id.
    refused(stranger("contact/block", contact=str(friend_id)), -703, "not found")
    assert ok(line("contact/get", mobileNumber=friend))["blocked"] is False
    # Blocking a number on another line leaves this line's sends alone.
    ok(stranger("contact/block", mobileNumber=friend))
    assert "code" not in ok(line("message/send", contacts=friend, body="hi"))["tokens"][0]


# --------------------------------------------------------------------------- contacts


CONTACT_FIELDS = {
    "businessName": "Fay's Flowers",
    "jobTitle": "Owner",
    "addressLine1": "1 Pike St",
    "addressLine2": "Suite 2",
    "country": "US",
    "zipcode": "98101",
    "custom1": "gold",
    "custom2": "net 30",
    "birthday": "1990-04-01",
}


def test_contact_save_keeps_the_fields_old_clients_send(server: Landline) -> None:
    line = Session(server)
    friend = new_number()
    saved = ok(line("contact/save", address=friend, firstName="Fay", **CONTACT_FIELDS))
    assert {key: saved[key] for key in CONTACT_FIELDS} == CONTACT_FIELDS
    got = ok(line("contact/get", mobileNumber=friend))
    assert {key: got[key] for key in CONTACT_FIELDS} == CONTACT_FIELDS
    assert (got["blocked"], got["MOCount"], got["ZOCount"]) == (False, 0, 0)

    # Absent leaves a field; empty clears it.
    cleared = ok(line("contact/save", address=friend, custom1="", jobTitle=""))
    assert (cleared["custom1"], cleared["jobTitle"]) == ("", "")
    assert cleared["custom2"] == "net 30" and cleared["firstName"] == "Fay"

    refused(line("contact/save", address=friend, custom2="x" * 256, country="NZ"), -703, "custom2")
    assert ok(line("contact/get", mobileNumber=friend))["country"] == "US"


# --------------------------------------------------------------------------- message/send


def test_send_takes_a_saved_contact_by_id_and_ignores_from_name_and_ads(server: Landline) -> None:
    line, stranger = Session(server), Session(server)
    friend = new_number()
    contact_id = ok(line("contact/save", address=friend, firstName="Fay"))["id"]
    result = ok(
        line(
            "message/send",
            contactId=str(contact_id),
            body="Your order shipped",
            fromName="Acme",
            advertisement="Sent from Acme",
        )
    )
    (token,) = result["tokens"]
    assert token["contact"] == contact_id
    message = ok(line("message/get", id=token["message"]))
    assert message["body"] == "Your order shipped"
    assert message["finalDestination"] == numbers.display(friend)

    refused(line("message/send", contactId="987654321", body="hi"), -703, "not found")
    refused(stranger("message/send", contactId=str(contact_id), body="hi"), -703, "not found")
    refused(line("message/send", body="hi"), -703, "contacts")
    refused(line("message/send", contacts="group:/x", body="hi"), -703, "group:/x")
    assert len(ok(line("message/list"))) == 1


def test_wrong_current_passwords_are_throttled_like_logins(server: Landline) -> None:
    line = Session(server)
    for _ in range(5):
        refused(line("password/change", currentPassword="guess", password="whatever-1"), -100)
    throttled = server.http.post(
        "/password/change",
        data={"session": line.key, "currentPassword": "secret", "password": "whatever-1"},
    )
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    refused(throttled.json(), -429)
    # The password did not change, and the session still works.
    stored = server.store.read_sync(lambda c: lines.password_hash_of(c, line.device_id, None))
    assert passwords.verify("secret", stored)
    ok(line("user/get"))


def test_an_operator_changes_only_their_own_password(server: Landline) -> None:
    line = Session(server)
    name = f"op{line.device_id}"
    assert accounts.add_operator(server.store, line.number, name, "operator-pw")
    op_key = ok(server.call("user/login", username=name, password="operator-pw"))
    ok(
        server.call(
            "password/change",
            session=op_key,
            currentPassword="operator-pw",
            password="operator-new",
            revokeOthers="true",
        )
    )
    ok(server.call("user/login", username=name, password="operator-new"))
    ok(server.call("user/login", username=line.number, password="secret"))
    # The operator's revokeOthers did not touch the line's own sessions.
    ok(line("user/get"))


def test_the_new_answers_match_the_openapi_document(server: Landline) -> None:
    from test_openapi import fetch

    described = fetch(server)
    line = Session(server)
    friend = new_number()

    def check(path: str, **params: Any) -> Any:
        answer = line(path, **params)
        described.check(f"/{path}", answer)
        return answer["response"]

    check("user/save", firstName="Ada")
    check("user/signature/set", signature="-- Ada")
    check("user/signature/get")
    group = check("group/save", name="Team")
    check("group/get", address=group["address"])
    check("group/addMember", group=group["address"], mobileNumber=friend)
    check("group/members", group=group["address"])
    check("user/get")
    blocked = new_number()
    check("contact/block", mobileNumber=blocked)
    check("message/send", contacts=[group["address"], blocked], body="hi")
    check("contact/unblock", mobileNumber=blocked)
    check("contact/save", address=friend, businessName="Co", custom2="x")
    check("group/removeMember", group=group["address"], member=friend)
    check("group/delete", address=group["address"])
    check("password/change", currentPassword="secret", password="changed-password")

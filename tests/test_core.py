"""The pure rules of landline/core, without a server: numbers, ids, times, limits."""

from __future__ import annotations

import itertools

import pytest

from landline.core import ids, numbers, optout, outbound, passwords, sessions, status, times
from landline.core.clock import ManualClock
from landline.core.routes import Kind, RouteTable

# -- phone numbers


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("2065550123", "+12065550123"),  # 10 digits: the US
        ("+12065550123", "+12065550123"),
        ("12065550123", "+12065550123"),  # 11 digits with the leading 1
        ("ptn:/2065550123", "+12065550123"),
        ("PTN:/+442071838750", "+442071838750"),
        ("ptn://12065550123", "+12065550123"),
        (" 12065550123", "+12065550123"),  # a "+" lost in a query string
        (" 442071838750", "+442071838750"),
        ("+44 20 7183 8750", "+442071838750"),
        ("(206) 555-0123", "+12065550123"),
        ("206.555.0123", "+12065550123"),
        ("1-206-555-0123", "+12065550123"),
        (" 2065550123 ", "+12065550123"),
        ("+3545551234", "+3545551234"),  # E.164 with fewer than 11 digits (Iceland)
    ],
)
def test_numbers_clients_write_become_e164(raw: str, e164: str) -> None:
    assert numbers.to_e164(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "206555012",  # 9 digits
        "+1206555012a",
        "1234567890",  # no US area code starts with 1
        "02065550123",
        "+999999999999",  # no such country
        "+1234567890123456",  # 16 digits: longer than E.164 allows
        "ptn:/",
        "+2065550123",  # a "+" says E.164, and +20 65550123 is not a number
    ],
)
def test_invalid_numbers_are_refused(raw: str) -> None:
    with pytest.raises(numbers.InvalidNumber) as caught:
        numbers.to_e164(raw)
    assert caught.value.raw == raw


def test_numbers_are_displayed_as_the_api_writes_them() -> None:
    assert numbers.display("+12065550123") == "2065550123"
    assert numbers.display("+442071838750") == "+442071838750"
    assert numbers.address("+12065550123") == "ptn:/2065550123"
    assert numbers.address("+442071838750") == "ptn:/+442071838750"
    # What the API writes, it reads back as the same number.
    for e164 in ("+12065550123", "+442071838750"):
        assert numbers.to_e164(numbers.address(e164)) == e164


# -- ids


def test_snowflake_ids_strictly_increase_and_never_repeat() -> None:
    generator = ids.SnowflakeGenerator(7, ManualClock(1_700_000_000_000))
    # A frozen clock forces the sequence to carry over into following milliseconds.
    taken = generator.take(100_000)
    assert all(a < b for a, b in itertools.pairwise(taken))
    assert len(set(taken)) == len(taken)
    assert all(0 < i < 2**63 for i in (taken[0], taken[-1]))


def test_snowflake_ids_of_two_nodes_never_collide() -> None:
    clock = ManualClock(1_700_000_000_000)
    first, second = ids.SnowflakeGenerator(1, clock), ids.SnowflakeGenerator(2, clock)
    seen: set[int] = set()
    for _ in range(5_000):
        seen.add(first.next_id())
        seen.add(second.next_id())
        clock.advance(ms=1)
    assert len(seen) == 10_000


def test_snowflake_id_carries_its_time() -> None:
    clock = ManualClock(1_724_000_000_123)
    generator = ids.SnowflakeGenerator(1023, clock)
    assert ids.id_time_ms(generator.next_id()) == 1_724_000_000_123
    clock.advance(seconds=90)
    assert ids.id_time_ms(generator.next_id()) == 1_724_000_090_123


def test_snowflake_ids_never_go_backwards_when_the_clock_does() -> None:
    clock = ManualClock(1_724_000_000_000)
    generator = ids.SnowflakeGenerator(3, clock)
    before = generator.take(10)
    clock.advance(seconds=-3600)  # the wall clock is set back an hour
    after = generator.take(10)
    assert min(after) > max(before)
    assert len(set(before + after)) == 20


def test_snowflake_node_must_fit() -> None:
    clock = ManualClock(1_724_000_000_000)
    with pytest.raises(ValueError):
        ids.SnowflakeGenerator(ids.MAX_NODE + 1, clock)
    with pytest.raises(ValueError):
        ids.SnowflakeGenerator(-1, clock)


def test_contact_ids_and_fingerprints_are_stable() -> None:
    assert ids.contact_id(309626613, "+12065550100") == ids.contact_id(309626613, "+12065550100")
    assert ids.contact_id(309626613, "+12065550100") != ids.contact_id(309626613, "+12065550101")
    # The same number on another line is another contact.
    assert ids.contact_id(309626613, "+12065550100") != ids.contact_id(309626614, "+12065550100")
    assert 0 < ids.contact_id(1, "+12065550100") < 2**53

    group = ["+12065550100", "+12065550101", "+442071838750"]
    fp = ids.fingerprint(309626613, group)
    assert fp.isdigit()
    assert ids.fingerprint(309626613, reversed(group)) == fp
    assert ids.fingerprint(309626613, [*group, group[0]]) == fp
    assert ids.fingerprint(309626614, group) != fp
    assert ids.fingerprint(309626613, group[:2]) != fp


# -- times

SUMMER_MS = 1_724_000_000_000  # 2024-08-18T16:53:20Z
WINTER_MS = 1_705_000_000_000  # 2024-01-11T19:06:40Z


def test_times_render_with_the_zone_offset() -> None:
    la = "America/Los_Angeles"
    assert times.render(SUMMER_MS, la) == "2024-08-18T09:53:20-07:00"
    assert times.render(WINTER_MS, la) == "2024-01-11T11:06:40-08:00"
    assert times.render(SUMMER_MS, "UTC") == "2024-08-18T16:53:20+00:00"
    assert times.render(SUMMER_MS, "Asia/Kolkata") == "2024-08-18T22:23:20+05:30"
    assert times.render(None, la) is None
    with pytest.raises(times.InvalidTime):
        times.render(SUMMER_MS, "Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1724000000000", SUMMER_MS),
        (" 1724000000000 ", SUMMER_MS),
        ("2024-08-18T09:53:20-07:00", SUMMER_MS),
        ("2024-08-18T16:53:20Z", SUMMER_MS),
        ("2024-08-18T16:53:20+00:00", SUMMER_MS),
        ("2024-08-18T16:53:20.001+00:00", SUMMER_MS + 1),
        ("2024-08-18T16:53:20.999+00:00", SUMMER_MS + 999),
    ],
)
def test_instants_are_read(text: str, ms: int) -> None:
    assert times.parse_instant(text) == ms


@pytest.mark.parametrize(
    "text",
    [
        "2024-08-18T16:53:20",  # no offset: which zone?
        "2024-08-18",
        "1724000000",  # seconds, not milliseconds
        "17240000000000",
        "-1724000000000",
        "",
        "tomorrow",
    ],
)
def test_ambiguous_or_bad_instants_are_refused(text: str) -> None:
    with pytest.raises(times.InvalidTime):
        times.parse_instant(text)


def test_schedule_window() -> None:
    now = SUMMER_MS
    times.check_schedule(now, now)
    times.check_schedule(now - 60_000, now)  # a minute of clock skew is forgiven
    times.check_schedule(now + 365 * 24 * 3600 * 1000, now)
    with pytest.raises(times.InvalidTime):
        times.check_schedule(now - 60_001, now)
    with pytest.raises(times.InvalidTime):
        times.check_schedule(now + 367 * 24 * 3600 * 1000, now)


# -- routes


def test_longest_route_prefix_wins() -> None:
    table = RouteTable.parse("+1=simulator, +1206=local ,44=europe")
    assert table.connector_for("+12065550123") == "local"
    assert table.connector_for("+13125550123") == "simulator"
    assert table.connector_for("+442071838750") == "europe"
    assert table.connector_for("+3545551234") is None
    assert RouteTable.parse("").connector_for("+12065550123") is None


@pytest.mark.parametrize("spec", ["+1", "+1=", "=simulator", "+1x=simulator", "+=simulator"])
def test_bad_routes_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        RouteTable.parse(spec)


# -- opt-out keywords


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("STOP", optout.Keyword.STOP),
        ("  stop \n", optout.Keyword.STOP),
        ("StopAll", optout.Keyword.STOP),
        ("unsubscribe", optout.Keyword.STOP),
        ("Cancel", optout.Keyword.STOP),
        ("END", optout.Keyword.STOP),
        ("quit", optout.Keyword.STOP),
        ("REVOKE", optout.Keyword.STOP),
        ("OptOut", optout.Keyword.STOP),
        ("UNSTOP", optout.Keyword.START),
        (" start", optout.Keyword.START),
        ("Yes", optout.Keyword.START),
        ("HELP", optout.Keyword.HELP),
        ("info ", optout.Keyword.HELP),
        ("stop please", None),
        ("please stop", None),
        ("STOP.", None),
        ("opt out", None),
        ("yes please", None),
        ("", None),
        ("Hello", None),
    ],
)
def test_opt_out_keywords(body: str, keyword: optout.Keyword | None) -> None:
    assert optout.classify(body) is keyword


# -- sessions


def test_session_keys_look_like_the_original_and_are_kept_hashed() -> None:
    key = sessions.new_key(309626613)
    uuid_part, device = key.split(":")
    assert len(uuid_part) == 36 and device == "309626613"
    assert sessions.device_of(key) == 309626613
    assert sessions.device_of("nonsense") is None
    hashed = sessions.hash_key(key)
    assert key not in hashed and uuid_part not in hashed
    assert hashed == sessions.hash_key(key)
    assert hashed == sessions.hash_key(f" {key.upper()} ")
    assert hashed != sessions.hash_key(sessions.new_key(309626613))


def test_passwords_are_kept_as_salted_slow_hashes() -> None:
    stored = passwords.hash_password("correct horse")
    assert "correct horse" not in stored
    assert stored.startswith("$argon2id$")
    assert stored != passwords.hash_password("correct horse")  # salted
    assert passwords.verify("correct horse", stored)
    assert not passwords.verify("correct horse ", stored)
    assert not passwords.verify("", stored)
    assert not passwords.verify("correct horse", None)
    assert not passwords.verify("correct horse", "")
    # A damaged hash refuses the login instead of failing.
    assert not passwords.verify("x", "pbkdf2_sha256$many$zz$00")
    assert not passwords.verify("x", "pbkdf2_sha256$0$00$00")
    assert not passwords.verify("x", "$argon2id$v=19$m=19456,t=2,p=1$zz$zz")
    assert not passwords.verify("x", "md5$1$00$00")
    assert not passwords.verify("x", "plain")


# -- what a send may be


def _plan(recipients: list[str], body: str = "Hi") -> outbound.SendPlan:
    counter = itertools.count(1_000)
    return outbound.plan_send(
        device_id=309626613,
        line_number="+12065550123",
        numbers=recipients,
        body=body,
        now=SUMMER_MS,
        scheduled_at=None,
        next_id=lambda: next(counter),
    )


def _recipients(count: int) -> list[str]:
    return [f"+1206555{index:04d}" for index in range(100, 100 + count)]


def test_a_send_takes_at_most_fifteen_recipients() -> None:
    assert len(_plan(_recipients(15)).messages) == 15
    with pytest.raises(outbound.InvalidSend, match="has 16 numbers"):
        _plan(_recipients(16))
    with pytest.raises(outbound.InvalidSend):
        _plan([])


def test_repeated_recipients_are_one_recipient() -> None:
    recipients = _recipients(15)
    plan = _plan(recipients + recipients[:5])
    assert [m.number for m in plan.messages] == recipients
    single = _plan(["+12065550100", "+12065550100"])
    assert len(single.messages) == 1
    # One recipient: the conversation is theirs and the message is the root.
    assert single.fingerprint == single.messages[0].fingerprint
    assert single.root_id == single.messages[0].message_id


def test_a_group_send_has_one_message_per_recipient() -> None:
    plan = _plan(_recipients(3))
    message_ids = [m.message_id for m in plan.messages]
    assert len(set(message_ids)) == 3 and plan.root_id not in message_ids
    assert plan.fingerprint == ids.fingerprint(309626613, _recipients(3))
    assert plan.fingerprint not in {m.fingerprint for m in plan.messages}
    assert plan.available_at == plan.created_at == SUMMER_MS


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ("a" * 250, True),
        ("a" * 251, False),
        ("é" * 125, True),  # two bytes each
        ("é" * 126, False),
        ("😀" * 62 + "ab", True),  # four bytes each
        ("😀" * 63, False),
        ("", False),
    ],
)
def test_body_limit_counts_utf8_bytes(body: str, ok: bool) -> None:
    if ok:
        assert _plan(["+12065550100"], body).body == body
    else:
        with pytest.raises(outbound.InvalidSend):
            _plan(["+12065550100"], body)


# -- status codes


# Which codes end a message is checked on the server, along every path a text can take:
# tests/test_lifecycle.py, test_every_way_a_text_ends_is_one_final_code_that_nothing_later_changes.


def test_status_codes_are_described_as_the_document_does() -> None:
    assert status.describe(-1234) == "Recipient sent STOP message"
    assert status.describe(6) == "Delivered, confirmed by delivery receipt"
    assert status.describe(12345) == "Unknown"


def test_a_route_may_serve_one_kind_of_message() -> None:
    table = RouteTable.parse("+1=smpp:main, mms:+1=http:twilio, +1206=simulator")
    assert table.connector_for("+12065550100") == "simulator"
    assert table.connector_for("+12065550100", Kind.MMS) == "simulator"
    assert table.connector_for("+13125550100") == "smpp:main"
    assert table.connector_for("+13125550100", Kind.MMS) == "http:twilio"
    assert table.connector_for("+442071234567") is None
    assert table.connectors() == {"smpp:main", "http:twilio", "simulator"}
    with pytest.raises(ValueError, match="sms or mms"):
        RouteTable.parse("fax:+1=simulator")

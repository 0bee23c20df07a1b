"""The HTTP upstream connector against a local Twilio-compatible provider: a picture
message out with a working signed media link, status callbacks into statuses, inbound
MMS with their media fetched into our storage, and signatures checked both ways by the
`twilio` package's own RequestValidator. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from conftest import Landline, free_port
from hypothesis import given
from hypothesis import strategies as st
from mms_fixtures import jpeg, png, row_counts
from twilio.request_validator import RequestValidator
from twilio_fake import SID, TOKEN, FakeTwilio, fields_named

from landline.carriers.http_upstream import signing
from landline.core.clock import ManualClock
from landline.core.media_links import LinkRefused, MediaLinks
from landline.runtime import Runtime
from landline.settings import Settings

LINE = "2065550140"
HANDSET = "+12065550177"


@pytest.fixture
def provider() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.start()
    yield fake
    fake.stop()


class Upstream:
    def __init__(self, landline: Landline, provider: FakeTwilio, session: str) -> None:
        self.landline = landline
        self.provider = provider
        self.session = session

    def status(self, message_id: int) -> int:
        got = self.landline.call("/message/get", session=self.session, id=message_id)
        return int(got["response"]["statusCode"])

    def send_picture(self, picture: bytes, to: str = HANDSET) -> int:
        answer = self.landline.http.post(
            "/messaging/send",
            params={"session": self.session},
            data={"to": to, "body": "Photo from the office"},
            files={"image": ("office.jpg", picture, "image/jpeg")},
        ).json()
        assert answer["success"] is True, answer
        return int(answer["response"]["id"])


@pytest.fixture
def upstream(
    db_url: str, tmp_path: Path, provider: FakeTwilio, manual_clock: ManualClock
) -> Iterator[Upstream]:
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        sim_receipt_delay_ms=0,
        poll_interval_ms=50,
        routes="mms:+1=twilio,+1=simulator",
        public_url=f"http://127.0.0.1:{port}",
        upstream_account_sid=SID,
        upstream_auth_token=TOKEN,
        upstream_base_url=provider.url,
    )
    landline = Landline(Runtime(settings, clock=manual_clock, workers=False), port)
    landline.start()
    _, session = landline.add_line(LINE, mms=True)
    try:
        yield Upstream(landline, provider, session)
    finally:
        landline.run(landline.runtime.connectors["twilio"].stop)
        landline.stop()


def test_a_picture_reaches_the_provider_with_a_working_media_link(upstream: Upstream) -> None:
    picture = jpeg(100_000, seed=2)
    message_id = upstream.send_picture(picture)
    upstream.landline.settle()

    (request,) = upstream.provider.requests
    assert fields_named(request, "To") == [HANDSET]
    assert fields_named(request, "From") == ["+1" + LINE]
    assert fields_named(request, "Body") == ["Photo from the office"]
    callback = fields_named(request, "StatusCallback")[0]
    assert callback == f"{upstream.landline.url}/carrier/twilio/status?message={message_id}"
    (media_url,) = fields_named(request, "MediaUrl")
    assert upstream.status(message_id) == 1

    # The provider fetches the link with no session: the signature is the permission.
    fetched = httpx.get(media_url, timeout=30)
    assert fetched.status_code == 200
    assert fetched.content == picture
    assert fetched.headers["content-type"] == "image/jpeg"
    parts = urlsplit(media_url)
    signature = parse_qs(parts.query)["sig"][0]
    forged = media_url.replace(
        signature, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    )
    assert httpx.get(forged, timeout=30).status_code == 403
    # Past its lifetime the same link stops working.
    upstream.landline.clock.advance(seconds=25 * 3600)  # type: ignore[attr-defined]
    assert httpx.get(media_url, timeout=30).status_code == 403


def test_status_callbacks_move_the_message_and_unsigned_ones_are_refused(
    upstream: Upstream,
) -> None:
    message_id = upstream.send_picture(jpeg(10_000))
    upstream.landline.settle()
    (request,) = upstream.provider.requests
    callback = fields_named(request, "StatusCallback")[0]
    sid_params = {"MessageSid": "MM123", "AccountSid": SID}

    sent = upstream.provider.callback(callback, {**sid_params, "MessageStatus": "sent"})
    assert sent.status_code == 200
    assert upstream.status(message_id) == 1

    forged = upstream.provider.callback(
        callback, {**sid_params, "MessageStatus": "undelivered"}, token="not-the-token"
    )
    unsigned = upstream.provider.callback(
        callback, {**sid_params, "MessageStatus": "undelivered"}, signed=False
    )
    assert forged.status_code == 403 and unsigned.status_code == 403
    assert upstream.status(message_id) == 1

    delivered = upstream.provider.callback(callback, {**sid_params, "MessageStatus": "delivered"})
    assert delivered.status_code == 200
    assert upstream.status(message_id) == 6
    # A late or repeated report cannot leave the final status.
    upstream.provider.callback(callback, {**sid_params, "MessageStatus": "failed"})
    assert upstream.status(message_id) == 6


def test_an_undelivered_callback_ends_the_message_in_error(upstream: Upstream) -> None:
    message_id = upstream.send_picture(jpeg(10_000))
    upstream.landline.settle()
    callback = fields_named(upstream.provider.requests[0], "StatusCallback")[0]
    answer = upstream.provider.callback(
        callback, {"MessageSid": "MM9", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    )
    assert answer.status_code == 200
    assert upstream.status(message_id) == 7


def test_a_provider_refusal_ends_the_message_and_a_5xx_is_retried(upstream: Upstream) -> None:
    refused = upstream.send_picture(jpeg(5_000), to="+12065550004")
    upstream.landline.settle()
    assert upstream.status(refused) == 5

    upstream.provider.fail_with = [503]
    retried = upstream.send_picture(jpeg(5_000, seed=4))
    upstream.landline.run(upstream.landline.runtime.dispatcher.run_once)
    assert upstream.status(retried) == 2  # back in the outbox, for later
    upstream.landline.clock.advance(seconds=3600)  # type: ignore[attr-defined]
    upstream.landline.settle()
    assert upstream.status(retried) == 1
    assert len(upstream.provider.requests) == 3


def test_texts_still_take_their_own_route(upstream: Upstream) -> None:
    answer = upstream.landline.call(
        "/message/send", session=upstream.session, contacts=HANDSET, body="plain text"
    )
    assert answer["success"] is True
    upstream.landline.settle()
    assert upstream.provider.requests == []
    assert upstream.landline.carrier_copies(int(answer["response"]["root"])) == 1


def test_an_mms_with_no_mms_route_is_refused_at_send_time(upstream: Upstream) -> None:
    before = upstream.landline.store.read_sync(row_counts)
    answer = upstream.landline.http.post(
        "/messaging/send",
        params={"session": upstream.session},
        data={"to": "+442071838750"},
        files={"image": ("a.png", png())},
    ).json()
    assert answer["success"] is False and "no MMS route" in answer["errorDesc"]
    assert upstream.landline.store.read_sync(row_counts) == before


def test_an_inbound_mms_is_fetched_into_our_storage_once(upstream: Upstream) -> None:
    picture = png((64, 48))
    upstream.provider.media["ME1"] = (picture, "image/png")
    inbound_url = f"{upstream.landline.url}/carrier/twilio/inbound"
    params = {
        "MessageSid": "MMinbound1",
        "AccountSid": SID,
        "From": HANDSET,
        "To": "+1" + LINE,
        "Body": "Here it is",
        "NumMedia": "1",
        "MediaUrl0": f"{upstream.provider.url}/media/ME1",
        "MediaContentType0": "image/png",
    }
    before = upstream.landline.store.read_sync(row_counts)
    assert upstream.provider.callback(inbound_url, params, signed=False).status_code == 403
    assert upstream.landline.store.read_sync(row_counts) == before

    first = upstream.provider.callback(inbound_url, params)
    assert first.status_code == 200 and b"<Response>" in first.content
    again = upstream.provider.callback(inbound_url, params)
    assert again.status_code == 200

    listing = upstream.landline.call("/message/list", session=upstream.session)["response"]
    inbound = [m for m in listing if m["messageType"] == "MO"]
    assert len(inbound) == 1
    assert inbound[0]["hasAttachment"] is True and inbound[0]["body"] == "Here it is"
    (part,) = upstream.landline.call(
        "/messageAttachment/list", session=upstream.session, messageId=inbound[0]["id"]
    )["response"]
    assert part["mimeType"] == "image/png" and part["fileSizeBytes"] == len(picture)
    served = upstream.landline.http.get(
        "/hostedContent/get", params={"session": upstream.session, "storageKey": part["storageKey"]}
    )
    assert served.content == picture


# -- signatures: ours against the vendor's


@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(["To", "From", "Body", "MediaUrl0", "NumMedia", "Ä"]),
            st.text(max_size=30),
        ),
        max_size=8,
    ),
    path=st.sampled_from(["/carrier/twilio/status?message=12", "/carrier/twilio/inbound", "/"]),
)
def test_our_signature_is_the_twilio_packages(params: list[tuple[str, str]], path: str) -> None:
    url = "https://texts.example.com" + path
    expected = RequestValidator(TOKEN).compute_signature(url, dict(params))
    unique = list(dict(params).items())
    assert signing.signature(TOKEN, url, unique) == expected
    assert signing.is_valid(TOKEN, url, unique, expected)


def test_a_signature_holds_with_or_without_the_default_port() -> None:
    params = [("MessageSid", "MM1"), ("MessageStatus", "delivered")]
    validator = RequestValidator(TOKEN)
    with_port = validator.compute_signature("https://texts.example.com:443/carrier/x", dict(params))
    assert signing.is_valid(TOKEN, "https://texts.example.com/carrier/x", params, with_port)
    assert not signing.is_valid(TOKEN, "https://texts.example.com/carrier/y", params, with_port)
    assert not signing.is_valid(TOKEN, "https://texts.example.com/carrier/x", params, "")


def test_media_links_refuse_another_key_a_changed_expiry_and_an_old_link() -> None:
    links = MediaLinks.derived(b"installation secret", "https://texts.example.com")
    link = links.link("a" * 32, now_s=1_000)
    query = parse_qs(urlsplit(link).query)
    expires, sig = query["expires"][0], query["sig"][0]
    links.check("a" * 32, expires, sig, now_s=1_000)
    with pytest.raises(LinkRefused):
        links.check("b" * 32, expires, sig, now_s=1_000)
    with pytest.raises(LinkRefused):
        links.check("a" * 32, str(int(expires) + 3600), sig, now_s=1_000)
    with pytest.raises(LinkRefused):
        links.check("a" * 32, expires, sig, now_s=int(expires) + 1)
    other = MediaLinks.derived(b"another installation", "https://texts.example.com")
    with pytest.raises(LinkRefused):
        other.check("a" * 32, expires, sig, now_s=1_000)

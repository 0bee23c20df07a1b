"""Deliveries carry Standard Webhooks signatures that the reference verifier accepts."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from landline.core.webhook_policy import HOUR_MS, active_secrets
from landline.webhooks.outgoing import build_request
from landline.webhooks.signing import BadSecret, check_secret, new_secret, signing_headers

BODY = b'{"body":"Caf\xc3\xa9 at 5?","id":634151298329219072,"read":true,"dateRead":null}'


def test_new_secrets_are_standard_and_different() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        check_secret(secret)
        Webhook(secret)  # the reference library takes it


@pytest.mark.parametrize(
    "secret", ["", "whsec_", "secret", "whsec_not base64!", "whsec_" + "QUJD" * 5]
)
def test_bad_secrets_are_refused(secret: str) -> None:
    with pytest.raises(BadSecret):
        check_secret(secret)


def test_the_receiver_verifies_a_signed_body() -> None:
    secret, now = new_secret(), int(time.time())
    headers = signing_headers("msg_634151298329219072", now, BODY, [secret])
    assert headers["webhook-id"] == "msg_634151298329219072"
    assert headers["webhook-timestamp"] == str(now)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers)["body"] == "Café at 5?"


def test_a_changed_body_id_or_secret_fails_verification() -> None:
    secret, now = new_secret(), int(time.time())
    headers = signing_headers("msg_1", now, BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"5?", b"6?"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg_2"})
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    rotated_at_ms = int(time.time() * 1000) - 3 * HOUR_MS
    now_ms = int(time.time() * 1000)
    secrets = active_secrets(new, old, rotated_at_ms, now_ms)
    headers = signing_headers("msg_9", now_ms // 1000, BODY, secrets)
    assert len(headers["webhook-signature"].split(" ")) == 2
    # A receiver still configured with the old secret, and one already moved to the new.
    assert Webhook(old).verify(BODY, headers) is not None
    assert Webhook(new).verify(BODY, headers) is not None
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_after_the_overlap_only_the_new_secret_signs() -> None:
    old, new = new_secret(), new_secret()
    now_ms = int(time.time() * 1000)
    secrets = active_secrets(new, old, now_ms - 25 * HOUR_MS, now_ms)
    headers = signing_headers("msg_9", now_ms // 1000, BODY, secrets)
    assert Webhook(new).verify(BODY, headers) is not None
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY, headers)


def test_a_stale_timestamp_is_refused_so_each_attempt_signs_anew() -> None:
    secret = new_secret()
    headers = signing_headers("msg_1", int(time.time()) - 3600, BODY, [secret])
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers)


def test_signing_refuses_nonsense() -> None:
    with pytest.raises(BadSecret):
        signing_headers("msg_1", 0, BODY, [])
    with pytest.raises(BadSecret):
        signing_headers("msg_1", 0, BODY, [new_secret() for _ in range(5)])
    with pytest.raises(ValueError):
        signing_headers("msg_1\r\nX-Evil: 1", 0, BODY, [new_secret()])


def test_post_and_get_requests_are_signed_over_what_the_receiver_reads() -> None:
    secret, now = new_secret(), int(time.time())
    payload = {"body": "hi there & bye", "read": False, "dateRead": None, "id": 12}
    post = build_request(
        "https://hooks.example.com/in", "POST", payload,
        message_id="msg_1", timestamp_s=now, secrets=[secret],
    )  # fmt: skip
    assert post.body is not None
    assert Webhook(secret).verify(post.body, dict(post.headers)) == payload
    get = build_request(
        "https://hooks.example.com/in?token=a%20b", "get", payload,
        message_id="msg_1", timestamp_s=now, secrets=[secret],
    )  # fmt: skip
    query = get.url.split("?", 1)[1]
    assert query == "token=a%20b&body=hi%20there%20%26%20bye&read=false&dateRead=&id=12"
    Webhook(secret).verify(query, dict(get.headers), json_parse=False)

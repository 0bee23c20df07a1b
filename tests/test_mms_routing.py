"""Routing by kind: a picture message never reaches a connector that carries no MMS
(SMPP), and texts keep their own route; webhook payloads show an MMS as one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from conftest import Landline, free_port
from mms_fixtures import png

from landline.api import render
from landline.carriers.base import (
    CarrierSink,
    Submission,
    SubmitOutcome,
    SubmitResult,
    Submitted,
)
from landline.runtime import Runtime
from landline.settings import Settings
from landline.webhooks.payloads import MessageAsItWas


class TextsOnly:
    """A connector like SMPP's: texts only, and it remembers what it was handed."""

    name = "texts-only"

    def __init__(self) -> None:
        self.handed: list[Submission] = []

    async def start(self, sink: CarrierSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def submit(self, batch: Sequence[Submission]) -> AsyncIterator[Submitted]:
        for submission in batch:
            self.handed.append(submission)
            yield Submitted(submission, SubmitResult(SubmitOutcome.ACCEPTED, carrier_ref="t1"))


def test_an_mms_routed_to_a_texts_only_connector_ends_with_124(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        sim_receipt_delay_ms=0,
        routes="mms:+1=texts-only,sms:+1=simulator",
    )
    runtime = Runtime(settings, workers=False)
    plain = TextsOnly()
    runtime.connectors[plain.name] = plain
    landline = Landline(runtime, port)
    landline.start()
    try:
        _, session = landline.add_line("2065550160", mms=True)
        sent = landline.http.post(
            "/messaging/send",
            params={"session": session},
            data={"to": "+12065550177"},
            files={"image": ("a.png", png())},
        ).json()
        assert sent["success"] is True
        text = landline.call(
            "/message/send", session=session, contacts="+12065550177", body="hello"
        )
        landline.settle()
        mms = landline.call("/message/get", session=session, id=sent["response"]["id"])
        assert mms["response"]["statusCode"] == -124
        assert plain.handed == []
        sms = landline.call("/message/get", session=session, id=text["response"]["root"])
        assert sms["response"]["statusCode"] == 6
    finally:
        landline.stop()


def test_a_webhook_payload_shows_an_mms_as_one() -> None:
    def message(transport: str | None, attachments: int | None) -> MessageAsItWas:
        return MessageAsItWas(
            id=1, device_id=2, direction="ZO", line_number="+12065550123",
            contact_number="+12065550177", body="", fingerprint="3", contact_id=4,
            created_at=0, scheduled_at=None, status=2, delivered_at=None, read_at=None,
            deleted_at=None, transport=transport, attachments=attachments,
        )  # fmt: skip

    picture = render.message_payload(message("mms", 2), "America/Los_Angeles")
    assert picture["hasAttachment"] is True and picture["messageTransport"] == 5
    long_text = render.message_payload(message("mms", 0), "America/Los_Angeles")
    assert long_text["hasAttachment"] is False and long_text["messageTransport"] == 5
    text = render.message_payload(message(None, None), "America/Los_Angeles")
    assert text["hasAttachment"] is False and text["messageTransport"] == 9

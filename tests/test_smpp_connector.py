"""The SMPP connector, driven through the API: texts sent through Landline reach the SMSC
simulator over real TCP as submit_sm, its receipts move their status, and handsets'
texts come back as inbound messages. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Landline
from smsc_fixtures import SmscThread, smsc_running, start_smpp_landline, wait_for
from sqlalchemy import select
from watched_lines import add_watched_line

from landline.carriers.smpp.pdus import Status, SubmitSm
from landline.carriers.smpp.smsc import Behaviour, ReceiptPlan, SmscConfig
from landline.core import segments
from landline.core.receipts import IdBase
from landline.store import smpp as memory
from landline.store.schema import events, messages

LINE = "2065550123"
HANDSET = "+12065550100"


@pytest.fixture
def smsc() -> Iterator[SmscThread]:
    with smsc_running() as running:
        yield running


@pytest.fixture
def server(db_url: str, tmp_path: Path, smsc: SmscThread) -> Iterator[Landline]:
    landline = start_smpp_landline(db_url, tmp_path, smsc)
    yield landline
    landline.stop()


def send(server: Landline, session: str, body: str, to: str = HANDSET) -> int:
    answer = server.call("/message/send", session=session, contacts=to, body=body)
    assert answer["success"] is True, answer
    return int(answer["response"]["tokens"][0]["message"])


def message(server: Landline, session: str, message_id: int) -> dict[str, Any]:
    answer = server.call("/message/get", session=session, id=str(message_id))
    assert answer["success"] is True, answer
    return answer["response"]  # type: ignore[no-any-return]


def status_of(server: Landline, session: str, message_id: int) -> int:
    return int(message(server, session, message_id)["statusCode"])


def wait_status(server: Landline, session: str, message_id: int, wanted: int) -> None:
    wait_for(
        lambda: status_of(server, session, message_id) == wanted,
        what=f"message {message_id} to reach status {wanted}",
    )


def event_kinds(server: Landline, message_id: int) -> list[str]:
    rows = server.store.read_sync(
        lambda c: c.execute(
            select(events.c.kind).where(events.c.message_id == message_id).order_by(events.c.id)
        ).all()
    )
    return [row.kind for row in rows]


def submits_to(smsc: SmscThread, destination: str = HANDSET) -> list[SubmitSm]:
    return smsc.call(
        lambda: [s for s in smsc.smsc.submits() if s.destination_addr == destination.lstrip("+")]
    )


def inbound_bodies(server: Landline, session: str) -> list[str]:
    answer = server.call("/message/list", session=session, limit=50)
    return [m["body"] for m in answer["response"] if m["messageType"] == "MO"]


def test_a_text_reaches_the_smsc_and_its_receipt_delivers_it(
    server: Landline, smsc: SmscThread
) -> None:
    _, session = add_watched_line(server, LINE)
    message_id = send(server, session, "Hello from Landline")
    wait_status(server, session, message_id, 6)
    [submit] = submits_to(smsc)
    assert submit.source_addr == "12065550123"
    assert submit.source_addr_ton == 1 and submit.dest_addr_ton == 1
    assert submit.data_coding == segments.Coding.GSM7
    assert submit.registered_delivery == 1
    assert submit.short_message == b"Hello from Landline"
    got = message(server, session, message_id)
    assert [h["statusCode"] for h in got["statusHistory"]] == [2, 1, 6]
    assert (got["smsEncoding"], got["smsParts"]) == ("GSM-7", 1)
    assert event_kinds(server, message_id).count("message.progress") == 2
    [part] = server.store.read_sync(memory.submits_of, message_id)
    assert part.state == "delivered" and part.smsc_id


def test_long_and_non_latin_texts_go_in_parts_and_deliver_when_every_part_does(
    server: Landline, smsc: SmscThread
) -> None:
    _, session = add_watched_line(server, LINE)
    smsc.call(
        lambda: smsc.smsc.by_destination.update(
            {HANDSET.lstrip("+"): Behaviour.accept(ReceiptPlan(held=True))}
        )
    )
    # 150 characters, one of them outside GSM: UCS-2, 67 per part, so three parts.
    body = "Check ✓ " + "and again, " * 13 + "done"
    message_id = send(server, session, body)
    wait_for(lambda: len(submits_to(smsc)) == 3, what="three parts")
    parts = submits_to(smsc)
    assert {p.data_coding for p in parts} == {segments.Coding.UCS2}
    assert all(p.esm_class & segments.ESM_CLASS_UDHI for p in parts)
    texts = [segments.read_part(p.short_message, p.data_coding, p.esm_class) for p in parts]
    assert "".join(t.text for t in texts) == body
    assert [t.concat.seq for t in texts if t.concat] == [1, 2, 3]
    got = message(server, session, message_id)
    assert (got["smsEncoding"], got["smsParts"]) == ("UCS-2", 3)
    wait_status(server, session, message_id, 1)
    # Receipts for two parts of three: still in progress.
    held = smsc.call(lambda: list(smsc.smsc._held))
    smsc.call(lambda: smsc.smsc._held.clear())
    for outbound in held[:2]:
        smsc.call(lambda o=outbound: smsc.smsc._route(o))  # type: ignore[misc]
    wait_for(
        lambda: (
            sum(
                p.state == "delivered"
                for p in server.store.read_sync(memory.submits_of, message_id)
            )
            == 2
        ),
        what="two parts delivered",
    )
    assert status_of(server, session, message_id) == 1
    smsc.call(lambda: smsc.smsc._route(held[2]))
    wait_status(server, session, message_id, 6)


def test_a_failed_part_fails_the_text(server: Landline, smsc: SmscThread) -> None:
    _, session = add_watched_line(server, LINE)
    smsc.call(
        lambda: smsc.smsc.script(
            Behaviour.accept(), Behaviour.accept(ReceiptPlan(stat="UNDELIV", err="001"))
        )
    )
    message_id = send(server, session, "x" * 200)  # two GSM parts
    wait_status(server, session, message_id, 7)
    states = sorted(p.state for p in server.store.read_sync(memory.submits_of, message_id))
    assert states in (["delivered", "failed"], ["accepted", "failed"])


def test_a_permanent_error_ends_the_text_with_5_and_keeps_the_smpp_status(
    server: Landline, smsc: SmscThread, db_url: str, tmp_path: Path
) -> None:
    _, session = add_watched_line(server, LINE)
    smsc.call(lambda: smsc.smsc.script(Behaviour.reject(Status.RINVDSTADR)))
    message_id = send(server, session, "to nowhere")
    wait_status(server, session, message_id, 5)
    [part] = server.store.read_sync(memory.submits_of, message_id)
    assert part.state == "rejected" and part.smpp_status == Status.RINVDSTADR
    assert len(submits_to(smsc)) == 1  # not tried again
    # The operator sees why.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDLINE_")}
    env["LANDLINE_DATABASE_URL"] = db_url
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "landline",
            "admin",
            "smpp",
            "message",
            str(message_id),
            "--data-dir",
            str(tmp_path / "cli"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [record] = json.loads(shown.stdout)["parts"]
    assert (record["state"], record["smppStatus"]) == ("rejected", "0x0000000b")


def test_throttling_slows_down_and_the_text_still_goes_once(
    server: Landline, smsc: SmscThread
) -> None:
    _, session = add_watched_line(server, LINE)
    smsc.call(
        lambda: smsc.smsc.script(Behaviour.throttle(), Behaviour.queue_full(), Behaviour.accept())
    )
    message_id = send(server, session, "busy network")
    wait_status(server, session, message_id, 6)
    assert len(submits_to(smsc)) == 3  # two refusals, then the one accepted
    assert smsc.call(lambda: smsc.smsc.submitted) == 1


def test_receipts_before_the_submit_answer_twice_and_in_other_id_forms(
    db_url: str, tmp_path: Path
) -> None:
    # Hex ids in submit_sm_resp, decimal in receipts, as some SMSCs (and Kannel's
    # msg-id-type) do; receipts that overtake the submit_sm_resp, and come twice.
    config = SmscConfig(message_ids=IdBase.HEX, receipt_ids=IdBase.DECIMAL)
    with smsc_running(config) as smsc:
        server = start_smpp_landline(
            db_url, tmp_path, smsc, {"ids": "hex", "receipt_ids": "decimal"}
        )
        try:
            _, session = add_watched_line(server, LINE)
            smsc.call(
                lambda: smsc.smsc.script(
                    Behaviour.accept(ReceiptPlan(before_resp=True, copies=2), resp_delay=0.3),
                    Behaviour.accept(ReceiptPlan(copies=2, tlvs=False)),
                )
            )
            first = send(server, session, "receipt first")
            wait_status(server, session, first, 6)
            second = send(server, session, "receipt twice, text only")
            wait_status(server, session, second, 6)
            for message_id in (first, second):
                history = [
                    h["statusCode"] for h in message(server, session, message_id)["statusHistory"]
                ]
                assert history == [2, 1, 6]
                assert event_kinds(server, message_id).count("message.progress") == 2
        finally:
            server.stop()


def test_a_late_receipt_after_a_restart_finds_its_text(
    db_url: str, tmp_path: Path, smsc: SmscThread
) -> None:
    smsc.call(lambda: setattr(smsc.smsc, "default", Behaviour.accept(ReceiptPlan(held=True))))
    server = start_smpp_landline(db_url, tmp_path, smsc)
    _, session = add_watched_line(server, LINE)
    message_id = send(server, session, "see you tomorrow")
    wait_status(server, session, message_id, 1)
    server.stop()
    server = start_smpp_landline(db_url, tmp_path, smsc)
    try:
        assert smsc.call(smsc.smsc.release_receipts) == 1
        wait_status(server, session, message_id, 6)
    finally:
        server.stop()


def test_a_handset_reply_arrives_with_its_receive_event(server: Landline, smsc: SmscThread) -> None:
    _, session = add_watched_line(server, LINE)
    wait_for(lambda: smsc.call(lambda: len(smsc.smsc.esmes)) == 1, what="a bind")
    statuses = smsc.run(
        lambda: smsc.smsc.send_text(HANDSET.lstrip("+"), "12065550123", "On my way")
    )
    assert statuses == [Status.ROK]
    assert wait_for(lambda: inbound_bodies(server, session)) == ["On my way"]
    rows = server.store.read_sync(
        lambda c: c.execute(select(messages.c.id).where(messages.c.direction == "MO")).all()
    )
    assert event_kinds(server, rows[0].id) == ["message.receive"]


@pytest.mark.parametrize("split", ["udh8", "udh16", "sar", "payload"])
def test_split_inbound_texts_come_back_whole_in_any_order(
    server: Landline, smsc: SmscThread, split: str
) -> None:
    _, session = add_watched_line(server, LINE)
    text = "Grüße aus Köln, Καλημέρα, Привет! " * 6  # four UCS-2 parts
    order = [3, 1, 4, 2] if split != "payload" else None
    smsc.run(
        lambda: smsc.smsc.send_text(
            HANDSET.lstrip("+"),
            "12065550123",
            text,
            split=split,
            order=order,  # type: ignore[arg-type]
        )
    )
    assert wait_for(lambda: inbound_bodies(server, session)) == [text]


@pytest.mark.parametrize(
    "coding", [segments.Coding.GSM7, segments.Coding.LATIN1, segments.Coding.UCS2]
)
def test_inbound_texts_in_each_data_coding(
    server: Landline, smsc: SmscThread, coding: segments.Coding
) -> None:
    _, session = add_watched_line(server, LINE)
    text = "Café à 3 heures? £5"
    smsc.run(lambda: smsc.smsc.send_text(HANDSET.lstrip("+"), "12065550123", text, coding=coding))
    assert wait_for(lambda: inbound_bodies(server, session)) == [text]


def test_stop_by_smpp_opts_out_and_is_answered(server: Landline, smsc: SmscThread) -> None:
    _, session = add_watched_line(server, LINE)
    smsc.run(lambda: smsc.smsc.send_text(HANDSET.lstrip("+"), "12065550123", "STOP"))
    wait_for(lambda: len(submits_to(smsc)) == 1, what="the STOP confirmation")
    [confirmation] = submits_to(smsc)
    assert b"unsubscribed" in confirmation.short_message.lower() or confirmation.short_message
    answer = server.call("/message/send", session=session, contacts=HANDSET, body="Still there?")
    assert answer["response"]["tokens"][0]["code"] == -1234


def _parts(text: str, reference: int = 0x51) -> list[Any]:
    from landline.carriers.smpp.smsc import handset_parts

    return handset_parts(HANDSET.lstrip("+"), "12065550123", text, reference=reference)


def test_a_part_whose_siblings_never_come_is_stored_after_the_timeout(
    db_url: str, tmp_path: Path, smsc: SmscThread
) -> None:
    from landline.core.clock import ManualClock

    clock = ManualClock()
    server = start_smpp_landline(db_url, tmp_path, smsc, {"reassembly": 60}, clock=clock)
    try:
        _, session = add_watched_line(server, LINE)
        text = "Part of this text is lost on the way, " * 5  # two GSM parts
        first, second = _parts(text)
        assert smsc.run(lambda: smsc.smsc.deliver(first)) == Status.ROK
        connector = server.runtime.connectors["smpp:main"]
        assert server.run(connector.inbound.expire) == 0  # type: ignore[attr-defined]
        assert inbound_bodies(server, session) == []
        clock.advance(seconds=61)
        assert server.run(connector.inbound.expire) == 1  # type: ignore[attr-defined]
        [stored] = inbound_bodies(server, session)
        assert text.startswith(stored) and len(stored) == 153
        del second
    finally:
        server.stop()


def test_parts_received_before_a_restart_complete_their_text_after_it(
    db_url: str, tmp_path: Path, smsc: SmscThread
) -> None:
    server = start_smpp_landline(db_url, tmp_path, smsc)
    text = "This long text spans a restart of the server that receives it. " * 5
    first, second, third = _parts(text)
    try:
        _, session = add_watched_line(server, LINE)
        for part in (third, first):
            assert smsc.run(lambda p=part: smsc.smsc.deliver(p)) == Status.ROK  # type: ignore[misc]
    finally:
        server.stop()
    server = start_smpp_landline(db_url, tmp_path, smsc)
    try:
        assert smsc.run(lambda: smsc.smsc.deliver(second)) == Status.ROK
        assert wait_for(lambda: inbound_bodies(server, session)) == [text]
        left = server.store.read_sync(memory.waiting_parts, "smpp:main")
        assert left == []
    finally:
        server.stop()

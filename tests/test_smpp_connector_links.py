"""The SMPP connector's links: a link dropped mid-burst, an SMSC that never answers, a
bind refused and later accepted, a transmitter and receiver pair, TLS, the window and
the messages-per-second limit. Through the API, against the SMSC simulator over TCP,
on SQLite and PostgreSQL."""

from __future__ import annotations

import ssl
from collections import Counter
from pathlib import Path

from conftest import Landline, start_landline
from cryptography.fernet import Fernet
from smsc_fixtures import SmscThread, smpp_url, smsc_running, start_smpp_landline, wait_for
from sqlalchemy import func, select
from test_smpp_connector import message, send, status_of, submits_to, wait_status
from test_smsc_simulator import _self_signed
from watched_lines import add_watched_line

from landline.carriers.smpp.pdus import SubmitSm
from landline.carriers.smpp.smsc import Behaviour, SmscConfig
from landline.core.status import FINAL_STATUSES
from landline.store.schema import events, messages

LINE = "2065550123"
HANDSET = "+12065550100"


def burst(server: Landline, session: str, requests: int, per_request: int = 15) -> list[int]:
    """Texts to requests * per_request distinct numbers, each request one send."""
    ids: list[int] = []
    for request in range(requests):
        numbers = [f"+1206555{2000 + request * per_request + n}" for n in range(per_request)]
        answer = server.call(
            "/message/send", session=session, contacts=",".join(numbers), body=f"burst {request}"
        )
        assert answer["success"] is True, answer
        ids.extend(int(token["message"]) for token in answer["response"]["tokens"])
    return ids


def final_events(server: Landline, ids: list[int]) -> Counter[int]:
    """How many times each message reached a final status (by its progress events)."""
    rows = server.store.read_sync(
        lambda c: c.execute(
            select(events.c.message_id, events.c.status).where(
                events.c.kind == "message.progress", events.c.message_id.in_(ids)
            )
        ).all()
    )
    return Counter(row.message_id for row in rows if row.status in FINAL_STATUSES)


def submits_per_connection(smsc: SmscThread) -> Counter[tuple[int, str, bytes]]:
    return smsc.call(
        lambda: Counter(
            (r.connection, r.pdu.body.destination_addr, r.pdu.body.short_message)
            for r in smsc.smsc.received
            if isinstance(r.pdu.body, SubmitSm)
        )
    )


def all_final(server: Landline, ids: list[int]) -> bool:
    ended = server.store.read_sync(
        lambda c: c.execute(
            select(func.count())
            .select_from(messages)
            .where(messages.c.id.in_(ids), messages.c.status.in_(list(FINAL_STATUSES)))
        ).scalar_one()
    )
    return int(ended) == len(ids)


def test_a_link_dropped_mid_burst_loses_nothing_and_sends_nothing_twice_per_link(
    db_url: str, tmp_path: Path
) -> None:
    with smsc_running() as smsc:
        # The 40th submit_sm is never answered: the SMSC cuts TCP with a window's worth
        # of texts in flight.
        smsc.call(lambda: smsc.smsc.script(*[Behaviour.accept()] * 39, Behaviour.drop_link()))
        server = start_smpp_landline(db_url, tmp_path, smsc, {"window": 10})
        try:
            _, session = add_watched_line(server, LINE)
            ids = burst(server, session, 10)
            wait_for(lambda: all_final(server, ids), timeout=60, what="every text to end")
            statuses = server.store.read_sync(
                lambda c: c.execute(select(messages.c.status).where(messages.c.id.in_(ids))).all()
            )
            assert {row.status for row in statuses} == {6}
            assert set(final_events(server, ids).values()) == {1}
            assert len(final_events(server, ids)) == len(ids)
            per_link = submits_per_connection(smsc)
            assert max(per_link.values()) == 1
            assert len({connection for connection, _, _ in per_link}) >= 2
            binds = sum(link.binds for link in server.runtime.connectors["smpp:main"].links)  # type: ignore[attr-defined]
            assert binds >= 2
        finally:
            server.stop()


def test_an_unanswered_submit_reconnects_and_goes_again(db_url: str, tmp_path: Path) -> None:
    with smsc_running() as smsc:
        smsc.call(lambda: smsc.smsc.script(Behaviour.no_answer()))
        server = start_smpp_landline(db_url, tmp_path, smsc, {"timeout": 0.3})
        try:
            _, session = add_watched_line(server, LINE)
            message_id = send(server, session, "anyone there?")
            wait_status(server, session, message_id, 6)
            assert len(submits_to(smsc)) == 2
            connections = {connection for connection, _, _ in submits_per_connection(smsc)}
            assert len(connections) == 2  # the silent link was dropped
        finally:
            server.stop()


def test_a_submit_never_answered_is_failed_after_a_few_attempts(
    db_url: str, tmp_path: Path
) -> None:
    with smsc_running() as smsc:
        smsc.call(lambda: setattr(smsc.smsc, "default", Behaviour.no_answer()))
        server = start_smpp_landline(db_url, tmp_path, smsc, {"timeout": 0.2})
        try:
            _, session = add_watched_line(server, LINE)
            message_id = send(server, session, "into the void")
            wait_status(server, session, message_id, 5)
            assert len(submits_to(smsc)) == 3
        finally:
            server.stop()


def test_a_refused_bind_is_tried_again_until_it_succeeds(db_url: str, tmp_path: Path) -> None:
    with smsc_running(SmscConfig(accounts={"landline": "changed"})) as smsc:
        server = start_smpp_landline(db_url, tmp_path, smsc)
        try:
            _, session = add_watched_line(server, LINE)
            message_id = send(server, session, "waiting for the bind")
            wait_for(lambda: smsc.call(lambda: len(smsc.smsc.received)) >= 2, what="binds")
            assert status_of(server, session, message_id) == 2
            smsc.call(lambda: smsc.smsc.config.accounts.update({"landline": "secret"}))
            wait_status(server, session, message_id, 6)
            assert len(submits_to(smsc)) == 1
        finally:
            server.stop()


def test_a_transmitter_and_receiver_pair(db_url: str, tmp_path: Path) -> None:
    with smsc_running() as smsc:
        server = start_smpp_landline(db_url, tmp_path, smsc, {"bind": "tx+rx", "binds": 2})
        try:
            _, session = add_watched_line(server, LINE)
            wait_for(lambda: smsc.call(lambda: len(smsc.smsc.esmes)) == 4, what="four binds")
            modes = smsc.call(lambda: sorted(e.mode.name for e in smsc.smsc.esmes))
            assert modes == ["RECEIVER", "RECEIVER", "TRANSMITTER", "TRANSMITTER"]
            ids = [send(server, session, f"pair {n}", to=f"+1206555{3000 + n}") for n in range(6)]
            for message_id in ids:
                wait_status(server, session, message_id, 6)
            smsc.run(lambda: smsc.smsc.send_text(HANDSET.lstrip("+"), "12065550123", "got it"))
            listed = wait_for(
                lambda: [
                    m
                    for m in server.call("/message/list", session=session)["response"]
                    if m["messageType"] == "MO"
                ],
                what="the reply",
            )
            assert listed[0]["body"] == "got it"
        finally:
            server.stop()


def test_smpp_over_tls(db_url: str, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with smsc_running(SmscConfig(ssl_context=context)) as smsc:
        # The certificate names localhost; the connector checks it against tls_ca.
        url = smpp_url(smsc.port, tls_ca=cert).replace("smpp://", "smpps://")
        url = url.replace("127.0.0.1", "localhost")
        server = start_landline(db_url, tmp_path, routes="+1=smpp:main", smpp={"main": url})
        try:
            _, session = add_watched_line(server, LINE)
            message_id = send(server, session, "over TLS")
            wait_status(server, session, message_id, 6)
            assert message(server, session, message_id)["statusCode"] == 6
        finally:
            server.stop()


def test_the_window_and_the_rate_limit_hold_the_sender_back(tmp_path: Path) -> None:
    # Pacing, not storage: SQLite only. Timing is a lower bound (a busy machine makes
    # it later, never earlier).
    url = f"sqlite:///{tmp_path / 'landline.db'}"
    with smsc_running() as smsc:
        smsc.call(lambda: setattr(smsc.smsc, "default", Behaviour.accept(resp_delay=0.5)))
        server = start_smpp_landline(url, tmp_path, smsc, {"window": 3})
        try:
            _, session = add_watched_line(server, LINE)
            ids = burst(server, session, 1, per_request=6)
            wait_for(lambda: all_final(server, ids), what="the burst")
            times = smsc.call(
                lambda: [r.at for r in smsc.smsc.received if isinstance(r.pdu.body, SubmitSm)]
            )
            # The 4th submit_sm waits for the 1st answer, half a second later.
            assert times[3] - times[0] >= 0.45
        finally:
            server.stop()
    url2 = f"sqlite:///{tmp_path / 'mps.db'}"
    with smsc_running() as smsc:
        server = start_smpp_landline(url2, tmp_path / "mps", smsc, {"mps": 20})
        try:
            _, session = add_watched_line(server, LINE)
            ids = burst(server, session, 1, per_request=10)
            wait_for(lambda: all_final(server, ids), what="the burst")
            times = smsc.call(
                lambda: [r.at for r in smsc.smsc.received if isinstance(r.pdu.body, SubmitSm)]
            )
            # 20 a second: ten submit_sm take at least nine twentieths of a second.
            assert times[-1] - times[0] >= 0.9 * 9 / 20
        finally:
            server.stop()


def test_an_smsc_slower_than_the_lease_still_gets_each_text_once(tmp_path: Path) -> None:
    # Two worker processes' worth of Landline on one PostgreSQL store, a lease of one
    # second, and an SMSC that answers each submit_sm after two and a half: the lease is
    # renewed while the answer is on its way, so the other never takes the text over.
    from conftest import postgres_schema

    with postgres_schema() as (_, url), smsc_running() as smsc:
        smsc.call(lambda: setattr(smsc.smsc, "default", Behaviour.accept(resp_delay=2.5)))
        params = {"timeout": 5}
        # Machines sharing a store share the key that seals webhook secrets.
        shared = {"lease_seconds": 1, "secret_key": Fernet.generate_key().decode()}
        first = start_smpp_landline(url, tmp_path / "a", smsc, params, **shared)
        second = start_smpp_landline(url, tmp_path / "b", smsc, params, **shared)
        try:
            _, session = add_watched_line(first, LINE)
            ids = burst(first, session, 2, per_request=5)
            wait_for(lambda: all_final(second, ids), timeout=60, what="every text to end")
            assert set(final_events(first, ids).values()) == {1}
            per_text = Counter(
                (destination, body) for _, destination, body in submits_per_connection(smsc)
            )
            assert len(per_text) == len(ids)
            assert max(per_text.values()) == 1
        finally:
            first.stop()
            second.stop()

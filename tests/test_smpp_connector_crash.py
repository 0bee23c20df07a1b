"""A real `landline serve`, routing to the SMSC simulator over SMPP, killed with SIGKILL
in the middle of a burst and started again on the same store: every accepted text still
reaches exactly one final status, and no text goes twice over one SMPP connection.
On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from smsc_fixtures import smpp_url, smsc_running
from test_crash import (  # noqa: F401 (crash_store is a fixture)
    BURST,
    KILL_AFTER,
    LINE,
    Burst,
    Server,
    crash_store,
    fire,
    query,
    wait_until_final,
)

from landline.carriers.smpp.pdus import SubmitSm


def test_sigkill_mid_burst_over_smpp_loses_nothing_and_repeats_nothing_per_link(
    crash_store: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with smsc_running() as smsc:
        env = {
            **crash_store,
            "LANDLINE_ROUTES": "+1=smpp:main",
            "LANDLINE_SMPP_MAIN": smpp_url(smsc.port),
        }
        server = Server(data_dir, env)
        session = server.landline("admin", "line", "add", LINE)["session"]
        burst = Burst()
        try:
            server.start()
            fire(server, session, burst)
            assert len(burst.accepted) >= KILL_AFTER
            assert len(burst.accepted) + len(burst.failed) + len(burst.refused) == BURST
            server.start()
            stored = query(env, data_dir, "SELECT id, body FROM messages WHERE direction = 'ZO'")
            stored_ids = {message_id for message_id, _ in stored}
            assert set(burst.accepted.values()) <= stored_ids
            final = wait_until_final(server, session, stored_ids)
        finally:
            server.stop()

        for message_id, got in final.items():
            codes = [step["statusCode"] for step in got["statusHistory"]]
            assert codes == [2, 1, 6], (message_id, codes)
        per_link = smsc.call(
            lambda: Counter(
                (r.connection, r.pdu.body.destination_addr, r.pdu.body.short_message)
                for r in smsc.smsc.received
                if isinstance(r.pdu.body, SubmitSm)
            )
        )
        assert max(per_link.values()) == 1
        texts = {(destination, body) for _, destination, body in per_link}
        assert len(texts) == len(stored_ids)

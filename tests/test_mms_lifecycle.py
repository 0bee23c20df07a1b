"""MMS over time and from the command line: retention removes old content (and only
it), and `landline sim mms` makes a handset send a picture message."""

from __future__ import annotations

from pathlib import Path

from conftest import Landline, ManualClock, start_landline, start_quiet_landline
from mms_fixtures import disk_objects, jpeg, zip_file
from test_cli import landline as run_landline

LINE = "2065550150"


def send_picture(server: Landline, session: str, picture: bytes) -> int:
    answer = server.http.post(
        "/messaging/send",
        params={"session": session},
        data={"to": "+12065550177"},
        files={"image": ("old.jpg", picture)},
    ).json()
    assert answer["success"] is True
    return int(answer["response"]["id"])


def test_retention_removes_content_past_its_days_and_keeps_the_message(
    db_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    server = start_quiet_landline(db_url, tmp_path, clock=clock, media_retention_days=2)
    try:
        _, session = server.add_line(LINE, mms=True)
        old = send_picture(server, session, jpeg(8_000, seed=1))
        clock.advance(seconds=86_400 * 1.5)
        recent = send_picture(server, session, jpeg(8_000, seed=2))
        retention = server.runtime.media_retention
        assert server.run(retention.run_once) == 0
        assert len(disk_objects(tmp_path / "data")) == 2

        clock.advance(seconds=86_400 * 1)  # the first is now 2.5 days old, the second 1
        assert server.run(retention.run_once) == 1
        assert len(disk_objects(tmp_path / "data")) == 1
        gone = server.call("/messageAttachment/list", session=session, messageId=old)
        assert gone["total"] == 0
        kept = server.call("/messageAttachment/list", session=session, messageId=recent)
        assert kept["total"] == 1
        message = server.call("/message/get", session=session, id=old)["response"]
        assert message["id"] == old
    finally:
        server.stop()


def test_sim_mms_sends_a_handsets_picture_to_the_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_landline(f"sqlite:///{tmp_path / 'landline.db'}", tmp_path)
    try:
        _, session = server.add_line(LINE, mms=True)
        picture = tmp_path / "beach.jpg"
        picture.write_bytes(jpeg(12_000, seed=7))
        disguised = tmp_path / "beach2.jpg"
        disguised.write_bytes(zip_file())
        env = {"LANDLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'landline.db'}"}

        refused = run_landline(
            "sim", "mms", "--from", "+12065550177", "--to", LINE, "--file", str(disguised),
            "--data-dir", str(data_dir), cwd=tmp_path, env=env,
        )  # fmt: skip
        assert refused.code != 0 and "application/zip" in refused.err

        ran = run_landline(
            "sim", "mms", "--from", "+12065550177", "--to", LINE, "--file", str(picture),
            "Sunset!", "--data-dir", str(data_dir), cwd=tmp_path, env=env,
        )  # fmt: skip
        printed = ran.json()
        assert [p["mimeType"] for p in printed["parts"]] == ["image/jpeg", "application/smil"]
        server.settle()
        listing = server.call("/message/list", session=session)["response"]
        (inbound,) = [m for m in listing if m["messageType"] == "MO"]
        assert inbound["body"] == "Sunset!" and inbound["hasAttachment"] is True
        parts = server.call("/messageAttachment/list", session=session, messageId=inbound["id"])
        served = server.http.get(
            "/hostedContent/get",
            params={"session": session, "storageKey": parts["response"][0]["storageKey"]},
        )
        assert served.content == picture.read_bytes()
    finally:
        server.stop()


def test_a_line_past_its_quota_can_upload_no_more(db_url: str, tmp_path: Path) -> None:
    server = start_quiet_landline(db_url, tmp_path, media_quota_mb=1)
    try:
        _, session = server.add_line(LINE, mms=True)
        _, other = server.add_line("2065550151", mms=True)
        notes = b"minutes of the meeting\n" * 21_000  # 483 KB of text

        def save(key: str) -> dict[str, object]:
            return dict(
                server.http.post(
                    "/hostedContent/save",
                    params={"session": key},
                    files={"file": ("notes.txt", notes, "text/plain")},
                ).json()
            )

        assert save(session)["success"] is True
        assert save(session)["success"] is True  # 966 KB of 1024
        refused = save(session)
        assert refused["success"] is False and "quota is 1 MB" in str(refused["response"])
        sent = server.http.post(
            "/messaging/send",
            params={"session": session, "to": "+12065550177"},
            files={"file": ("notes.txt", notes, "text/plain")},
        ).json()
        assert sent["success"] is False and "quota" in sent["errorDesc"]
        # The quota is the line's own: another line still uploads.
        assert save(other)["success"] is True
        assert len(disk_objects(tmp_path / "data")) == 3
    finally:
        server.stop()

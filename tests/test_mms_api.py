"""messaging/send, messageAttachment/list, hostedContent/get and /save over real HTTP,
on SQLite and PostgreSQL, with content on disk and in S3 (moto's S3 server)."""

from __future__ import annotations

import itertools
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from conftest import PG_ADMIN_URL, Landline, start_quiet_landline
from mms_fixtures import (
    S3Server,
    disk_objects,
    jpeg,
    png,
    row_counts,
    use_s3_credentials,
    zip_file,
)
from sqlalchemy import select

from landline.carriers.handset_media import store_handset_parts
from landline.carriers.simulator import handset_sends
from landline.store.schema import sim_submissions

_numbers = itertools.count(1)


def new_number() -> str:
    # 206-555-01xx and on: the simulator's special endings (0001 to 0005) are never lines.
    return f"20655{(10100 + next(_numbers)):05d}"


HANDSET = "+12065550177"


class Server:
    def __init__(self, landline: Landline, data_dir: Path, s3: S3Server | None, bucket: str):
        self.landline = landline
        self.data_dir = data_dir
        self.s3 = s3
        self.bucket = bucket

    @property
    def http(self) -> httpx.Client:
        return self.landline.http

    def objects(self) -> list[str]:
        if self.s3 is not None:
            return self.s3.objects(self.bucket)
        return [name for name in disk_objects(self.data_dir) if not name.startswith(".partial")]

    def snapshot(self) -> tuple[dict[str, int], list[str]]:
        return self.landline.store.read_sync(row_counts), self.objects()

    def line(self, *, mms: bool = True) -> tuple[str, str]:
        number = new_number()
        _, session = self.landline.add_line(number, mms=mms)
        return number, session

    def send(self, session: str, files: Any = None, **fields: Any) -> httpx.Response:
        return self.http.post(
            "/messaging/send", params={"session": session}, data=fields, files=files
        )


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    use_s3_credentials()
    server = S3Server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(
    scope="module",
    params=["sqlite-disk", "postgresql-disk", "sqlite-s3", "postgresql-s3"],
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    database, content = request.param.split("-")
    tmp_path = tmp_path_factory.mktemp("mms")
    settings: dict[str, Any] = {}
    s3, bucket = None, ""
    if content == "s3":
        s3 = request.getfixturevalue("s3_server")
        bucket = s3.new_bucket()
        settings = {
            "media_backend": "s3",
            "media_s3_bucket": bucket,
            "media_s3_endpoint": s3.endpoint,
        }
    schema = None
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'landline.db'}"
    else:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    landline = start_quiet_landline(url, tmp_path, **settings)
    try:
        yield Server(landline, tmp_path / "data", s3, bucket)
    finally:
        landline.stop()
        if schema is not None:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


# -- a picture, sent and read back


def test_a_picture_is_sent_listed_served_and_delivered(server: Server) -> None:
    _, session = server.line()
    picture = jpeg(100_000)
    answer = server.send(
        session,
        files={"image": ("Beach Day.jpg", picture, "image/jpeg")},
        to="+12065550177",
        body="Look at this!",
    ).json()
    assert answer["success"] is True and answer["response"]["status"] == "queued"
    message_id = answer["response"]["id"]
    assert isinstance(message_id, int)

    message = server.landline.call("/message/get", session=session, id=message_id)["response"]
    assert message["hasAttachment"] is True
    assert message["messageTransport"] == 5
    assert message["body"] == "Look at this!"
    assert message["statusCode"] == 2

    listed = server.landline.call("/messageAttachment/list", session=session, messageId=message_id)
    assert listed["success"] is True and listed["total"] == 1
    (part,) = listed["response"]
    assert part["fileName"] == "Beach Day.jpg"
    assert part["mimeType"] == "image/jpeg"
    assert part["fileSizeBytes"] == len(picture)
    assert len(part["storageKey"]) == 32

    got = server.http.get(
        "/hostedContent/get", params={"session": session, "storageKey": part["storageKey"]}
    )
    assert got.status_code == 200
    assert got.content == picture
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["content-length"] == str(len(picture))
    assert got.headers["cache-control"].startswith("private")
    etag = got.headers["etag"]
    assert etag.startswith('"')

    ranged = server.http.get(
        "/hostedContent/get",
        params={"session": session, "storageKey": part["storageKey"]},
        headers={"Range": "bytes=100-199"},
    )
    assert ranged.status_code == 206
    assert ranged.content == picture[100:200]
    assert ranged.headers["content-range"] == f"bytes 100-199/{len(picture)}"

    unchanged = server.http.get(
        "/hostedContent/get",
        params={"session": session, "storageKey": part["storageKey"]},
        headers={"If-None-Match": etag},
    )
    assert unchanged.status_code == 304 and unchanged.content == b""

    server.landline.settle()
    delivered = server.landline.call("/message/get", session=session, id=message_id)["response"]
    assert delivered["statusCode"] == 6
    handset = server.landline.store.read_sync(
        lambda c: c.execute(
            select(sim_submissions.c.media).where(sim_submissions.c.message_id == message_id)
        ).scalar_one()
    )
    assert '"image/jpeg"' in handset and str(len(picture)) in handset


def test_a_plain_form_with_no_file_sends_the_body_as_an_mms(server: Server) -> None:
    _, session = server.line()
    # As the Go bulk sender posts it: urlencoded session, to and body.
    answer = server.http.post(
        "/messaging/send", data={"session": session, "to": "+12065550177", "body": "Hi there"}
    ).json()
    assert answer["success"] is True
    message = server.landline.call("/message/get", session=session, id=answer["response"]["id"])
    assert message["response"]["hasAttachment"] is False
    assert message["response"]["messageTransport"] == 5
    listed = server.landline.call(
        "/messageAttachment/list", session=session, messageId=answer["response"]["id"]
    )
    assert listed == {"success": True, "total": 0, "response": []}


def test_long_text_goes_as_a_text_file_and_keeps_the_given_order(server: Server) -> None:
    _, session = server.line()
    long_text = ("All hands meeting moved to Thursday. " * 40).encode()
    picture = png()
    answer = server.send(
        session,
        files=[
            ("file", ("notes.txt", long_text, "text/plain")),
            ("image2", ("chart.png", picture, "application/octet-stream")),
        ],
        to="2065550177",
    ).json()
    assert answer["success"] is True
    listed = server.landline.call(
        "/messageAttachment/list", session=session, messageId=answer["response"]["id"]
    )
    assert [(p["fileName"], p["mimeType"]) for p in listed["response"]] == [
        ("notes.txt", "text/plain"),
        ("chart.png", "image/png"),
    ]


def test_content_saved_first_is_sent_by_key_and_private_to_its_line(server: Server) -> None:
    _, session = server.line()
    _, stranger = server.line()
    picture = png((40, 40))
    saved = server.http.post(
        "/hostedContent/save",
        params={"session": session},
        files={"data": ("logo.png", picture, "image/png")},
    ).json()
    assert saved["success"] is True
    key = saved["response"]

    sent = server.send(session, to="+12065550177", key=key, body="Our logo").json()
    assert sent["success"] is True
    listed = server.landline.call(
        "/messageAttachment/list", session=session, messageId=sent["response"]["id"]
    )
    assert [p["storageKey"] for p in listed["response"]] == [key]

    # Another line's session learns nothing: the key names no content of theirs.
    theirs = server.http.get("/hostedContent/get", params={"session": stranger, "storageKey": key})
    assert theirs.json()["success"] is False
    assert theirs.content != picture
    before = server.snapshot()
    borrowed = server.send(stranger, to="+12065550177", key=key).json()
    assert borrowed["success"] is False and "key" in borrowed["errorDesc"]
    assert server.snapshot() == before


def test_deleting_a_message_keeps_its_content(server: Server) -> None:
    _, session = server.line()
    picture = jpeg(5_000, seed=3)
    sent = server.send(session, files={"image": ("a.jpg", picture)}, to="+12065550177").json()
    message_id = sent["response"]["id"]
    (part,) = server.landline.call(
        "/messageAttachment/list", session=session, messageId=message_id
    )["response"]
    assert server.landline.call("/message/delete", session=session, message=message_id)["success"]
    got = server.http.get(
        "/hostedContent/get", params={"session": session, "storageKey": part["storageKey"]}
    )
    assert got.content == picture


# -- bad input: a clean answer, and nothing stored


def truncated_jpeg() -> bytes:
    return jpeg(10_000)[:-500]


BAD_FILES: dict[str, tuple[list[tuple[str, Any]], dict[str, str], str]] = {
    "a zip renamed .png": (
        [("image", ("photo.png", zip_file(), "image/png"))],
        {},
        "application/zip is not an allowed type",
    ),
    "a truncated jpeg": (
        [("image", ("photo.jpg", truncated_jpeg(), "image/jpeg"))],
        {},
        "truncated JPEG",
    ),
    "text that is not utf-8": (
        [("file", ("notes.txt", "café".encode("latin-1") * 10, "text/plain"))],
        {},
        "not UTF-8",
    ),
    "a 0-byte file": ([("image", ("empty.png", b"", "image/png"))], {}, "empty"),
    "50 small files": (
        [(f"image{n}", (f"p{n}.png", png((2, 2)), "image/png")) for n in range(50)],
        {},
        "at most",
    ),
    "a body of 701 bytes": (
        [("image", ("ok.png", png(), "image/png"))],
        {"body": "x" * 701},
        "701 bytes",
    ),
    "two to numbers": (
        [("image", ("ok.png", png(), "image/png"))],
        {"to": "+12065550177,+12065550178"},
        "exactly one recipient",
    ),
    "a good file and a forged one": (
        [
            ("image1", ("ok.png", png(), "image/png")),
            ("image2", ("evil.gif", b"GIF89a<script>alert(1)</script>", "image/gif")),
        ],
        {},
        "evil.gif",
    ),
    "no recipient": ([("image", ("ok.png", png(), "image/png"))], {"to": ""}, "to is required"),
    "an invalid number": ([], {"to": "12345", "body": "hi"}, "not a valid phone number"),
    "neither body nor file": ([], {}, "no file is attached"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_input_is_refused_and_stores_nothing(server: Server, case: str) -> None:
    files, fields, why = BAD_FILES[case]
    _, session = server.line()
    before = server.snapshot()
    form = {"to": "+12065550177", **fields}
    answer = server.send(session, files=files or None, **form)
    assert answer.status_code == 200
    body = answer.json()
    assert body["success"] is False
    assert why in body["errorDesc"]
    assert set(body) == {"success", "errorDesc"}
    assert server.snapshot() == before


def test_a_broken_multipart_boundary_is_refused(server: Server) -> None:
    _, session = server.line()
    before = server.snapshot()
    raw = (
        b'--right\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
        + png()
        + b"\r\n--wrong--\r\n"
    )
    answer = server.http.post(
        "/messaging/send",
        params={"session": session, "to": "+12065550177"},
        content=raw,
        headers={"Content-Type": "multipart/form-data; boundary=right"},
    ).json()
    assert answer["success"] is False and "multipart" in answer["errorDesc"]
    assert server.snapshot() == before


def test_an_upload_over_600_kb_gets_the_413_page_with_or_without_length(server: Server) -> None:
    _, session = server.line()
    before = server.snapshot()
    big = os.urandom(601 * 1024)
    declared = server.send(session, files={"image": ("big.jpg", big)}, to="+12065550177")
    assert declared.status_code == 413
    assert b"413 Request Entity Too Large" in declared.content

    def chunks() -> Iterator[bytes]:
        # No Content-Length: the server must count as the chunks arrive.
        boundary = b"--b0undary\r\n"
        yield boundary + b'Content-Disposition: form-data; name="image"; filename="big.jpg"\r\n\r\n'
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]
        yield b"\r\n--b0undary--\r\n"

    chunked = server.http.post(
        "/messaging/send",
        params={"session": session, "to": "+12065550177"},
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert chunked.status_code == 413
    assert b"413 Request Entity Too Large" in chunked.content
    assert server.snapshot() == before


def test_a_hundred_megabyte_upload_is_refused_before_it_is_read(server: Server) -> None:
    _, session = server.line()
    host, port = server.landline.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST /messaging/send?session={session}&to=%2B12065550177 HTTP/1.1\r\n"
            f"Host: {host}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {100 * 1024 * 1024}\r\n\r\n".encode()
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_bad_session_answers_in_the_endpoints_own_shape(server: Server) -> None:
    answer = server.send(
        "3d0f1dde-aaff-4ce8-b61a-af212a860abc:309626613",
        files={"image": ("a.png", png())},
        to="+12065550177",
    )
    assert answer.status_code == 401
    body = answer.json()
    assert body["success"] is False and "session" in body["errorDesc"].lower()


def test_a_line_without_mms_is_refused(server: Server) -> None:
    _, session = server.line(mms=False)
    before = server.snapshot()
    answer = server.send(session, files={"image": ("a.png", png())}, to="+12065550177").json()
    assert answer["success"] is False and "MMS is not enabled" in answer["errorDesc"]
    saved = server.http.post(
        "/hostedContent/save", params={"session": session}, files={"data": ("a.png", png())}
    ).json()
    assert saved["success"] is False and "MMS is not enabled" in saved["response"]["desc"]
    assert server.snapshot() == before


def test_hosted_content_errors_are_the_json_envelope(server: Server) -> None:
    _, session = server.line()
    for key in ("not-a-key", "a" * 32):
        answer = server.http.get(
            "/hostedContent/get", params={"session": session, "storageKey": key}
        )
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["success"] is False
    unknown = server.http.get("/hostedContent/get", params={"storageKey": "a" * 32})
    assert unknown.status_code == 401


# -- a handset's picture comes back


def test_a_handset_picture_arrives_with_every_part_and_is_served(server: Server) -> None:
    number, session = server.line()
    picture = jpeg(30_000, seed=5)
    runtime = server.landline.runtime

    async def handset() -> None:
        parts = await store_handset_parts(runtime.media, [("IMG_1827.jpg", picture)], 123)
        assert handset_sends(
            runtime.store, source=HANDSET, line="+1" + number, body="From the beach", parts=parts
        )

    server.landline.run(handset)
    server.landline.settle()
    listing = server.landline.call("/message/list", session=session)["response"]
    inbound = next(m for m in listing if m["messageType"] == "MO")
    assert inbound["hasAttachment"] is True and inbound["body"] == "From the beach"
    listed = server.landline.call(
        "/messageAttachment/list", session=session, messageId=inbound["id"]
    )
    assert [(p["fileName"], p["mimeType"]) for p in listed["response"]] == [
        ("IMG_1827.jpg", "image/jpeg"),
        ("123.smil", "application/smil"),
    ]
    served = server.http.get(
        "/hostedContent/get",
        params={"session": session, "storageKey": listed["response"][0]["storageKey"]},
    )
    assert served.content == picture
    smil = server.http.get(
        "/hostedContent/get",
        params={"session": session, "storageKey": listed["response"][1]["storageKey"]},
    )
    assert b'src="IMG_1827.jpg"' in smil.content


def test_an_mms_to_someone_who_opted_out_ends_at_once(server: Server) -> None:
    number, session = server.line()
    handset = "+12065550199"
    server.landline.handset_texts(handset, number, "STOP")
    server.landline.settle()
    answer = server.send(session, files={"image": ("a.png", png())}, to=handset).json()
    assert answer["success"] is True
    assert answer["response"]["status"] == "failed" and answer["response"]["code"] == -1234
    server.landline.settle()
    message = server.landline.call("/message/get", session=session, id=answer["response"]["id"])
    assert message["response"]["statusCode"] == -1234

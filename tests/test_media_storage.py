"""The content store, on disk and in S3: the same behaviour from both backends.

The S3 backend talks HTTP to a real S3 endpoint run here (moto's server), so requests,
signatures, ranges and multipart uploads go over the wire as they would to AWS.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer

from landline.core.byte_ranges import ByteRange, RangeNotSatisfiable, parse_range
from landline.media.backends import build_content_store
from landline.media.disk import PARTIAL_DIR, STALE_PARTIAL_SECONDS, DiskContentStore
from landline.media.keys import KEY_LENGTH, InvalidKey, check_key, is_valid_key, new_key
from landline.media.s3 import S3Config, S3ContentStore
from landline.media.storage import (
    CHUNK_BYTES,
    ContentStore,
    InvalidRange,
    ObjectMissing,
    TooLarge,
)
from landline.settings import Settings

T = TypeVar("T")
KEY_ID, SECRET = "landline-test", "landline-test-secret"
MiB = 1024 * 1024
# Every byte value, in an order that makes any shifted or misplaced range show.
PATTERN = bytes((i * 7 + i // 251) % 256 for i in range(600_001))


class S3Server:
    """moto's S3 server on a free local port, and a plain client to look inside it."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        credentials = {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET}
        self.client = boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1", **credentials
        )
        # Stores share one session: building one loads botocore's models, a second.
        self.session = get_session()

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    try:
        yield server
    finally:
        server.stop()


class Backend:
    """One store under test, and what a test needs to look behind it."""

    def __init__(self, name: str, make: Callable[[], ContentStore], s3: Any = None) -> None:
        self.name = name
        self.make = make
        self.s3 = s3  # a plain boto3 client on the bucket, for S3
        self.bucket = ""
        self.root = Path()

    def run(self, scenario: Callable[[ContentStore], Awaitable[T]]) -> T:
        """Run a scenario against a fresh store on its own event loop."""

        async def main() -> T:
            store = self.make()
            try:
                return await scenario(store)
            finally:
                await store.close()

        return asyncio.run(main())

    def leftovers(self) -> list[str]:
        """Everything the backend holds: stored objects and unfinished writes."""
        if self.name == "disk":
            return sorted(
                str(path.relative_to(self.root)) for path in self.root.rglob("*") if path.is_file()
            )
        objects = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        uploads = self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        return sorted([o["Key"] for o in objects] + [f"upload:{u['Key']}" for u in uploads])


def s3_backend_on(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """A store on a bucket of its own, finding its credentials the usual AWS way."""
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    server.client.create_bucket(Bucket=bucket)
    config = S3Config(bucket=bucket, endpoint_url=server.endpoint, prefix="landline/")
    chosen = Backend("s3", lambda: S3ContentStore(config, session=server.session), s3=server.client)
    chosen.bucket = bucket
    return chosen


@pytest.fixture(params=["disk", "s3"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Backend:
    if request.param == "s3":
        return s3_backend_on(request.getfixturevalue("s3_server"), monkeypatch)
    root = tmp_path / "media"
    chosen = Backend("disk", lambda: DiskContentStore(root))
    chosen.root = root
    return chosen


@pytest.fixture
def s3_backend(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Backend:
    return s3_backend_on(s3_server, monkeypatch)


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# -- storing and reading


def test_put_then_get_returns_the_same_bytes(backend: Backend) -> None:
    key = new_key()

    async def scenario(store: ContentStore) -> None:
        stored = await store.put(key, PATTERN, "image/png")
        assert (stored.key, stored.size) == (key, len(PATTERN))
        assert await store.get(key) == PATTERN
        assert await store.stat(key) == stored

    backend.run(scenario)


def test_stat_gives_size_and_a_quoted_etag_that_changes_with_the_content(
    backend: Backend,
) -> None:
    first, second = new_key(), new_key()

    async def scenario(store: ContentStore) -> None:
        a = await store.put(first, b"hello", "text/plain")
        b = await store.put(second, b"hello, world", "text/plain")
        assert (await store.stat(first), await store.stat(second)) == (a, b)
        assert a.size == 5 and b.size == 12
        assert a.etag.startswith('"') and a.etag.endswith('"') and len(a.etag) > 2
        assert a.etag != b.etag

    backend.run(scenario)


def test_s3_objects_carry_their_content_type_under_the_prefix(s3_backend: Backend) -> None:
    key = new_key()
    s3_backend.run(lambda store: store.put(key, b"GIF89a", "image/gif"))
    head = s3_backend.s3.head_object(Bucket=s3_backend.bucket, Key=f"landline/{key}")
    assert head["ContentType"] == "image/gif"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", slice(0, 100)),  # the start
        ("bytes=250000-349999", slice(250_000, 350_000)),  # the middle
        ("bytes=-500", slice(600_001 - 500, 600_001)),  # a suffix
        ("bytes=599000-", slice(599_000, 600_001)),  # to the end
        ("bytes=0-", slice(0, 600_001)),  # all of it, in several chunks
        ("bytes=599990-700000", slice(599_990, 600_001)),  # past the end: to the end
    ],
)
def test_ranges_stream_exactly_the_bytes_asked_for(
    backend: Backend, header: str, expected: slice
) -> None:
    key = new_key()

    async def scenario(store: ContentStore) -> None:
        await store.put(key, PATTERN, "image/jpeg")
        wanted = parse_range(header, len(PATTERN))
        assert wanted is not None
        stream = await store.open_range(key, wanted.start, wanted.end)
        async with stream:
            chunks = [chunk async for chunk in stream]
        assert b"".join(chunks) == PATTERN[expected]
        assert stream.length == len(PATTERN[expected])
        # The whole object's size and ETag come with the range, for the headers.
        assert stream.stored == await store.stat(key)
        assert stream.stored.size == len(PATTERN)
        assert all(len(chunk) <= CHUNK_BYTES for chunk in chunks)

    backend.run(scenario)


def test_a_range_past_the_end_or_empty_is_refused(backend: Backend) -> None:
    key = new_key()

    async def scenario(store: ContentStore) -> None:
        await store.put(key, b"0123456789", "text/plain")
        with pytest.raises(InvalidRange):
            await store.open_range(key, 10, 20)
        with pytest.raises(InvalidRange):
            await store.open_range(key, 4, 4)
        with pytest.raises(InvalidRange):
            await store.open_range(key, -1, 4)
        assert await (await store.open_range(key, 9, 10)).read_all() == b"9"

    backend.run(scenario)


def test_a_stream_closed_early_lets_go_of_its_file_or_connection(backend: Backend) -> None:
    key = new_key()

    async def scenario(store: ContentStore) -> None:
        await store.put(key, PATTERN, "image/bmp")
        await (await store.open_range(key, 0, 10)).read_all()  # warm any pool
        # On disk each stream holds a file; for S3, the in-process server's own sockets
        # would blur the count.
        open_before = _open_files()
        for _ in range(20):
            stream = await store.open_range(key, 0, len(PATTERN))
            async with stream:
                first = await anext(stream)
            assert first == PATTERN[: len(first)]
        unopened = await store.open_range(key, 0, len(PATTERN))
        await unopened.aclose()
        if backend.name == "disk":
            assert _open_files() <= open_before
        assert await store.get(key) == PATTERN

    backend.run(scenario)


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- streamed uploads


def test_put_stream_stores_what_the_chunks_add_up_to(backend: Backend) -> None:
    key, exact = new_key(), new_key()

    async def scenario(store: ContentStore) -> None:
        stored = await store.put_stream(key, chunks_of(PATTERN, 8192), "image/png", 600_001)
        assert stored.size == len(PATTERN)
        assert await store.get(key) == PATTERN
        # Exactly max_bytes is allowed.
        await store.put_stream(exact, chunks_of(b"x" * 100, 7), "text/plain", 100)
        assert await store.get(exact) == b"x" * 100

    backend.run(scenario)


def test_put_stream_past_max_bytes_is_refused_and_leaves_nothing(backend: Backend) -> None:
    key = new_key()

    async def scenario(store: ContentStore) -> None:
        with pytest.raises(TooLarge) as refused:
            await store.put_stream(key, chunks_of(PATTERN, 8192), "image/png", 600_000)
        assert refused.value.max_bytes == 600_000
        assert await store.stat(key) is None
        with pytest.raises(ObjectMissing):
            await store.get(key)

    backend.run(scenario)
    assert backend.leftovers() == []


def test_put_stream_of_several_parts_is_stored_whole_or_not_at_all(backend: Backend) -> None:
    # Over one S3 part (PART_BYTES), so S3 goes through a multipart upload.
    big, too_big = new_key(), new_key()
    data = bytes(range(256)) * (9 * MiB // 256) + b"tail"

    async def scenario(store: ContentStore) -> None:
        stored = await store.put_stream(big, chunks_of(data, MiB), "image/bmp", 20 * MiB)
        assert stored.size == len(data)
        assert await store.get(big) == data
        assert await store.stat(big) == stored
        # Refused after two parts went up: the upload is aborted.
        with pytest.raises(TooLarge):
            await store.put_stream(too_big, chunks_of(data * 2, MiB), "image/bmp", 16 * MiB)
        assert await store.stat(too_big) is None

    backend.run(scenario)
    assert backend.leftovers() == [_object_name(backend, big)]


def test_put_stream_whose_source_fails_leaves_nothing(backend: Backend) -> None:
    key = new_key()

    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * 100_000
        raise ConnectionResetError("the client went away")

    async def scenario(store: ContentStore) -> None:
        with pytest.raises(ConnectionResetError):
            await store.put_stream(key, broken(), "text/plain", 1_000_000)
        assert await store.stat(key) is None

    backend.run(scenario)
    assert backend.leftovers() == []


def test_an_object_is_invisible_until_whole_and_a_cancelled_upload_leaves_nothing(
    backend: Backend,
) -> None:
    finished, cancelled = new_key(), new_key()

    async def scenario(store: ContentStore) -> None:
        release = asyncio.Event()
        halfway = asyncio.Event()

        async def slow() -> AsyncIterator[bytes]:
            yield PATTERN[:300_000]
            halfway.set()
            await release.wait()
            yield PATTERN[300_000:]

        upload = asyncio.create_task(store.put_stream(finished, slow(), "image/png", 10**6))
        await asyncio.wait_for(halfway.wait(), 10)
        await asyncio.sleep(0)
        assert await store.stat(finished) is None
        with pytest.raises(ObjectMissing):
            await store.get(finished)
        if backend.name == "disk":
            assert not (backend.root / _sharded(finished)).exists()
        release.set()
        await asyncio.wait_for(upload, 10)
        assert await store.get(finished) == PATTERN

        halfway.clear()
        release.clear()
        doomed = asyncio.create_task(store.put_stream(cancelled, slow(), "image/png", 10**6))
        await asyncio.wait_for(halfway.wait(), 10)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        assert await store.stat(cancelled) is None

    backend.run(scenario)
    assert backend.leftovers() == [_object_name(backend, finished)]


# -- deleting and missing objects


def test_delete_removes_the_object_and_may_be_repeated(backend: Backend) -> None:
    key, other = new_key(), new_key()

    async def scenario(store: ContentStore) -> None:
        await store.put(key, b"bye", "text/plain")
        await store.put(other, b"stay", "text/plain")
        await store.delete(key)
        await store.delete(key)
        assert await store.stat(key) is None
        with pytest.raises(ObjectMissing):
            await store.get(key)
        with pytest.raises(ObjectMissing):
            await store.open_range(key, 0, 3)
        assert await store.get(other) == b"stay"

    backend.run(scenario)


def test_a_key_never_stored_is_missing(backend: Backend) -> None:
    key = new_key()

    async def scenario(store: ContentStore) -> None:
        assert await store.stat(key) is None
        with pytest.raises(ObjectMissing):
            await store.get(key)
        with pytest.raises(ObjectMissing):
            await store.open_range(key, 0, 1)
        await store.delete(key)

    backend.run(scenario)


# -- keys


BAD_KEYS = [
    "",
    "../../../../etc/passwd",
    "aaaa/bbbb/" + "a" * 22,
    "a" * 31,
    "a" * 33,
    "A" * 32,
    ".." + "a" * 30,
    "/" + "a" * 31,
    "a" * 31 + "\x00",
    "%2e%2e%2f" + "a" * 23,
    "a" * 16 + "\\" + "a" * 15,
    "1" * 32,  # outside the base32 alphabet
]


def test_new_keys_are_long_random_and_url_safe() -> None:
    keys = {new_key() for _ in range(2000)}
    assert len(keys) == 2000
    assert all(len(key) == KEY_LENGTH and is_valid_key(key) for key in keys)
    assert all(check_key(key) == key for key in keys)
    # 32 base32 characters: 160 bits, at least the 122 the brief asks for.
    assert KEY_LENGTH * 5 >= 122


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_a_key_that_could_name_a_path_is_refused_before_storage_is_touched(
    backend: Backend, bad: str
) -> None:
    assert not is_valid_key(bad)

    async def scenario(store: ContentStore) -> None:
        attempts: list[Callable[[], Awaitable[object]]] = [
            lambda: store.put(bad, b"x", "text/plain"),
            lambda: store.put_stream(bad, chunks_of(b"x", 1), "text/plain", 10),
            lambda: store.get(bad),
            lambda: store.open_range(bad, 0, 1),
            lambda: store.stat(bad),
            lambda: store.delete(bad),
        ]
        for attempt in attempts:
            with pytest.raises(InvalidKey):
                await attempt()

    backend.run(scenario)
    assert backend.leftovers() == []


# -- many at once


def test_concurrent_puts_each_land_whole(backend: Backend) -> None:
    keys = [new_key() for _ in range(30)]
    shared = new_key()

    def content(i: int) -> bytes:
        return bytes([i]) * (50_000 + i * 997)

    async def scenario(store: ContentStore) -> None:
        writes = [
            store.put(key, content(i), "image/gif")
            if i % 2
            else store.put_stream(key, chunks_of(content(i), 16_384), "image/gif", 10**6)
            for i, key in enumerate(keys)
        ]
        # Writers racing on one key: the object is one of their writes, never a mix.
        writes += [store.put(shared, content(100 + i), "image/gif") for i in range(8)]
        await asyncio.gather(*writes)
        got = await asyncio.gather(*(store.get(key) for key in keys))
        assert got == [content(i) for i in range(len(keys))]
        winner = await store.get(shared)
        assert winner in {content(100 + i) for i in range(8)}
        stored = await store.stat(shared)
        assert stored is not None and stored.size == len(winner)

    backend.run(scenario)
    assert len(backend.leftovers()) == len(keys) + 1


# -- on disk


def _object_name(backend: Backend, key: str) -> str:
    return f"landline/{key}" if backend.name == "s3" else _sharded(key)


def _sharded(key: str) -> str:
    return f"{key[:2]}/{key[2:4]}/{key}"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_disk_objects_are_sharded_private_files(tmp_path: Path) -> None:
    root = tmp_path / "data" / "media"
    key = new_key()
    previous = os.umask(0o002)  # a permissive umask must not widen anything
    try:

        async def scenario() -> None:
            store = DiskContentStore(root)
            try:
                await store.put(key, b"private", "text/plain")
            finally:
                await store.close()

        asyncio.run(scenario())
    finally:
        os.umask(previous)
    path = root / _sharded(key)
    assert path.read_bytes() == b"private"
    assert _mode(path) == 0o600
    for folder in (root, root / PARTIAL_DIR, root / key[:2], root / key[:2] / key[2:4]):
        assert _mode(folder) == 0o700, folder
    assert list((root / PARTIAL_DIR).iterdir()) == []


def test_disk_removes_unfinished_writes_a_crash_left_behind(tmp_path: Path) -> None:
    root = tmp_path / "media"
    DiskContentStore(root)
    stale = root / PARTIAL_DIR / f"{new_key()}.abc.part"
    fresh = root / PARTIAL_DIR / f"{new_key()}.def.part"
    stale.write_bytes(b"half an upload")
    fresh.write_bytes(b"another process, still writing")
    long_ago = time.time() - STALE_PARTIAL_SECONDS - 60
    os.utime(stale, (long_ago, long_ago))
    DiskContentStore(root)
    assert not stale.exists()
    assert fresh.exists()


# -- Range headers


def test_parse_range_serves_one_range_and_ignores_what_it_does_not_serve() -> None:
    assert parse_range("bytes=0-0", 10) == ByteRange(0, 1)
    assert parse_range("bytes=2-5", 10) == ByteRange(2, 6)
    assert parse_range("bytes=-3", 10) == ByteRange(7, 10)
    assert parse_range("bytes=-30", 10) == ByteRange(0, 10)
    assert parse_range("bytes=8-", 10) == ByteRange(8, 10)
    assert parse_range("bytes=8-1000", 10) == ByteRange(8, 10)
    assert parse_range(" bytes = 1 - 2 ", 10) == ByteRange(1, 3)
    assert ByteRange(2, 6).content_range(10) == "bytes 2-5/10"
    assert ByteRange(2, 6).length == 4
    # Served whole: no header, another unit, several ranges, nonsense, reversed.
    for ignored in (None, "", "items=0-1", "bytes=0-1,4-5", "bytes=x-y", "bytes=-", "bytes=5-2"):
        assert parse_range(ignored, 10) is None, ignored
    assert parse_range("bytes=0-" + "9" * 200, 10) is None


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=-0", "bytes=99-"])
def test_parse_range_past_the_end_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 10)


# -- settings


def test_settings_choose_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = build_content_store(Settings(data_dir=tmp_path / "data"))
    assert isinstance(disk, DiskContentStore)
    assert disk.root == tmp_path / "data" / "media"

    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    s3 = build_content_store(
        Settings(media_backend="s3", media_s3_bucket="pics", media_s3_prefix="mms/")
    )
    assert isinstance(s3, S3ContentStore)
    assert s3.config.bucket == "pics"
    assert s3.config.region_name() == "eu-west-3"
    assert s3.object_name("a" * 32) == "mms/" + "a" * 32
    assert S3Config(bucket="b", region="ca-central-1").region_name() == "ca-central-1"

    with pytest.raises(ValueError, match="media_s3_bucket"):
        Settings(media_backend="s3")
    with pytest.raises(ValueError):
        Settings(media_backend="ftp")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Settings(media_retention_days=-1)

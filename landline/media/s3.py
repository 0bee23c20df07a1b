"""Hosted content in an S3 bucket: AWS itself or any store that speaks its protocol
(MinIO, Ceph, Cloudflare R2, Backblaze B2, ...), through aiobotocore.

Credentials come the usual AWS way (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a
profile or an instance role), never from Landline's settings, so they are never kept
beside them. An object becomes visible in S3 only once it is whole: a streamed upload
over one part is a multipart upload, completed at the end and aborted on failure.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError

from landline.media.keys import check_key
from landline.media.storage import (
    CHUNK_BYTES,
    ByteStream,
    InvalidRange,
    ObjectMissing,
    StoredObject,
    bounded,
    check_range,
)

log = logging.getLogger(__name__)

# S3's smallest part but the last is 5 MiB; parts are gathered in memory up to this.
PART_BYTES = 8 * 1024 * 1024
DEFAULT_REGION = "us-east-1"
_MISSING = frozenset({"NoSuchKey", "NotFound", "404"})
_UNSATISFIABLE = frozenset({"InvalidRange", "416"})


@dataclass(frozen=True)
class S3Config:
    bucket: str
    # Empty: AWS itself. Otherwise the store's URL, e.g. http://127.0.0.1:9000.
    endpoint_url: str = ""
    # Empty: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.
    region: str = ""
    # Put before every key, e.g. "landline/media/", when the bucket holds other things.
    prefix: str = ""
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 30.0

    def region_name(self) -> str:
        return (
            self.region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or DEFAULT_REGION
        )

    def client_config(self) -> AioConfig:
        return AioConfig(
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
            retries={"max_attempts": 3, "mode": "standard"},
            # Stores other than AWS seldom serve virtual-hosted bucket names.
            s3={"addressing_style": "path"} if self.endpoint_url else None,
            # Many S3-compatible stores refuse the checksums that botocore now adds to
            # every upload by default.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )


class S3ContentStore:
    def __init__(self, config: S3Config, *, session: AioSession | None = None) -> None:
        self.config = config
        # Building a session loads botocore's service models; stores may share one.
        self._session = session or get_session()
        self._stack = AsyncExitStack()
        self._client: Any = None
        self._opening = asyncio.Lock()

    def object_name(self, key: str) -> str:
        return self.config.prefix + check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        name = self.object_name(key)
        client = await self._open()
        answer = await client.put_object(
            Bucket=self.config.bucket, Key=name, Body=data, ContentType=content_type
        )
        return StoredObject(key, len(data), answer["ETag"])

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str, max_bytes: int
    ) -> StoredObject:
        name = self.object_name(key)
        client = await self._open()
        parts = _parts(bounded(chunks, max_bytes))
        first = await anext(parts, b"")
        second = await anext(parts, None)
        if second is None:
            return await self.put(key, first, content_type)
        upload = await client.create_multipart_upload(
            Bucket=self.config.bucket, Key=name, ContentType=content_type
        )
        upload_id = upload["UploadId"]
        size = len(first) + len(second)
        try:
            done = [await self._upload_part(name, upload_id, 1, first)]
            done.append(await self._upload_part(name, upload_id, 2, second))
            async for part in parts:
                done.append(await self._upload_part(name, upload_id, len(done) + 1, part))
                size += len(part)
            answer = await client.complete_multipart_upload(
                Bucket=self.config.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": done},
            )
        except BaseException:
            await asyncio.shield(self._abort(name, upload_id))
            raise
        return StoredObject(key, size, answer["ETag"])

    async def _abort(self, name: str, upload_id: str) -> None:
        try:
            await self._client.abort_multipart_upload(
                Bucket=self.config.bucket, Key=name, UploadId=upload_id
            )
        except Exception:
            # The error that made the upload fail is the one to raise. The parts stay
            # until the bucket's lifecycle rule for incomplete uploads removes them.
            log.warning("could not abort the multipart upload of %s", name, exc_info=True)

    async def _upload_part(
        self, name: str, upload_id: str, number: int, data: bytes
    ) -> dict[str, Any]:
        answer = await self._client.upload_part(
            Bucket=self.config.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    async def get(self, key: str) -> bytes:
        name = self.object_name(key)
        client = await self._open()
        try:
            answer = await client.get_object(Bucket=self.config.bucket, Key=name)
        except ClientError as exc:
            raise _translated(exc, key) from None
        async with answer["Body"] as body:
            data: bytes = await body.read()
            return data

    async def open_range(self, key: str, start: int, end: int) -> ByteStream:
        check_range(start, end)
        name = self.object_name(key)
        client = await self._open()
        try:
            answer = await client.get_object(
                Bucket=self.config.bucket, Key=name, Range=f"bytes={start}-{end - 1}"
            )
        except ClientError as exc:
            raise _translated(exc, key) from None
        body = answer["Body"]
        length = answer["ContentLength"]
        size = _total_size(answer.get("ContentRange"))
        if size is None:
            await body.aclose()
            raise RuntimeError("the S3 store answered a range request without Content-Range")
        stored = StoredObject(key, size, answer["ETag"])
        return ByteStream(body.iter_chunks(CHUNK_BYTES), length, stored, body.aclose)

    async def stat(self, key: str) -> StoredObject | None:
        name = self.object_name(key)
        client = await self._open()
        try:
            answer = await client.head_object(Bucket=self.config.bucket, Key=name)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        return StoredObject(key, answer["ContentLength"], answer["ETag"])

    async def delete(self, key: str) -> None:
        name = self.object_name(key)
        client = await self._open()
        await client.delete_object(Bucket=self.config.bucket, Key=name)

    async def close(self) -> None:
        async with self._opening:
            self._client = None
            await self._stack.aclose()

    async def _open(self) -> Any:
        """The client, made on first use: its connections belong to the running loop."""
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    self._client = await self._stack.enter_async_context(
                        self._session.create_client(
                            "s3",
                            endpoint_url=self.config.endpoint_url or None,
                            region_name=self.config.region_name(),
                            config=self.config.client_config(),
                        )
                    )
        return self._client


async def _parts(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The chunks regrouped into parts of PART_BYTES, the last one shorter."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        while len(buffer) >= PART_BYTES:
            yield bytes(buffer[:PART_BYTES])
            del buffer[:PART_BYTES]
    if buffer:
        yield bytes(buffer)


def _total_size(content_range: str | None) -> int | None:
    """The object's size from a Content-Range header: "bytes 0-99/1234" -> 1234."""
    total = (content_range or "").rpartition("/")[2]
    return int(total) if total.isdigit() else None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translated(exc: ClientError, key: str) -> Exception:
    code = _code(exc)
    if code in _MISSING:
        return ObjectMissing(key)
    if code in _UNSATISFIABLE:
        return InvalidRange(f"bytes past the end of {key}")
    return exc

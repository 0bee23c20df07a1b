"""Files a client uploads: judged by their bytes, named safely, stored by a new key.

Nothing is stored until every file of the request has passed, and a request that fails
after storing removes what it stored, so bad input leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from landline.api.forms import UploadedFile
from landline.core.media_types import MediaRefused, MediaType, judge, safe_file_name
from landline.media.keys import new_key
from landline.media.storage import ContentStore
from landline.store.access import Store
from landline.store.media import bytes_used, media_row

log = logging.getLogger(__name__)


class UploadRefused(ValueError):
    """A file is empty, or not of an allowed type; the message names the file."""


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    media_type: MediaType
    file_name: str


def check_files(files: Sequence[UploadedFile]) -> list[CheckedFile]:
    checked = []
    for number, upload in enumerate(files, 1):
        shown = upload.filename or upload.field or f"file {number}"
        try:
            media_type = judge(upload.data)
        except MediaRefused as exc:
            raise UploadRefused(f"file {shown[:60]!r}: {exc}") from None
        checked.append(CheckedFile(upload.data, media_type, safe_file_name(shown, media_type)))
    return checked


async def check_quota(
    store: Store, device_id: int, files: Sequence[CheckedFile], quota_bytes: int
) -> None:
    """Refuse files that would take the line past its quota. Checked before storing, so
    concurrent uploads may pass it by one request's files each."""
    if quota_bytes <= 0 or not files:
        return
    adding = sum(len(file.data) for file in files)
    used = await store.read(bytes_used, device_id)
    if used + adding > quota_bytes:
        raise UploadRefused(
            f"this line keeps {used // 1_048_576} MB of hosted content; its quota is "
            f"{quota_bytes // 1_048_576} MB"
        )


@dataclass(frozen=True)
class Stored:
    keys: list[str]
    rows: list[dict[str, object]]


async def store_files(
    content: ContentStore, device_id: int, files: Sequence[CheckedFile], now: int
) -> Stored:
    """Put every file in the content store; on any failure remove those already put."""
    keys: list[str] = []
    rows: list[dict[str, object]] = []
    try:
        for file in files:
            key = new_key()
            keys.append(key)
            stored = await content.put(key, file.data, file.media_type.mime)
            rows.append(
                media_row(key, device_id, file.file_name, file.media_type.mime, stored.size, now)
            )
    except BaseException:
        await asyncio.shield(discard(content, keys))
        raise
    return Stored(keys, rows)


async def discard(content: ContentStore, keys: Sequence[str]) -> None:
    for key in keys:
        try:
            await content.delete(key)
        except Exception:
            # Unreferenced: no key to it was ever answered, so it is unreachable.
            log.warning("could not remove unused content %s", key, exc_info=True)

"""The content store that the settings ask for."""

from __future__ import annotations

from pathlib import Path

from landline.media.disk import DiskContentStore
from landline.media.storage import ContentStore
from landline.settings import Settings

# Threads for file work. An upload waits on fsync (the file, then its folders), so a few
# more threads than cores keep uploads from queueing behind each other's syncs; the
# file system commits concurrent syncs together.
DISK_THREADS = 16


def media_dir(settings: Settings) -> Path:
    return settings.data_dir / "media"


def build_content_store(settings: Settings) -> ContentStore:
    """The configured store. An S3 store connects on first use, so this needs no loop."""
    if settings.media_backend == "s3":
        # Imported only when chosen: botocore's models cost every process tens of MB.
        from landline.media.s3 import S3Config, S3ContentStore

        return S3ContentStore(
            S3Config(
                bucket=settings.media_s3_bucket,
                endpoint_url=settings.media_s3_endpoint,
                region=settings.media_s3_region,
                prefix=settings.media_s3_prefix,
            )
        )
    return DiskContentStore(media_dir(settings), threads=DISK_THREADS)

"""What the MMS tests share: real image files, a local S3 server, and a look inside the
store and the content store (to prove a refused request left nothing behind)."""

from __future__ import annotations

import io
import os
import random
import uuid
import zipfile
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from PIL import Image
from sqlalchemy import func, select

from landline.store.schema import attachments, media, messages

KEY_ID, SECRET = "landline-test", "landline-test-secret"


def jpeg(target_bytes: int = 20_000, seed: int = 1) -> bytes:
    """A real JPEG of about `target_bytes` (noise compresses badly, so size follows area)."""
    side = max(8, int((target_bytes / 1.1) ** 0.5))
    rng = random.Random(seed)
    image = Image.frombytes(
        "L", (side, side), bytes(rng.randrange(256) for _ in range(side * side))
    )
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def png(size: tuple[int, int] = (31, 17)) -> bytes:
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def zip_file() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("invoice.txt", "pay me")
    return buffer.getvalue()


class S3Server:
    """moto's S3 server on a free local port: the S3 wire protocol, spoken here."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )

    def new_bucket(self) -> str:
        bucket = f"media-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=bucket)
        return bucket

    def objects(self, bucket: str) -> list[str]:
        found = self.client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(item["Key"] for item in found)

    def stop(self) -> None:
        self._server.stop()


def use_s3_credentials() -> None:
    os.environ["AWS_ACCESS_KEY_ID"] = KEY_ID
    os.environ["AWS_SECRET_ACCESS_KEY"] = SECRET
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"


def disk_objects(data_dir: Path) -> list[str]:
    root = data_dir / "media"
    if not root.exists():
        return []
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def row_counts(connection: Any) -> dict[str, int]:
    return {
        table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for table in (messages, media, attachments)
    }

"""What a simulated handset's picture message is made of: the files, judged like any
upload, and the SMIL part a real handset adds to lay them out.

Parts are stored in the content store when the handset sends; the simulated network
then reports them with the text, as a real network reports what it fetched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from xml.sax.saxutils import quoteattr

from landline.core.media_types import judge, safe_file_name
from landline.core.mms import MAX_ATTACHMENTS, Part
from landline.media.keys import new_key
from landline.media.storage import ContentStore

SMIL_TYPE = "application/smil"


def smil(names: Sequence[tuple[str, str]]) -> bytes:
    """A SMIL presentation showing each (file name, type) in turn."""
    slides = []
    for name, mime in names:
        element = "img" if mime.startswith("image/") else "text"
        slides.append(f'<par dur="5s"><{element} src={quoteattr(name)} region="Image"/></par>')
    return (
        '<smil><head><layout><region id="Image" fit="meet"/></layout></head><body>'
        + "".join(slides)
        + "</body></smil>"
    ).encode()


async def store_handset_parts(
    content: ContentStore, files: Sequence[tuple[str, bytes]], message_number: int
) -> list[Part]:
    """Judge and store a handset's files and their SMIL; ValueError for a bad file."""
    if len(files) > MAX_ATTACHMENTS:
        raise ValueError(f"at most {MAX_ATTACHMENTS} files")
    judged = []
    for name, data in files:
        media_type = judge(data)
        judged.append((safe_file_name(name, media_type), media_type.mime, data))
    presentation = smil([(name, mime) for name, mime, _ in judged])
    judged.append((f"{message_number}.smil", SMIL_TYPE, presentation))
    parts = []
    for name, mime, data in judged:
        key = new_key()
        stored = await content.put(key, data, mime)
        parts.append(Part(key, mime, stored.size, name))
    return parts


def encode_parts(parts: Sequence[Part]) -> str:
    return json.dumps([asdict(part) for part in parts])


def decode_parts(stored: str | None) -> tuple[Part, ...]:
    if not stored:
        return ()
    return tuple(Part(**item) for item in json.loads(stored))

"""What a file is, judged from its bytes; and a client's file name made harmless.

MMS attachments may be BMP, GIF, JPEG, PNG or UTF-8 text. The type a client claims (its
Content-Type, its file name) is never trusted: a PDF, a ZIP, an executable or an HTML
page renamed `photo.png` is refused by its bytes. Images are checked for enough of their
structure that a truncated or forged file is refused too, without decoding pixels.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass

ALLOWED_TYPES = ("image/bmp", "image/gif", "image/jpeg", "image/png", "text/plain")


class MediaRefused(ValueError):
    """The bytes are not one of the allowed types, or are a broken file of one."""


@dataclass(frozen=True)
class MediaType:
    mime: str
    # With its dot, as in `Path.suffix`.
    extension: str


BMP = MediaType("image/bmp", ".bmp")
GIF = MediaType("image/gif", ".gif")
JPEG = MediaType("image/jpeg", ".jpg")
PNG = MediaType("image/png", ".png")
TEXT = MediaType("text/plain", ".txt")

# Other names a file of each type commonly has; a name with one of them keeps it.
_EXTENSIONS = {
    BMP.mime: (".bmp", ".dib"),
    GIF.mime: (".gif",),
    JPEG.mime: (".jpg", ".jpeg", ".jpe", ".jfif"),
    PNG.mime: (".png",),
    TEXT.mime: (".txt", ".text"),
}


def judge(data: bytes) -> MediaType:
    """The type of `data` if it is an allowed, whole file; otherwise `MediaRefused`."""
    if not data:
        raise MediaRefused("the file is empty")
    if data.startswith(b"\xff\xd8\xff"):
        _check_jpeg(data)
        return JPEG
    if data.startswith(_PNG_SIGNATURE):
        _check_png(data)
        return PNG
    if data.startswith((b"GIF87a", b"GIF89a")):
        _check_gif(data)
        return GIF
    if _looks_like_bmp(data):
        _check_bmp(data)
        return BMP
    _check_text(data)
    return TEXT


def _refuse_forbidden(data: bytes) -> None:
    for signature, offset, name in _FORBIDDEN_SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            raise MediaRefused(f"{name} is not an allowed type; {_allowed()}")


def _allowed() -> str:
    return "allowed: " + ", ".join(ALLOWED_TYPES)


# -- JPEG: SOI, marker segments up to a frame header and the first scan, EOI at the end.

_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0..SOF15
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn, TEM: no length


def _check_jpeg(data: bytes) -> None:
    size = len(data)
    position = 2
    frame_seen = False
    while True:
        if position >= size:
            raise MediaRefused("truncated JPEG: it ends before its image data")
        if data[position] != 0xFF:
            raise MediaRefused("broken JPEG: a marker segment is malformed")
        while position < size and data[position] == 0xFF:  # fill bytes
            position += 1
        if position >= size:
            raise MediaRefused("truncated JPEG: it ends before its image data")
        marker = data[position]
        position += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD8, 0xD9):
            raise MediaRefused("broken JPEG: no image data before its end marker")
        if position + 2 > size:
            raise MediaRefused("truncated JPEG: it ends inside a marker segment")
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2 or position + length > size:
            raise MediaRefused("truncated JPEG: it ends inside a marker segment")
        if marker in _JPEG_FRAMES:
            if length < 8 or int.from_bytes(data[position + 5 : position + 7], "big") == 0:
                raise MediaRefused("broken JPEG: its frame header has no width")
            frame_seen = True
        position += length
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
    if not frame_seen:
        raise MediaRefused("broken JPEG: no frame header before its image data")
    if not data.endswith(b"\xff\xd9") or size < position + 2:
        raise MediaRefused("truncated JPEG: no end-of-image marker")


# -- PNG: signature, IHDR first, every chunk whole with its CRC, IEND last.

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK_TYPE = re.compile(rb"[A-Za-z]{4}")


def _check_png(data: bytes) -> None:
    view = memoryview(data)
    size = len(data)
    position = len(_PNG_SIGNATURE)
    first = True
    image_data_seen = False
    while position < size:
        if position + 12 > size:
            raise MediaRefused("truncated PNG: it ends inside a chunk")
        length = int.from_bytes(view[position : position + 4], "big")
        kind = bytes(view[position + 4 : position + 8])
        end = position + 12 + length
        if not _CHUNK_TYPE.fullmatch(kind):
            raise MediaRefused("broken PNG: a chunk has an invalid type")
        if end > size:
            raise MediaRefused("truncated PNG: it ends inside a chunk")
        crc = int.from_bytes(view[end - 4 : end], "big")
        if zlib.crc32(view[position + 4 : end - 4]) != crc:
            raise MediaRefused(f"broken PNG: the {kind.decode()} chunk fails its checksum")
        if first:
            _check_png_header(kind, view[position + 8 : end - 4])
            first = False
        image_data_seen = image_data_seen or kind == b"IDAT"
        if kind == b"IEND":
            if end != size:
                raise MediaRefused("broken PNG: data follows its IEND chunk")
            if not image_data_seen:
                raise MediaRefused("broken PNG: it has no image data")
            return
        position = end
    raise MediaRefused("truncated PNG: no IEND chunk")


def _check_png_header(kind: bytes, body: memoryview) -> None:
    if kind != b"IHDR" or len(body) != 13:
        raise MediaRefused("broken PNG: the first chunk is not IHDR")
    width = int.from_bytes(body[0:4], "big")
    height = int.from_bytes(body[4:8], "big")
    if width == 0 or height == 0:
        raise MediaRefused("broken PNG: the image has no width or height")


# -- GIF: header, screen descriptor, blocks walked one by one to the trailer (0x3B).


def _check_gif(data: bytes) -> None:
    size = len(data)
    if size < 13:
        raise MediaRefused("truncated GIF: it ends inside its header")
    position = 13 + _gif_color_table(data[10])
    images = 0
    while True:
        if position >= size:
            raise MediaRefused("truncated GIF: no trailer")
        introducer = data[position]
        if introducer == 0x3B:
            position += 1
            break
        if introducer == 0x21:  # extension: label, then data sub-blocks
            position = _skip_gif_sub_blocks(data, position + 2)
        elif introducer == 0x2C:  # image: descriptor, color table, LZW code size, data
            if position + 10 > size:
                raise MediaRefused("truncated GIF: it ends inside an image descriptor")
            position += 10 + _gif_color_table(data[position + 9]) + 1
            position = _skip_gif_sub_blocks(data, position)
            images += 1
        else:
            raise MediaRefused("broken GIF: an unknown block")
    if position != size:
        raise MediaRefused("broken GIF: data follows its trailer")
    if images == 0:
        raise MediaRefused("broken GIF: it has no image")


def _gif_color_table(packed: int) -> int:
    return 3 * (2 ** ((packed & 0x07) + 1)) if packed & 0x80 else 0


def _skip_gif_sub_blocks(data: bytes, position: int) -> int:
    size = len(data)
    while True:
        if position >= size:
            raise MediaRefused("truncated GIF: it ends inside a data block")
        length = data[position]
        position += 1 + length
        if length == 0:
            return position


# -- BMP: "BM", a file size field equal to the data's, a known header, pixels that fit.

_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_BMP_DEPTHS = frozenset({1, 4, 8, 16, 24, 32})
_BMP_UNCOMPRESSED = frozenset({0, 3, 6})  # BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS


def _looks_like_bmp(data: bytes) -> bool:
    # "BM" alone may begin a text ("BMW ..."); a BMP also has a known header size.
    return (
        data.startswith(b"BM")
        and len(data) >= 18
        and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES
    )


def _check_bmp(data: bytes) -> None:
    size = len(data)
    header_size = int.from_bytes(data[14:18], "little")
    if size < 14 + header_size or int.from_bytes(data[2:6], "little") != size:
        raise MediaRefused("truncated BMP: its size field does not match the data")
    if header_size == 12:
        width = int.from_bytes(data[18:20], "little")
        height = int.from_bytes(data[20:22], "little")
        planes = int.from_bytes(data[22:24], "little")
        depth = int.from_bytes(data[24:26], "little")
        compression = 0
    else:
        width = int.from_bytes(data[18:22], "little", signed=True)
        # Negative: rows stored top-down.
        height = abs(int.from_bytes(data[22:26], "little", signed=True))
        planes = int.from_bytes(data[26:28], "little")
        depth = int.from_bytes(data[28:30], "little")
        compression = int.from_bytes(data[30:34], "little")
    pixels_at = int.from_bytes(data[10:14], "little")
    if width <= 0 or height == 0 or planes != 1 or depth not in _BMP_DEPTHS:
        raise MediaRefused("broken BMP: its header is invalid")
    if not 14 + header_size <= pixels_at <= size:
        raise MediaRefused("broken BMP: its pixel data lies outside the file")
    row_bytes = (width * depth + 31) // 32 * 4
    if compression in _BMP_UNCOMPRESSED and pixels_at + row_bytes * height > size:
        raise MediaRefused("truncated BMP: its pixel data is incomplete")


# -- Text: UTF-8, no NUL, and not a document a browser would take for active content.

# Leading bytes of types that are refused, so the error can name what the file is.
_FORBIDDEN_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"%!PS-Adobe-", 0, "application/postscript"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"PK\x05\x06", 0, "application/zip"),
    (b"MZ", 0, "an executable (application/x-msdownload)"),
    (b"\x7fELF", 0, "an executable (application/x-elf)"),
    (b"\xcf\xfa\xed\xfe", 0, "an executable (Mach-O)"),
    (b"\xca\xfe\xba\xbe", 0, "an executable (Mach-O)"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"WEBP", 8, "image/webp"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypheix", 4, "image/heic"),
    (b"ftypmif1", 4, "image/heif"),
    (b"ftypavif", 4, "image/avif"),
    (b"ftyp", 4, "video or audio (ISO media)"),
    (b"\x00\x00\x01\x00", 0, "image/x-icon"),
    (b"OggS", 0, "audio/ogg"),
    (b"ID3", 0, "audio/mpeg"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "an Office document"),
)

# Text that a browser would take for a page or a document rather than plain text
# (HTML by the WHATWG sniffing rules: after whitespace, in any case), by what it is.
_TEXT_DOCUMENTS: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (
        re.compile(
            rb"<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title"
            rb"|b|body|br|p)[\s/>]|<!--",
            re.IGNORECASE,
        ),
        "text/html",
    ),
    (re.compile(rb"<\?xml|<svg[\s/>]", re.IGNORECASE), "XML or SVG"),
    (re.compile(rb"%PDF-"), "application/pdf"),
    (re.compile(rb"%!PS-Adobe-"), "application/postscript"),
)
_LEADING_SPACE = re.compile(rb"(?:\xef\xbb\xbf)?[\t\n\x0c\r ]*")


def _check_text(data: bytes) -> None:
    start = _LEADING_SPACE.match(data)
    for pattern, name in _TEXT_DOCUMENTS:
        if pattern.match(data, start.end() if start else 0):
            raise MediaRefused(f"{name} is not an allowed type; {_allowed()}")
    if b"\x00" in data:
        _refuse_forbidden(data)
        raise MediaRefused(f"the file is binary data of no allowed type; {_allowed()}")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refuse_forbidden(data)
        raise MediaRefused(
            f"the file is not an image and not UTF-8 text (invalid byte at offset "
            f"{exc.start}); {_allowed()}"
        ) from None


# -- File names.

MAX_NAME_CHARS = 100
DEFAULT_NAME = "attachment"
# Windows keeps these for devices; a saved file with such a stem is unusable there.
_RESERVED_STEMS = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{n}" for n in range(10)} | {f"lpt{n}" for n in range(10)}
)
_UNSAFE_CHARS = re.compile(r'[<>:"|?*\\/]')
_SPACES = re.compile(r"\s+")
_MAX_EXTENSION_CHARS = 10


def safe_file_name(name: str | None, media_type: MediaType | None = None) -> str:
    """A client's file name made harmless to show, to put in a header, and to save.

    Only the last path part is kept; control and format characters (among them the
    bidirectional overrides that make `gpj.exe` look like `exe.jpg`) are dropped;
    characters unsafe in file names on some system become `_`; leading and trailing dots
    go (no hidden files, no `..`); at most MAX_NAME_CHARS characters, keeping the
    extension. With `media_type`, a name whose extension does not fit the type gets the
    type's own, so `invoice.html` judged as text becomes `invoice.html.txt`.
    """
    text = re.split(r"[/\\]", unicodedata.normalize("NFC", name or ""))[-1]
    text = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or ch.isprintable())
    text = _SPACES.sub(" ", _UNSAFE_CHARS.sub("_", text)).strip(" .")
    stem, dot, extension = text.rpartition(".")
    if dot and stem and len(extension) <= _MAX_EXTENSION_CHARS and " " not in extension:
        suffix = "." + extension
    else:
        stem, suffix = text, ""
    if media_type is not None and suffix.lower() not in _EXTENSIONS[media_type.mime]:
        stem, suffix = stem + suffix, media_type.extension
    if stem.split(".")[0].strip().lower() in _RESERVED_STEMS:
        stem = "_" + stem
    stem = stem[: MAX_NAME_CHARS - len(suffix)].rstrip(" .")
    return (stem or DEFAULT_NAME) + suffix

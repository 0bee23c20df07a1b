"""Attachment types judged from the bytes, on real files made here by real encoders."""

from __future__ import annotations

import contextlib
import gzip
import io
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from landline.core.media_types import (
    BMP,
    GIF,
    JPEG,
    MAX_NAME_CHARS,
    PNG,
    TEXT,
    MediaRefused,
    MediaType,
    judge,
    safe_file_name,
)


def encoded(
    format: str, mode: str = "RGB", size: tuple[int, int] = (37, 23), **options: object
) -> bytes:
    # A gradient, so encoders write real image data rather than one flat run.
    image = Image.linear_gradient("L").resize(size).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("P", (16, 16), colour) for colour in (0, 1, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=80)
    return buffer.getvalue()


EXIF = Image.Exif()
EXIF[0x010F] = "Landline test camera"  # Make

ALLOWED: dict[str, tuple[bytes, MediaType]] = {
    "png rgb": (encoded("PNG"), PNG),
    "png rgba optimized": (encoded("PNG", "RGBA", optimize=True), PNG),
    "png palette": (encoded("PNG", "P"), PNG),
    "png grey 1x1": (encoded("PNG", "L", (1, 1)), PNG),
    "gif": (encoded("GIF", "P"), GIF),
    "gif animated": (animated_gif(), GIF),
    "bmp 24-bit": (encoded("BMP"), BMP),
    "bmp 1-bit": (encoded("BMP", "1"), BMP),
    "bmp 8-bit palette": (encoded("BMP", "P"), BMP),
    "jpeg baseline": (encoded("JPEG", quality=85), JPEG),
    "jpeg progressive grey": (encoded("JPEG", "L", progressive=True), JPEG),
    "jpeg with exif": (encoded("JPEG", exif=EXIF.tobytes()), JPEG),
    "jpeg 1x1": (encoded("JPEG", "RGB", (1, 1)), JPEG),
    "text ascii": (b"Meet at 5? Bring the keys.\n", TEXT),
    "text utf-8": ("Café ✓ 日本語 👋\r\n".encode(), TEXT),
    "text with bom": ("\ufeffnotes".encode(), TEXT),
    "text starting BM": (b"BMW service on Tuesday at 10", TEXT),
    "text one byte": (b"k", TEXT),
    "text heart": (b"<3 see you soon", TEXT),
}


@pytest.mark.parametrize("name", ALLOWED)
def test_allowed_files_are_judged_by_their_bytes(name: str) -> None:
    data, expected = ALLOWED[name]
    assert judge(data) == expected


def test_the_result_gives_the_type_and_an_extension() -> None:
    assert [(t.mime, t.extension) for t in (BMP, GIF, JPEG, PNG, TEXT)] == [
        ("image/bmp", ".bmp"),
        ("image/gif", ".gif"),
        ("image/jpeg", ".jpg"),
        ("image/png", ".png"),
        ("text/plain", ".txt"),
    ]


def zip_file() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.png", "not a photo")
    return buffer.getvalue()


def executable() -> bytes:
    return Path(sys.executable).resolve().read_bytes()


# Files of other types, each as if uploaded with the name photo.png.
FORBIDDEN: dict[str, tuple[bytes, str]] = {
    "pdf": (encoded("PDF"), "application/pdf"),
    "zip": (zip_file(), "application/zip"),
    "executable": (executable(), "executable"),
    "html": (b"<!DOCTYPE html>\n<html><body><script>steal()</script></body></html>", "text/html"),
    "html without doctype": (b"\n  <HTML><p>hi</p></HTML>", "text/html"),
    "html comment first": (b"<!-- x --><img src=x onerror=alert(1)>", "text/html"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "SVG"),
    "xml": (b'<?xml version="1.0"?><a/>', "XML"),
    "webp": (encoded("WEBP"), "image/webp"),
    "tiff": (encoded("TIFF"), "image/tiff"),
    "ico": (encoded("ICO", "RGBA", (16, 16)), "image/x-icon"),
    "gzip": (gzip.compress(b"hello" * 100), "application/gzip"),
}


@pytest.mark.parametrize("name", FORBIDDEN)
def test_a_forbidden_type_named_png_is_refused_and_named(name: str) -> None:
    data, what = FORBIDDEN[name]
    with pytest.raises(MediaRefused, match=what):
        judge(data)


WHOLE = {
    "jpeg": encoded("JPEG", quality=90),
    "png": encoded("PNG"),
    "gif": encoded("GIF", "P"),
    "bmp": encoded("BMP"),
}


@pytest.mark.parametrize("kind", WHOLE)
@pytest.mark.parametrize("lose", [1, 2, 13, "half", "only a header"])
def test_a_truncated_image_is_refused(kind: str, lose: int | str) -> None:
    data = WHOLE[kind]
    if lose == "half":
        keep = len(data) // 2
    elif lose == "only a header":
        keep = 18
    else:
        keep = len(data) - int(lose)
    with pytest.raises(MediaRefused, match=r"truncated|broken"):
        judge(data[:keep])


def test_a_jpeg_without_its_end_marker_says_so() -> None:
    with pytest.raises(MediaRefused, match="truncated JPEG: no end-of-image marker"):
        judge(WHOLE["jpeg"][:-2])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xd8\xff" + b"garbage that is not a marker segment" + b"\xff\xd9", "JPEG"),
        (b"\xff\xd8\xff\xd9", "JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "PNG"),
        (WHOLE["png"][:20] + b"X" + WHOLE["png"][21:], "checksum"),
        (WHOLE["png"] + zip_file(), "data follows its IEND"),
        (b"GIF89a" + b"\x01\x00\x01\x00\x00\x00\x00" + b"hello" + b"\x3b", "GIF"),
        (WHOLE["gif"][:-1] + b"\x3b\x3b", "GIF"),
        (WHOLE["bmp"] + b"\x00\x00", "BMP"),
    ],
    ids=[
        "jpeg markers forged",
        "jpeg with no image",
        "png signature then zeros",
        "png with a damaged header",
        "png with a zip appended",
        "gif header then text",
        "gif with bytes after its trailer",
        "bmp longer than its size field",
    ],
)
def test_a_forged_or_damaged_image_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(MediaRefused, match=reason):
        judge(data)


@pytest.mark.parametrize(
    "data",
    [
        "café au lait".encode("latin-1"),
        "hello".encode("utf-16"),
        b"\x80\x81\x82 raw bytes",
        "ok until here \udcff".encode("utf-8", "surrogateescape"),
    ],
    ids=["latin-1", "utf-16", "binary", "a stray byte"],
)
def test_text_that_is_not_utf8_is_refused(data: bytes) -> None:
    with pytest.raises(MediaRefused, match=r"UTF-8|binary"):
        judge(data)


def test_text_with_a_nul_byte_is_refused() -> None:
    with pytest.raises(MediaRefused, match="binary"):
        judge(b"looks like text\x00but is not")


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(MediaRefused, match="empty"):
        judge(b"")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_are_judged_or_refused_never_crash(data: bytes) -> None:
    with contextlib.suppress(MediaRefused):
        judge(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(WHOLE)), st.data())
def test_no_strict_prefix_of_an_image_is_accepted(kind: str, draw: st.DataObject) -> None:
    data = WHOLE[kind]
    keep = draw.draw(st.integers(min_value=0, max_value=len(data) - 1))
    try:
        judged = judge(data[:keep])
    except MediaRefused:
        return
    # A few leading bytes can be a text of their own ("B", "GIF8"), never an image.
    assert judged == TEXT and keep < 18


# -- file names


@pytest.mark.parametrize(
    ("given_name", "media_type", "expected"),
    [
        ("holiday.jpg", JPEG, "holiday.jpg"),
        ("holiday.JPEG", JPEG, "holiday.JPEG"),
        ("C:\\Users\\ann\\Pictures\\cat.png", PNG, "cat.png"),
        ("../../etc/passwd", None, "passwd"),
        ("../../etc/passwd", TEXT, "passwd.txt"),
        ("invoice.html", TEXT, "invoice.html.txt"),
        ("cat.png", JPEG, "cat.png.jpg"),
        (".htaccess", None, "htaccess"),
        ("...", None, "attachment"),
        ("", PNG, "attachment.png"),
        (None, GIF, "attachment.gif"),
        ("photo\u202egnp.exe", None, "photognp.exe"),
        ("line\none\r\ttab.txt", TEXT, "line one tab.txt"),
        ('a"b<c>d|e?f*g:h.png', PNG, "a_b_c_d_e_f_g_h.png"),
        ("CON.txt", TEXT, "_CON.txt"),
        ("nul", None, "_nul"),
        ("report.   ", None, "report"),
    ],
)
def test_safe_file_name(
    given_name: str | None, media_type: MediaType | None, expected: str
) -> None:
    assert safe_file_name(given_name, media_type) == expected


def test_a_long_file_name_is_cut_keeping_its_extension() -> None:
    name = safe_file_name("é" * 500 + ".jpeg", JPEG)
    assert len(name) == MAX_NAME_CHARS
    assert name.endswith("é.jpeg")


@given(st.text(max_size=400))
def test_any_file_name_becomes_a_harmless_one(name: str) -> None:
    safe = safe_file_name(name)
    assert 0 < len(safe) <= MAX_NAME_CHARS
    assert not any(ch in safe for ch in '/\\<>:"|?*')
    assert all(ch.isprintable() for ch in safe)
    assert not safe.startswith(".") and safe not in (".", "..")

"""Request bodies as clients send them: urlencoded forms, multipart forms, JSON objects.

Every text must be valid UTF-8: a client's broken bytes are refused, naming the field,
rather than silently replaced and stored (or texted) as U+FFFD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

import orjson
from python_multipart.multipart import MultipartParser, parse_options_header

from landline.api.params import BadParam

# A JSON value nested deeper than this is no parameter of this API.
MAX_JSON_DEPTH = 32
MAX_FILES = 20
MAX_PARTS = 1000
MAX_NAME_CHARS = 256


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Form:
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[UploadedFile] = field(default_factory=list)


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadParam(f"{what} is not valid UTF-8") from None


def _name(raw: bytes) -> str:
    return _text(raw, "a parameter name")[:MAX_NAME_CHARS]


def urlencoded(raw: bytes) -> list[tuple[str, str]]:
    """`key=value&...` pairs, `+` for spaces and `%XX` escapes, strictly UTF-8."""
    pairs: list[tuple[str, str]] = []
    for item in raw.split(b"&"):
        if not item:
            continue
        key, _, value = item.partition(b"=")
        name = _name(_unescape(key))
        # Plain fields, most of them, skip the unescaping work.
        pairs.append((name, _text(_unescape(value), name)))
    return pairs


def _unescape(raw: bytes) -> bytes:
    if b"%" not in raw and b"+" not in raw:
        return raw
    return unquote_to_bytes(raw.replace(b"+", b" "))


def json_object(body: bytes) -> list[tuple[str, str]]:
    """The members of a JSON object as parameters; a list gives one value per item."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadParam("the JSON body is malformed") from None
    if not isinstance(data, dict):
        raise BadParam("the JSON body must be an object")
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, str):
                pairs.append((key, item))
                continue
            if _depth(item) > MAX_JSON_DEPTH:
                raise BadParam(f"{key[:40]} is nested too deeply")
            pairs.append((key, orjson.dumps(item).decode()))
    return pairs


def _depth(value: object) -> int:
    """How deeply a JSON value nests, counted without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def multipart(content_type: str, body: bytes) -> Form:
    """The fields and files of a multipart/form-data body."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadParam("the multipart body has no boundary")
    collector = _Collector()
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    try:
        written = parser.write(body)
        parser.finalize()
    except BadParam:
        raise
    except Exception:
        raise BadParam("the multipart body is malformed") from None
    if written != len(body) or not collector.ended:
        raise BadParam("the multipart body is malformed")
    return collector.form


class _Collector:
    """Gathers parts as python-multipart's parser reports them."""

    def __init__(self) -> None:
        self.form = Form()
        self.ended = False
        self._headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._data: list[bytes] = []
        self._parts = 0

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": self._field,
            "on_header_value": self._value,
            "on_header_end": self._header_end,
            "on_end": self._end,
        }

    def _begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise BadParam(f"the multipart body has more than {MAX_PARTS} parts")
        self._headers, self._data = {}, []

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._data.append(data[start:end])

    def _part_end(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise BadParam("a multipart part has no form-data name")
        name = _name(options[b"name"])
        data = b"".join(self._data)
        filename = options.get(b"filename")
        if filename is None:
            self.form.fields.append((name, _text(data, name)))
            return
        if len(self.form.files) >= MAX_FILES:
            raise BadParam(f"at most {MAX_FILES} files are allowed")
        content_type = self._headers.get(b"content-type")
        self.form.files.append(
            UploadedFile(
                field=name,
                filename=_text(filename, "a file name")[:MAX_NAME_CHARS],
                content_type=content_type.decode("latin-1") if content_type else None,
                data=data,
            )
        )

    def _end(self) -> None:
        self.ended = True

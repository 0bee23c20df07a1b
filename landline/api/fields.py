"""The kinds of parameters the API takes, and how an endpoint declares its own.

Each endpoint declares its parameters once, as a dataclass whose fields are `param(...)`:
the kind (with its limits), the name and the aliases real clients use, whether it is
required, and what it means. From that declaration come the parsing (`parse_args`) and
the parameters of the OpenAPI document. Every kind refuses what it cannot take with a
BadParam that names the parameter, and every list kind has a maximum.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, TypeVar

from landline.api.params import ABSENT_WORDS, BadParam, Params, listed, shown
from landline.api.shapes import DIGITS_PATTERN
from landline.core import numbers, times

Schema = dict[str, Any]
T = TypeVar("T")

# Ids, offsets and counts are stored as signed 64-bit integers.
MAX_INT64 = (1 << 63) - 1
# ASCII digits only: int() would also take "١٠", "1_0" and "²".
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_DIGITS = re.compile(r"[0-9]+")
# Where one id is wanted and a list comes, the most of it that is looked at.
MAX_LISTED_IDS = 1000


class Kind(Protocol):
    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> Any:
        """The value given under any of `names`, or None if absent."""
        ...

    def schema(self) -> Schema: ...


def _integer(raw: str, name: str) -> int:
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        raise BadParam(f"{name} must be a whole number, not {shown(raw)}")
    return int(text)


@dataclass(frozen=True)
class Integer:
    minimum: int = 0
    maximum: int = MAX_INT64
    default: int | None = None

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> int | None:
        raw = params.first(*names)
        if raw is None:
            return None
        value = _integer(raw, name)
        if not self.minimum <= value <= self.maximum:
            raise BadParam(f"{name} must be at least {self.minimum} and at most {self.maximum}")
        return value

    def schema(self) -> Schema:
        found: Schema = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.default is not None:
            found["default"] = self.default
        return found


def _id(raw: str, name: str) -> int:
    text = raw.strip()
    if not _DIGITS.fullmatch(text) or len(text) > 19 or int(text) > MAX_INT64:
        raise BadParam(f"{name} must be ids (numbers), not {shown(raw)}")
    return int(text)


def _id_schema(as_text: bool) -> Schema:
    if as_text:
        # 64-bit ids do not fit a JavaScript number; clients send them as text.
        return {"type": "string", "pattern": DIGITS_PATTERN, "maxLength": 19}
    return {"type": "integer", "format": "int64", "minimum": 0}


@dataclass(frozen=True)
class Id:
    as_text: bool = False

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> int | None:
        for alias in names:
            # A list given for one id: the first is the one.
            found = params.items((alias,), limit=MAX_LISTED_IDS)
            if found:
                return _id(found[0], alias)
        return None

    def schema(self) -> Schema:
        return _id_schema(self.as_text)


@dataclass(frozen=True)
class Ids:
    max_items: int
    as_text: bool = False

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> list[int] | None:
        found: list[int] = []
        for alias in names:
            # Name the alias the client used, so the error points at its request.
            found.extend(_id(item, alias) for item in params.items((alias,), self.max_items))
        if len(found) > self.max_items:
            raise BadParam(f"{name} has more than {self.max_items} ids")
        return found or None

    def schema(self) -> Schema:
        return {"type": "array", "items": _id_schema(self.as_text), "maxItems": self.max_items}


@dataclass(frozen=True)
class Text:
    max_chars: int = 255
    # Kept exactly as sent, spaces and all; an empty value is a value.
    exact: bool = False
    min_chars: int = 0

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> str | None:
        raw = params.text(*names) if self.exact else params.first(*names)
        if raw is None:
            return None
        value = raw if self.exact else raw.strip()
        if len(value) > self.max_chars:
            raise BadParam(f"{name} is longer than {self.max_chars} characters")
        if len(value) < self.min_chars:
            raise BadParam(f"{name} is required")
        return value

    def schema(self) -> Schema:
        found: Schema = {"type": "string", "maxLength": self.max_chars}
        if self.min_chars:
            found["minLength"] = self.min_chars
        return found


@dataclass(frozen=True)
class Editable:
    """A saved text field: trimmed; an empty value is a value (it clears the field), while
    `null`, `none` and `undefined` are taken as absent, as clients write a missing one."""

    max_chars: int = 255

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> str | None:
        raw = params.text(*names)
        if raw is None or (raw.strip() and raw.strip().lower() in ABSENT_WORDS):
            return None
        value = raw.strip()
        if len(value) > self.max_chars:
            raise BadParam(f"{name} is longer than {self.max_chars} characters")
        return value

    def schema(self) -> Schema:
        return {"type": "string", "maxLength": self.max_chars}


@dataclass(frozen=True)
class Body:
    """A text's body: kept exactly as sent, counted in bytes of UTF-8."""

    max_bytes: int

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> str | None:
        raw = params.text(*names)
        if raw is None:
            return None
        size = len(raw.encode("utf-8"))
        if size == 0:
            raise BadParam(f"{name} is empty")
        if size > self.max_bytes:
            raise BadParam(f"{name} is {size} bytes; at most {self.max_bytes} are allowed")
        return raw

    def schema(self) -> Schema:
        return {"type": "string", "minLength": 1, "maxLength": self.max_bytes}


@dataclass(frozen=True)
class Number:
    """One phone number: 10 digits means the US, otherwise E.164; `ptn:/` allowed."""

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> str | None:
        raw = params.first(*names)
        if raw is None:
            return None
        try:
            return numbers.to_e164(raw)
        except numbers.InvalidNumber:
            raise BadParam(f"{name} is not a valid phone number: {shown(raw)}") from None

    def schema(self) -> Schema:
        return {"type": "string", "maxLength": numbers.MAX_RAW_CHARS}


@dataclass(frozen=True)
class Numbers:
    """Phone numbers, each as `Number` takes it; duplicates merged."""

    max_items: int

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> list[str] | None:
        raw = params.items(names, self.max_items)
        if not raw:
            return None
        parsed, bad = [], []
        for item in raw:
            try:
                parsed.append(numbers.to_e164(item))
            except numbers.InvalidNumber:
                bad.append(shown(item))
        if bad:
            raise BadParam(f"{name} has invalid phone numbers: {listed(bad)}")
        return list(dict.fromkeys(parsed))

    def schema(self) -> Schema:
        return {
            "type": "array",
            "items": {"type": "string", "maxLength": numbers.MAX_RAW_CHARS},
            "maxItems": self.max_items,
        }


@dataclass(frozen=True)
class Digits:
    max_chars: int = 20

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> str | None:
        raw = params.first(*names)
        if raw is None:
            return None
        value = raw.strip()
        if not _DIGITS.fullmatch(value) or len(value) > self.max_chars:
            raise BadParam(f"{name} must be a string of digits")
        return value

    def schema(self) -> Schema:
        return {"type": "string", "pattern": DIGITS_PATTERN, "maxLength": self.max_chars}


@dataclass(frozen=True)
class Instant:
    """A moment: epoch milliseconds (13 digits) or ISO 8601 with an offset."""

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> int | None:
        raw = params.first(*names)
        if raw is None:
            return None
        try:
            return times.parse_instant(raw[:64])
        except times.InvalidTime as exc:
            raise BadParam(f"{name}: {exc}") from None

    def schema(self) -> Schema:
        return {
            "anyOf": [
                {"type": "string", "pattern": "^[0-9]{13}$"},
                {"type": "string", "format": "date-time"},
            ]
        }


@dataclass(frozen=True)
class Choice:
    """One of a few words, any case given; answered in the case of `values`."""

    values: tuple[str, ...]
    default: str | None = None

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> str | None:
        raw = params.first(*names)
        if raw is None:
            return None
        wanted = raw.strip().lower()
        for value in self.values:
            if value.lower() == wanted:
                return value
        raise BadParam(f"{name} must be one of {', '.join(self.values)}, not {shown(raw)}")

    def schema(self) -> Schema:
        found: Schema = {"type": "string", "enum": list(self.values)}
        if self.default is not None:
            found["default"] = self.default
        return found


@dataclass(frozen=True)
class Url:
    """An http or https URL; whether it may be delivered to is for the endpoint to judge."""

    max_chars: int

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> str | None:
        raw = params.first(*names)
        if raw is None:
            return None
        value = raw.strip()
        if not value:
            raise BadParam(f"{name} is empty")
        if len(value) > self.max_chars:
            raise BadParam(f"{name} is longer than {self.max_chars} characters")
        scheme = value.split(":", 1)[0].lower() if ":" in value else ""
        if scheme not in ("http", "https"):
            raise BadParam(f"{name} must be an http or https URL, not {shown(raw)}")
        return value

    def schema(self) -> Schema:
        return {
            "type": "string",
            "format": "uri",
            "pattern": "^[hH][tT][tT][pP][sS]?://",
            "maxLength": self.max_chars,
        }


@dataclass(frozen=True)
class Declared:
    """One declared parameter."""

    name: str
    kind: Kind
    aliases: tuple[str, ...]
    required: bool
    description: str
    attribute: str

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def param(
    kind: Kind,
    description: str,
    *,
    aliases: tuple[str, ...] = (),
    required: bool = False,
    default: Any = None,
    name: str | None = None,
) -> Any:
    """A field of an endpoint's parameter dataclass (the field's name is the parameter's
    unless `name` says otherwise)."""
    if default is None:
        # An Integer's default is declared once, on the kind, for the schema too.
        default = getattr(kind, "default", None)
    spec = {"kind": kind, "aliases": aliases, "required": required, "description": description}
    if name is not None:
        spec["name"] = name
    return dataclasses.field(default=default, metadata={"param": spec})


@cache
def declared(cls: type) -> tuple[Declared, ...]:
    found = []
    for item in dataclasses.fields(cls):
        spec = item.metadata["param"]
        found.append(
            Declared(
                name=spec.get("name", item.name),
                kind=spec["kind"],
                aliases=spec["aliases"],
                required=spec["required"],
                description=spec["description"],
                attribute=item.name,
            )
        )
    return tuple(found)


def parse_args(cls: Callable[..., T], params: Params) -> T:
    """The parameters of `cls` (a dataclass of `param` fields) from a request."""
    values: dict[str, Any] = {}
    for item in declared(cls):  # type: ignore[arg-type]
        value = item.kind.parse(params, item.name, item.names)
        if value is None:
            if item.required:
                raise BadParam(f"{item.name} is required")
            continue
        values[item.attribute] = value
    return cls(**values)

"""Request parameters as real clients send them: query and body merged, aliases, lists.

Clients send lists as repeated keys (`contacts=a&contacts=b`), comma-joined values, or a
Java list's string form (`[a, b]`). Some send an absent optional value as "None".
"""

from __future__ import annotations

from collections.abc import Iterable

ABSENT_WORDS = frozenset({"", "none", "null", "undefined"})
# Ids, offsets and counts are stored as signed 64-bit integers.
MAX_INT64 = (1 << 63) - 1


class BadParam(ValueError):
    """A parameter is missing or malformed; the message names it."""


def _unquoted(part: str) -> str:
    """Python's urlencode writes a list as its repr (`['a', 'b']`): drop the quotes."""
    stripped = part.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        return stripped[1:-1]
    return part


class Params:
    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            if "\x00" in key or "\x00" in value:
                # No parameter of this API carries one, and PostgreSQL cannot store it.
                name = key.replace("\x00", "") or "a parameter"
                raise BadParam(f"{name} contains a NUL character")
            self._values.setdefault(key.lower(), []).append(value)

    def all(self, *names: str) -> list[str]:
        found: list[str] = []
        for name in names:
            found.extend(self._values.get(name.lower(), ()))
        return found

    def first(self, *names: str) -> str | None:
        """The first value given under any of `names`, or None if absent."""
        for name in names:
            for value in self._values.get(name.lower(), ()):
                if value.strip().lower() not in ABSENT_WORDS:
                    return value
        return None

    def text(self, *names: str) -> str | None:
        """A free-text value, kept exactly as sent (an empty string is a value)."""
        for name in names:
            values = self._values.get(name.lower())
            if values:
                return values[0]
        return None

    def require(self, *names: str) -> str:
        value = self.first(*names)
        if value is None:
            raise BadParam(f"{names[0]} is required")
        return value

    def items(self, *names: str) -> list[str]:
        """A list parameter: repeated, comma-joined or bracketed, in order, blanks dropped."""
        items: list[str] = []
        for raw in self.all(*names):
            text = raw.strip()
            if text.startswith("[") and text.endswith("]"):
                text = text[1:-1]
            # Keep a leading space: it may be a "+" that the query string turned into one.
            parts = (_unquoted(part) for part in text.split(","))
            items.extend(part for part in parts if part.strip().lower() not in ABSENT_WORDS)
        return items

    def integer(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        raw = self.first(name)
        if raw is None:
            return default
        try:
            value = int(raw.strip())
        except ValueError as exc:
            raise BadParam(f"{name} must be a whole number") from exc
        if maximum is None and value > MAX_INT64:
            raise BadParam(f"{name} is too large")
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"at least {minimum}" + (
                f" and at most {maximum}" if maximum is not None else ""
            )
            raise BadParam(f"{name} must be {bounds}")
        return value

    def ids(self, *names: str) -> list[int]:
        found: list[int] = []
        for name in names:
            for value in self.items(name):
                try:
                    number = int(value.strip())
                except ValueError:
                    number = -1
                if not 0 <= number <= MAX_INT64:
                    # Name the alias the client used, so the error points at its request.
                    shown = value.strip()[:40]
                    raise BadParam(f"{name} must be ids (numbers), not {shown!r}")
                found.append(number)
        return found

    def flag(self, name: str) -> bool | None:
        raw = self.first(name)
        if raw is None:
            return None
        return raw.strip().lower() in ("1", "true", "yes", "on")

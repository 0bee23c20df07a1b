"""Request parameters as real clients send them: query and body merged, names matched
without regard to case.

Clients send lists as repeated keys (`contacts=a&contacts=b`), comma-joined values, or a
Java or Python list's string form (`[a, b]`, `['a', 'b']`). Some send an absent optional
value as "None".
"""

from __future__ import annotations

from collections.abc import Iterable

ABSENT_WORDS = frozenset({"", "none", "null", "undefined"})
# How much of a client's bad value an error answer repeats, and how many bad values.
SHOWN_CHARS = 40
SHOWN_ITEMS = 5


class BadParam(ValueError):
    """A parameter is missing or malformed; the message names it."""


def shown(value: str) -> str:
    """A client's value as an error answer repeats it: trimmed and bounded."""
    text = value.strip()
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")


def listed(values: list[str]) -> str:
    """A few values, and how many more there were: an error never echoes a whole
    request back."""
    head = ", ".join(values[:SHOWN_ITEMS])
    rest = len(values) - SHOWN_ITEMS
    return f"{head} and {rest} more" if rest > 0 else head


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
                raise BadParam(f"{name[:SHOWN_CHARS]} contains a NUL character")
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

    def items(self, names: tuple[str, ...], limit: int) -> list[str]:
        """A list parameter: repeated, comma-joined or bracketed, in order, blanks
        dropped. More than `limit` items is an error, found before any is split off."""
        raws = self.all(*names)
        entries = sum(raw.count(",") + 1 for raw in raws)
        # Blank entries ("a,,b", a trailing comma) do not count, but finding them means
        # splitting, so only a list not far over the limit is split to look.
        if entries > 2 * limit or (entries > limit and len(self.items_unbounded(raws)) > limit):
            raise BadParam(f"{names[0]} has more than {limit} items; at most {limit} are allowed")
        return self.items_unbounded(raws)

    @staticmethod
    def items_unbounded(raws: list[str]) -> list[str]:
        items: list[str] = []
        for raw in raws:
            text = raw.strip()
            if text.startswith("[") and text.endswith("]"):
                text = text[1:-1]
            # Keep a leading space: it may be a "+" that the query string turned into one.
            parts = (_unquoted(part) for part in text.split(","))
            items.extend(part for part in parts if part.strip().lower() not in ABSENT_WORDS)
        return items

"""Groups: named lists of a line's contacts, each with its own address, `group:/<id>`."""

from __future__ import annotations

import re

PREFIX = "group:/"
# Members one group may hold, unless the operator sets another limit
# (LANDLINE_GROUP_MAX_MEMBERS); a send to the group is bounded by it.
DEFAULT_MAX_MEMBERS = 1000
# Groups one line may have: user/get lists them all.
MAX_GROUPS = 200
DEFAULT_TYPE = "Group"
MAX_NAME_CHARS = 255
MAX_TYPE_CHARS = 32

_ADDRESS = re.compile(r"group:/([0-9]{1,19})", re.IGNORECASE)
MAX_ID = (1 << 63) - 1


class NotAGroup(ValueError):
    pass


# The PHP client puts `ptn:/` before whatever it is given to send to.
_PHONE_PREFIX = "ptn:/"


def _unprefixed(raw: str) -> str:
    text = raw.strip()
    if text.lower().startswith(_PHONE_PREFIX + PREFIX):
        return text[len(_PHONE_PREFIX) :]
    return text


def is_address(raw: str) -> bool:
    return _unprefixed(raw).lower().startswith(PREFIX)


def parse_address(raw: str) -> int:
    """The group id of `group:/<id>` (also `ptn:/group:/<id>`; a bare id is taken too)."""
    text = _unprefixed(raw)
    found = _ADDRESS.fullmatch(text)
    digits = found.group(1) if found else text
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19 or int(digits) > MAX_ID:
        raise NotAGroup(f"not a group address: {text[:40]!r}")
    return int(digits)


def address(group_id: int) -> str:
    return f"{PREFIX}{group_id}"

"""One old client's slip, repaired: a session key glued to the last field's value.

The PHP library brianclogan/ZipWhip-PHP-API builds the bodies of group/save and
group/addMember as `implode("&", $fields)."session=KEY"`, with no `&` before `session`,
so `name=Team&type=Group` arrives as `type=Groupsession=3d0f...:309626613`. Zipwhip
programs built on it call these, so a request with no `session` whose last value ends in
`session=` and a whole session key is read as the two parameters it meant.
"""

from __future__ import annotations

import re

_GLUED = re.compile(r"(.*)session=([0-9a-fA-F-]{32,36}:[0-9]{1,19})", re.DOTALL)


def unglue_session(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if not pairs or any(name.lower() == "session" for name, _ in pairs):
        return pairs
    name, value = pairs[-1]
    found = _GLUED.fullmatch(value)
    if found is None:
        return pairs
    return [*pairs[:-1], (name, found.group(1)), ("session", found.group(2))]

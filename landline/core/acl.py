"""A line's access control list: the client networks that may use its session keys.

The API document asks for an ACL beside HTTPS. A line with no list may be used from
anywhere; a line with one answers 401 to a call from any other address, as if its
session key were unknown.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Acl = tuple[Network, ...]

MAX_NETWORKS = 64
# Stands for a stored list that cannot be read: it matches no address.
UNREADABLE: Network = ipaddress.ip_network("0.0.0.0/32")


class BadAcl(ValueError):
    pass


def parse(text: str | None) -> Acl:
    """Comma-separated networks (`203.0.113.0/24,2001:db8::/32`; a bare address is a
    network of one); empty or None: no list. Raises BadAcl naming a bad entry."""
    if not text:
        return ()
    found: list[Network] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise BadAcl(f"not a network: {item[:60]!r}") from None
    if len(found) > MAX_NETWORKS:
        raise BadAcl(f"at most {MAX_NETWORKS} networks")
    return tuple(dict.fromkeys(found))


def render(acl: Sequence[Network]) -> str | None:
    """The stored form of a list; None for no list."""
    return ",".join(str(network) for network in acl) or None


def allows(acl: Sequence[Network], client: str) -> bool:
    """Whether a call from `client` (an address; "" when unknown) may use the line."""
    if not acl:
        return True
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        # An unknown address is not in any list.
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == network.version and address in network for network in acl)

"""Who is calling: the client's address, through the proxies this server trusts."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Hops of X-Forwarded-For looked at, from the right; a longer chain of trusted proxies
# than this is a mistake or a trick.
MAX_HOPS = 16


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses and CIDRs (`10.0.0.0/8, ::1`); ValueError if one is not."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


def client_address(scope: dict[str, Any], trusted: Sequence[Network]) -> str:
    """The address of the client behind an ASGI request; "" when the server cannot tell.

    The peer's address, unless the peer is a trusted proxy: then the right-most address in
    X-Forwarded-For that is not one, as that is the last hop a trusted proxy saw. Anything
    further left was written by the client and proves nothing.
    """
    peer = scope.get("client")
    if not peer:
        return ""
    host = str(peer[0])
    if not trusted:
        return host
    address = _ip(host)
    if address is None or not _is_trusted(address, trusted):
        return host
    for hop in reversed(_forwarded_for(scope)[-MAX_HOPS:]):
        hop_address = _ip(hop)
        if hop_address is None:
            break  # not written by a proxy: keep the last hop a trusted proxy vouched for
        address = hop_address
        if not _is_trusted(address, trusted):
            break
    return str(address)


def _forwarded_for(scope: dict[str, Any]) -> list[str]:
    # Several X-Forwarded-For headers read as one list, in the order they came.
    hops: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            hops.extend(part.strip() for part in value.decode("latin-1").split(","))
    return hops


def _ip(text: str) -> Address | None:
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)

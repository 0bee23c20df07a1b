"""Which network addresses a webhook may reach, and how a host names an address.

A webhook URL is chosen by a customer, so without a rule it could point the server at
itself, at the operator's private network or at a cloud metadata service. Addresses
outside the public internet are refused unless the operator allows their range
(`LANDLINE_WEBHOOK_ALLOW_NETS`, e.g. for local development).
"""

from __future__ import annotations

import ipaddress
import string
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

MAX_ALLOWED_NETS = 64

# Cloud metadata services hand out credentials; a broad allowed range does not let a
# webhook reach them, only a range naming the one address does.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time service
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)

# A range as its first and last address in integers: ipaddress's own `in` is slow enough
# to matter when every DNS answer of every delivery is judged.
Span = tuple[int, int]


def _span(net: IPNetwork) -> Span:
    return int(net.network_address), int(net.broadcast_address)


def _within(value: int, span: Span) -> bool:
    return span[0] <= value <= span[1]


# Checked in order, first match wins, so a narrower range with a better reason comes
# before the range that contains it.
_REFUSED_V4: tuple[tuple[Span, str], ...] = tuple(
    (_span(IPv4Network(net)), why)
    for net, why in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("10.0.0.0/8", "a private address (RFC 1918)"),
        ("100.64.0.0/10", "a carrier-grade NAT address (RFC 6598)"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address (RFC 1918)"),
        ("192.0.0.0/24", "a reserved address (IETF protocol assignments)"),
        ("192.0.2.0/24", "a reserved address (documentation)"),
        ("192.88.99.0/24", "a reserved address (6to4 relay)"),
        ("192.168.0.0/16", "a private address (RFC 1918)"),
        ("198.18.0.0/15", "a reserved address (benchmarking)"),
        ("198.51.100.0/24", "a reserved address (documentation)"),
        ("203.0.113.0/24", "a reserved address (documentation)"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)

_REFUSED_V6: tuple[tuple[Span, str], ...] = tuple(
    (_span(IPv6Network(net)), why)
    for net, why in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/96", "an IPv4-compatible IPv6 address (deprecated)"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a reserved address (discard-only)"),
        ("2001::/32", "a Teredo tunnel address"),
        ("2001:db8::/32", "a reserved address (documentation)"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address (deprecated)"),
        ("ff00::/8", "a multicast address"),
    )
)

# Only this block is handed out as public IPv6 unicast; the rest is reserved.
_GLOBAL_UNICAST_V6 = _span(IPv6Network("2000::/3"))
_IPV4_MAPPED = _span(IPv6Network("::ffff:0:0/96"))
_IPV4_COMPATIBLE = _span(IPv6Network("::/96"))
_NAT64 = _span(IPv6Network("64:ff9b::/96"))
_SIX_TO_FOUR = _span(IPv6Network("2002::/16"))
_BROADCAST = int(IPv4Address("255.255.255.255"))


def parse_nets(text: str) -> tuple[IPNetwork, ...]:
    """Read comma-separated CIDRs (`127.0.0.0/8,::1/128`); raise ValueError if one is bad."""
    nets: list[IPNetwork] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=True))
        except ValueError as exc:
            raise ValueError(f"bad network {item!r}: {exc}") from exc
    if len(nets) > MAX_ALLOWED_NETS:
        raise ValueError(f"at most {MAX_ALLOWED_NETS} networks may be allowed")
    return tuple(nets)


@dataclass(frozen=True)
class AddressPolicy:
    """The operator's exceptions to the rule that webhooks reach only public addresses."""

    allowed: tuple[IPNetwork, ...] = ()
    # Per network: its IP version, its span, and whether it names a single address.
    _allowed: tuple[tuple[int, Span, bool], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spans = tuple((n.version, _span(n), n.num_addresses == 1) for n in self.allowed)
        object.__setattr__(self, "_allowed", spans)

    @classmethod
    def from_setting(cls, text: str) -> AddressPolicy:
        return cls(parse_nets(text))

    def refusal(self, address: IPAddress) -> str | None:
        """Why a webhook may not connect to `address`, or None if it may.

        The reason names the address: "10.0.0.7, a private address (RFC 1918)".
        """
        address = _without_scope(address)
        if self._allows(address):
            return None
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            form, ipv4 = embedded
            why = self.refusal(ipv4)
            if why is not None:
                return f"{why}, as {form} {address}"
        if isinstance(address, IPv4Address):
            return _judge_v4(address)
        return _judge_v6(address)

    def _allows(self, address: IPAddress) -> bool:
        value = int(address)
        for version, span, single in self._allowed:
            if address.version != version or not _within(value, span):
                continue
            if single or address not in METADATA_ADDRESSES:
                return True
        return False


def _judge_v4(address: IPv4Address) -> str | None:
    if address in METADATA_ADDRESSES:
        return f"{address}, a cloud metadata address"
    value = int(address)
    if value == _BROADCAST:
        return f"{address}, the broadcast address"
    for (first, last), why in _REFUSED_V4:
        if first <= value <= last:
            return f"{address}, {why}"
    return None


def _judge_v6(address: IPv6Address) -> str | None:
    if address in METADATA_ADDRESSES:
        return f"{address}, a cloud metadata address"
    value = int(address)
    if _within(value, _IPV4_MAPPED) or _within(value, _NAT64):
        # The IPv4 address inside was judged already and is public.
        return None
    for (first, last), why in _REFUSED_V6:
        if first <= value <= last:
            return f"{address}, {why}"
    if not _within(value, _GLOBAL_UNICAST_V6):
        return f"{address}, a reserved address"
    return None


def _embedded_ipv4(address: IPAddress) -> tuple[str, IPv4Address] | None:
    """The IPv4 address an IPv6 address carries and reaches, with the form's name."""
    if not isinstance(address, IPv6Address):
        return None
    value = int(address)
    if _within(value, _IPV4_MAPPED):
        return "the IPv4-mapped IPv6 address", IPv4Address(value & 0xFFFFFFFF)
    if _within(value, _NAT64):
        return "the NAT64 IPv6 address", IPv4Address(value & 0xFFFFFFFF)
    if _within(value, _SIX_TO_FOUR):
        return "the 6to4 IPv6 address", IPv4Address((value >> 80) & 0xFFFFFFFF)
    # :: and ::1 have reasons of their own.
    if _within(value, _IPV4_COMPATIBLE) and value > 1:
        return "the IPv4-compatible IPv6 address", IPv4Address(value & 0xFFFFFFFF)
    return None


def _without_scope(address: IPAddress) -> IPAddress:
    if isinstance(address, IPv6Address) and address.scope_id:
        return IPv6Address(address.compressed.split("%", 1)[0])
    return address


# -- how a URL's host names an address


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host names without DNS, read as the system resolver would.

    Besides the usual forms, the C library's `inet_aton` (which `getaddrinfo` uses) takes
    1 to 4 dot-separated parts in decimal, octal (leading 0) or hex (0x), the last part
    filling the remaining bytes: `2130706433`, `0177.0.0.1`, `0x7f.1` and `127.1` are all
    127.0.0.1. Judging the spelled text instead of the address would let those through.
    """
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _inet_aton(host)


def _inet_aton(text: str) -> IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = [_inet_aton_part(part) for part in parts]
    if any(v is None for v in values):
        return None
    numbers = [v for v in values if v is not None]
    *leading, last = numbers
    if any(v > 0xFF for v in leading) or last >= 1 << (8 * (5 - len(numbers))):
        return None
    value = last
    for index, byte in enumerate(leading):
        value |= byte << (8 * (3 - index))
    return IPv4Address(value)


def _inet_aton_part(part: str) -> int | None:
    if not part.isascii():
        return None
    if part[:2].lower() == "0x":
        digits, base, allowed = part[2:], 16, string.hexdigits
    elif len(part) > 1 and part[0] == "0":
        digits, base, allowed = part[1:], 8, string.octdigits
    else:
        digits, base, allowed = part, 10, string.digits
    if not digits or any(c not in allowed for c in digits):
        return None
    # No part is over 32 bits; leading zeros aside, 12 digits are more than enough.
    significant = digits.lstrip("0") or "0"
    if len(significant) > 12:
        return None
    value = int(significant, base)
    return value if value <= 0xFFFFFFFF else None

"""The URL guard: webhooks go to public addresses only, unless the operator allows more.

Checked twice. When a webhook is added, `check_url` refuses a URL whose host is, or
resolves to, an address the policy refuses, and says why. When a delivery connects,
`GuardedResolver` drops refused addresses from DNS answers and `guarded_socket_factory`
refuses to open a socket to one, so a name that resolved to a public address when it was
added and to 127.0.0.1 now (DNS rebinding) still cannot reach anything refused: the
check is made on the very address the socket connects to.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable
from ipaddress import ip_address
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from landline.core.address_policy import AddressPolicy, IPAddress, literal_address

SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2048
DNS_TIMEOUT_S = 3.0
# Letters, digits, hyphens and underscores in dot-separated labels (IDN arrives as
# punycode); anything else would be looked up as a name by one resolver and not another.
_HOST_NAME = re.compile(r"(?=.{1,254}$)[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*\.?")


# What getaddrinfo returns for one address: (family, type, proto, canonname, sockaddr).
AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]


class UrlRefused(ValueError):
    """A webhook URL the server will not deliver to; the message says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AddressRefused(OSError):
    """A connection that would reach an address the policy refuses."""


class DnsTimeout(OSError):
    # Not a TimeoutError: aiohttp passes those through as the whole request's timeout,
    # and a slow DNS server is a DNS failure.
    pass


def parse_url(url: str, policy: AddressPolicy) -> URL:
    """The URL, if its form is one we deliver to; the checks that need no DNS."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as exc:
        raise UrlRefused(f"the URL is not valid: {exc}") from exc
    if parsed.scheme not in SCHEMES:
        raise UrlRefused("only http and https URLs can receive webhooks")
    host = parsed.raw_host
    if not host:
        raise UrlRefused("the URL has no host")
    if parsed.port == 0:
        raise UrlRefused("port 0 cannot receive webhooks")
    address = literal_address(host)
    if address is not None:
        why = policy.refusal(address)
        if why is not None:
            raise UrlRefused(f"the host {host} is {why}")
    elif not _HOST_NAME.fullmatch(host):
        raise UrlRefused(f"the host {host!r} is not a valid host name")
    return parsed


async def check_url(
    url: str,
    policy: AddressPolicy,
    *,
    resolver: AbstractResolver | None = None,
    dns_timeout_s: float = DNS_TIMEOUT_S,
) -> None:
    """Raise UrlRefused unless every address the URL's host names or resolves to is allowed.

    A host that does not resolve is refused too: it is most likely a typing mistake.
    """
    parsed = parse_url(url, policy)
    host = parsed.raw_host
    assert host is not None
    if literal_address(host) is not None:
        return
    resolver = resolver if resolver is not None else ThreadedResolver()
    try:
        addresses = await _resolve(resolver, host, parsed.port or 0, dns_timeout_s)
    except OSError as exc:
        raise UrlRefused(f"the host {host} does not resolve ({exc})") from exc
    if not addresses:
        raise UrlRefused(f"the host {host} does not resolve")
    for address in addresses:
        why = policy.refusal(address)
        if why is not None:
            raise UrlRefused(f"the host {host} resolves to {why}")


class GuardedResolver(AbstractResolver):
    """A resolver for aiohttp that answers only with addresses the policy allows."""

    def __init__(
        self,
        policy: AddressPolicy,
        inner: AbstractResolver | None = None,
        *,
        dns_timeout_s: float = DNS_TIMEOUT_S,
    ) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else ThreadedResolver()
        self._timeout_s = dns_timeout_s

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            async with asyncio.timeout(self._timeout_s):
                answers = await self._inner.resolve(host, port, family)
        except TimeoutError:
            raise DnsTimeout(f"no DNS answer for {host} within {self._timeout_s:g} s") from None
        allowed, refusals = [], []
        for answer in answers:
            why = self._policy.refusal(ip_address(answer["host"]))
            if why is None:
                allowed.append(answer)
            else:
                refusals.append(why)
        if not allowed:
            if refusals:
                raise AddressRefused(f"the host {host} resolves to {refusals[0]}")
            raise OSError(f"no address for {host}")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket_factory(policy: AddressPolicy) -> Callable[[AddrInfo], socket.socket]:
    """A socket factory for aiohttp that will not make a socket for a refused address.

    The last line: it sees the address the socket is about to connect to, also for URLs
    whose host is an address (those skip the resolver).
    """

    def make_socket(addr_info: AddrInfo) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        why = policy.refusal(ip_address(sockaddr[0]))
        if why is not None:
            raise AddressRefused(f"refused to connect to {why}")
        return socket.socket(family=family, type=kind, proto=proto)

    return make_socket


async def _resolve(
    resolver: AbstractResolver, host: str, port: int, timeout_s: float
) -> list[IPAddress]:
    try:
        async with asyncio.timeout(timeout_s):
            answers = await resolver.resolve(host, port, socket.AF_UNSPEC)
    except TimeoutError:
        raise DnsTimeout(f"no DNS answer within {timeout_s:g} s") from None
    return [ip_address(answer["host"]) for answer in answers]

"""Failed logins: how many a user name, or a client address, may make in a window, and
when it may try again.

A key (a user name, an address) may fail `limit` times in a window that opens at its
first failure; once it has, every attempt is refused until that window closes, and then
the count starts again. The state is one small record per key, at most `max_keys` of
them.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict

FAILURES_PER_USER = 5
FAILURES_PER_ADDRESS = 50
WINDOW_MS = 15 * 60 * 1000
MAX_KEYS = 100_000
# One IPv6 subscriber holds a whole /64; counting its addresses one by one would let it
# try without end.
IPV6_PREFIX = 64


class FailureCounts:
    """Failures per key in each key's window.

    Keys are kept in the order their windows opened, so the oldest is the first to
    expire; when `max_keys` are kept, a new key evicts the oldest one.
    """

    def __init__(self, limit: int, window_ms: int, max_keys: int) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self.max_keys = max_keys
        # key -> [failures, when its window opened]
        self._counts: OrderedDict[str, list[int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counts)

    def wait_ms(self, key: str, now_ms: int) -> int:
        """0 if `key` may try now; else the milliseconds until its window closes."""
        entry = self._live(key, now_ms)
        if entry is None or entry[0] < self.limit:
            return 0
        return entry[1] + self.window_ms - now_ms

    def add(self, key: str, now_ms: int) -> None:
        entry = self._live(key, now_ms)
        if entry is not None:
            entry[0] += 1
            return
        self._forget_expired(now_ms)
        while len(self._counts) >= self.max_keys:
            self._counts.popitem(last=False)
        self._counts[key] = [1, now_ms]

    def take_back(self, key: str) -> None:
        """Undo one `add`: the attempt it counted turned out not to be a failure."""
        entry = self._counts.get(key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] <= 0:
            del self._counts[key]

    def clear(self, key: str) -> None:
        self._counts.pop(key, None)

    def _live(self, key: str, now_ms: int) -> list[int] | None:
        entry = self._counts.get(key)
        if entry is not None and now_ms >= entry[1] + self.window_ms:
            del self._counts[key]
            return None
        return entry

    def _forget_expired(self, now_ms: int) -> None:
        while self._counts:
            _, opened = next(iter(self._counts.values()))
            if now_ms < opened + self.window_ms:
                return
            self._counts.popitem(last=False)


class LoginThrottle:
    """Failed logins per user name and per client address, for one process.

    An attempt counts as a failure from the moment it begins, so logins sent at once
    cannot slip past the limit while their passwords are being checked; a success takes
    that back, and clears the user name's failures. Not thread-safe: use it from one
    event loop.
    """

    def __init__(
        self,
        *,
        per_user: int = FAILURES_PER_USER,
        per_address: int = FAILURES_PER_ADDRESS,
        window_ms: int = WINDOW_MS,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.users = FailureCounts(per_user, window_ms, max_keys)
        self.addresses = FailureCounts(per_address, window_ms, max_keys)

    def begin(self, user: str, address: str, now_ms: int) -> int:
        """Count an attempt as a failure and answer 0, or answer how many milliseconds
        to wait before `user` may try again from `address` ("" when unknown)."""
        network = address_key(address)
        wait_ms = self.users.wait_ms(user, now_ms)
        if network is not None:
            wait_ms = max(wait_ms, self.addresses.wait_ms(network, now_ms))
        if wait_ms:
            return wait_ms
        self.users.add(user, now_ms)
        if network is not None:
            self.addresses.add(network, now_ms)
        return 0

    def succeeded(self, user: str, address: str) -> None:
        # The address's other failures stand: one good login of their own must not buy
        # a client more guesses at other people's passwords.
        self.users.clear(user)
        network = address_key(address)
        if network is not None:
            self.addresses.take_back(network)

    def abandoned(self, user: str, address: str) -> None:
        """The attempt that `begin` counted never had its password checked."""
        self.users.take_back(user)
        network = address_key(address)
        if network is not None:
            self.addresses.take_back(network)


def address_key(address: str) -> str | None:
    """What failures from `address` count against: the address itself, or for IPv6 its
    /64; None when the address is unknown or not an IP address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)

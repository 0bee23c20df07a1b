"""What an endpoint is handed: the request's parameters and the services behind them."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp.abc import AbstractResolver

from landline.api.clients import Network
from landline.api.envelope import ApiError, invalid_session
from landline.api.hashing import HashingPool
from landline.api.params import Params
from landline.core import acl, groups, sessions
from landline.core.address_policy import AddressPolicy
from landline.core.clock import Clock
from landline.core.lines import LineState
from landline.core.media_links import MediaLinks
from landline.core.ratelimit import Limits
from landline.core.routes import RouteTable
from landline.core.spam import SpamWatch
from landline.core.status import ErrorCode
from landline.core.throttle import LoginThrottle
from landline.media.storage import ContentStore
from landline.store import lines
from landline.store.access import Store
from landline.store.lines import Line
from landline.store.revocations import Revocations
from landline.webhooks.secrets import SecretBox

# How long a session lookup is trusted without asking the store again. A logout, a
# revoke or a line's change of state, made by this process or any other, drops every
# cached lookup at once (store/revocations.py); this bounds what a missed signal costs.
SESSION_CACHE_SECONDS = 1.0
SESSION_CACHE_ENTRIES = 10_000


class SessionCache:
    """Recent session lookups: a request that carries a key seen a moment ago is
    answered without a trip to the store's thread pool."""

    def __init__(self, revocations: Revocations) -> None:
        self._revocations = revocations
        # key hash -> (line, when it expires, the revocations' generation when it was read)
        self._entries: dict[str, tuple[Line, float, object]] = {}

    def generation(self) -> object | None:
        return self._revocations.generation()

    def get(self, key_hash: str) -> Line | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        line, expires, changes = entry
        now_generation = self._revocations.generation()
        if now_generation is None or changes != now_generation or time.monotonic() >= expires:
            del self._entries[key_hash]
            return None
        return line

    def put(self, key_hash: str, line: Line, changes: object | None) -> None:
        if changes is None or changes != self._revocations.generation():
            return  # changed while it was being read: it may already be stale
        if len(self._entries) >= SESSION_CACHE_ENTRIES:
            self._entries.clear()
        self._entries[key_hash] = (line, time.monotonic() + SESSION_CACHE_SECONDS, changes)


_caches: weakref.WeakKeyDictionary[Store, SessionCache] = weakref.WeakKeyDictionary()


def session_cache(store: Store) -> SessionCache:
    cache = _caches.get(store)
    if cache is None:
        cache = _caches[store] = SessionCache(store.revocations)
    return cache


@dataclass(frozen=True)
class Services:
    store: Store
    clock: Clock
    routes: RouteTable
    # Tells this process's dispatcher that new outbound work is waiting.
    notify_outbound: Callable[[], None]
    # Requests a line may make through this process; None for no limit.
    limits: Limits | None = None
    # user/login: where passwords are checked, and the count of recent failures.
    password_pool: HashingPool = field(default_factory=HashingPool)
    failed_logins: LoginThrottle = field(default_factory=LoginThrottle)
    # Peers whose X-Forwarded-For names the client (api/clients.py).
    trusted_proxies: tuple[Network, ...] = ()
    # Which addresses webhook URLs may reach, and the resolver that judges their names
    # (None: the system's).
    webhook_policy: AddressPolicy = field(default_factory=AddressPolicy)
    webhook_resolver: AbstractResolver | None = None
    # Opens and seals the lines' webhook signing secrets.
    secret_box: SecretBox = field(default_factory=SecretBox.ephemeral)
    # Automatic spam protection: what lines send, counted in this process (core/spam.py).
    spam: SpamWatch | None = None
    # Members one group may hold (LANDLINE_GROUP_MAX_MEMBERS).
    group_max_members: int = groups.DEFAULT_MAX_MEMBERS
    # Where MMS content is kept (media/backends.py); None: this server takes no MMS.
    media: ContentStore | None = None
    # Bytes of hosted content one line may keep; 0: no limit.
    media_quota_bytes: int = 0
    # Signed links to content, for carriers that fetch it (None: no public URL set).
    media_links: MediaLinks | None = None
    # Paths a connector answers itself (a REST provider's callbacks), by their key
    # ("carrier/<name>/<what>"); see api/raw.py.
    carrier_paths: dict[str, Any] = field(default_factory=dict)


class Call:
    __slots__ = ("_line", "client", "params", "services")

    def __init__(self, params: Params, services: Services, client: str = "") -> None:
        self.params = params
        self.services = services
        # The client's address (api/clients.py); "" when the server cannot tell.
        self.client = client
        self._line: Line | None = None

    @property
    def line(self) -> Line:
        """The line of this call's session, once `authenticate` has checked it."""
        if self._line is None:
            raise RuntimeError("the session was not checked")
        return self._line

    @property
    def store(self) -> Store:
        return self.services.store

    def now(self) -> int:
        return self.services.clock.now_ms()

    def session_key(self) -> str:
        key = self.params.first("session")
        if key is None:
            raise invalid_session("session is required")
        return key.strip()

    async def authenticate(self) -> Line:
        """The line whose session key this call carries; 401 if there is none."""
        if self._line is None:
            key = self.session_key()
            if sessions.device_of(key) is None:
                raise invalid_session("malformed session key")
            key_hash = sessions.hash_key(key)
            cache = session_cache(self.store)
            line = cache.get(key_hash)
            if line is None:
                changes = cache.generation()
                line = await self.store.read(lines.line_for_session, key_hash)
                if line is None:
                    raise invalid_session()
                cache.put(key_hash, line, changes)
            if line.state == LineState.SUSPENDED:
                raise invalid_session("this line is suspended")
            if not acl.allows(line.acl, self.client):
                raise invalid_session(
                    f"this line's session keys may not be used from {self.client or 'here'}"
                )
            self._check_rate(line)
            self._line = line
        return self._line

    def _check_rate(self, line: Line) -> None:
        limits = self.services.limits
        if limits is None:
            return
        wait_ms = limits.take(line.device_id, self.now())
        if wait_ms:
            seconds = -(-wait_ms // 1000)
            raise ApiError(
                ErrorCode.TOO_MANY_REQUESTS,
                f"Too many requests: this line may make {limits.rate:g} a second; "
                f"try again in {seconds} s",
                status=429,
                headers={"Retry-After": str(seconds)},
            )

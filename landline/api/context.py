"""What an endpoint is handed: the request's parameters and the services behind them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from landline.api.envelope import invalid_session
from landline.api.params import Params
from landline.core import sessions
from landline.core.clock import Clock
from landline.core.routes import RouteTable
from landline.store import lines
from landline.store.access import Store
from landline.store.lines import Line


@dataclass(frozen=True)
class Services:
    store: Store
    clock: Clock
    routes: RouteTable
    # Tells this process's dispatcher that new outbound work is waiting.
    notify_outbound: Callable[[], None]
    default_timezone: str


class Call:
    __slots__ = ("_line", "params", "services")

    def __init__(self, params: Params, services: Services) -> None:
        self.params = params
        self.services = services
        self._line: Line | None = None

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

    async def line(self) -> Line:
        """The line whose session key this call carries; 401 if there is none."""
        if self._line is None:
            key = self.session_key()
            if sessions.device_of(key) is None:
                raise invalid_session("malformed session key")
            line = await self.store.read(lines.line_for_session, sessions.hash_key(key))
            if line is None:
                raise invalid_session()
            if line.state == "suspended":
                raise invalid_session("this line is suspended")
            self._line = line
        return self._line

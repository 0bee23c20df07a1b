"""Which carrier connector serves a number: the longest matching prefix wins.

A route may be for one kind of message only: `mms:+1=http:twilio` sends North
American picture messages through the HTTP upstream while `+1=smpp:main` carries the
texts. A route without a kind serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    SMS = "sms"
    MMS = "mms"


@dataclass(frozen=True)
class Route:
    prefix: str
    connector: str
    kind: Kind | None = None


@dataclass(frozen=True)
class RouteTable:
    # Longest prefix first; for one prefix, a route of a kind before one of any kind.
    routes: tuple[Route, ...]

    @classmethod
    def parse(cls, spec: str) -> RouteTable:
        """Read `+1=simulator,+44=smpp:eu,mms:+1=http:twilio` (empty routes nothing)."""
        routes: list[Route] = []
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            target, sep, connector = item.partition("=")
            kind: Kind | None = None
            if ":" in target:
                named, _, target = target.partition(":")
                try:
                    kind = Kind(named.strip().lower())
                except ValueError:
                    raise ValueError(f"bad route {item!r}: the kind must be sms or mms") from None
            prefix, connector = target.strip(), connector.strip()
            if not sep or not connector or not prefix.lstrip("+").isdigit():
                raise ValueError(f"bad route {item!r}: expected [sms:|mms:]+PREFIX=CONNECTOR")
            routes.append(Route("+" + prefix.lstrip("+"), connector, kind))
        routes.sort(key=lambda route: (len(route.prefix), route.kind is not None), reverse=True)
        return cls(tuple(routes))

    def connector_for(self, e164: str, kind: Kind = Kind.SMS) -> str | None:
        for route in self.routes:
            if e164.startswith(route.prefix) and route.kind in (None, kind):
                return route.connector
        return None

    def connectors(self) -> set[str]:
        """Every connector a route names."""
        return {route.connector for route in self.routes}

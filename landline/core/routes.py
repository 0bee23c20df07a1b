"""Which carrier connector serves a number: the longest matching prefix wins."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RouteTable:
    # (prefix, connector name), longest prefix first.
    routes: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, spec: str) -> RouteTable:
        """Read `+1=simulator,+44=smpp-eu` (an empty spec routes nothing)."""
        routes: list[tuple[str, str]] = []
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            prefix, sep, connector = item.partition("=")
            prefix, connector = prefix.strip(), connector.strip()
            if not sep or not connector or not prefix.lstrip("+").isdigit():
                raise ValueError(f"bad route {item!r}: expected +PREFIX=CONNECTOR")
            routes.append(("+" + prefix.lstrip("+"), connector))
        routes.sort(key=lambda route: len(route[0]), reverse=True)
        return cls(tuple(routes))

    def connector_for(self, e164: str) -> str | None:
        for prefix, connector in self.routes:
            if e164.startswith(prefix):
                return connector
        return None

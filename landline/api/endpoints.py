"""An endpoint, declared once: its path, parameters, answer and documentation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from landline.api.context import Call

Handler = Callable[[Call, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    path: str
    handler: Handler
    # A dataclass of `fields.param` fields; None for an endpoint without parameters.
    args: type | None
    # The TypedDict of the whole successful answer, envelope included.
    answer: type
    tag: str
    summary: str
    description: str = ""
    # What the error answers mean, for the documentation.
    errors: str = ""
    # False for the calls that take no session key (user/login).
    session: bool = True

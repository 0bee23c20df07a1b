"""Calls answered outside the JSON-endpoint mould: multipart uploads with files
(messaging/send, hostedContent/save), raw content (hostedContent/get, signed media links)
and a carrier's callbacks. The app reads the body (bounded, 413 past the limit) and
hands it over with the request; the handler parses and answers it itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from landline.api import forms
from landline.api.context import Call, Services
from landline.api.envelope import JSON_TYPE
from landline.api.params import Params

Scope = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class RawRequest:
    scope: Scope
    body: bytes
    services: Services
    client: str

    def header(self, name: bytes) -> str:
        for key, value in self.scope["headers"]:
            if key == name:
                return str(value.decode("latin-1"))
        return ""

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    def form(self) -> forms.Form:
        """Query and body parameters, and the body's files. BadParam when malformed."""
        fields = forms.urlencoded(self.scope["query_string"])
        form = forms.Form(fields=fields)
        if not self.body:
            return form
        content_type = self.header(b"content-type")
        lowered = content_type.lower()
        if lowered.startswith("multipart/form-data"):
            parsed = forms.multipart(content_type, self.body)
            form.fields.extend(parsed.fields)
            form.files.extend(parsed.files)
        elif lowered.startswith("application/json"):
            form.fields.extend(forms.json_object(self.body))
        else:
            form.fields.extend(forms.urlencoded(self.body))
        return form

    def call(self, params: Params) -> Call:
        return Call(params, self.services, self.client)


# A handler answers the request and returns its result as the metrics count it.
RawHandler = Callable[[RawRequest, Send], Awaitable[str]]


async def respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON_TYPE,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    raw_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    raw_headers.extend(headers or [])
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def respond_json(send: Send, status: int, answer: Any) -> None:
    await respond(send, status, orjson.dumps(answer))

"""What a Twilio-compatible provider tells us: status callbacks and inbound messages,
answered by the API at `/carrier/twilio/status` and `/carrier/twilio/inbound`.

Every callback must carry a valid `X-Twilio-Signature` for the URL it was sent to (our
LANDLINE_PUBLIC_URL, the path and the query) and its POST parameters; anything else is
refused with 403 and changes nothing. A callback is answered only once what it reports
is stored, so a provider that gets no answer sends it again, and a repeat changes
nothing (receipts cannot leave a final status; an inbound message is keyed by its sid).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import aiohttp

from landline.api import forms
from landline.api.envelope import error_body
from landline.api.params import BadParam, Params
from landline.api.raw import RawHandler, RawRequest, Send, respond
from landline.carriers.base import CarrierSink, InboundText, Receipt
from landline.carriers.http_upstream import signing
from landline.carriers.http_upstream.connector import NAME, TIMEOUT_S, UpstreamConfig
from landline.core import numbers
from landline.core.clock import Clock
from landline.core.media_types import safe_file_name
from landline.core.mms import MAX_ATTACHMENTS, Part
from landline.core.status import ErrorCode
from landline.media.keys import new_key
from landline.media.storage import ContentStore, TooLarge
from landline.store import lines, media
from landline.store.access import Store

log = logging.getLogger(__name__)

DELIVERED = frozenset({"delivered", "read"})
FAILED = frozenset({"undelivered", "failed", "canceled"})
# Largest part we fetch of an inbound MMS (carriers deliver at most a few MB).
MAX_PART_BYTES = 5 * 1024 * 1024
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Types shown as themselves; anything else is kept as application/octet-stream, so
# hostedContent/get never serves a provider's HTML or script as such.
_SHOWN_TYPES = re.compile(
    r"(image|video|audio)/[a-z0-9.+-]{1,60}|text/(plain|vcard|x-vcard|calendar)|application/(smil|pdf)"
)
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "text/plain": ".txt"}


@dataclass
class UpstreamCallbacks:
    config: UpstreamConfig
    connector: str
    sink: CarrierSink
    content: ContentStore
    clock: Clock
    store: Store | None = None

    def paths(self) -> dict[str, RawHandler]:
        return {
            f"carrier/{NAME}/status": self.status,
            f"carrier/{NAME}/inbound": self.inbound,
        }

    async def status(self, request: RawRequest, send: Send) -> str:
        params = await self._verified(request, send)
        if params is None:
            return "403"
        state = (params.first("MessageStatus", "SmsStatus") or "").lower()
        message = params.first("message") or ""
        if not (message.isascii() and message.isdigit() and len(message) <= 19):
            return await _answer(send, 400, b"no message id")
        if state in DELIVERED or state in FAILED:
            receipt = Receipt(int(message), state in DELIVERED, self.clock.now_ms())
            await self.sink.receipts(self.connector, [receipt])
        # queued, accepted, sending, sent: the message is already "in progress" (1).
        return await _answer(send, 200, b"")

    async def inbound(self, request: RawRequest, send: Send) -> str:
        params = await self._verified(request, send)
        if params is None:
            return "403"
        store = self.store or request.services.store
        try:
            source = numbers.to_e164(params.first("From") or "")
            line_number = numbers.to_e164(params.first("To") or "")
        except numbers.InvalidNumber:
            return await _answer(send, 400, b"From and To must be phone numbers")
        sid = (params.first("MessageSid", "SmsSid") or "")[:128]
        if not sid:
            return await _answer(send, 400, b"MessageSid is required")
        line = await store.read(lines.by_number, line_number)
        if line is None or await store.read(media.inbound_known, self.connector, sid):
            # Not ours, or already stored: nothing to fetch, nothing to keep.
            return await _twiml(send)
        try:
            parts = await self._fetch_parts(params, sid)
        except (aiohttp.ClientError, TimeoutError, OSError, TooLarge, ValueError) as exc:
            log.warning("inbound MMS %s: could not fetch its media (%s)", sid, exc)
            # A 5xx: the provider may try again; nothing was kept.
            return await _answer(send, 502, b"could not fetch the media")
        body = params.text("Body") or ""
        text = InboundText(source, line_number, body, sid, self.clock.now_ms(), tuple(parts))
        await self.sink.inbound(self.connector, [text])
        return await _twiml(send)

    async def _verified(self, request: RawRequest, send: Send) -> Params | None:
        """The callback's parameters if its signature holds; else answers 403."""
        try:
            body_fields = forms.urlencoded(request.body)
            query_fields = forms.urlencoded(request.scope["query_string"])
        except BadParam:
            body_fields, query_fields = [], []
        url = self.config.public_url.rstrip("/") + request.path
        query = request.scope["query_string"].decode("latin-1")
        if query:
            url += "?" + query
        given = request.header(signing.SIGNATURE_HEADER)
        settings = request.header(signing.SETTINGS_HEADER)
        if not signing.is_valid(self.config.auth_token, url, body_fields, given, settings):
            await respond(
                send,
                403,
                error_body(
                    ErrorCode.BAD_ARGUMENTS, "Forbidden: missing or invalid X-Twilio-Signature"
                ),
            )
            return None
        return Params(query_fields + body_fields)

    async def _fetch_parts(self, params: Params, sid: str) -> list[Part]:
        count_text = params.first("NumMedia") or "0"
        count = int(count_text) if count_text.isascii() and count_text.isdigit() else 0
        if count > MAX_ATTACHMENTS:
            raise ValueError(f"{count} media; at most {MAX_ATTACHMENTS} are kept")
        parts: list[Part] = []
        auth = aiohttp.BasicAuth(self.config.account_sid, self.config.auth_token)
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S * 2)
        try:
            async with aiohttp.ClientSession(auth=auth, timeout=timeout) as session:
                for index in range(count):
                    url = params.first(f"MediaUrl{index}")
                    if not url:
                        continue
                    declared = (params.first(f"MediaContentType{index}") or "").lower()
                    parts.append(await self._fetch(session, url, declared, sid, index))
        except BaseException:
            for part in parts:
                await self.content.delete(part.storage_key)
            raise
        return parts

    async def _fetch(
        self, session: aiohttp.ClientSession, url: str, declared: str, sid: str, index: int
    ) -> Part:
        key = new_key()
        async with session.get(url, max_redirects=3) as answer:
            if answer.status != 200:
                raise ValueError(f"media {index} answered HTTP {answer.status}")
            mime = declared or answer.content_type or ""
            mime = mime if _SHOWN_TYPES.fullmatch(mime) else "application/octet-stream"
            stored = await self.content.put_stream(
                key, answer.content.iter_chunked(64 * 1024), mime, MAX_PART_BYTES
            )
        name = safe_file_name(f"{sid}_{index}{_EXTENSIONS.get(mime, '')}")
        return Part(key, mime, stored.size, name)


async def _answer(send: Send, status: int, body: bytes) -> str:
    await respond(send, status, body, b"text/plain; charset=utf-8")
    return str(status)


async def _twiml(send: Send) -> str:
    await respond(send, 200, EMPTY_TWIML, b"text/xml")
    return "ok"

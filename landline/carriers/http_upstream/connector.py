"""A connector for REST messaging providers that speak Twilio's Messages API (Twilio
itself, SignalWire and others that copy it): texts and picture messages out, by HTTP.

One submission is one `POST {base}/2010-04-01/Accounts/{sid}/Messages.json` with `To`,
`From`, `Body`, a `MediaUrl` per part (a signed, time-limited link to our hosted content,
which the provider fetches) and a `StatusCallback` that names our message id. The
provider's answer decides the outcome: 2xx accepted (its `sid` is the carrier
reference), 429 and 5xx and any network failure "try again later", another 4xx refused.
Receipts and inbound messages come back by callbacks (callbacks.py).

The Messages API has no idempotency key: a message submitted, then resubmitted after a
crash before the result was recorded, reaches the provider twice. The dispatcher's
lease makes that rare (only a death between the two).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from landline.carriers.base import (
    CarrierSink,
    Submission,
    SubmitOutcome,
    SubmitResult,
    Submitted,
)
from landline.core.clock import Clock
from landline.core.media_links import MediaLinks

log = logging.getLogger(__name__)

NAME = "twilio"
# Requests in flight to the provider at once, per worker process.
CONCURRENCY = 16
TIMEOUT_S = 15.0
# What of an answer is read: a Messages API answer is a small JSON object.
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class UpstreamConfig:
    account_sid: str
    auth_token: str
    base_url: str
    # Where the provider reaches us: callbacks and media links start with it.
    public_url: str

    @property
    def messages_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def callback_url(self, what: str, query: str = "") -> str:
        url = f"{self.public_url.rstrip('/')}/carrier/{NAME}/{what}"
        return f"{url}?{query}" if query else url


class HttpUpstreamConnector:
    name = NAME
    carries_mms = True

    def __init__(self, config: UpstreamConfig, clock: Clock, links: MediaLinks) -> None:
        self._config = config
        self._clock = clock
        self._links = links
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def start(self, sink: CarrierSink) -> None:
        # The sink is fed by callbacks.py, from the API process that receives them.
        self._ensure_session()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                auth=aiohttp.BasicAuth(self._config.account_sid, self._config.auth_token),
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
            )
        return self._session

    async def submit(self, batch: Sequence[Submission]) -> AsyncIterator[Submitted]:
        tasks = [asyncio.ensure_future(self._one(submission)) for submission in batch]
        try:
            for finished in asyncio.as_completed(tasks):
                yield await finished
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*tasks, return_exceptions=True)

    def form(self, submission: Submission) -> list[tuple[str, str]]:
        """The Messages API's parameters for one submission."""
        now_s = self._clock.now_ms() // 1000
        fields = [
            ("To", submission.destination),
            ("From", submission.source),
            (
                "StatusCallback",
                self._config.callback_url("status", f"message={submission.message_id}"),
            ),
        ]
        if submission.body:
            fields.append(("Body", submission.body))
        fields.extend(
            ("MediaUrl", self._links.link(p.storage_key, now_s)) for p in submission.parts
        )
        return fields

    async def _one(self, submission: Submission) -> Submitted:
        async with self._slots:
            result = await self._post(submission)
        return Submitted(submission, result)

    async def _post(self, submission: Submission) -> SubmitResult:
        session = self._ensure_session()
        try:
            async with session.post(
                self._config.messages_url, data=self.form(submission)
            ) as answer:
                raw = await answer.content.read(MAX_ANSWER_BYTES)
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return SubmitResult(
                SubmitOutcome.RETRY, reason=f"provider unreachable: {type(exc).__name__}"
            )
        return _outcome(status, raw)


def _outcome(status: int, raw: bytes) -> SubmitResult:
    answer = _json(raw)
    if 200 <= status < 300:
        sid = answer.get("sid")
        if not isinstance(sid, str) or not sid:
            return SubmitResult(SubmitOutcome.RETRY, reason="provider answered without a sid")
        return SubmitResult(SubmitOutcome.ACCEPTED, carrier_ref=sid[:128])
    why = f"provider answered HTTP {status}"
    message = answer.get("message")
    if isinstance(message, str):
        why += f": {message[:200]}"
    if status == 429 or status >= 500:
        return SubmitResult(SubmitOutcome.RETRY, reason=why)
    return SubmitResult(SubmitOutcome.REJECTED, reason=why)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}

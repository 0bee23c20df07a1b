"""A local stand-in for a Twilio-compatible provider, built from Twilio's public
documentation of the Messages API: the carrier itself cannot run here, so it is replaced
at the network edge by a real HTTP server on this machine.

It takes `POST /2010-04-01/Accounts/{sid}/Messages.json` with HTTP basic auth, answers
201 and the message resource (or Twilio's error object), serves media files, and signs
the callbacks it sends with the `twilio` package's own RequestValidator.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from typing import Any

import httpx
from aiohttp import BasicAuth, web
from twilio.request_validator import RequestValidator

SID = "AC" + "0" * 30 + "42"
TOKEN = "twilio-test-auth-token"


class FakeTwilio:
    def __init__(self) -> None:
        self.requests: list[list[tuple[str, str]]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        # HTTP statuses to answer the next creates with (then 201 again).
        self.fail_with: list[int] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        app.router.add_get("/media/{name}", self._serve_media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        try:
            auth = BasicAuth.decode(header)
        except ValueError:
            return False
        return auth.login == SID and auth.password == TOKEN

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorized(request) or request.match_info["sid"] != SID:
            return web.json_response(
                {"code": 20003, "message": "Authenticate", "status": 401}, status=401
            )
        form = await request.post()
        fields = [(name, str(value)) for name, value in form.items()]
        self.requests.append(fields)
        if self.fail_with:
            status = self.fail_with.pop(0)
            return web.json_response(
                {"code": 20500, "message": "Internal Server Error"}, status=status
            )
        to = str(form.get("To", ""))
        if not to or not form.get("From"):
            return web.json_response(
                {"code": 21604, "message": "A 'To' phone number is required.", "status": 400},
                status=400,
            )
        if to.endswith("0004"):
            return web.json_response(
                {"code": 21211, "message": f"The 'To' number {to} is not valid.", "status": 400},
                status=400,
            )
        sid = "MM" + secrets.token_hex(16)
        return web.json_response(
            {
                "sid": sid,
                "account_sid": SID,
                "to": to,
                "from": form.get("From"),
                "body": form.get("Body", ""),
                "status": "queued",
                "num_media": str(len(form.getall("MediaUrl", []))),
            },
            status=201,
        )

    async def _serve_media(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401)
        found = self.media.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404)
        data, content_type = found
        return web.Response(body=data, content_type=content_type)

    # -- what the provider sends us

    def callback(
        self, url: str, params: dict[str, str], *, signed: bool = True, token: str = TOKEN
    ) -> httpx.Response:
        headers = {}
        if signed:
            headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, params)
        return httpx.post(url, data=params, headers=headers, timeout=30)


def fields_named(fields: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in fields if key == name]


def status_of(fields: list[tuple[str, str]]) -> dict[str, Any]:
    return dict(fields)

"""The whole site: the web pages in a Starlette app, and the API beside it.

The API keeps its own hand-written ASGI app; a request reaches Starlette only when its
path is one of the pages' (`/`, `/simulator`, `/web/...`, `/static/...`), decided by one
prefix test, so the API's requests pay nothing for the pages (bench/inbox.py measures).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from landline.api.app import LandlineApi, Receive, Scope, Send
from landline.api.envelope import ApiError
from landline.core.status import ErrorCode
from landline.web import inbox_api, pages, pictures, simulator_api
from landline.web.context import Web
from landline.web.live import LiveHub, LiveLimits

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PAGE_PREFIXES = ("/web/", "/static/")
PAGE_PATHS = frozenset({"/", "/simulator"})


def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


async def _refused(request: Request, exc: Exception) -> Response:
    """An API error raised outside an endpoint (a rate limit met while checking the
    session): its own envelope and status."""
    assert isinstance(exc, ApiError)
    return JSONResponse(
        {"success": False, "response": {"code": int(exc.code), "desc": exc.desc}},
        status_code=exc.status,
        headers=exc.headers,
    )


async def _failed(request: Request, exc: Exception) -> Response:
    request_id = secrets.token_hex(8)
    log.exception(
        "unexpected failure in the web pages (request %s, %s)",
        request_id,
        request.url.path[:200],
        exc_info=exc,
    )
    return JSONResponse(
        {
            "success": False,
            "response": {
                "code": int(ErrorCode.INTERNAL_ERROR_855),
                "desc": f"Internal error; retry later (request {request_id})",
            },
            "requestId": request_id,
        },
        status_code=500,
    )


def pages_app(web: Web) -> Starlette:
    app = Starlette(
        routes=[
            Route("/", pages.index),
            Route("/simulator", pages.simulator),
            Route("/web/login", pages.login, methods=["POST"]),
            Route("/web/logout", pages.logout, methods=["POST"]),
            Route("/web/setup", pages.setup, methods=["POST"]),
            Route("/web/conversations", inbox_api.conversations),
            Route("/web/conversation/{fingerprint}", inbox_api.conversation),
            Route("/web/call/{noun}/{verb}", inbox_api.call, methods=["POST"]),
            Route("/web/keys", inbox_api.keys, methods=["GET", "POST"]),
            Route("/web/webhooks", inbox_api.webhooks),
            Route("/web/live", inbox_api.live),
            Route("/web/content/{key}", pictures.content),
            Route("/web/send-picture", pictures.send_picture, methods=["POST"]),
            Route("/web/sim/handset", simulator_api.handset),
            Route("/web/sim/text", simulator_api.text, methods=["POST"]),
            Route("/web/sim/picture", simulator_api.picture, methods=["POST"]),
            Route("/web/sim/content/{key}", simulator_api.content),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        exception_handlers={ApiError: _refused, Exception: _failed},
    )
    app.state.web = web
    return app


class Site:
    """The API and the pages on one listener."""

    def __init__(
        self,
        api: LandlineApi,
        *,
        simulator: bool,
        timezone: str,
        live_limits: LiveLimits | None = None,
    ) -> None:
        self.api = api
        self.hub = LiveHub(api.services.store, live_limits or LiveLimits())
        self.web = Web(api.services, self.hub, _templates(), simulator, timezone)
        self.pages = pages_app(self.web)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] == "http":
            path = scope["path"]
            if path in PAGE_PATHS or path.startswith(PAGE_PREFIXES):
                return await self.pages(scope, receive, send)  # type: ignore[arg-type]
        elif scope["type"] == "lifespan":
            return await self._lifespan(scope, receive, send)
        return await self.api(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receiving() -> dict[str, Any]:
            event = await receive()
            if event["type"] == "lifespan.shutdown":
                # Open pages' streams end before the store they read closes.
                await self.hub.stop()
            return event

        await self.api(scope, receiving, send)

"""A small webhook receiver for development (`landline sim receiver`): it prints each
delivery and whether its Standard Webhooks signature checks out with the line's secret."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

# A delivery bigger than this is not one of ours.
MAX_BODY = 64 * 1024


def application(
    secret: str | None, say: Callable[[str], None], status: int = 200
) -> web.Application:
    """An app that answers every path and method with `status` after printing the call."""
    verifier = Webhook(secret) if secret else None

    async def receive(request: web.Request) -> web.Response:
        body = await request.content.read(MAX_BODY)
        signed = body if request.method != "GET" else request.rel_url.raw_query_string.encode()
        delivery = request.headers.get("webhook-id", "(no webhook-id)")
        if verifier is None:
            check = "signature not checked (no --secret)"
        else:
            try:
                verifier.verify(signed, dict(request.headers))
                check = "signature verified"
            except WebhookVerificationError as exc:
                check = f"signature NOT verified: {exc}"
        when = datetime.now().astimezone().strftime("%H:%M:%S")
        say(f"{when} {request.method} {request.path} {delivery}: {check}")
        if request.method == "GET":
            say("  " + request.rel_url.raw_query_string)
        else:
            try:
                say("  " + json.dumps(json.loads(body), ensure_ascii=False))
            except ValueError:
                say(f"  ({len(body)} bytes, not JSON)")
        return web.Response(status=status, text="received\n")

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_route("*", "/{tail:.*}", receive)
    return app


def run(host: str, port: int, secret: str | None, say: Callable[[str], None], status: int) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    web.run_app(application(secret, say, status), host=host, port=port, print=None, access_log=None)

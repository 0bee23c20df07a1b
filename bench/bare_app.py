"""The baseline for the send benchmark: a bare Starlette app on the same HTTP server.

It parses each request's form as a send would (the same body, the same multipart-free
URL encoding) and answers a constant JSON document in the API's envelope, on uvicorn
with uvloop and httptools like `landline serve`. Any path is answered, so it also
serves as the webhook receiver when the benchmark turns webhooks on.

    python3 bench/bare_app.py PORT
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ANSWER = b'{"success":true,"response":{"fingerprint":"0","root":"0","tokens":[]}}'


async def answer(request: Request) -> Response:
    form = await request.form()
    # Touch what a send reads, so the parse is not skipped.
    len(str(form.get("session", ""))) + len(str(form.get("contacts", "")))
    return Response(ANSWER, media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST", "PUT"])])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )

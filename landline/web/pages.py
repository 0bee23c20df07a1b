"""The HTML pages: sign-in, first-line setup, the inbox shell and the phone simulator.

Pages are Jinja2 templates with autoescaping on; everything from outside (bodies, names,
numbers) reaches the page either escaped by Jinja or as text set by the page's script
(never as HTML), and the Content-Security-Policy allows no inline script at all.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from landline import accounts
from landline.api import forms, user
from landline.api.envelope import ApiError
from landline.api.fields import parse_args
from landline.api.params import BadParam
from landline.core import numbers, outbound
from landline.store import inbox as inbox_store
from landline.web import browser
from landline.web.context import (
    bounded_body,
    call_for,
    from_this_machine,
    secure,
    signed_in,
    web_of,
)

# Longest form a sign-in or setup page accepts, in bytes.
MAX_FORM_BYTES = 8 * 1024
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    web = web_of(request)
    html = web.templates.get_template(template).render(simulator=web.simulator, **values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


async def index(request: Request) -> Response:
    who = await signed_in(request)
    if who is not None:
        return page(
            request,
            "inbox.html",
            line=who.line,
            line_shown=numbers.display(who.line.number),
            csrf=who.csrf,
            max_bytes=outbound.MAX_BODY_BYTES,
            max_recipients=outbound.MAX_RECIPIENTS,
        )
    if await _offer_setup(request):
        return page(request, "setup.html")
    return page(request, "login.html")


async def _offer_setup(request: Request) -> bool:
    """A store with no line yet, seen from this machine: the first line is made here."""
    if not from_this_machine(request):
        return False
    store = web_of(request).services.store
    return not await store.read(inbox_store.any_line)


async def _form(request: Request) -> dict[str, str] | None:
    body = await bounded_body(request, MAX_FORM_BYTES)
    return None if body is None else dict(forms.urlencoded(body))


async def login(request: Request) -> Response:
    if not browser.same_origin(request.scope):
        return page(request, "login.html", 403, error="Sign-in from another site refused.")
    form = await _form(request)
    if form is None:
        return page(request, "login.html", 413, error="That form was too large.")
    call = call_for(request, None, list(form.items()))
    try:
        args = parse_args(user.LoginArgs, call.params)
        answer = await user.login(call, args)
    except BadParam:
        return page(
            request,
            "login.html",
            400,
            error="Enter a number or user name and a password.",
            username=form.get("username", "")[:255],
        )
    except ApiError as exc:
        status = 429 if exc.status == 429 else 401
        message = exc.desc if exc.status == 429 else "Wrong number, user name or password."
        return page(
            request, "login.html", status, error=message, username=form.get("username", "")[:255]
        )
    key = str(answer["response"])
    response = RedirectResponse("/", status_code=303)
    response.headers.append("set-cookie", browser.set_cookie_header(key, secure=secure(request)))
    return response


async def logout(request: Request) -> Response:
    form = await _form(request) or {}
    who = await signed_in(request)
    if not browser.same_origin(request.scope) or (
        who is not None and not browser.csrf_ok(who.key, form.get(browser.CSRF_FIELD))
    ):
        return page(request, "login.html", 403, error="Sign-out refused: the form was not ours.")
    if who is not None:
        await user.logout(who.call, None)
        web_of(request).hub.end_session(who.key_hash)
    response = RedirectResponse("/", status_code=303)
    response.headers.append("set-cookie", browser.clear_cookie_header(secure=secure(request)))
    return response


async def setup(request: Request) -> Response:
    if not browser.same_origin(request.scope) or not await _offer_setup(request):
        return page(request, "login.html", 403, error="This server already has a line.")
    form = await _form(request)
    if form is None:
        return page(request, "setup.html", 413, error="That form was too large.")
    raw_number, password = form.get("number", ""), form.get("password", "")
    try:
        number = numbers.to_e164(raw_number)
    except numbers.InvalidNumber:
        return page(
            request, "setup.html", 400, error="That is not a phone number.", number=raw_number[:40]
        )
    if len(password) < 8 or len(password) > 1024:
        return page(
            request,
            "setup.html",
            400,
            error="Choose a password of 8 or more characters.",
            number=raw_number[:40],
        )
    web = web_of(request)
    try:
        line = await asyncio.to_thread(
            accounts.add_line,
            web.services.store,
            number=number,
            mms=False,
            timezone=web.timezone,
            password=password,
            verified_by="first line, from the web inbox",
        )
    except accounts.LineExists:
        return page(request, "login.html", 409, error="That line exists; sign in.")
    response = RedirectResponse("/", status_code=303)
    response.headers.append(
        "set-cookie", browser.set_cookie_header(line.session, secure=secure(request))
    )
    return response


async def simulator(request: Request) -> Response:
    web = web_of(request)
    if not web.simulator or not from_this_machine(request):
        return page(request, "missing.html", 404)
    return page(request, "simulator.html")

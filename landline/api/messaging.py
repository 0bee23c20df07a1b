"""messaging/send: a picture message (or long text as a file) to one number.

This endpoint answers in its own shape, as the API document shows it:
`{"success": true, "response": {"id": <number>, "status": "queued"}}`, and for every
failure `{"success": false, "errorDesc": "<why>"}` (HTTP 401 for a bad session, 500 for
an unexpected failure, 200 otherwise; a request over 600 KB gets the 413 page before
any of this runs). A refused request stores nothing: files are judged before any is
stored, and content stored for a request that then fails is removed.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from landline.api.envelope import ApiError
from landline.api.params import BadParam, Params
from landline.api.raw import RawRequest, Send, respond_json
from landline.api.uploads import (
    UploadRefused,
    check_files,
    check_quota,
    discard,
    store_files,
)
from landline.core import mms, numbers
from landline.core.lines import LineState
from landline.core.outbound import InvalidSend
from landline.core.routes import Kind
from landline.core.status import ErrorCode, describe
from landline.media.keys import is_valid_key
from landline.store import media
from landline.store.mms_sends import MmsSend, record_mms_sends

log = logging.getLogger(__name__)

PATH = "messaging/send"
TO_NAMES = ("to", "contacts", "contact", "destinationAddress")
KEY_NAMES = ("key", "storageKey")


class Refused(Exception):
    def __init__(self, desc: str, status: int = 200) -> None:
        super().__init__(desc)
        self.desc = desc
        self.status = status


async def handle(request: RawRequest, send: Send) -> str:
    try:
        answer = await _send(request)
    except Refused as exc:
        await respond_json(send, exc.status, {"success": False, "errorDesc": exc.desc})
        return "refused"
    except Exception:
        request_id = secrets.token_hex(8)
        log.exception("messaging/send failed (request %s)", request_id)
        await respond_json(
            send,
            500,
            {
                "success": False,
                "errorDesc": f"Internal error; retry later (request {request_id})",
                "requestId": request_id,
            },
        )
        return "-855"
    await respond_json(send, 200, answer)
    return "ok"


async def _send(request: RawRequest) -> dict[str, Any]:
    content = request.services.media
    if content is None:
        raise Refused("MMS is not available on this server")
    try:
        form = request.form()
        params = Params(form.fields)
    except BadParam as exc:
        raise Refused(f"Bad arguments: {exc}") from None
    call = request.call(params)
    try:
        line = await call.authenticate()
    except ApiError as exc:
        raise Refused(exc.desc, exc.status) from None
    # Arguments first: only a request whose arguments are all good learns about the line.
    try:
        number = _recipient(params)
        body = params.text("body", "message") or ""
        mms.check_body(body)
        keys = _keys(params)
        mms.check_part_count(len(form.files) + len(keys))
        checked = check_files(form.files)
        mms.check_not_empty(body, len(checked) + len(keys))
    except (InvalidSend, UploadRefused) as exc:
        raise Refused(f"Bad arguments: {exc}") from None
    if line.state == LineState.SPAM:
        raise Refused("Spam protection: this line is flagged; contact the operator")
    if not line.mms:
        raise Refused("MMS is not enabled on this line; ask the operator to enable it")
    if request.services.routes.connector_for(number, Kind.MMS) is None:
        raise Refused(f"Unable to determine carrier: no MMS route serves {number}")
    hosted = await call.store.read(media.owned_many, line.device_id, keys) if keys else {}
    missing = [key for key in keys if key not in hosted]
    if missing:
        raise Refused(f"Bad arguments: key {missing[0][:40]!r} names no content of this line")

    try:
        await check_quota(call.store, line.device_id, checked, request.services.media_quota_bytes)
    except UploadRefused as exc:
        raise Refused(f"Bad arguments: {exc}") from None
    now = call.now()
    stored = await store_files(content, line.device_id, checked, now)
    plan = mms.plan_mms(
        device_id=line.device_id,
        line_number=line.number,
        number=number,
        body=body,
        now=now,
        next_id=call.store.ids.next_id,
    )
    message_id = plan.root_id
    # Parts in the order the client gave them: uploaded files, then hosted keys.
    item = MmsSend(plan, stored.rows, stored.keys + keys)
    try:
        outcome = await call.store.write_merged(record_mms_sends, item)
    except Exception:
        # The transaction failed: nothing refers to the new content. (A cancelled
        # request leaves it: its write may still commit.)
        await discard(content, stored.keys)
        raise
    call.services.notify_outbound()
    if outcome.opted_out:
        return {
            "success": True,
            "response": {
                "id": message_id,
                "status": "failed",
                "code": int(ErrorCode.RECIPIENT_SENT_STOP),
                "desc": describe(ErrorCode.RECIPIENT_SENT_STOP) + "; they must text UNSTOP first",
            },
        }
    return {"success": True, "response": {"id": message_id, "status": "queued"}}


def _recipient(params: Params) -> str:
    raw = mms.check_recipient(params.items_unbounded(params.all(*TO_NAMES))[:16])
    try:
        return numbers.to_e164(raw)
    except numbers.InvalidNumber:
        raise InvalidSend("to", f"{raw.strip()[:40]!r} is not a valid phone number") from None


def _keys(params: Params) -> list[str]:
    keys = list(dict.fromkeys(value.strip() for value in params.all(*KEY_NAMES) if value.strip()))
    mms.check_part_count(len(keys))
    for key in keys:
        if not is_valid_key(key):
            raise InvalidSend("key", f"{key[:40]!r} is not a storage key")
    return keys

"""One delivery attempt as an HTTP request: the payload encoded for the method, signed.

POST and PUT send the payload as a JSON object (`application/json; charset=UTF-8`) and
sign the body. GET sends the same fields as query parameters, after any query the
webhook's URL has, and signs the query string as sent (everything after `?`): a
receiver verifies it as the Standard Webhooks "payload". Query values:

- text as is (UTF-8, percent-encoded), numbers in decimal (`id=634151298329219072`);
- true and false as `true` and `false`, as in JSON;
- null as an empty value: the name is still there (`dateRead=`), as every field is;
- a list or object (the message payload has none) as its compact JSON text.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from yarl import URL

from landline.webhooks.signing import signing_headers

METHODS = ("POST", "PUT", "GET")
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
USER_AGENT = "Landline-Webhooks/1"


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    method: str
    # Already percent-encoded, exactly as it goes on the wire.
    url: str
    headers: Mapping[str, str]
    body: bytes | None


def build_request(
    url: str,
    method: str,
    payload: Mapping[str, Any],
    *,
    message_id: str,
    timestamp_s: int,
    secrets: Sequence[str],
) -> OutgoingRequest:
    """The request for one attempt at `timestamp_s` (seconds), signed by `secrets`.

    Raises ValueError for a method other than POST, PUT or GET or a URL that is not one.
    `message_id` stays the same for every attempt at one delivery.
    """
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"webhook method must be one of {', '.join(METHODS)}, not {method}")
    target = _target(url)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if method == "GET":
        query = encode_query(payload)
        if target.raw_query_string:
            query = f"{target.raw_query_string}&{query}" if query else target.raw_query_string
        sent_url = str(target.with_query(None)) + ("?" + query if query else "")
        signed = query.encode("ascii")
        body = None
    else:
        sent_url = str(target)
        body = signed = orjson.dumps(dict(payload))
        headers["Content-Type"] = JSON_CONTENT_TYPE
    headers.update(signing_headers(message_id, timestamp_s, signed, secrets))
    return OutgoingRequest(method, sent_url, headers, body)


# A webhook's URL is the same for every delivery: parse it once.
@functools.lru_cache(maxsize=4096)
def _target(url: str) -> URL:
    return URL(url).with_fragment(None)


def encode_query(payload: Mapping[str, Any]) -> str:
    pairs = [(name, query_value(value)) for name, value in payload.items()]
    return urlencode(pairs, quote_via=quote, safe="")


def query_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    # Numbers, lists and objects, as JSON writes them.
    return orjson.dumps(value).decode()

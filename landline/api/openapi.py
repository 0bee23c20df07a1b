"""The OpenAPI 3.1 description of the API, served at /openapi.json.

Derived from the endpoints' own declarations: their parameter dataclasses
(api/fields.py) and their answer types (api/shapes.py). The tests check real answers
against it, and every answer schema is strict (required fields, no unknown ones), so a
field the server drops, adds or retypes fails them rather than misleading a client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from landline import __version__
from landline.api import shapes
from landline.api.endpoints import Endpoint
from landline.api.fields import Declared, Text, declared
from landline.api.schema import Components
from landline.api.shapes import SESSION_PATTERN
from landline.core.status import STATUS_DESCRIPTIONS, ErrorCode

Schema = dict[str, Any]

# The codes Landline answers in an error envelope (HTTP status in brackets).
ERROR_CODES: dict[int, str] = {
    int(ErrorCode.BAD_ARGUMENTS): "bad arguments, including an id that names nothing (200)",
    int(ErrorCode.INVALID_SESSION): "missing, unknown, revoked or suspended session, "
    "or a wrong username or password (401)",
    int(ErrorCode.UNABLE_TO_DETERMINE_CARRIER): "no carrier route for a recipient (200)",
    int(ErrorCode.SPAM_PROTECTION): "the line is flagged for spam (200)",
    int(ErrorCode.TOO_MANY_REQUESTS): "the line is over its request rate, if one is set, or "
    "user/login is throttled (429)",
    int(ErrorCode.INTERNAL_ERROR_855): "unexpected failure; nothing was stored half-done; "
    "retry (500)",
}

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


SESSION = Declared(
    name="session",
    kind=Text(max_chars=64),
    aliases=(),
    required=True,
    description="The session key from user/login. On POST it may be in the query string or "
    "the body.",
    attribute="session",
)
SESSION_SCHEMA = {"type": "string", "pattern": SESSION_PATTERN}

COMPONENT_RESPONSES: dict[str, Schema] = {
    "InvalidSession": {
        "description": "-100: the session is missing, malformed, unknown, revoked, or its "
        "line is suspended (for user/login: the username or password is wrong).",
        "content": {"application/json": {"schema": _ref("ErrorAnswer")}},
    },
    "TooLarge": {
        "description": "The request body is over 600 KB: an HTML page, not JSON.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    "TooManyRequests": {
        "description": "-429: the line made more requests than LANDLINE_RATE_LIMIT allows "
        "(only when one is set), or, at user/login, too many failed logins or too many logins "
        "in progress; Retry-After says how many seconds to wait.",
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
        "content": {"application/json": {"schema": _ref("ErrorAnswer")}},
    },
    "Unexpected": {
        "description": "-855: an unexpected failure; nothing was stored half-done, and the "
        "answer's requestId names the failure in the server's log. Retry.",
        "content": {"application/json": {"schema": _ref("ErrorAnswer")}},
    },
}


def _param_schema(item: Declared) -> Schema:
    return SESSION_SCHEMA if item is SESSION else item.kind.schema()


def _description(item: Declared) -> str:
    text = item.description
    if item.aliases:
        text += " Also accepted as " + ", ".join(f"`{a}`" for a in item.aliases) + "."
    return text


def _query_param(item: Declared, required: bool) -> Schema:
    found: Schema = {
        "name": item.name,
        "in": "query",
        "required": required,
        "description": _description(item),
        "schema": _param_schema(item),
    }
    if item.aliases:
        found["x-aliases"] = list(item.aliases)
    if found["schema"].get("type") == "array":
        found["style"], found["explode"] = "form", True
    return found


def _body(params: tuple[Declared, ...], name: str, schemas: Schema) -> Schema:
    """The POST body for `params`, its schema kept once in `schemas` under `name`."""
    schema: Schema = {
        "type": "object",
        "properties": {
            item.name: {**_param_schema(item), "description": _description(item)} for item in params
        },
        # Unknown fields (apiKey, signature, ...) are ignored, as the old server did.
        "additionalProperties": True,
    }
    required = [item.name for item in params if item.required and item is not SESSION]
    if required:
        schema["required"] = required
    schemas[name] = schema
    lists = {
        item.name: {"style": "form", "explode": True}
        for item in params
        if _param_schema(item).get("type") == "array"
    }
    content: Schema = {}
    for media in FORM_TYPES:
        content[media] = {"schema": _ref(name)}
        if lists and media == "application/x-www-form-urlencoded":
            content[media]["encoding"] = lists
    return {
        "required": False,
        "description": "The same parameters as the GET form; body and query are merged.",
        "content": content,
    }


def _responses(answer: Schema, errors: str, *, authenticated: bool) -> Schema:
    description = "The answer, or an error envelope (still HTTP 200)."
    if errors:
        description += " Errors: " + errors
    responses: Schema = {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": {"oneOf": [answer, _ref("ErrorAnswer")]}}},
        },
    }
    if authenticated:
        responses["401"] = {"$ref": "#/components/responses/InvalidSession"}
    responses["413"] = {"$ref": "#/components/responses/TooLarge"}
    responses["429"] = {"$ref": "#/components/responses/TooManyRequests"}
    responses["500"] = {"$ref": "#/components/responses/Unexpected"}
    return responses


def _path_item(endpoint: Endpoint, components: Components) -> Schema:
    own = declared(endpoint.args) if endpoint.args else ()
    params = (SESSION, *own) if endpoint.session else own
    # user/login answers 401 for a wrong password, too.
    authenticated = endpoint.session or endpoint.path == "user/login"
    answer = components.of(endpoint.answer)
    item: Schema = {}
    for method in ("get", "post"):
        operation: Schema = {
            "tags": [endpoint.tag],
            "operationId": f"{endpoint.path.replace('/', '_')}_{method}",
            "summary": endpoint.summary,
            "responses": _responses(answer, endpoint.errors, authenticated=authenticated),
        }
        if endpoint.description:
            operation["description"] = endpoint.description
        if method == "get":
            operation["parameters"] = [_query_param(p, p.required) for p in params]
        else:
            if endpoint.session:
                operation["parameters"] = [_query_param(SESSION, False)]
            name = "".join(part.capitalize() for part in endpoint.path.split("/")) + "Params"
            operation["requestBody"] = _body(params, name, components.schemas)
        item[method] = operation
    return item


def _noop(components: Components) -> Schema:
    answer = components.of(shapes.NoopAnswer)

    def operation(method: str) -> Schema:
        found: Schema = {
            "tags": ["benchmark"],
            "operationId": f"noop_{method}",
            "summary": "The benchmark baseline: parameters parsed as for any endpoint, no "
            "store, a constant answer",
            "responses": {
                "200": {
                    "description": "Always the same answer, or -703 for a malformed body.",
                    "content": {
                        "application/json": {"schema": {"oneOf": [answer, _ref("ErrorAnswer")]}}
                    },
                },
                "413": {"$ref": "#/components/responses/TooLarge"},
                "500": {"$ref": "#/components/responses/Unexpected"},
            },
        }
        if method == "post":
            found["requestBody"] = {
                "required": False,
                "content": {media: {"schema": {"type": "object"}} for media in FORM_TYPES},
            }
        return found

    return {"get": operation("get"), "post": operation("post")}


DESCRIPTION = (
    """\
A self-hosted server for the AT&T Landline Texting (Zipwhip) web API.

Every endpoint takes any HTTP method: GET with parameters in the query string, or POST
with a form (urlencoded or multipart), a JSON object, or an empty body; query and body
parameters are merged. Paths match case-insensitively, with or without an `/api/v1/` or
`/v1/` prefix. Unknown parameters are ignored; `None`, `null` and `undefined` count as
absent (except in `body` and `password`, which are kept exactly). Text must be valid
UTF-8, and numbers are written with ASCII digits. Every JSON answer is an envelope:
`{"success": true, "response": ...}`, or `{"success": false, "response": {"code": ...,
"desc": ...}}`. Argument errors stay on HTTP 200 because old clients do not read the body
of any other status. An unknown path answers HTTP 404 with code -703.

Message progress codes: """
    + "; ".join(f"{code} {text}" for code, text in STATUS_DESCRIPTIONS.items() if code >= 0)
    + "."
)


def document(endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    """The whole OpenAPI document for `endpoints`."""
    components = Components()
    components.of(shapes.ErrorAnswer)
    error = components.schemas["Error"]
    error["properties"]["code"] = {
        "type": "integer",
        "enum": list(ERROR_CODES),
        "description": "; ".join(f"{c}: {why}" for c, why in ERROR_CODES.items()),
    }
    # Every answer is one of these, whatever its endpoint.
    components.schemas["Envelope"] = {
        "type": "object",
        "description": "Every JSON answer. List answers add total and size (messages, "
        "conversations) or total, page and pages (contacts).",
        "required": ["success", "response"],
        "properties": {"success": {"type": "boolean"}, "response": {}},
    }
    paths: Schema = {f"/{e.path}": _path_item(e, components) for e in endpoints}
    paths["/noop"] = _noop(components)
    paths["/openapi.json"] = {
        "get": {
            "tags": ["meta"],
            "operationId": "openapi_get",
            "summary": "This document",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    paths["/metrics"] = {
        "get": {
            "tags": ["meta"],
            "operationId": "metrics_get",
            "summary": "Prometheus metrics of the whole server (for the operator's scraper)",
            "responses": {
                "200": {
                    "description": "The Prometheus text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {"title": "Landline", "version": __version__, "description": DESCRIPTION},
        "servers": [
            {"url": "/", "description": "This server"},
            {"url": "/api/v1", "description": "The same API, as old Java clients address it"},
        ],
        "tags": [
            {"name": "user", "description": "Sessions, the signed-in user, the signature"},
            {"name": "message", "description": "Texts"},
            {"name": "conversation", "description": "Texts grouped by the numbers in them"},
            {"name": "contact", "description": "The line's address book"},
            {"name": "group", "description": "Named lists of the line's contacts"},
            {
                "name": "webhook",
                "description": "Deliveries of events to the line's URLs, signed (Standard "
                "Webhooks); the signing secret; replays",
            },
            {"name": "benchmark", "description": "Measuring the server itself"},
            {"name": "meta", "description": "About the API"},
        ],
        "paths": paths,
        "components": {"schemas": components.schemas, "responses": COMPONENT_RESPONSES},
    }

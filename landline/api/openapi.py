"""The OpenAPI 3.1 description of the API, served at /openapi.json.

Written as data next to the handlers it describes, and checked against real answers by
tests/test_openapi.py: every schema here is strict (required fields, no unknown ones), so
a field the server drops, adds or retypes fails that test rather than misleading a client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from landline import __version__
from landline.api import contact, message
from landline.core import outbound, times
from landline.core.status import STATUS_DESCRIPTIONS, ErrorCode

Schema = dict[str, Any]

# The form of every timestamp the API writes: to the second, with the line's offset.
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$"
NUMBER_PATTERN = r"^(\d{10}|\+[1-9]\d{6,14})$"
ADDRESS_PATTERN = r"^ptn:/(\d{10}|\+[1-9]\d{6,14})$"
DIGITS_PATTERN = r"^[0-9]+$"
SESSION_PATTERN = r"^[0-9a-fA-F-]{32,36}:\d{1,19}$"

# The codes Landline answers in an error envelope (HTTP status in brackets).
ERROR_CODES: dict[int, str] = {
    int(ErrorCode.BAD_ARGUMENTS): "bad arguments, including an id that names nothing (200)",
    int(ErrorCode.INVALID_SESSION): "missing, unknown, revoked or suspended session, "
    "or a wrong username or password (401)",
    int(ErrorCode.UNABLE_TO_DETERMINE_CARRIER): "no carrier route for a recipient (200)",
    int(ErrorCode.SPAM_PROTECTION): "the line is flagged for spam (200)",
    int(ErrorCode.TOO_MANY_REQUESTS): "the line is over its request rate, if one is set, or "
    "user/login is throttled (429)",
    int(ErrorCode.UNKNOWN): "unexpected failure; nothing was stored half-done (500)",
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(description: str = "", pattern: str | None = None, nullable: bool = False) -> Schema:
    schema: Schema = {"type": ["string", "null"] if nullable else "string"}
    if pattern:
        schema["pattern"] = pattern
    if description:
        schema["description"] = description
    return schema


def _timestamp(description: str, nullable: bool = False) -> Schema:
    shown = description + " (ISO 8601, in the line's time zone)"
    return _string(shown, TIMESTAMP_PATTERN, nullable)


def _integer(description: str = "", minimum: int | None = None) -> Schema:
    schema: Schema = {"type": "integer", "format": "int64"}
    if minimum is not None:
        schema["minimum"] = minimum
    if description:
        schema["description"] = description
    return schema


def _boolean(description: str = "") -> Schema:
    return {"type": "boolean", "description": description} if description else {"type": "boolean"}


def _object(properties: Schema, description: str = "", optional: tuple[str, ...] = ()) -> Schema:
    schema: Schema = {
        "type": "object",
        "required": [name for name in properties if name not in optional],
        "properties": properties,
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def _answer(response: Schema, description: str, **extra: Schema) -> Schema:
    """A successful envelope whose `response` (and list counts) have the given shapes."""
    return {
        "description": description,
        "allOf": [_ref("Envelope")],
        "required": ["success", "response", *extra],
        "properties": {"success": {"const": True}, "response": response, **extra},
        "unevaluatedProperties": False,
    }


TOTAL = _integer("Items in this answer; 0 past the end, which is how clients stop paging.", 0)
SIZE = _integer("Items there are in all.", 0)

FINGERPRINT = _string("A conversation id: a string of digits, stable for a line and a set of "
                      "numbers.", DIGITS_PATTERN)
NUMBER = _string("A phone number: 10 digits for North America, E.164 elsewhere.", NUMBER_PATTERN)
ADDRESS = _string("A phone number with the `ptn:/` prefix.", ADDRESS_PATTERN)

MESSAGE = _object(
    {
        "id": _integer("The message id (64-bit; JavaScript clients should read `uuid`)."),
        "uuid": _string("The message id as a string.", DIGITS_PATTERN),
        "body": _string("The text; never null."),
        "bodySize": _integer("Bytes of UTF-8 in `body`.", 0),
        "visible": _boolean("False once deleted."),
        "hasAttachment": _boolean(),
        "dateRead": _timestamp("When it was marked read", nullable=True),
        "bcc": {"type": "null"},
        "cc": {"type": "null"},
        "finalDestination": NUMBER,
        "finalSource": NUMBER,
        "messageType": {"enum": ["MO", "ZO"], "description": "MO inbound, ZO outbound."},
        "type": {"enum": ["MO", "ZO"], "description": "The same as messageType."},
        "direction": {"enum": ["IN", "OUT"]},
        "deleted": _boolean(),
        "statusCode": _integer("Progress code 0-7, or the error code that ended it (-1234, "
                               "-124)."),
        "statusDesc": _string(),
        "isInFinalState": _boolean(),
        "errorState": _boolean("True for codes 5 and 7 and negative codes."),
        "transmissionState": _object(
            {"name": {"enum": ["QUEUED", "SENT", "DELIVERED", "ERROR"]}}
        ),
        "scheduledDate": _timestamp("When it is or was due to go out", nullable=True),
        "fingerprint": FINGERPRINT,
        "messageTransport": _integer("9: SMS."),
        "contactId": _integer(),
        "contactDeviceId": _integer("The same as contactId."),
        "deviceId": _integer("The line's device id."),
        "address": ADDRESS,
        "sourceAddress": NUMBER,
        "destAddress": NUMBER,
        "mobileNumber": NUMBER,
        "read": _boolean("Outbound messages count as read."),
        "isRead": _boolean("The same as read."),
        "isParent": _boolean("True for the first message of a send request."),
        "parentId": _integer("The id of the send request (`root` in message/send)."),
        "dateCreated": _timestamp("When it was created"),
        "lastUpdated": _timestamp("When it last changed"),
        "dateDeleted": _timestamp("When it was deleted", nullable=True),
        "dateDelivered": _timestamp("When a receipt confirmed delivery", nullable=True),
        "statusHistory": _ref("StatusHistory"),
    },
    "A text message, as in message/list, message/get and conversation/get.",
)

CONVERSATION = _object(
    {
        "id": _integer("The fingerprint as a number."),
        "fingerprint": FINGERPRINT,
        "deviceId": _integer(),
        "deviceAddress": ADDRESS,
        "address": _string("The other party; null for a group.", ADDRESS_PATTERN, nullable=True),
        "addresses": {"type": "array", "items": ADDRESS, "minItems": 1},
        "cc": {"type": "null"},
        "bcc": {"type": "null"},
        "unreadCount": _integer("Inbound messages not yet read.", 0),
        "new": _boolean("True while unreadCount is above 0."),
        "deleted": _boolean(),
        "lastContactId": _integer(),
        "lastContactDeviceId": _integer("The same as lastContactId."),
        "lastContactFirstName": _string("Empty when the contact has no saved name."),
        "lastContactLastName": _string(),
        "lastContactMobileNumber": NUMBER,
        "lastMessageId": _integer(),
        "lastMessageBody": _string(),
        "lastMessageDate": _timestamp("When the last message was created"),
        "lastNonDeletedMessageDate": _timestamp("The same as lastMessageDate"),
        "dateCreated": _timestamp("When it began"),
        "lastUpdated": _timestamp("When it last changed"),
    },
    "A conversation: the line and one set of numbers.",
)

CONTACT = _object(
    {
        "id": _integer("Stable: a hash of the line and the number."),
        "deviceId": _integer(),
        "address": ADDRESS,
        "mobileNumber": NUMBER,
        "firstName": _string(),
        "lastName": _string(),
        "email": _string(),
        "notes": _string(),
        "city": _string(),
        "state": _string(),
        "zipcode": _string(),
        "birthday": _string(nullable=True),
        "optOut": _boolean("True while the contact has texted STOP (and not UNSTOP)."),
        "deleted": _boolean(),
        "dateCreated": _timestamp("When it was created"),
        "lastUpdated": _timestamp("When it last changed"),
    },
    "An address-book entry; unsaved text fields are empty strings.",
)

SEND_TOKEN = {
    **_object(
        {
            "message": _string("This recipient's message id.", DIGITS_PATTERN),
            "fingerprint": FINGERPRINT,
            "device": _integer("The line's device id."),
            "contact": _integer("The recipient's contact id."),
            "code": {"const": int(ErrorCode.RECIPIENT_SENT_STOP)},
            "desc": _string(),
        },
        "One recipient of a send. `code` and `desc` are there only when the recipient has "
        "opted out: the message then ends at once with statusCode -1234.",
        optional=("code", "desc"),
    ),
    "dependentRequired": {"code": ["desc"], "desc": ["code"]},
}

COMPONENT_SCHEMAS: dict[str, Schema] = {
    "Envelope": {
        "type": "object",
        "description": "Every JSON answer. List answers add total and size (messages, "
        "conversations) or total, page and pages (contacts).",
        "required": ["success", "response"],
        "properties": {"success": {"type": "boolean"}, "response": {}},
    },
    "Error": _object(
        {
            "code": {
                "type": "integer",
                "enum": list(ERROR_CODES),
                "description": "; ".join(f"{c}: {why}" for c, why in ERROR_CODES.items()),
            },
            "desc": _string("What went wrong, naming the parameter."),
        }
    ),
    "ErrorAnswer": {
        "allOf": [_ref("Envelope")],
        "required": ["success", "response"],
        "properties": {"success": {"const": False}, "response": _ref("Error")},
        "unevaluatedProperties": False,
    },
    "StatusChange": _object(
        {
            "statusCode": _integer(),
            "statusDesc": _string(),
            "date": _timestamp("When the message reached it"),
        }
    ),
    "StatusHistory": {
        "type": "array",
        "items": _ref("StatusChange"),
        "description": "Every status the message went through, oldest first.",
    },
    "Message": MESSAGE,
    "Conversation": CONVERSATION,
    "ConversationDetail": _object(
        {
            "conversation": _ref("Conversation"),
            "messages": {"type": "array", "items": _ref("Message")},
        },
        "A conversation and one page of its messages, newest first.",
    ),
    "Contact": CONTACT,
    "SendToken": SEND_TOKEN,
    "SendResult": _object(
        {
            "fingerprint": FINGERPRINT,
            "root": _string("The send request's id.", DIGITS_PATTERN),
            "tokens": {"type": "array", "items": _ref("SendToken"), "minItems": 1},
        },
        "With one recipient the top-level fingerprint is the token's; with several it is "
        "the group's.",
    ),
    "SendAnswer": _answer(_ref("SendResult"), "The answer of message/send."),
    "SessionAnswer": _answer(
        _string("The session key: a UUID, a colon, the line's device id.", SESSION_PATTERN),
        "The answer of user/login.",
    ),
    "TrueAnswer": _answer({"const": True}, "The answer of an action that succeeded."),
    "MessageAnswer": _answer(_ref("Message"), "One message."),
    "MessageList": _answer(
        {"type": "array", "items": _ref("Message")}, "A page of messages, newest first.",
        total=TOTAL, size=SIZE,
    ),
    "CanceledList": _answer(
        {"type": "array", "items": _string("A canceled message id.", DIGITS_PATTERN)},
        "The ids that were canceled.",
    ),
    "ConversationList": _answer(
        {"type": "array", "items": _ref("Conversation")},
        "A page of conversations, latest message first.",
        total=TOTAL, size=SIZE,
    ),
    "ConversationAnswer": _answer(
        _ref("ConversationDetail"), "A conversation; total and size count its messages.",
        total=TOTAL, size=SIZE,
    ),
    "ContactAnswer": _answer(_ref("Contact"), "One contact."),
    "ContactList": _answer(
        {"type": "array", "items": _ref("Contact")},
        "A page of contacts, by number.",
        total=TOTAL,
        page=_integer("The page answered (from 1).", 1),
        pages=_integer("Pages there are at this pageSize.", 0),
    ),
    "NoopAnswer": _answer(_object({"ok": {"const": True}}), "The benchmark's constant answer."),
}


@dataclass(frozen=True)
class Param:
    name: str
    schema: Schema
    description: str
    aliases: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class Operation:
    tag: str
    summary: str
    answer: str
    params: tuple[Param, ...] = ()
    session: bool = True
    errors: str = ""
    description: str = ""


def _list_of(items: Schema) -> Schema:
    return {"type": "array", "items": items}


MESSAGE_ID = {"type": "string", "pattern": DIGITS_PATTERN}
ID_ALIASES = tuple(name for name in message.MESSAGE_IDS if name != "message")
MESSAGE_IDS_PARAM = Param(
    "message",
    _list_of(MESSAGE_ID),
    "Message ids: repeated, comma-joined or `[a, b]`.",
    ID_ALIASES,
    required=True,
)
START = Param("start", {"type": "integer", "minimum": 0, "default": 0}, "Items to skip.")
LIMIT = Param(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": message.MAX_PAGE, "default": message.DEFAULT_PAGE},
    "Items per page.",
)
FINGERPRINT_PARAM = Param(
    "fingerprint",
    {"type": "string", "pattern": DIGITS_PATTERN},
    "The conversation's fingerprint.",
    ("conversationId", "conversation", "id"),
    required=True,
)
NOT_FOUND = "-703 `Bad arguments: ... not found` when an id names nothing on this line."


def _contact_field(names: tuple[str, ...], column: str) -> Param:
    limit = contact.MAX_FIELD_CHARS.get(column, 255)
    return Param(
        names[0],
        {"type": "string", "maxLength": limit},
        f"At most {limit} characters; trimmed. Absent or empty leaves it unchanged.",
        names[1:],
    )


OPERATIONS: dict[str, Operation] = {
    "user/login": Operation(
        "user",
        "Trade a line's number (or an operator's user name) and password for a session key",
        "SessionAnswer",
        (
            Param("username", {"type": "string"}, "The line's number or an operator's user "
                  "name.", ("userName", "mobileNumber"), required=True),
            Param("password", {"type": "string", "minLength": 1}, "Kept exactly as sent.",
                  required=True),
        ),
        session=False,
        errors="-703 when username or password is missing; -100 (HTTP 401) when they do not "
        "match; -429 (HTTP 429, Retry-After) after too many failed logins for this user name "
        "or from this address, or while too many logins are being checked.",
    ),
    "user/logout": Operation("user", "Revoke this session key", "TrueAnswer"),
    "message/send": Operation(
        "message",
        "Send a text to 1 to 15 numbers",
        "SendAnswer",
        (
            Param(
                "contacts",
                _list_of({"type": "string"}),
                f"1 to {outbound.MAX_RECIPIENTS} distinct numbers (duplicates are merged): "
                "repeated, comma-joined or `[a, b]`; 10 digits means +1, otherwise E.164; "
                "`ptn:/` prefix and punctuation allowed.",
                ("contact", "destinationAddress", "to"),
                required=True,
            ),
            Param(
                "body",
                {"type": "string", "minLength": 1, "maxLength": outbound.MAX_BODY_BYTES},
                f"1 to {outbound.MAX_BODY_BYTES} bytes of UTF-8, kept exactly as sent.",
                required=True,
            ),
            Param(
                "scheduledDate",
                {
                    "anyOf": [
                        {"type": "string", "pattern": "^[0-9]{13}$"},
                        {"type": "string", "format": "date-time"},
                    ]
                },
                "Send later: epoch milliseconds (13 digits) or ISO 8601 with an offset; at "
                f"most {times.SCHEDULE_PAST_TOLERANCE_MS // 1000} s in the past and a year "
                "ahead.",
            ),
        ),
        errors="-703 naming a missing or invalid parameter (the bad numbers are listed); "
        "-124 when a valid number has no carrier route; -801 when the line is flagged for "
        "spam. A recipient who opted out is not an error: see SendToken.",
    ),
    "message/list": Operation(
        "message", "The line's messages, newest first", "MessageList", (START, LIMIT),
        description="Deleted messages are left out.",
    ),
    "message/get": Operation(
        "message",
        "One message, with its status history",
        "MessageAnswer",
        (Param("id", MESSAGE_ID, "The message id.", ("message", "messages", "uuid", "uuids"),
               required=True),),
        errors=NOT_FOUND,
        description="Deleted messages are found too (`deleted: true`).",
    ),
    "message/read": Operation(
        "message", "Mark messages read", "TrueAnswer", (MESSAGE_IDS_PARAM,),
        errors=NOT_FOUND + " Nothing changes then.",
    ),
    "message/delete": Operation(
        "message", "Hide messages (delivery records stay)", "TrueAnswer", (MESSAGE_IDS_PARAM,),
        errors=NOT_FOUND + " Nothing changes then.",
    ),
    "message/scheduled": Operation(
        "message",
        "Messages waiting for their scheduled time, soonest first (a Landline addition)",
        "MessageList",
    ),
    "message/cancel": Operation(
        "message",
        "Cancel scheduled messages before they go out (a Landline addition)",
        "CanceledList",
        (MESSAGE_IDS_PARAM,),
        errors="-703 naming the ids that are not scheduled messages waiting to go out; "
        "nothing is canceled then.",
        description="Canceled messages are deleted (hidden), and fire a delete event.",
    ),
    "conversation/list": Operation(
        "conversation", "The line's conversations, latest message first", "ConversationList",
        (START, LIMIT),
    ),
    "conversation/get": Operation(
        "conversation",
        "A conversation and a page of its messages, newest first",
        "ConversationAnswer",
        (FINGERPRINT_PARAM, START, LIMIT),
        errors=NOT_FOUND,
    ),
    "conversation/read": Operation(
        "conversation", "Mark every message of a conversation read", "TrueAnswer",
        (FINGERPRINT_PARAM,), errors=NOT_FOUND,
    ),
    "conversation/delete": Operation(
        "conversation", "Hide a conversation and its messages", "TrueAnswer",
        (FINGERPRINT_PARAM,), errors=NOT_FOUND,
    ),
    "contact/list": Operation(
        "contact",
        "The line's contacts, a page at a time, by number",
        "ContactList",
        (
            Param("page", {"type": "integer", "minimum": 0, "default": 1},
                  "Counts from 1; 0 is taken as 1."),
            Param(
                "pageSize",
                {"type": "integer", "minimum": 1, "maximum": contact.MAX_PAGE_SIZE,
                 "default": contact.DEFAULT_PAGE_SIZE},
                "Contacts per page.",
            ),
        ),
    ),
    "contact/save": Operation(
        "contact",
        "Create or update the contact for a number; only the fields given change",
        "ContactAnswer",
        (
            Param("address", {"type": "string"}, "The contact's number (`ptn:/` allowed).",
                  ("mobileNumber", "contact"), required=True),
            *(_contact_field(names, column) for column, names in contact.FIELDS.items()),
        ),
        errors="-703 when address is missing or invalid, or a field is too long.",
    ),
    "contact/get": Operation(
        "contact",
        "One contact, by id or by number",
        "ContactAnswer",
        (
            Param("id", {"type": "integer", "format": "int64", "minimum": 1},
                  "The contact id; wins over mobileNumber.", ("contact", "contactId")),
            Param("mobileNumber", {"type": "string"}, "The contact's number.", ("address",)),
        ),
        errors=NOT_FOUND,
    ),
    "contact/delete": Operation(
        "contact",
        "Forget saved contacts (their opt-out state and messages stay)",
        "TrueAnswer",
        (
            Param("contact", _list_of({"type": "integer", "format": "int64"}),
                  "Contact ids: repeated, comma-joined or `[a, b]`.",
                  ("contacts", "id", "contactId"), required=True),
        ),
        errors=NOT_FOUND + " Nothing changes then.",
    ),
}

SESSION = Param(
    "session",
    {"type": "string", "pattern": SESSION_PATTERN},
    "The session key from user/login. On POST it may be in the query string or the body.",
    required=True,
)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")

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
        "description": "-1: an unexpected failure; nothing was stored half-done.",
        "content": {"application/json": {"schema": _ref("ErrorAnswer")}},
    },
}


def _query_param(param: Param, required: bool) -> Schema:
    description = param.description
    if param.aliases:
        description += " Also accepted as " + ", ".join(f"`{a}`" for a in param.aliases) + "."
    found: Schema = {
        "name": param.name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": param.schema,
    }
    if param.aliases:
        found["x-aliases"] = list(param.aliases)
    if param.schema.get("type") == "array":
        found["style"], found["explode"] = "form", True
    return found


def _body(params: tuple[Param, ...], name: str, schemas: Schema) -> Schema:
    """The POST body for `params`, its schema kept once in `schemas` under `name`."""
    schema: Schema = {
        "type": "object",
        "properties": {p.name: {**p.schema, "description": _query_param(p, False)["description"]}
                       for p in params},
        # Unknown fields (apiKey, signature, ...) are ignored, as the old server did.
        "additionalProperties": True,
    }
    required = [p.name for p in params if p.required and p is not SESSION]
    if required:
        schema["required"] = required
    schemas[name] = schema
    lists = {p.name: {"style": "form", "explode": True}
             for p in params if p.schema.get("type") == "array"}
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


def _responses(answer: str, op: Operation | None) -> Schema:
    description = "The answer, or an error envelope (still HTTP 200)."
    if op is not None and op.errors:
        description += " Errors: " + op.errors
    responses: Schema = {
        "200": {
            "description": description,
            "content": {
                "application/json": {
                    # The loose Envelope already admits errors, and oneOf needs exactly one.
                    "schema": _ref(answer) if answer == "Envelope"
                    else {"oneOf": [_ref(answer), _ref("ErrorAnswer")]}
                }
            },
        },
    }
    responses["401"] = {"$ref": "#/components/responses/InvalidSession"}
    responses["413"] = {"$ref": "#/components/responses/TooLarge"}
    responses["429"] = {"$ref": "#/components/responses/TooManyRequests"}
    responses["500"] = {"$ref": "#/components/responses/Unexpected"}
    return responses


def _path_item(key: str, op: Operation | None, handler: Any, schemas: Schema) -> Schema:
    if op is None:
        # An endpoint added without a description here still gets an honest, loose one.
        summary = ((getattr(handler, "__doc__", None) or key).strip().splitlines() or [key])[0]
        op = Operation(key.split("/")[0], summary, "Envelope")
    params = (SESSION, *op.params) if op.session else op.params
    item: Schema = {}
    for method in ("get", "post"):
        operation: Schema = {
            "tags": [op.tag],
            "operationId": f"{key.replace('/', '_')}_{method}",
            "summary": op.summary,
            "responses": _responses(op.answer, op),
        }
        if op.description:
            operation["description"] = op.description
        if method == "get":
            operation["parameters"] = [_query_param(p, p.required) for p in params]
        else:
            if op.session:
                operation["parameters"] = [_query_param(SESSION, False)]
            name = "".join(part.capitalize() for part in key.split("/")) + "Params"
            operation["requestBody"] = _body(params, name, schemas)
        item[method] = operation
    return item


def _noop() -> Schema:
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
                        "application/json": {
                            "schema": {"oneOf": [_ref("NoopAnswer"), _ref("ErrorAnswer")]}
                        }
                    },
                },
                "413": {"$ref": "#/components/responses/TooLarge"},
            },
        }
        if method == "post":
            found["requestBody"] = {
                "required": False,
                "content": {media: {"schema": {"type": "object"}} for media in FORM_TYPES},
            }
        return found

    return {"get": operation("get"), "post": operation("post")}


DESCRIPTION = """\
A self-hosted server for the AT&T Landline Texting (Zipwhip) web API.

Every endpoint takes any HTTP method: GET with parameters in the query string, or POST
with a form (urlencoded or multipart), a JSON object, or an empty body; query and body
parameters are merged. Paths match case-insensitively, with or without an `/api/v1/` or
`/v1/` prefix. Unknown parameters are ignored; `None`, `null` and `undefined` count as
absent (except in `body` and `password`, which are kept exactly). Every JSON answer is an
envelope: `{"success": true, "response": ...}`, or `{"success": false, "response":
{"code": ..., "desc": ...}}`. Argument errors stay on HTTP 200 because old clients do not
read the body of any other status. An unknown path answers HTTP 404 with code -703.

Message progress codes: """ + "; ".join(
    f"{code} {text}" for code, text in STATUS_DESCRIPTIONS.items() if code >= 0
) + "."


def document(endpoints: Mapping[str, Any]) -> dict[str, Any]:
    """The whole OpenAPI document for `endpoints` (path key -> handler)."""
    schemas = dict(COMPONENT_SCHEMAS)
    paths: Schema = {
        f"/{key}": _path_item(key, OPERATIONS.get(key), handler, schemas)
        for key, handler in endpoints.items()
    }
    paths["/noop"] = _noop()
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
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Landline",
            "version": __version__,
            "description": DESCRIPTION,
        },
        "servers": [
            {"url": "/", "description": "This server"},
            {"url": "/api/v1", "description": "The same API, as old Java clients address it"},
        ],
        "tags": [
            {"name": "user", "description": "Sessions"},
            {"name": "message", "description": "Texts"},
            {"name": "conversation", "description": "Texts grouped by the numbers in them"},
            {"name": "contact", "description": "The line's address book"},
            {"name": "benchmark", "description": "Measuring the server itself"},
            {"name": "meta", "description": "About the API"},
        ],
        "paths": paths,
        "components": {"schemas": schemas, "responses": COMPONENT_RESPONSES},
    }

"""The OpenAPI description of the calls that take files or answer bytes (api/raw.py):
written by hand, since they are not declared as JSON endpoints."""

from __future__ import annotations

from typing import Any

from landline.api.openapi import TRANSPORT_RESPONSES
from landline.core.media_types import ALLOWED_TYPES
from landline.core.mms import MAX_ATTACHMENTS, MAX_BODY_BYTES

Schema = dict[str, Any]

_SESSION = {
    "name": "session",
    "in": "query",
    "required": False,
    "description": "The session key (or in the body).",
    "schema": {"type": "string"},
}
_STORAGE_KEY = {"type": "string", "pattern": "^[a-z2-7]{32}$"}
_MMS_ERROR = {
    "type": "object",
    "required": ["success", "errorDesc"],
    "properties": {"success": {"const": False}, "errorDesc": {"type": "string"}},
}
_ENVELOPE_ERROR = {"$ref": "#/components/schemas/ErrorAnswer"}
_TOO_LARGE = {"$ref": "#/components/responses/TooLarge"}


def _upload_body(extra: Schema) -> Schema:
    return {
        "required": False,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "session": {"type": "string"},
                        **extra,
                    },
                    "additionalProperties": {"type": "string", "format": "binary"},
                }
            },
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        },
    }


def paths() -> Schema:
    send: Schema = {
        "post": {
            "tags": ["mms"],
            "operationId": "messaging_send_post",
            "summary": "Send a picture message (or long text as a file) to one number",
            "description": "Files are the multipart parts with a filename, whatever their "
            f"field name; types judged from the bytes: {', '.join(ALLOWED_TYPES)}. At most "
            f"{MAX_ATTACHMENTS} parts; the whole request at most 600 KB. Errors use this "
            "endpoint's own shape, `{success: false, errorDesc}` (401 for the session).",
            "parameters": [
                _SESSION,
                {"name": "to", "in": "query", "required": False, "schema": {"type": "string"}},
                {"name": "body", "in": "query", "required": False, "schema": {"type": "string"}},
            ],
            "requestBody": _upload_body(
                {
                    "to": {"type": "string", "description": "One number (or in the query)."},
                    "body": {
                        "type": "string",
                        "description": f"At most {MAX_BODY_BYTES} bytes of UTF-8.",
                    },
                    "key": {
                        "type": "string",
                        "description": "A storage key of this line's hosted content.",
                    },
                }
            ),
            "responses": {
                "200": {
                    "description": "Queued, or refused with the reason.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {
                                        "type": "object",
                                        "required": ["success", "response"],
                                        "properties": {
                                            "success": {"const": True},
                                            "response": {
                                                "type": "object",
                                                "required": ["id", "status"],
                                                "properties": {
                                                    "id": {"type": "integer"},
                                                    "status": {"enum": ["queued", "failed"]},
                                                    "code": {"type": "integer"},
                                                    "desc": {"type": "string"},
                                                },
                                            },
                                        },
                                    },
                                    _MMS_ERROR,
                                ]
                            }
                        }
                    },
                },
                "401": {
                    "description": "Missing, unknown or revoked session.",
                    "content": {"application/json": {"schema": _MMS_ERROR}},
                },
                "413": _TOO_LARGE,
                "500": {
                    "description": "Unexpected failure; nothing stored.",
                    "content": {"application/json": {"schema": _MMS_ERROR}},
                },
            },
        }
    }
    get: Schema = {
        "get": {
            "tags": ["mms"],
            "operationId": "hostedContent_get_get",
            "summary": "The bytes of hosted content of this line",
            "description": "With its type, length, ETag and Cache-Control: private; one "
            "Range is served (206), If-None-Match answers 304. Errors are the JSON envelope.",
            "parameters": [
                _SESSION,
                {"name": "storageKey", "in": "query", "required": True, "schema": _STORAGE_KEY},
            ],
            "responses": {
                "200": {
                    "description": "The content, or an error envelope (JSON).",
                    "content": {
                        # Content is never JSON (types are judged from the bytes), so a
                        # JSON answer is always the error envelope.
                        "application/json": {"schema": _ENVELOPE_ERROR},
                        "*/*": {"schema": {"type": "string", "format": "binary"}},
                    },
                },
                "206": {
                    "description": "The range asked for.",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "304": {"description": "Not modified (If-None-Match)."},
                "401": {"$ref": "#/components/responses/InvalidSession"},
                "416": {
                    "description": "The range lies past the end.",
                    "content": {"application/json": {"schema": _ENVELOPE_ERROR}},
                },
            },
        }
    }
    save: Schema = {
        "post": {
            "tags": ["mms"],
            "operationId": "hostedContent_save_post",
            "summary": "Upload one file to send later by key; answers its storage key",
            "parameters": [_SESSION],
            "requestBody": _upload_body({}),
            "responses": {
                "200": {
                    "description": "The storage key, or an error envelope.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {
                                        "type": "object",
                                        "required": ["success", "response"],
                                        "properties": {
                                            "success": {"const": True},
                                            "response": _STORAGE_KEY,
                                        },
                                    },
                                    _ENVELOPE_ERROR,
                                ]
                            }
                        }
                    },
                },
                "401": {"$ref": "#/components/responses/InvalidSession"},
                "413": _TOO_LARGE,
            },
        }
    }
    found = {"/messaging/send": send, "/hostedContent/get": get, "/hostedContent/save": save}
    # What the HTTP server itself may answer to any request.
    for item in found.values():
        for operation in item.values():
            for code, answer in TRANSPORT_RESPONSES.items():
                operation["responses"].setdefault(code, answer)
    return found

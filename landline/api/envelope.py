"""The API's envelope: `{"success": ..., "response": ...}`, and its errors."""

from __future__ import annotations

from typing import Any

import orjson

from landline.core.status import ErrorCode

JSON_TYPE = b"application/json; charset=UTF-8"

TOO_LARGE_PAGE = b"""<html>
  <head><title>413 Request Entity Too Large</title></head>
  <body bgcolor="white">
      <center><h1>413 Request Entity Too Large</h1></center>
      <hr><center>nginx</center>
   </body>
</html>
"""


class ApiError(Exception):
    """An error answered in the envelope. Application errors stay on HTTP 200 because
    the official clients raise on any other status without reading the body."""

    def __init__(
        self, code: int, desc: str, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(desc)
        self.code = code
        self.desc = desc
        self.status = status
        self.headers = headers or {}


def bad_arguments(why: str) -> ApiError:
    return ApiError(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: {why}")


def invalid_session(why: str = "missing, unknown or revoked session") -> ApiError:
    return ApiError(ErrorCode.INVALID_SESSION, f"Invalid session: {why}", status=401)


def not_found(what: str) -> ApiError:
    return ApiError(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: {what} not found")


def error_body(code: int, desc: str, *, request_id: str | None = None) -> bytes:
    answer: dict[str, Any] = {"success": False, "response": {"code": int(code), "desc": desc}}
    if request_id is not None:
        answer["requestId"] = request_id
    return orjson.dumps(answer)

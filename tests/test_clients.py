"""Real old Zipwhip client libraries, emulated on the wire, each driving a whole session.

Every class below stands for one public client library (see research/zipwhip-clients.md)
and talks to the server exactly as that library does: its HTTP method, its path prefix,
where each parameter goes, how it encodes values (or fails to), how it serializes lists.
Each then reads the answer the way that library does and fails where it would fail: the
Java JsonResponseParser's strict response types and its ISO 8601 date parser, Java-new's
`Long.valueOf`, the Python CLI's string operations on `body`, PHP's `json_decode`, Go's
typed `json.Unmarshal`.

Where a library has no method for a step (the PHP client cannot fetch one contact, the
Ruby gem only logs in and sends), the emulation makes the call with that library's own
transport, as a program built on it would.

A step that fails here with `IncompatibleAnswer` means the server answered in a shape the
real library rejects; `ClientFailure` is the library reporting `success: false` (or an
HTTP error) the way it does, which some steps expect.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from datetime import datetime
from typing import Any, ClassVar

import httpx
import pytest
from conftest import Landline

LINE = "+14255550199"
LINE_LOGIN = "4255550199"  # the Python client's doc: "for US domestic use 10-digit number"
PASSWORD = "secret"
ALICE, BOB, CAROL, DANA = "2065550101", "2065550102", "2065550103", "2065550104"
INBOUND_TEXT = "Hi, are you open on Saturday?"

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

# JU ISO8601DateTimeFormat: yyyy-MM-ddTHH:mm[:ss], then Z or ±hh:mm. Milliseconds or an
# offset without its colon make it return null, silently.
JAVA_ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})$")
LOOKS_LIKE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d")
DATE_KEY = re.compile(r"^date|Date$|^lastUpdated$")


class ClientFailure(Exception):
    """The library reports a failed call (exception, `false`), as it does for real."""


class IncompatibleAnswer(AssertionError):
    """The server answered in a shape the real library cannot read."""


def require(condition: bool, why: str) -> None:
    if not condition:
        raise IncompatibleAnswer(why)


def send_raw(
    http: httpx.Client,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send `target` (path and query) byte for byte as the library built it."""
    request = http.build_request(method, target, content=body, headers=headers)
    # httpx must not tidy up what the library left unencoded, or the test proves nothing.
    assert request.url.raw_path.decode("ascii") == target, (request.url.raw_path, target)
    return http.send(request)


def walk_objects(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            found.extend(walk_objects(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(walk_objects(item))
    return found


# --------------------------------------------------------------------------- Java


def java_long(value: Any, what: str) -> int:
    """`Long.parseLong(json.optString(key))`: a JSON integer or a string of digits."""
    require(not isinstance(value, bool), f"{what}: Long.parseLong({value!r}) throws")
    text = str(value) if isinstance(value, int) else value
    require(
        isinstance(text, str) and re.fullmatch(r"-?\d+", text) is not None,
        f"{what}: Long.parseLong({value!r}) throws NumberFormatException",
    )
    number = int(text)
    require(INT64_MIN <= number <= INT64_MAX, f"{what}: {number} overflows a Java long")
    return number


def java_int(value: Any, what: str) -> None:
    """`optInt`: absent or null is 0; a number or numeric string is read; else 0 (no throw)."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        require(-(1 << 31) <= value < (1 << 31), f"{what}: {value} overflows a Java int")


def java_dates(obj: Any, what: str) -> None:
    """JsonDateUtil.getDate on every date field: null is fine, anything else must parse."""
    for found in walk_objects(obj):
        for key, value in found.items():
            if DATE_KEY.search(key) or (isinstance(value, str) and LOOKS_LIKE_DATE.match(value)):
                require(
                    value is None or (isinstance(value, str) and JAVA_ISO8601.match(value)),
                    f"{what}.{key}: the Java ISO8601 parser returns null for {value!r}",
                )


def java_message(obj: Any) -> dict[str, Any]:
    """JsonDtoParser.parseMessage."""
    require(isinstance(obj, dict), f"a Message must be a JSON object, got {obj!r}")
    java_long(obj.get("id"), "Message.id")
    for key in ("deviceId", "contactId", "contactDeviceId", "version"):
        if obj.get(key) is not None:
            java_long(obj[key], f"Message.{key}")
    java_int(obj.get("statusCode"), "Message.statusCode")
    for key in ("isRead", "deleted", "errorState", "hasAttachment"):
        require(
            obj.get(key) in (None, True, False, "true", "false"), f"Message.{key} is not a boolean"
        )
    require(isinstance(obj.get("fingerprint"), str), "Message.fingerprint must be a string")
    require(isinstance(obj.get("address"), str), "Message.address must be a string")
    require(obj.get("type") in ("MO", "ZO", "MT"), f"Message.type {obj.get('type')!r}")
    if "transmissionState" in obj:
        state = obj["transmissionState"]
        # J reads transmissionState.name: a bare string or a null would throw.
        require(
            isinstance(state, dict) and isinstance(state.get("name"), str),
            f"Message.transmissionState must be an object with a name, got {state!r}",
        )
    java_dates(obj, "Message")
    return obj


def java_conversation(obj: Any) -> dict[str, Any]:
    """JsonDtoParser.parseConversation."""
    require(isinstance(obj, dict), f"a Conversation must be a JSON object, got {obj!r}")
    java_long(obj.get("id"), "Conversation.id")
    for key in ("deviceId", "lastContactId", "lastContactDeviceId"):
        if obj.get(key) is not None:
            java_long(obj[key], f"Conversation.{key}")
    java_int(obj.get("unreadCount"), "Conversation.unreadCount")
    require(isinstance(obj.get("fingerprint"), str), "Conversation.fingerprint must be a string")
    require(obj.get("new") in (True, False, "true", "false"), "Conversation.new is not a boolean")
    java_dates(obj, "Conversation")
    return obj


def java_contact(obj: Any) -> dict[str, Any]:
    """JsonDtoParser.parseContact."""
    require(isinstance(obj, dict), f"a Contact must be a JSON object, got {obj!r}")
    java_long(obj.get("id"), "Contact.id")
    java_long(obj.get("deviceId"), "Contact.deviceId")
    for key in ("MOCount", "ZOCount"):
        java_int(obj.get(key), f"Contact.{key}")
    java_dates(obj, "Contact")
    return obj


class JavaClient:
    """What both Java clients share: JsonResponseParser and checkAndThrowError."""

    name: ClassVar[str] = "java"
    PATH_PREFIX: ClassVar[str] = "/"
    # J-new reads `root` and `tokens[].message` through Long.valueOf; J-old ignores them.
    STRICT_SEND_IDS: ClassVar[bool] = False

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.session: str | None = None

    @staticmethod
    def url_encode(value: str) -> str:
        """java.net.URLEncoder.encode(value, "UTF-8")."""
        return urllib.parse.quote_plus(value, safe="*").replace("~", "%7E")

    def execute(self, method: str, params: list[tuple[str, str]]) -> Any:
        raise NotImplementedError

    def parse(self, text: str, expect: str) -> Any:
        """JsonResponseParser: classify `response` by type; a wrong type throws."""
        if not text.strip() or text.strip() == "null":
            return None
        root = json.loads(text)
        require(isinstance(root, dict), "the answer is not a JSON object")
        success = root.get("success") in (True, "true")
        response = root.get("response")
        if not success:
            # ZipwhipNetworkSupport.checkAndThrowError: a string response is the message.
            raise ClientFailure(response if isinstance(response, str) else text)
        if isinstance(response, dict):
            kind = "object"
        elif isinstance(response, list):
            kind = "array"
        elif isinstance(response, str) and response not in ("true", "false"):
            kind = "string"
        else:
            kind = "boolean"
        if expect != "any":
            require(kind == expect, f"ServerResponse must be a {expect} response, got {kind}")
        return root

    def params(self, values: dict[str, Any]) -> list[tuple[str, str]]:
        raise NotImplementedError

    def request(self, method: str, expect: str, **values: Any) -> Any:
        return self.parse(self.execute(method, self.params(values)), expect)

    # -- the session, in DefaultZipwhipClient's calls

    def login(self, username: str, password: str) -> str:
        answer = self.request("user/login", "string", username=username, password=password)
        self.session = answer["response"]
        return str(self.session)

    def send(self, contacts: list[str], body: str) -> list[str]:
        """sendMessage(contacts, body, fromName, fromAddress, advertisement)."""
        answer = self.request(
            "message/send",
            "object",
            contacts=[f"ptn:/{c}" for c in contacts],
            body=body,
            fromName="",
            fromAddress="0",
            advertisement="",
        )
        response = answer["response"]
        tokens = response.get("tokens")
        require(isinstance(tokens, list), "tokens must be a JSON array (getJSONArray)")
        for token in tokens:
            for key in ("device", "contact"):
                java_long(token.get(key), f"token.{key}")
            require(isinstance(token.get("fingerprint"), str), "token.fingerprint")
            if self.STRICT_SEND_IDS:
                java_long(token.get("message"), "Long.valueOf(tokens[].message)")
        if self.STRICT_SEND_IDS:
            java_long(response.get("root"), "Long.valueOf(root)")
        return [str(response["fingerprint"])]

    def list_messages(self) -> list[dict[str, Any]]:
        answer = self.request("message/list", "array", start="0", limit="50")
        java_int(answer.get("total"), "total")
        java_int(answer.get("size"), "size")
        return [java_message(m) for m in answer["response"]]

    def get_message(self, message_id: int) -> dict[str, Any]:
        return java_message(self.request("message/get", "object", id=message_id)["response"])

    def read_message(self, message_id: int) -> None:
        self.request("message/read", "any", message=[message_id])

    def delete_message(self, message_id: int) -> None:
        self.request("message/delete", "any", message=[message_id])

    def list_conversations(self) -> list[dict[str, Any]]:
        answer = self.request("conversation/list", "array", start="0", limit="50")
        java_int(answer.get("total"), "total")
        return [java_conversation(c) for c in answer["response"]]

    def get_conversation(self, fingerprint: str) -> list[dict[str, Any]]:
        response = self.request(
            "conversation/get", "object", fingerprint=fingerprint, start="0", limit="50"
        )["response"]
        if "conversation" in response:
            java_conversation(response["conversation"])
        messages = response.get("messages")
        require(isinstance(messages, list), "conversation/get: response.messages must be a list")
        return [java_message(m) for m in messages]

    def save_contact(self, address: str, first: str, last: str, notes: str) -> dict[str, Any]:
        answer = self.request(
            "contact/save",
            "object",
            address=f"ptn:/{address}",
            firstName=first,
            lastName=last,
            phoneKey="",
            notes=notes,
        )
        return java_contact(answer["response"])

    def get_contact(self, contact_id: int) -> dict[str, Any]:
        return java_contact(self.request("contact/get", "object", id=contact_id)["response"])

    def list_contacts(self) -> list[dict[str, Any]]:
        answer = self.request("contact/list", "array", start="0", limit="50")
        return [java_contact(c) for c in answer["response"]]

    def delete_contact(self, contact_id: int) -> None:
        self.request("contact/delete", "any", contact=str(contact_id))

    def logout(self) -> None:
        self.request("user/logout", "any")


class JavaOldClient(JavaClient):
    """russellpwirtz/zipwhip-api, old HttpConnection + RequestBuilder.

    GET, everything in the query under /api/v1/, URLEncoder'd; a List goes through
    String.valueOf, so two contacts travel as `[ptn:/a, ptn:/b]`. HTTP status ignored.
    """

    name = "java-old"
    PATH_PREFIX = "/api/v1/"

    def params(self, values: dict[str, Any]) -> list[tuple[str, str]]:
        pairs = []
        if self.session is not None:
            pairs.append(("session", self.session))
        for key, value in values.items():
            # String.valueOf(List) is "[a, b]"; of a Long, its digits.
            text = "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)
            pairs.append((key, text))
        return pairs

    def execute(self, method: str, params: list[tuple[str, str]]) -> str:
        query = "&".join(f"{k}={self.url_encode(v)}" for k, v in params)
        return send_raw(self.http, "GET", f"{self.PATH_PREFIX}{method}?{query}").text


class JavaNewClient(JavaClient):
    """russellpwirtz/zipwhip-api, connection/HttpConnection + ParameterizedRequest.

    POST to /method; business parameters in a form body, a Collection as repeated keys;
    UrlUtil.getSignedUrl puts `session`, `apiKey`, `date` and `signature` in the query.
    Any status outside 200..300 is a failure and the body is never read. `root` and
    `tokens[].message` go through Long.valueOf.
    """

    name = "java-new"
    STRICT_SEND_IDS = True

    def params(self, values: dict[str, Any]) -> list[tuple[str, str]]:
        pairs = []
        for key, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append((key, str(item)))
        return pairs

    def execute(self, method: str, params: list[tuple[str, str]]) -> str:
        signed = [("apiKey", "landline-test-key"), ("date", "1365000000000")]
        if self.session is not None:
            signed.insert(0, ("session", self.session))
        signed.append(("signature", "9b3f0c1e6a"))
        query = "&".join(f"{k}={self.url_encode(v)}" for k, v in signed)
        body = "&".join(f"{k}={self.url_encode(v)}" for k, v in params)
        response = send_raw(
            self.http,
            "POST",
            f"/{method}?{query}",
            body.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if not 200 <= response.status_code <= 300:
            raise ClientFailure(f"HTTP {response.status_code}")
        return response.text


# --------------------------------------------------------------------------- Python


class PythonWebCallsClient:
    """bil-bas/zipwhip-python-api WebCalls.py (official, 2013), read as zipwhip_cli does.

    `__post` is a GET: urlencode(values) in the query, no doseq, so None goes as "None"
    and a list as its repr. urlopen raises on any non-2xx status.
    """

    name = "python"

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.session = ""

    def _post(self, uri: str, values: dict[str, Any]) -> dict[str, Any]:
        params = urllib.parse.urlencode(values)
        response = send_raw(self.http, "GET", "/" + uri + f"?{params}")
        if not 200 <= response.status_code < 300:
            raise ClientFailure(f"urllib.error.HTTPError: HTTP Error {response.status_code}")
        answer = json.loads(response.content.decode("utf-8"))
        require(isinstance(answer, dict), "the answer is not a JSON object")
        return answer

    def _checked(self, answer: dict[str, Any]) -> Any:
        # zipwhip_cli: `if r.get("success")`.
        if not answer.get("success"):
            raise ClientFailure(str(answer))
        return answer.get("response")

    @staticmethod
    def cli_row(d: dict[str, Any]) -> None:
        """zw_lib.get_recent's reading of one message."""
        datetime.fromisoformat(d.get("dateCreated"))  # type: ignore[arg-type]
        body = d.get("body")
        require(isinstance(body, str), "zw_lib calls d.get('body').replace(): body is null")
        contact = d.get("fromName") or d.get("mobileNumber")
        require(isinstance(contact, str) and contact != "", "no fromName nor mobileNumber")

    def login(self, username: str, password: str) -> str:
        answer = self._post("user/login", {"username": username, "password": password})
        self.session = self._checked(answer)
        require(isinstance(self.session, str), "user/login: response is not the session key")
        return self.session

    def send(self, contacts: list[str], body: str) -> list[str]:
        # One contact as the documented string; several as the list a caller hands over,
        # which urlencode writes as its repr: "['ptn:/2065550102', 'ptn:/2065550103']".
        addresses = [f"ptn:/{c}" for c in contacts]
        value: Any = addresses[0] if len(addresses) == 1 else addresses
        answer = self._post(
            "message/send", {"session": self.session, "contacts": value, "body": body}
        )
        return [str(self._checked(answer)["fingerprint"])]

    def list_messages(self) -> list[dict[str, Any]]:
        """zw_lib.get_recent: pages with start until `total` is 0."""
        found: list[dict[str, Any]] = []
        cl = self._post("message/list", {"session": self.session, "limit": 30, "start": 0})
        it = 30
        while cl["total"]:
            require("size" in cl, "zw_lib prints cl['size']")
            for d in cl["response"]:
                self.cli_row(d)
                found.append(d)
            total = cl["total"]
            cl = self._post("message/list", {"session": self.session, "limit": 30, "start": it})
            it = it + total
        return found

    def get_message(self, message_id: int) -> dict[str, Any]:
        # WebCalls has no message_get; a program adds it the way the others are written.
        answer = self._post("message/get", {"session": self.session, "id": message_id})
        found = self._checked(answer)
        self.cli_row(found)
        return dict(found)

    def read_message(self, message_id: int) -> None:
        self._checked(self._post("message/read", {"session": self.session, "message": message_id}))

    def delete_message(self, message_id: int) -> None:
        self._checked(
            self._post("message/delete", {"session": self.session, "message": message_id})
        )

    def list_conversations(self) -> list[dict[str, Any]]:
        answer = self._post(
            "conversation/list", {"session": self.session, "limit": 999, "start": 0}
        )
        return list(self._checked(answer))

    def get_conversation(self, fingerprint: str) -> list[dict[str, Any]]:
        answer = self._post(
            "conversation/get",
            {"session": self.session, "fingerprint": fingerprint, "limit": 30, "start": 0},
        )
        messages = self._checked(answer)["messages"]
        for d in messages:
            self.cli_row(d)
        return list(messages)

    def save_contact(self, address: str, first: str, last: str, notes: str) -> dict[str, Any]:
        # contact_save's optional arguments default to None: city, email, loc and state
        # travel as the string "None".
        values = {
            "session": self.session,
            "address": f"ptn:/{address}",
            "city": None,
            "email": None,
            "firstName": first,
            "lastName": last,
            "loc": None,
            "notes": notes,
            "state": None,
        }
        found = dict(self._checked(self._post("contact/save", values)))
        for key in ("city", "email", "state"):
            require(found.get(key) in ("", None), f"contact/save stored {key}={found.get(key)!r}")
        return found

    def get_contact(self, contact_id: int) -> dict[str, Any]:
        answer = self._post("contact/get", {"session": self.session, "id": contact_id})
        return dict(self._checked(answer))

    def list_contacts(self) -> list[dict[str, Any]]:
        answer = self._post("contact/list", {"session": self.session, "page": 1, "pageSize": 999})
        require("total" in answer, "contact/list: no total")
        return list(self._checked(answer))

    def delete_contact(self, contact_id: int) -> None:
        self._checked(
            self._post("contact/delete", {"session": self.session, "contact": contact_id})
        )

    def logout(self) -> None:
        self._checked(self._post("user/logout", {"session": self.session}))


# --------------------------------------------------------------------------- PHP


def php_json_decode(text: str) -> Any:
    """json_decode($s): objects and arrays; an integer past PHP_INT_MAX becomes a float."""

    def big_int(raw: str) -> int:
        number = int(raw)
        require(
            INT64_MIN <= number <= INT64_MAX,
            f"json_decode turns {raw} into a float and loses digits",
        )
        return number

    return json.loads(text, parse_int=big_int)


class PhpClient:
    """brianclogan/ZipWhip-PHP-API ZipWhipClient.php (curl).

    POST to /path with CURLOPT_POSTFIELDS "k=v&k=v" interpolated as is: nothing is
    url-encoded. A failed answer makes the method return false.
    """

    name = "php"

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.api_key = ""

    def _curl(self, path: str, postfields: str) -> Any:
        # A string CURLOPT_POSTFIELDS: curl adds the form content type on its own.
        response = send_raw(
            self.http,
            "POST",
            path,
            postfields.encode("utf-8"),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        result = php_json_decode(response.text)
        if result["success"] == True:  # noqa: E712 - PHP's loose ==, as the client writes it
            return result["response"]
        raise ClientFailure("returned false")

    def login(self, username: str, password: str) -> str:
        """ZipWhipClient::authenticate($userid, $password)."""
        try:
            self.api_key = self._curl("/user/login", f"username={username}&password={password}")
        except ClientFailure as exc:
            raise ClientFailure("ZIPWHIP: Unable to login, check your user credentials") from exc
        require(isinstance(self.api_key, str), "user/login: response is not the session key")
        return self.api_key

    def send(self, contacts: list[str], body: str) -> list[str]:
        """sendMessage($number, $message): `contacts=ptn:/{$number}`; a caller with
        several numbers passes them comma-joined."""
        number = ",".join(contacts)
        response = self._curl(
            "/message/send", f"body={body}&contacts=ptn:/{number}&session={self.api_key}"
        )
        return [str(response["fingerprint"])]

    def list_messages(self) -> list[dict[str, Any]]:
        return list(self._curl("/message/list", f"session={self.api_key}&limit=30&start=0"))

    def get_message(self, message_id: int) -> dict[str, Any]:
        return dict(self._curl("/message/get", f"session={self.api_key}&id={message_id}"))

    def read_message(self, message_id: int) -> None:
        self._curl("/message/read", f"session={self.api_key}&messages={message_id}")

    def delete_message(self, message_id: int) -> None:
        self._curl("/message/delete", f"session={self.api_key}&messages={message_id}")

    def list_conversations(self) -> list[dict[str, Any]]:
        return list(self._curl("/conversation/list", f"session={self.api_key}&limit=30&start=0"))

    def get_conversation(self, fingerprint: str) -> list[dict[str, Any]]:
        response = self._curl(
            "/conversation/get",
            f"fingerprint={fingerprint}&session={self.api_key}&limit=30&start=0",
        )
        return list(response["messages"])

    def save_contact(self, address: str, first: str, last: str, notes: str) -> dict[str, Any]:
        """saveContact(array): `implode("&", "$k=$v")."&session=..."`."""
        info = {"address": f"ptn:/{address}", "firstName": first, "lastName": last, "notes": notes}
        query = "&".join(f"{k}={v}" for k, v in info.items())
        return dict(self._curl("/contact/save", f"{query}&session={self.api_key}"))

    def get_contact(self, contact_id: int) -> dict[str, Any]:
        return dict(self._curl("/contact/get", f"session={self.api_key}&id={contact_id}"))

    def list_contacts(self) -> list[dict[str, Any]]:
        # The library's listContacts posts a session key hard-coded by its author; a
        # working program sends its own.
        return list(self._curl("/contact/list", f"session={self.api_key}"))

    def delete_contact(self, contact_id: int) -> None:
        self._curl("/contact/delete", f"contact={contact_id}&session={self.api_key}")

    def logout(self) -> None:
        self._curl("/user/logout", f"session={self.api_key}")


# --------------------------------------------------------------------------- Ruby

# URI.parse raises URI::InvalidURIError on these; the gem never escapes anything.
RUBY_URI_REJECTS = re.compile(r"[\s\"<>{}|\\^`\x80-\U0010ffff]")


class RubyClient:
    """tgmerritt/zipwhip lib/zipwhip.rb (Net::HTTP).

    POST with no body and every parameter in the query, concatenated unencoded; a `+`
    in the text therefore arrives as a space. The gem only logs in and sends.
    """

    name = "ruby"

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.token = ""

    def _post(self, uri: str) -> Any:
        if RUBY_URI_REJECTS.search(uri):
            raise ValueError(f"URI::InvalidURIError: bad URI(is not URI?): {uri}")
        res = json.loads(send_raw(self.http, "POST", uri).text)  # JSON.parse(response.body)
        if not res.get("success"):
            raise ClientFailure(str(res))
        return res["response"]

    def login(self, username: str, password: str) -> str:
        self.token = self._post("/user/login?username=" + username + "&password=" + password)
        require(isinstance(self.token, str), "user/login: response is not the session key")
        return self.token

    def send(self, contacts: list[str], body: str) -> list[str]:
        """send_new_sms(to, msg, token); several numbers go comma-joined in `to`."""
        to = ",".join(contacts)
        response = self._post(
            "/message/send?session=" + self.token + "&body=" + body + "&contacts=ptn:/" + to
        )
        return [str(response["fingerprint"])]

    def _session_call(self, uri: str, query: str = "") -> Any:
        return self._post(f"/{uri}?session={self.token}" + query)

    def list_messages(self) -> list[dict[str, Any]]:
        return list(self._session_call("message/list", "&limit=30&start=0"))

    def get_message(self, message_id: int) -> dict[str, Any]:
        return dict(self._session_call("message/get", f"&id={message_id}"))

    def read_message(self, message_id: int) -> None:
        self._session_call("message/read", f"&message={message_id}")

    def delete_message(self, message_id: int) -> None:
        self._session_call("message/delete", f"&message={message_id}")

    def list_conversations(self) -> list[dict[str, Any]]:
        return list(self._session_call("conversation/list"))

    def get_conversation(self, fingerprint: str) -> list[dict[str, Any]]:
        return list(
            self._session_call("conversation/get", f"&fingerprint={fingerprint}")["messages"]
        )

    def save_contact(self, address: str, first: str, last: str, notes: str) -> dict[str, Any]:
        query = f"&address=ptn:/{address}&firstName={first}&lastName={last}&notes={notes}"
        return dict(self._session_call("contact/save", query))

    def get_contact(self, contact_id: int) -> dict[str, Any]:
        return dict(self._session_call("contact/get", f"&id={contact_id}"))

    def list_contacts(self) -> list[dict[str, Any]]:
        return list(self._session_call("contact/list"))

    def delete_contact(self, contact_id: int) -> None:
        self._session_call("contact/delete", f"&contact={contact_id}")

    def logout(self) -> None:
        self._session_call("user/logout")


# --------------------------------------------------------------------------- Go

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def go_unmarshal(value: Any, schema: Any, where: str = "") -> None:
    """encoding/json into a typed struct: a JSON value of the wrong type is an error;
    null leaves the zero value; fields the struct lacks are ignored."""
    if value is None:
        return
    if isinstance(schema, dict):
        require(isinstance(value, dict), f"json: cannot unmarshal into struct at {where}")
        for key, sub in schema.items():
            go_unmarshal(value.get(key), sub, f"{where}.{key}")
    elif isinstance(schema, list):
        require(isinstance(value, list), f"json: cannot unmarshal into slice at {where}")
        for item in value:
            go_unmarshal(item, schema[0], where + "[]")
    elif schema == "string":
        require(isinstance(value, str), f"json: cannot unmarshal {value!r} into string {where}")
    elif schema == "bool":
        require(isinstance(value, bool), f"json: cannot unmarshal {value!r} into bool {where}")
    elif schema == "int64":
        require(
            isinstance(value, int)
            and not isinstance(value, bool)
            and INT64_MIN <= value <= INT64_MAX,
            f"json: cannot unmarshal {value!r} into int64 {where}",
        )
    elif schema == "time":
        require(
            isinstance(value, str) and RFC3339.match(value) is not None,
            f"parsing time {value!r} as RFC 3339 at {where}",
        )


GO_MESSAGE = {
    "id": "int64",
    "body": "string",
    "fingerprint": "string",
    "address": "string",
    "contactId": "int64",
    "deviceId": "int64",
    "statusCode": "int64",
    "read": "bool",
    "isRead": "bool",
    "deleted": "bool",
    "messageType": "string",
    "dateCreated": "time",
    "dateRead": "time",
    "dateDeleted": "time",
    "dateDelivered": "time",
    "scheduledDate": "time",
}
GO_CONVERSATION = {
    "id": "int64",
    "fingerprint": "string",
    "unreadCount": "int64",
    "new": "bool",
    "lastMessageDate": "time",
    "dateCreated": "time",
}
GO_CONTACT = {
    "id": "int64",
    "deviceId": "int64",
    "address": "string",
    "firstName": "string",
    "lastName": "string",
    "notes": "string",
    "dateCreated": "time",
    "lastUpdated": "time",
}


def envelope(response: Any) -> dict[str, Any]:
    return {"success": "bool", "response": response}


class GoClient:
    """acapps/zipwhip-smtp sending.SessionKey (net/http).

    One GET per recipient: `message/send?session=%s&destinationAddress=%s&body=%s`, the
    recipient E.164 and unescaped (its `+` arrives as a space), the body QueryEscape'd.
    The answer is decoded into SessionResponse{Response{Fingerprint, Root string}}.
    """

    name = "go"

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.key = ""

    @staticmethod
    def query_escape(value: str) -> str:
        return urllib.parse.quote_plus(value, safe="~")

    def _get(self, target: str, schema: Any) -> Any:
        response = send_raw(self.http, "GET", target)  # http.Get: no error on 4xx/5xx
        decoded = response.json()
        if decoded.get("success") is not True:
            # An error's `response` is {code, desc}, which no success struct fits:
            # Unmarshal returns an error, and the program gives up on the call either way.
            raise ClientFailure(response.text)
        go_unmarshal(decoded, envelope(schema))
        return decoded["response"]

    def login(self, username: str, password: str) -> str:
        q = self.query_escape
        self.key = self._get(f"/user/login?username={q(username)}&password={q(password)}", "string")
        return self.key

    def send(self, contacts: list[str], body: str) -> list[str]:
        fingerprints = []
        for recipient in contacts:
            response = self._get(
                f"/message/send?session={self.key}&destinationAddress=+1{recipient}"
                f"&body={self.query_escape(body)}",
                {"fingerprint": "string", "root": "string"},
            )
            require(bool(response.get("root")), "SessionResponse.Response.Root is empty")
            fingerprints.append(response["fingerprint"])
        return fingerprints

    def _session_get(self, uri: str, schema: Any, query: str = "") -> Any:
        return self._get(f"/{uri}?session={self.key}{query}", schema)

    def list_messages(self) -> list[dict[str, Any]]:
        return list(self._session_get("message/list", [GO_MESSAGE], "&limit=30&start=0"))

    def get_message(self, message_id: int) -> dict[str, Any]:
        return dict(self._session_get("message/get", GO_MESSAGE, f"&id={message_id}"))

    def read_message(self, message_id: int) -> None:
        self._session_get("message/read", "bool", f"&message={message_id}")

    def delete_message(self, message_id: int) -> None:
        self._session_get("message/delete", "bool", f"&message={message_id}")

    def list_conversations(self) -> list[dict[str, Any]]:
        return list(self._session_get("conversation/list", [GO_CONVERSATION]))

    def get_conversation(self, fingerprint: str) -> list[dict[str, Any]]:
        schema = {"conversation": GO_CONVERSATION, "messages": [GO_MESSAGE]}
        response = self._session_get("conversation/get", schema, f"&fingerprint={fingerprint}")
        return list(response["messages"])

    def save_contact(self, address: str, first: str, last: str, notes: str) -> dict[str, Any]:
        q = self.query_escape
        query = f"&address={q(address)}&firstName={q(first)}&lastName={q(last)}&notes={q(notes)}"
        return dict(self._session_get("contact/save", GO_CONTACT, query))

    def get_contact(self, contact_id: int) -> dict[str, Any]:
        return dict(self._session_get("contact/get", GO_CONTACT, f"&id={contact_id}"))

    def list_contacts(self) -> list[dict[str, Any]]:
        return list(self._session_get("contact/list", [GO_CONTACT], "&page=1&pageSize=50"))

    def delete_contact(self, contact_id: int) -> None:
        self._session_get("contact/delete", "bool", f"&contact={contact_id}")

    def logout(self) -> None:
        self._session_get("user/logout", "bool")


# --------------------------------------------------------------------------- the session

CLIENTS: dict[str, type[Any]] = {
    cls.name: cls
    for cls in (JavaOldClient, JavaNewClient, PythonWebCallsClient, PhpClient, RubyClient, GoClient)
}
# What each client can put in a text: the Ruby gem cannot send a space (URI.parse
# refuses it) and its `+` arrives as a space, so its users write `+` between words.
BODIES = {
    "ruby": ("Your+order+is+ready.", "Your order is ready."),
    "php": ("Your order is ready, 50% off pickup!", "Your order is ready, 50% off pickup!"),
}
DEFAULT_BODY = ("Your order is ready: 2 × café & crème = $7+tax", None)
GROUP_BODY = "Team update: we open at 9"


def one_body(client_name: str) -> tuple[str, str]:
    sent, arrives = BODIES.get(client_name, DEFAULT_BODY)
    return sent, arrives or sent


def by_body(messages: list[dict[str, Any]], body: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["body"] == body]


@pytest.mark.parametrize("client_name", list(CLIENTS))
def test_a_whole_session(landline: Landline, client_name: str) -> None:
    device_id, _ = landline.add_line(LINE, password=PASSWORD)
    landline.handset_texts(ALICE, LINE, INBOUND_TEXT)
    landline.settle()
    client = CLIENTS[client_name](landline.http)

    with pytest.raises(ClientFailure):
        client.login(LINE_LOGIN, "not-the-password")
    key = client.login(LINE_LOGIN, PASSWORD)
    assert key.endswith(f":{device_id}")

    body, arrives = one_body(client_name)
    group_body = GROUP_BODY.replace(" ", "+") if client_name == "ruby" else GROUP_BODY
    (alice_fingerprint,) = client.send([ALICE], body)
    group_fingerprints = client.send([BOB, CAROL], group_body)
    assert alice_fingerprint not in group_fingerprints
    landline.settle()

    listed = client.list_messages()
    (inbound,) = by_body(listed, INBOUND_TEXT)
    (to_alice,) = by_body(listed, arrives)
    group = by_body(listed, GROUP_BODY)
    assert sorted(m["address"] for m in group) == [f"ptn:/{BOB}", f"ptn:/{CAROL}"]
    assert len(listed) == 4
    assert to_alice["fingerprint"] == inbound["fingerprint"] == alice_fingerprint
    assert inbound["isRead"] is False

    got = client.get_message(int(inbound["id"]))
    assert (got["id"], got["body"], got["address"]) == (
        inbound["id"],
        INBOUND_TEXT,
        f"ptn:/{ALICE}",
    )

    client.read_message(int(inbound["id"]))
    assert client.get_message(int(inbound["id"]))["isRead"] is True

    client.delete_message(int(group[0]["id"]))
    assert client.get_message(int(group[0]["id"]))["deleted"] is True
    assert len(client.list_messages()) == 3

    conversations = client.list_conversations()
    by_fingerprint = {c["fingerprint"]: c for c in conversations}
    assert alice_fingerprint in by_fingerprint
    assert by_fingerprint[alice_fingerprint]["unreadCount"] == 0

    thread = client.get_conversation(alice_fingerprint)
    assert [m["body"] for m in thread] == [arrives, INBOUND_TEXT]  # newest first

    notes = "Prefers+texts" if client_name == "ruby" else "Prefers texts"
    saved = client.save_contact(DANA, "Dana", "Ng", notes)
    assert (saved["address"], saved["firstName"], saved["notes"]) == (
        f"ptn:/{DANA}",
        "Dana",
        "Prefers texts",
    )
    contact_id = int(saved["id"])
    assert client.get_contact(contact_id)["lastName"] == "Ng"
    assert contact_id in [int(c["id"]) for c in client.list_contacts()]
    client.delete_contact(contact_id)
    with pytest.raises(ClientFailure):
        client.get_contact(contact_id)
    assert contact_id not in [int(c["id"]) for c in client.list_contacts()]

    client.logout()
    with pytest.raises(ClientFailure):
        client.list_messages()


def test_the_emulated_parsers_reject_what_the_real_libraries_reject() -> None:
    """The checks above are only worth something if they fail where the libraries do."""
    good = {
        "id": 327222223187526144,
        "fingerprint": "4236521183",
        "address": "ptn:/2065550101",
        "type": "MO",
        "transmissionState": {"name": "DELIVERED"},
        "dateCreated": "2013-04-18T11:44:57-07:00",
        "lastUpdated": "2020-11-13T17:01:17Z",
    }
    java_message(good)
    for bad in (
        {"dateCreated": "2013-04-18T11:44:57.123-07:00"},  # milliseconds
        {"lastUpdated": "2013-04-18T11:44:57-0700"},  # offset without its colon
        {"dateRead": 1366310697000},  # epoch number
        {"statusHistory": [{"date": "2013-04-18 11:44:57"}]},  # no T, no offset
        {"transmissionState": "DELIVERED"},
        {"id": None},
        {"id": "327222223187526144.0"},
    ):
        with pytest.raises(IncompatibleAnswer):
            java_message({**good, **bad})
    with pytest.raises(IncompatibleAnswer):
        JavaOldClient(httpx.Client()).parse('{"success": true, "response": {}}', "array")
    with pytest.raises(IncompatibleAnswer):
        php_json_decode('{"id": 9223372036854775808}')
    with pytest.raises(IncompatibleAnswer):
        PythonWebCallsClient.cli_row({"dateCreated": "2013-04-18T11:44:57-07:00", "body": None})
    with pytest.raises(IncompatibleAnswer):
        go_unmarshal({"response": {"root": 327559093363723008}}, envelope({"root": "string"}))

"""/openapi.json: a valid OpenAPI 3.1 document that really describes what the server answers.

Every real answer below is checked against the schema the document declares for that
path, method and status, so a field the server drops, adds or retypes fails here.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import Landline
from jsonschema import Draft202012Validator, ValidationError
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from landline.api.app import ENDPOINTS

DOC_URI = "urn:landline:openapi"
LINE = "2065550123"
FRIEND = "+12065550100"
OTHER = "+12065550142"
QUITTER = "+12065550177"


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


class Described:
    """The served document, and validators for the answers it declares."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.registry: Registry[Any] = Registry().with_resource(
            DOC_URI, DRAFT202012.create_resource(doc)
        )

    def _validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{DOC_URI}#{pointer}"}, registry=self.registry)

    def schema_of(self, path: str, method: str = "post", status: int = 200) -> str:
        """The JSON pointer of the JSON schema declared for one answer."""
        pointer = f"/paths/{_escape(path)}/{method}/responses/{status}"
        response = self.doc["paths"][path][method]["responses"][str(status)]
        if "$ref" in response:
            pointer = response["$ref"].lstrip("#")
        return pointer + "/content/application~1json/schema"

    def check(
        self, path: str, answer: dict[str, Any], *, method: str = "post", status: int = 200
    ) -> None:
        self._validator(self.schema_of(path, method, status)).validate(answer)

    def component(self, name: str) -> Draft202012Validator:
        return self._validator(f"/components/schemas/{name}")


def fetch(landline: Landline, path: str = "/openapi.json") -> Described:
    response = landline.http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return Described(response.json())


def test_the_document_is_valid_openapi_and_describes_every_endpoint(landline: Landline) -> None:
    described = fetch(landline)
    validate(described.doc)
    assert described.doc["openapi"].startswith("3.")
    paths = described.doc["paths"]
    for key in ENDPOINTS:
        assert set(paths[f"/{key}"]) == {"get", "post"}, key
        post = paths[f"/{key}"]["post"]
        assert {"application/x-www-form-urlencoded", "multipart/form-data"} <= set(
            post["requestBody"]["content"]
        )
        for status in ("200", "401", "413"):
            assert status in post["responses"], (key, status)
        if key != "user/login":
            names = [p["name"] for p in paths[f"/{key}"]["get"]["parameters"]]
            assert names[0] == "session", key
    assert "/noop" in paths
    schemas = described.doc["components"]["schemas"]
    for name in ("Envelope", "Error", "SendResult", "Message", "StatusHistory",
                 "Conversation", "ConversationDetail", "Contact", "MessageList", "ContactList"):
        assert name in schemas
    # Aliases that old clients send are declared where a client generator can see them.
    send = {p["name"]: p for p in paths["/message/send"]["get"]["parameters"]}
    assert "destinationAddress" in send["contacts"]["x-aliases"]
    # Old Java clients fetch it under the version prefix too.
    assert fetch(landline, "/api/v1/openapi.json").doc == described.doc


def test_real_answers_match_the_declared_schemas(landline: Landline) -> None:
    described = fetch(landline)
    check = described.check

    def call(path: str, method: str = "POST", **params: Any) -> Any:
        answer = landline.call(path, method=method, **params)
        check(path, answer, method=method.lower())
        assert answer["success"] is True, (path, answer)
        return answer["response"]

    _, _ = landline.add_line(LINE)
    session = call("/user/login", username=LINE, password="secret")

    landline.handset_texts(QUITTER, LINE, "STOP")
    landline.handset_texts(FRIEND, LINE, "Hi there")
    landline.settle()

    sent = call("/message/send", "GET", session=session, contacts=FRIEND, body="Hello")
    group = call("/message/send", session=session, contacts=f"{OTHER},{QUITTER}", body="Both")
    stopped = [t for t in group["tokens"] if t.get("code") == -1234]
    assert len(stopped) == 1 and stopped[0]["desc"]
    landline.settle()

    later = landline.clock.now_ms() + 3_600_000
    waiting = call("/message/send", session=session, contacts=OTHER, body="Later",
                   scheduledDate=str(later))
    assert len(call("/message/scheduled", session=session)) == 1
    assert call("/message/cancel", session=session, message=waiting["root"]) == [waiting["root"]]

    listed = call("/message/list", "GET", session=session, limit=50)
    assert any(m["direction"] == "IN" for m in listed)
    message = call("/message/get", session=session, id=sent["tokens"][0]["message"])
    assert message["statusHistory"] and message["dateDelivered"] is not None

    conversations = call("/conversation/list", session=session)
    assert {c["address"] for c in conversations} >= {"ptn:/2065550100", "ptn:/2065550142"}
    fingerprint = sent["fingerprint"]
    detail = call("/conversation/get", session=session, fingerprint=fingerprint)
    assert detail["conversation"]["unreadCount"] == 1
    assert call("/conversation/read", session=session, fingerprint=fingerprint) is True

    saved = call("/contact/save", session=session, address=FRIEND, firstName="Ada",
                 city="Seattle", birthday="1815-12-10")
    listed_contacts = call("/contact/list", "GET", session=session, page=0, pageSize=2)
    assert listed_contacts and all(c["deviceId"] == saved["deviceId"] for c in listed_contacts)
    assert call("/contact/get", session=session, mobileNumber=FRIEND)["id"] == saved["id"]
    assert call("/contact/get", session=session, id=saved["id"])["firstName"] == "Ada"

    assert call("/message/read", session=session, message=message["uuid"]) is True
    assert call("/message/delete", session=session, messages=message["uuid"]) is True
    assert call("/contact/delete", session=session, contact=saved["id"]) is True
    assert call("/conversation/delete", session=session, fingerprint=fingerprint) is True

    # Errors: on HTTP 200 in the envelope, or 401 for a session, each as declared.
    for path, params in (
        ("/message/get", {"id": "123"}),
        ("/message/send", {"contacts": "12", "body": "x"}),
        ("/contact/list", {"pageSize": "0"}),
    ):
        answer = landline.call(path, session=session, **params)
        check(path, answer)
        assert answer["success"] is False and answer["response"]["code"] == -703
    for path in ("/message/list", "/user/logout"):
        response = landline.http.post(path, data={"session": "nonsense"})
        assert response.status_code == 401
        check(path, response.json(), status=401)
    wrong = landline.http.post("/user/login", data={"username": LINE, "password": "nope"})
    assert wrong.status_code == 401
    check("/user/login", wrong.json(), status=401)

    huge = landline.http.post("/message/send", content=b"x" * (700 * 1024))
    assert huge.status_code == 413
    assert huge.headers["content-type"].startswith(
        next(iter(described.doc["components"]["responses"]["TooLarge"]["content"]))
    )
    check("/noop", landline.call("/noop", "GET", anything="at all"), method="get")

    assert call("/user/logout", session=session) is True
    gone = landline.http.get("/message/list", params={"session": session})
    assert gone.status_code == 401


def test_the_schemas_reject_a_missing_or_mistyped_field(landline: Landline) -> None:
    described = fetch(landline)
    _, session = landline.add_line(LINE)
    sent = landline.call("/message/send", session=session, contacts=FRIEND, body="Hi")
    landline.settle()
    message_id = sent["response"]["tokens"][0]["message"]
    got = landline.call("/message/get", session=session, id=message_id)
    described.check("/message/send", sent)
    described.check("/message/get", got)
    message = described.component("Message")
    message.validate(got["response"])

    def broken(change: Any) -> dict[str, Any]:
        copied = copy.deepcopy(got["response"])
        change(copied)
        return copied

    for bad in (
        broken(lambda m: m.pop("statusCode")),
        broken(lambda m: m.update(body=None)),
        broken(lambda m: m.update(id=str(m["id"]))),
        broken(lambda m: m.update(surprise=1)),
        broken(lambda m: m.update(dateCreated="2015-08-19T16:53:45.123-07:00")),
        broken(lambda m: m.update(address="2065550100")),
        broken(lambda m: m["statusHistory"][0].pop("date")),
        broken(lambda m: m.update(transmissionState="DELIVERED")),
    ):
        with pytest.raises(ValidationError):
            message.validate(bad)

    answer = described.component("SendAnswer")
    for change in (
        lambda a: a["response"].pop("root"),
        lambda a: a["response"]["tokens"][0].update(message=int(a["response"]["root"])),
        lambda a: a["response"]["tokens"][0].update(code=-1234),  # code without desc
        lambda a: a.pop("success"),
    ):
        copied = copy.deepcopy(sent)
        change(copied)
        with pytest.raises(ValidationError):
            answer.validate(copied)
    # An error envelope is not a success, and a success is not an error.
    with pytest.raises(ValidationError):
        described.component("ErrorAnswer").validate(sent)
    error = landline.call("/message/get", session=session, id="1")
    with pytest.raises(ValidationError):
        answer.validate(error)
    with pytest.raises(ValidationError):
        described.component("ErrorAnswer").validate(
            {**error, "response": {"code": "-703", "desc": "x"}}
        )



def test_a_request_line_over_the_header_limit_is_a_documented_answer(
    landline: Landline,
) -> None:
    """Found by schemathesis (tests/test_fuzz.py): a GET whose query string passes the
    header limit answered 431, which the document did not declare for any operation."""
    doc = landline.http.get("/openapi.json").json()
    described = Described(doc)
    _, key = landline.add_line(LINE)
    ids = "&".join(["message=0000000000000000000"] * 1000)
    response = landline.http.get(f"/message/read?session={key}&{ids}")
    assert response.status_code == 431
    assert response.json()["response"]["code"] == -703
    described.check("/message/read", response.json(), method="get", status=431)
    # Every operation declares every answer the HTTP server itself may give.
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for status in ("400", "408", "431", "503"):
                assert status in operation["responses"], (method, path, status)

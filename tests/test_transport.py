"""Transport (CONTRACT section 1): every request shape a real old client sends works.

Each test checks that the server understood the parameters, not just that it answered:
the message it sent goes to the numbers given, with the body given.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Landline, fresh_line

# What arrives over the socket is the point here: the shared server is not in-process.
pytestmark = pytest.mark.real_socket


def sent_to(server: Landline, key: str, answer: dict[str, Any]) -> list[tuple[str, str]]:
    """(address, body) of each message a message/send answer created."""
    assert answer["success"] is True, answer
    found = []
    for token in answer["response"]["tokens"]:
        got = server.call("/message/get", session=key, id=token["message"])
        assert got["success"] is True, got
        found.append((got["response"]["address"], got["response"]["body"]))
    return found


def test_get_with_every_parameter_in_the_query(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    response = server.http.get(
        "/message/send", params={"session": key, "contacts": "2065550100", "body": "by GET"}
    )
    assert response.status_code == 200
    assert sent_to(server, key, response.json()) == [("ptn:/2065550100", "by GET")]
    listed = server.http.get("/message/list", params={"session": key}).json()
    assert listed["size"] == 1


def test_post_with_an_empty_body_and_parameters_in_the_query(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    response = server.http.post(
        "/message/send", params={"session": key, "contacts": "2065550100", "body": "query POST"}
    )
    assert sent_to(server, key, response.json()) == [("ptn:/2065550100", "query POST")]


def test_post_form_urlencoded(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    response = server.http.post(
        "/message/send",
        data={"session": key, "contacts": "2065550100", "body": "a form & more = fun"},
    )
    assert response.request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent_to(server, key, response.json()) == [("ptn:/2065550100", "a form & more = fun")]


def test_post_multipart_form_data(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    fields = {"session": key, "contacts": "2065550100", "body": "multipart ünïcode"}
    response = server.http.post(
        "/message/send", files={name: (None, value) for name, value in fields.items()}
    )
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert sent_to(server, key, response.json()) == [("ptn:/2065550100", "multipart ünïcode")]


def test_session_in_the_query_and_the_rest_in_the_body_are_merged(server: Landline) -> None:
    # The newer Java client signs the URL: session (and apiKey, date, signature) go in
    # the query string, the call's own parameters in the form body.
    _, key, _ = fresh_line(server)
    response = server.http.post(
        "/message/send",
        params={"session": key, "apiKey": "x", "date": "1", "signature": "y"},
        data={"contacts": "2065550100", "body": "merged"},
    )
    assert sent_to(server, key, response.json()) == [("ptn:/2065550100", "merged")]


def test_repeated_contacts(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    response = server.http.post(
        "/message/send",
        data={"session": key, "contacts": ["2065550100", "+12065550101"], "body": "two"},
    )
    assert sent_to(server, key, response.json()) == [
        ("ptn:/2065550100", "two"),
        ("ptn:/2065550101", "two"),
    ]


def test_comma_joined_contacts(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    answer = server.call(
        "/message/send", session=key, contacts="2065550100,+12065550101, 2065550102", body="c"
    )
    assert [address for address, _ in sent_to(server, key, answer)] == [
        "ptn:/2065550100",
        "ptn:/2065550101",
        "ptn:/2065550102",
    ]


def test_java_list_form_of_contacts(server: Landline) -> None:
    # The old Java client sends String.valueOf(list).
    _, key, _ = fresh_line(server)
    answer = server.call(
        "/message/send", session=key, contacts="[ptn:/2065550100, ptn:/2065550101]", body="j"
    )
    assert [address for address, _ in sent_to(server, key, answer)] == [
        "ptn:/2065550100",
        "ptn:/2065550101",
    ]
    # The same form for message ids.
    ids = [token["message"] for token in answer["response"]["tokens"]]
    assert server.call("/message/delete", session=key, message=f"[{ids[0]}, {ids[1]}]")[
        "success"
    ]
    assert server.call("/message/list", session=key)["size"] == 0


def test_ptn_prefixes(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    answer = server.call(
        "/message/send", session=key, contacts=["ptn:/2065550100", "ptn:/+12065550101"], body="p"
    )
    assert [address for address, _ in sent_to(server, key, answer)] == [
        "ptn:/2065550100",
        "ptn:/2065550101",
    ]
    saved = server.call("/contact/save", session=key, address="ptn:/2065550102", firstName="Pat")
    assert saved["response"]["mobileNumber"] == "2065550102"


def test_an_unencoded_plus_arrives_as_a_space(server: Landline) -> None:
    # Ruby and PHP clients do not encode values: "+1206..." reaches us as " 1206...".
    _, key, _ = fresh_line(server)
    raw = f"/message/send?session={key}&contacts=+12065550100,+12065550101&body=plus"
    response = server.http.post(raw)
    assert b"contacts=+12065550100" in response.request.url.raw_path
    assert [address for address, _ in sent_to(server, key, response.json())] == [
        "ptn:/2065550100",
        "ptn:/2065550101",
    ]
    # The same in an unencoded form body.
    response = server.http.post(
        "/message/send",
        content=f"session={key}&contacts=ptn:/+12065550103&body=body".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert sent_to(server, key, response.json()) == [("ptn:/2065550103", "body")]


@pytest.mark.parametrize("alias", ["message", "messages", "uuid", "uuids"])
def test_message_id_aliases_for_read_and_delete(server: Landline, alias: str) -> None:
    _, key, number = fresh_line(server)
    server.handset_texts("2065550100", number, "one")
    server.handset_texts("2065550101", number, "two")
    server.settle()
    first, second = [m["id"] for m in server.call("/message/list", session=key)["response"]]

    read = server.call("/message/read", session=key, **{alias: str(first)})
    assert read["success"] is True, read
    assert server.call("/message/get", session=key, id=first)["response"]["read"] is True
    assert server.call("/message/get", session=key, id=second)["response"]["read"] is False

    deleted = server.call("/message/delete", session=key, **{alias: str(second)})
    assert deleted["success"] is True, deleted
    listed = server.call("/message/list", session=key)
    assert [m["id"] for m in listed["response"]] == [first]


@pytest.mark.parametrize("alias", ["username", "userName", "mobileNumber"])
def test_login_name_aliases(server: Landline, alias: str) -> None:
    device_id, _, number = fresh_line(server, password="hunter2")
    answer = server.call("/user/login", **{alias: number[2:], "password": "hunter2"})
    assert answer["success"] is True, answer
    assert answer["response"].endswith(f":{device_id}")
    assert server.call("/message/list", session=answer["response"])["success"] is True


def test_paths_match_case_insensitively(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    answer = server.http.post(
        "/Message/Send", data={"session": key, "contacts": "2065550100", "body": "Case"}
    ).json()
    assert sent_to(server, key, answer) == [("ptn:/2065550100", "Case")]
    listed = server.http.get("/MESSAGE/LIST", params={"session": key}).json()
    assert listed["size"] == 1


def test_the_api_v1_prefix(server: Landline) -> None:
    _, key, _ = fresh_line(server)
    answer = server.http.get(
        "/api/v1/message/send", params={"session": key, "contacts": "2065550100", "body": "v1"}
    ).json()
    assert sent_to(server, key, answer) == [("ptn:/2065550100", "v1")]
    listed = server.http.post("/api/v1/conversation/list", data={"session": key}).json()
    assert listed["total"] == 1


def test_a_post_with_no_content_type_is_read_as_a_form(server: Landline) -> None:
    # PHP's client posts a raw `k=v&k=v` body and sets no content type itself.
    _, key, _ = fresh_line(server)
    request = server.http.build_request(
        "POST", "/message/send", content=f"session={key}&contacts=2065550100&body=raw".encode()
    )
    assert "content-type" not in request.headers
    response = server.http.send(request)
    assert sent_to(server, key, response.json()) == [("ptn:/2065550100", "raw")]


def test_none_stands_for_an_absent_optional_value(server: Landline) -> None:
    # Python's urlencode sends None as the string "None".
    _, key, _ = fresh_line(server)
    answer = server.call(
        "/message/send", session=key, contacts="2065550100", body="now", scheduledDate="None"
    )
    assert answer["success"] is True, answer
    got = server.call("/message/get", session=key, id=answer["response"]["tokens"][0]["message"])
    assert got["response"]["scheduledDate"] is None
    assert server.call("/message/scheduled", session=key)["response"] == []

    listed = server.call("/message/list", session=key, start="None", limit="None")
    assert listed["success"] is True and listed["size"] == 1
    # A body is text, not an optional value: "None" is what the user wrote.
    literal = server.call("/message/send", session=key, contacts="2065550100", body="None")
    assert sent_to(server, key, literal) == [("ptn:/2065550100", "None")]

    saved = server.call(
        "/contact/save", session=key, address="2065550100", firstName="Ann",
        city="None", email="None", notes="None",
    )
    contact = saved["response"]
    assert (contact["firstName"], contact["city"], contact["email"], contact["notes"]) == (
        "Ann", "", "", ""
    )


def test_a_json_body_is_read_too(server: Landline) -> None:
    # Not in the document, but scripts written with fetch/requests send JSON.
    _, key, _ = fresh_line(server)
    response = server.http.post(
        "/message/send", json={"session": key, "contacts": ["2065550100"], "body": "json"}
    )
    assert sent_to(server, key, response.json()) == [("ptn:/2065550100", "json")]


"""The PHP, Java and Python Zipwhip clients, emulated on the wire (tests/test_clients.py),
each running a whole session through the calls of issue 11: user/get and user/save, the
signature, groups (a group send included), blocking, the extra contact fields and
password/change.

Where the library has a method for a call, the emulation makes it the way the library
does (the PHP client's group/save and group/addMember glue the session key to their last
field; the Java client's group/save sends only a type and reads the answer as a contact,
its group/get reads `response.group`); where it has none, the call goes through the
library's own transport, as a program built on it would.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Landline
from test_clients import (
    ClientFailure,
    JavaClient,
    JavaNewClient,
    JavaOldClient,
    PhpClient,
    PythonWebCallsClient,
    java_contact,
    java_dates,
    java_long,
    require,
)

LINE = "+14255550177"
LINE_LOGIN = "4255550177"
PASSWORD = "secret"
ANN, BEN, CAL, PEST = "2065551101", "2065551102", "2065551103", "2065551104"
SIGNATURE = "-- Acme"


# --------------------------------------------------------------------------- PHP


class Php(PhpClient):
    """ZipWhipClient.php's getUser, saveUser, saveGroup, getGroup, addMember,
    removeMember, deleteGroup and sendMessage; the rest through its curl transport."""

    def _call(self, path: str, fields: dict[str, str]) -> Any:
        query = "&".join(f"{k}={v}" for k, v in fields.items())
        return self._curl(
            path, f"{query}&session={self.api_key}" if query else f"session={self.api_key}"
        )

    def get_user(self) -> dict[str, Any]:
        # getUser() answers the whole response; a program reads its `user`.
        return dict(self._curl("/user/get", f"session={self.api_key}")["user"])

    def save_user(self, **fields: str) -> dict[str, Any]:
        return dict(self._call("/user/save", fields))

    def _glued(self, path: str, fields: dict[str, str]) -> Any:
        # implode("&", $query)."session={$this->api_key}": no "&" before session.
        return self._curl(
            path, "&".join(f"{k}={v}" for k, v in fields.items()) + f"session={self.api_key}"
        )

    def save_group(self, name: str) -> str:
        group = self._glued("/group/save", {"name": name, "type": "Group"})
        return str(group["address"])

    def get_group(self, address: str) -> dict[str, Any]:
        return dict(self._curl("/group/get", f"session={self.api_key}&address={address}"))

    def add_member(self, address: str, number: str, first: str) -> dict[str, Any]:
        return dict(
            self._glued(
                "/group/addMember", {"group": address, "mobileNumber": number, "firstName": first}
            )
        )

    def members(self, address: str) -> list[dict[str, Any]]:
        return list(self._call("/group/members", {"group": address}))

    def remove_member(self, address: str, number: str) -> None:
        self._curl("/group/removeMember", f"session={self.api_key}&group={address}&member={number}")

    def delete_group(self, address: str) -> None:
        self._curl("/group/delete", f"session={self.api_key}&address={address}")

    def send_tokens(self, to: str, body: str) -> list[dict[str, Any]]:
        """sendMessage($number, $message): `contacts=ptn:/{$number}`, even for a group."""
        response = self._curl(
            "/message/send", f"body={body}&contacts=ptn:/{to}&session={self.api_key}"
        )
        return list(response["tokens"])

    def set_signature(self, signature: str) -> str:
        return str(self._call("/user/signature/set", {"signature": signature}))

    def block(self, number: str, blocked: bool) -> dict[str, Any]:
        return dict(
            self._call(
                "/contact/block" if blocked else "/contact/unblock", {"mobileNumber": number}
            )
        )

    def save_contact_fields(self, number: str, **fields: str) -> dict[str, Any]:
        return dict(self._call("/contact/save", {"address": f"ptn:/{number}", **fields}))

    def change_password(self, current: str, new: str) -> Any:
        return self._call("/password/change", {"currentPassword": current, "password": new})


# --------------------------------------------------------------------------- Java


class JavaCalls(JavaClient):
    """DefaultZipwhipClient's getUser, saveUser, saveGroup, getGroup and addMember; the
    rest through executeSync."""

    def get_user(self) -> dict[str, Any]:
        answer = self.request("user/get", "object")
        user = answer["response"].get("user")  # parseUser: response.user, or null
        require(isinstance(user, dict), "user/get: no user object")
        java_long(user.get("websiteDeviceId"), "User.websiteDeviceId")
        java_dates(user, "User")
        return dict(user)

    def save_user(self, **fields: str) -> dict[str, Any]:
        # saveUser(firstName, lastName, email, phoneKey, location, notes); the answer is
        # read as a contact.
        names = ("email", "firstName", "lastName", "phoneKey", "notes", "loc")
        values = {key: fields.get(key, "null") for key in names}
        return java_contact(self.request("user/save", "object", **values)["response"])

    def save_group(self, name: str) -> str:
        # saveGroup(type, advertisement): only a type; the answer is read as a contact.
        group = self.request("group/save", "object", type="Group")["response"]
        java_contact(group)
        self.request("group/save", "object", address=group["address"], name=name)
        return str(group["address"])

    def get_group(self, address: str) -> dict[str, Any]:
        # parseGroup reads response.group.
        group = self.request("group/get", "object", address=address)["response"]["group"]
        java_long(group.get("id"), "Group.id")
        java_long(group.get("deviceId"), "Group.deviceId")
        java_dates(group, "Group")
        return dict(group)

    def add_member(self, address: str, number: str, first: str) -> dict[str, Any]:
        answer = self.request(
            "group/addMember",
            "object",
            firstName=first,
            lastName="null",
            phoneKey="null",
            notes="null",
            group=address,
            mobileNumber=number,
        )
        return java_contact(answer["response"])

    def members(self, address: str) -> list[dict[str, Any]]:
        return [
            java_contact(c)
            for c in self.request("group/members", "array", group=address)["response"]
        ]

    def remove_member(self, address: str, number: str) -> None:
        self.request("group/removeMember", "boolean", group=address, member=number)

    def delete_group(self, address: str) -> None:
        self.request("group/delete", "boolean", address=address)

    def send_tokens(self, to: str, body: str) -> list[dict[str, Any]]:
        answer = self.request(
            "message/send", "object", contacts=[to], body=body, fromName="", advertisement=""
        )
        return list(answer["response"]["tokens"])

    def set_signature(self, signature: str) -> str:
        return str(self.request("user/signature/set", "string", signature=signature)["response"])

    def block(self, number: str, blocked: bool) -> dict[str, Any]:
        path = "contact/block" if blocked else "contact/unblock"
        return java_contact(self.request(path, "object", mobileNumber=number)["response"])

    def save_contact_fields(self, number: str, **fields: str) -> dict[str, Any]:
        return java_contact(
            self.request("contact/save", "object", address=f"ptn:/{number}", **fields)["response"]
        )

    def change_password(self, current: str, new: str) -> Any:
        return self.request("password/change", "any", currentPassword=current, password=new)


class JavaNew(JavaCalls, JavaNewClient):
    pass


class JavaOld(JavaCalls, JavaOldClient):
    pass


# --------------------------------------------------------------------------- Python


class Python(PythonWebCallsClient):
    """WebCalls.py's transport (a GET with urlencode'd values) for every new call."""

    def _call(self, uri: str, **values: Any) -> Any:
        return self._checked(self._post(uri, {"session": self.session, **values}))

    def get_user(self) -> dict[str, Any]:
        return dict(self._call("user/get")["user"])

    def save_user(self, **fields: str) -> dict[str, Any]:
        return dict(self._call("user/save", **fields))

    def save_group(self, name: str) -> str:
        return str(self._call("group/save", name=name, type="Group", address=None)["address"])

    def get_group(self, address: str) -> dict[str, Any]:
        return dict(self._call("group/get", address=address))

    def add_member(self, address: str, number: str, first: str) -> dict[str, Any]:
        return dict(
            self._call(
                "group/addMember",
                group=address,
                mobileNumber=number,
                firstName=first,
                lastName=None,
            )
        )

    def members(self, address: str) -> list[dict[str, Any]]:
        return list(self._call("group/members", group=address))

    def remove_member(self, address: str, number: str) -> None:
        self._call("group/removeMember", group=address, member=number)

    def delete_group(self, address: str) -> None:
        self._call("group/delete", address=address)

    def send_tokens(self, to: str, body: str) -> list[dict[str, Any]]:
        return list(self._call("message/send", contacts=to, body=body, fromName=None)["tokens"])

    def set_signature(self, signature: str) -> str:
        return str(self._call("user/signature/set", signature=signature))

    def block(self, number: str, blocked: bool) -> dict[str, Any]:
        return dict(
            self._call("contact/block" if blocked else "contact/unblock", mobileNumber=number)
        )

    def save_contact_fields(self, number: str, **fields: str) -> dict[str, Any]:
        return dict(self._call("contact/save", address=f"ptn:/{number}", **fields))

    def change_password(self, current: str, new: str) -> Any:
        answer = self._post(
            "password/change",
            {"session": self.session, "currentPassword": current, "password": new},
        )
        self._checked(answer)
        return answer


CLIENTS: dict[str, type[Any]] = {
    "php": Php,
    "java-new": JavaNew,
    "java-old": JavaOld,
    "python": Python,
}


@pytest.mark.parametrize("client_name", list(CLIENTS))
def test_a_whole_zipwhip_era_session(landline: Landline, client_name: str) -> None:
    device_id, _ = landline.add_line(LINE, password=PASSWORD)
    client = CLIENTS[client_name](landline.http)
    client.login(LINE_LOGIN, PASSWORD)

    # The user, and their profile.
    user = client.get_user()
    assert user["mobileNumber"] == LINE_LOGIN and int(user["websiteDeviceId"]) == device_id
    saved = client.save_user(firstName="Ada", lastName="King", loc="Seattle")
    assert (saved["firstName"], saved["loc"]) == ("Ada", "Seattle")
    assert client.get_user()["lastName"] == "King"

    # A signature goes on every text.
    assert client.set_signature(SIGNATURE) == SIGNATURE

    # A group of three, one of them blocked.
    address = client.save_group("Regulars")
    assert address.startswith("group:/")
    for number, first in ((ANN, "Ann"), (BEN, "Ben"), (PEST, "Pat")):
        member = client.add_member(address, number, first)
        assert member["firstName"] == first
    assert int(client.get_group(address)["cachedContactsCount"]) == 3
    assert client.get_group(address)["displayName"] == "Regulars"
    assert sorted(m["mobileNumber"] for m in client.members(address)) == [ANN, BEN, PEST]
    assert client.block(PEST, True)["blocked"] is True

    tokens = client.send_tokens(address, "Open late today")
    assert len(tokens) == 3
    codes = sorted(t.get("code", 0) for t in tokens)
    assert codes == [-1235, 0, 0]
    landline.settle()
    bodies = {m["body"] for m in client.list_messages()}
    assert f"Open late today\n{SIGNATURE}" in bodies

    client.remove_member(address, BEN)
    assert [m["mobileNumber"] for m in client.members(address)] == [ANN, PEST]
    assert client.block(PEST, False)["blocked"] is False

    # The contact fields old clients send, and the counts.
    contact = client.save_contact_fields(
        CAL, businessName="Cal Co", custom1="gold", jobTitle="Chef"
    )
    assert (contact["businessName"], contact["custom1"], contact["jobTitle"]) == (
        "Cal Co",
        "gold",
        "Chef",
    )
    ann = client.save_contact_fields(ANN, country="US")
    assert (int(ann["ZOCount"]), int(ann["MOCount"])) == (1, 0)

    client.delete_group(address)
    with pytest.raises(ClientFailure):
        client.get_group(address)

    # password/change answers Zipwhip's shape; the old password stops working.
    answer = client.change_password(PASSWORD, "a-new-password")
    if isinstance(answer, dict) and "sessions" in answer:
        assert answer == {"success": True, "response": "", "sessions": None}
    other = CLIENTS[client_name](landline.http)
    with pytest.raises(ClientFailure):
        other.login(LINE_LOGIN, PASSWORD)
    other.login(LINE_LOGIN, "a-new-password")
    assert client.get_user()["firstName"] == "Ada"  # this session stays valid
    client.logout()

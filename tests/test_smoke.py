"""The walkthrough of the README, through the API: send, deliver, reply, read."""

from __future__ import annotations

from conftest import Landline


def test_send_is_delivered_and_a_reply_lands_in_the_conversation(landline: Landline) -> None:
    _, session = landline.add_line("2065550123")
    sent = landline.call("/message/send", session=session, contacts="+12065550100", body="Hello")
    assert sent["success"] is True
    message_id = sent["response"]["tokens"][0]["message"]

    landline.settle()
    got = landline.call("/message/get", session=session, id=message_id)["response"]
    assert got["statusCode"] == 6
    assert [h["statusCode"] for h in got["statusHistory"]] == [2, 1, 6]

    landline.handset_texts("+12065550100", "2065550123", "Thanks!")
    landline.settle()
    conversation = landline.call(
        "/conversation/get", session=session, fingerprint=got["fingerprint"]
    )
    bodies = [m["body"] for m in conversation["response"]["messages"]]
    assert bodies == ["Thanks!", "Hello"]
    assert conversation["response"]["conversation"]["unreadCount"] == 1

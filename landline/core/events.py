"""What a webhook can report: the kinds of events the store records, and how the API
names them (a webhook's `type` and `event`)."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    MESSAGE_SEND = "message.send"
    MESSAGE_RECEIVE = "message.receive"
    MESSAGE_PROGRESS = "message.progress"
    MESSAGE_READ = "message.read"
    MESSAGE_DELETE = "message.delete"
    OPTOUT_CHANGE = "optout.change"

    @property
    def webhook_type(self) -> str:
        return self.value.split(".")[0]

    @property
    def webhook_event(self) -> str:
        return self.value.split(".")[1]

    @property
    def is_message(self) -> bool:
        return self.webhook_type == "message"


WEBHOOK_TYPES: dict[str, tuple[str, ...]] = {
    "message": ("receive", "send", "progress", "read", "delete"),
    "optout": ("change",),
}


def kind_of(webhook_type: str, event: str) -> EventKind | None:
    """The event kind a webhook of this type and event receives; None if there is none."""
    try:
        return EventKind(f"{webhook_type}.{event}")
    except ValueError:
        return None

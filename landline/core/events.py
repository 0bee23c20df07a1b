"""What a webhook can report: the kinds of events the store records."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    MESSAGE_SEND = "message.send"
    MESSAGE_RECEIVE = "message.receive"
    MESSAGE_PROGRESS = "message.progress"
    MESSAGE_READ = "message.read"
    MESSAGE_DELETE = "message.delete"
    OPTOUT_CHANGE = "optout.change"

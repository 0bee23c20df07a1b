"""The shapes of the API's answers, declared once.

Rendering returns these types (so mypy checks every field), the OpenAPI document is
derived from them (api/schema.py), and the tests check real answers against that
document.
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict

from landline.api.schema import EXTRA_KEYWORDS, Meta, Named

# The form of every timestamp the API writes: to the second, with the line's offset.
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$"
NUMBER_PATTERN = r"^(\d{10}|\+[1-9]\d{6,14})$"
ADDRESS_PATTERN = r"^ptn:/(\d{10}|\+[1-9]\d{6,14})$"
DIGITS_PATTERN = r"^[0-9]+$"
SESSION_PATTERN = r"^[0-9a-fA-F-]{32,36}:\d{1,19}$"


def doc(description: str) -> Meta:
    return Meta(description=description)


def when(description: str) -> Meta:
    return Meta(
        description=description + " (ISO 8601, in the line's time zone)",
        pattern=TIMESTAMP_PATTERN,
    )


Timestamp = str
Number = Annotated[
    str,
    Meta("A phone number: 10 digits for North America, E.164 elsewhere.", NUMBER_PATTERN),
]
Address = Annotated[str, Meta("A phone number with the `ptn:/` prefix.", ADDRESS_PATTERN)]
Fingerprint = Annotated[
    str,
    Meta(
        "A conversation id: a string of digits, stable for a line and a set of numbers.",
        DIGITS_PATTERN,
    ),
]
Count = Annotated[int, Meta(minimum=0)]


class StatusChange(TypedDict):
    statusCode: int
    statusDesc: str
    date: Annotated[Timestamp, when("When the message reached it")]


class TransmissionState(TypedDict):
    name: Literal["QUEUED", "SENT", "DELIVERED", "ERROR"]


class MessagePayload(TypedDict):
    """A message as a webhook delivers it: the flat object of the API document's example,
    every field present (null where unknown), as the message was when the event happened."""

    body: Annotated[str, doc("The text; never null.")]
    bodySize: Annotated[int, Meta("Bytes of UTF-8 in `body`.", minimum=0)]
    visible: Annotated[bool, doc("False once deleted.")]
    hasAttachment: bool
    dateRead: Annotated[Timestamp | None, when("When it was marked read")]
    bcc: None
    finalDestination: Number
    messageType: Annotated[Literal["MO", "ZO"], doc("MO inbound, ZO outbound.")]
    deleted: bool
    statusCode: Annotated[
        int, doc("Progress code 0-7, or the error code that ended it (-1234, -124).")
    ]
    id: Annotated[int, doc("The message id (64-bit; JavaScript clients should read `uuid`).")]
    scheduledDate: Annotated[Timestamp | None, when("When it is or was due to go out")]
    fingerprint: Fingerprint
    messageTransport: Annotated[int, doc("9: SMS; 5: MMS.")]
    contactId: int
    address: Address
    read: Annotated[bool, doc("Outbound messages count as read.")]
    dateCreated: Annotated[Timestamp, when("When it was created")]
    dateDeleted: Annotated[Timestamp | None, when("When it was deleted")]
    dateDelivered: Annotated[Timestamp | None, when("When a receipt confirmed delivery")]
    cc: None
    finalSource: Number
    deviceId: Annotated[int, doc("The line's device id.")]


class Message(MessagePayload):
    """A text message, as in message/list, message/get and conversation/get: the webhook
    payload's fields and more."""

    uuid: Annotated[str, Meta("The message id as a string.", DIGITS_PATTERN)]
    type: Annotated[Literal["MO", "ZO"], doc("The same as messageType.")]
    direction: Literal["IN", "OUT"]
    statusDesc: str
    isInFinalState: bool
    errorState: Annotated[bool, doc("True for codes 5 and 7 and negative codes.")]
    transmissionState: TransmissionState
    contactDeviceId: Annotated[int, doc("The same as contactId.")]
    sourceAddress: Number
    destAddress: Number
    mobileNumber: Number
    isRead: Annotated[bool, doc("The same as read.")]
    isParent: Annotated[bool, doc("True for the first message of a send request.")]
    parentId: Annotated[int, doc("The id of the send request (`root` in message/send).")]
    lastUpdated: Annotated[Timestamp, when("When it last changed")]
    statusHistory: Annotated[
        list[StatusChange],
        doc("Every status the message went through, oldest first."),
        Named("StatusHistory"),
    ]
    smsEncoding: Annotated[
        Literal["GSM-7", "UCS-2"],
        doc("How the text travels as SMS: GSM 7-bit when every character fits, else UCS-2."),
    ]
    smsParts: Annotated[
        int,
        doc(
            "SMS parts the text takes (160 GSM or 70 UCS-2 characters in one; longer "
            "texts 153 or 67 a part)."
        ),
    ]


class OptOutPayload(TypedDict):
    """An `optout change` webhook's payload: a contact opted out of the line or back in."""

    address: Address
    contactId: int
    deviceId: Annotated[int, doc("The line's device id.")]
    finalSource: Annotated[Number, doc("The contact, who sent the keyword.")]
    finalDestination: Annotated[Number, doc("The line.")]
    optOut: Annotated[bool, doc("True: opted out; false: opted back in.")]
    keyword: Annotated[str, doc("The text that made the change (STOP, START, ...).")]
    dateCreated: Annotated[Timestamp, when("When it changed")]


class Conversation(TypedDict):
    """A conversation: the line and one set of numbers."""

    id: Annotated[int, doc("The fingerprint as a number.")]
    fingerprint: Fingerprint
    deviceId: int
    deviceAddress: Address
    address: Annotated[str | None, Meta("The other party; null for a group.", ADDRESS_PATTERN)]
    addresses: Annotated[list[Address], Meta(minItems=1)]
    cc: None
    bcc: None
    unreadCount: Annotated[int, Meta("Inbound messages not yet read.", minimum=0)]
    new: Annotated[bool, doc("True while unreadCount is above 0.")]
    deleted: bool
    lastContactId: int
    lastContactDeviceId: Annotated[int, doc("The same as lastContactId.")]
    lastContactFirstName: Annotated[str, doc("Empty when the contact has no saved name.")]
    lastContactLastName: str
    lastContactMobileNumber: Number
    lastMessageId: int
    lastMessageBody: str
    lastMessageDate: Annotated[Timestamp, when("When the last message was created")]
    lastNonDeletedMessageDate: Annotated[Timestamp, when("The same as lastMessageDate")]
    dateCreated: Annotated[Timestamp, when("When it began")]
    lastUpdated: Annotated[Timestamp, when("When it last changed")]


class ConversationDetail(TypedDict):
    """A conversation and one page of its messages, newest first."""

    conversation: Conversation
    messages: list[Message]


class Contact(TypedDict):
    """An address-book entry; unsaved text fields are empty strings."""

    id: Annotated[int, doc("Stable: a hash of the line and the number.")]
    deviceId: int
    address: Address
    mobileNumber: Number
    firstName: str
    lastName: str
    email: str
    notes: str
    city: str
    state: str
    zipcode: str
    birthday: str | None
    businessName: str
    jobTitle: str
    addressLine1: str
    addressLine2: str
    country: str
    custom1: str
    custom2: str
    optOut: Annotated[bool, doc("True while the contact has texted STOP (and not UNSTOP).")]
    blocked: Annotated[bool, doc("True while the line blocks this number (contact/block).")]
    MOCount: Annotated[int, Meta("Texts the contact sent the line.", minimum=0)]
    ZOCount: Annotated[int, Meta("Texts the line sent the contact.", minimum=0)]
    deleted: bool
    dateCreated: Annotated[Timestamp, when("When it was created")]
    lastUpdated: Annotated[Timestamp, when("When it last changed")]


class SendToken(TypedDict):
    """One recipient of a send. `code` and `desc` are there only when the recipient has
    opted out (the message then ends at once with statusCode -1234) or the line blocked
    them (-1235)."""

    message: Annotated[str, Meta("This recipient's message id.", DIGITS_PATTERN)]
    fingerprint: Fingerprint
    device: Annotated[int, doc("The line's device id.")]
    contact: Annotated[int, doc("The recipient's contact id.")]
    code: NotRequired[Literal[-1234, -1235]]
    desc: NotRequired[str]


EXTRA_KEYWORDS["SendToken"] = {"dependentRequired": {"code": ["desc"], "desc": ["code"]}}


class SendResult(TypedDict):
    """With one recipient the top-level fingerprint is the token's; with several it is
    the group's."""

    fingerprint: Fingerprint
    root: Annotated[str, Meta("The send request's id.", DIGITS_PATTERN)]
    tokens: Annotated[list[SendToken], Meta(minItems=1)]


Total = Annotated[
    int, Meta("Items in this answer; 0 past the end, which is how clients stop paging.", minimum=0)
]
Size = Annotated[int, Meta("Items there are in all.", minimum=0)]


# -- whole answers: the envelope around each response


class SendAnswer(TypedDict):
    """The answer of message/send."""

    success: Literal[True]
    response: SendResult


class SessionAnswer(TypedDict):
    """The answer of user/login."""

    success: Literal[True]
    response: Annotated[
        str, Meta("The session key: a UUID, a colon, the line's device id.", SESSION_PATTERN)
    ]


class TrueAnswer(TypedDict):
    """The answer of an action that succeeded."""

    success: Literal[True]
    response: Literal[True]


class MessageAnswer(TypedDict):
    """One message."""

    success: Literal[True]
    response: Message


class MessageList(TypedDict):
    """A page of messages, newest first."""

    success: Literal[True]
    response: list[Message]
    total: Total
    size: Size


class CanceledList(TypedDict):
    """The ids that were canceled."""

    success: Literal[True]
    response: list[Annotated[str, Meta("A canceled message id.", DIGITS_PATTERN)]]


class ConversationList(TypedDict):
    """A page of conversations, latest message first."""

    success: Literal[True]
    response: list[Conversation]
    total: Total
    size: Size


class ConversationAnswer(TypedDict):
    """A conversation; total and size count its messages."""

    success: Literal[True]
    response: ConversationDetail
    total: Total
    size: Size


class ContactAnswer(TypedDict):
    """One contact."""

    success: Literal[True]
    response: Contact


class ContactList(TypedDict):
    """A page of contacts, by number."""

    success: Literal[True]
    response: list[Contact]
    total: Total
    page: Annotated[int, Meta("The page answered (from 1).", minimum=1)]
    pages: Annotated[int, Meta("Pages there are at this pageSize.", minimum=0)]


class Webhook(TypedDict):
    """One of the line's webhooks."""

    webhookId: Annotated[int, Meta("The webhook's id.", minimum=1)]
    type: Annotated[Literal["message", "optout"], doc("What it reports on.")]
    event: Annotated[
        Literal["receive", "send", "progress", "read", "delete", "change"],
        doc("message: receive, send, progress, read or delete; optout: change."),
    ]
    url: Annotated[str, doc("Where deliveries go.")]
    method: Literal["POST", "PUT", "GET"]


class WebhookList(TypedDict):
    """The webhooks the call added, changed or lists; empty after webhook/delete."""

    success: Literal[True]
    response: list[Webhook]


class SigningSecret(TypedDict):
    secret: Annotated[
        str,
        Meta(
            "The line's signing secret (Standard Webhooks, `whsec_` and base64); every "
            "delivery is signed with it.",
            pattern="^whsec_[A-Za-z0-9+/=]+$",
        ),
    ]
    previousSecretValidUntil: Annotated[
        Timestamp | None,
        when(
            "After a rotation, until when the secret it replaced still signs too (null "
            "when none does)"
        ),
    ]


class SecretAnswer(TypedDict):
    """The line's webhook signing secret."""

    success: Literal[True]
    response: SigningSecret


class ReplayResult(TypedDict):
    replayed: Annotated[int, Meta("Deliveries started afresh.", minimum=0)]
    complete: Annotated[
        bool,
        doc(
            "False when the window holds more given-up deliveries than one call replays; "
            "call again with the same window for the rest."
        ),
    ]


class ReplayAnswer(TypedDict):
    """How many deliveries were replayed."""

    success: Literal[True]
    response: ReplayResult


class UserInfo(TypedDict):
    """The signed-in user: the line, or one of its operators."""

    id: Annotated[int, doc("The user's id: the line's device id, or the operator's id.")]
    deviceId: Annotated[int, doc("The line's device id.")]
    websiteDeviceId: Annotated[int, doc("The same as deviceId.")]
    address: Address
    mobileNumber: Annotated[Number, doc("The line's number.")]
    carrier: Annotated[str, doc("Always `Landline`.")]
    firstName: str
    lastName: str
    fullName: Annotated[str, doc("firstName and lastName, joined by a space when both.")]
    businessName: str
    email: str
    phoneKey: str
    notes: str
    loc: str
    zipcode: str
    birthday: str
    MOCount: Annotated[int, Meta("Texts the line received.", minimum=0)]
    ZOCount: Annotated[int, Meta("Texts the line sent.", minimum=0)]
    dateCreated: Annotated[Timestamp | None, when("When the profile was first saved")]
    lastUpdated: Annotated[Timestamp | None, when("When the profile last changed")]


class UserSettings(TypedDict):
    signature: Annotated[str, doc("Appended to every text; empty when none.")]
    timezone: Annotated[str, doc("The line's time zone (IANA name).")]
    mms: Annotated[bool, doc("True when the line may send MMS.")]


class Group(TypedDict):
    """A named list of the line's contacts; send to it with its address."""

    id: Annotated[int, doc("The group id (64-bit).")]
    address: Annotated[str, Meta("`group:/<id>`.", pattern="^group:/[0-9]+$")]
    name: str
    displayName: Annotated[str, doc("The same as name.")]
    type: str
    deviceId: int
    memberCount: Annotated[int, Meta(minimum=0)]
    cachedContactsCount: Annotated[int, Meta("The same as memberCount.", minimum=0)]
    dateCreated: Annotated[Timestamp, when("When it was created")]
    lastUpdated: Annotated[Timestamp, when("When it or its members last changed")]


class GroupView(Group):
    """A group, and the same again under `group`, where the Java client reads it."""

    group: Group


class UserDetail(TypedDict):
    user: UserInfo
    settings: UserSettings
    groups: list[Group]


class UserAnswer(TypedDict):
    """The answer of user/get."""

    success: Literal[True]
    response: UserDetail


class UserSaveAnswer(TypedDict):
    """The answer of user/save: the user as saved."""

    success: Literal[True]
    response: UserInfo


class SignatureAnswer(TypedDict):
    """The line's signature; empty when none."""

    success: Literal[True]
    response: str


class PasswordAnswer(TypedDict):
    """The answer of password/change, in Zipwhip's shape."""

    success: Literal[True]
    response: Literal[""]
    sessions: None


class GroupAnswer(TypedDict):
    """One group."""

    success: Literal[True]
    response: GroupView


class Error(TypedDict):
    code: int
    desc: Annotated[str, doc("What went wrong, naming the parameter.")]


class ErrorAnswer(TypedDict):
    """Every failure, whatever the HTTP status."""

    success: Literal[False]
    response: Error
    requestId: NotRequired[
        Annotated[str, doc("For an unexpected failure (-855): the id the server logged it under.")]
    ]


class NoopResult(TypedDict):
    ok: Literal[True]


class NoopAnswer(TypedDict):
    """The benchmark's constant answer."""

    success: Literal[True]
    response: NoopResult

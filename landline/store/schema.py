"""Tables. Times are epoch milliseconds; ids are supplied by the application.

Every table that holds an account's data starts its key with `device_id`, so rows can
be sharded by line when one database is not enough.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

nodes = Table(
    "nodes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", BigInteger, nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
)

lines = Table(
    "lines",
    metadata,
    Column("device_id", BigInteger, primary_key=True, autoincrement=False),
    Column("number", String(16), nullable=False, unique=True),
    Column("mms", Boolean, nullable=False, default=False),
    # active, spam (sends answer -801) or suspended (sessions answer 401)
    Column("state", String(16), nullable=False, default="active"),
    Column("timezone", String(64), nullable=False),
    Column("help_text", Text, nullable=True),
    Column("password_hash", String(255), nullable=True),
    Column("verified_by", String(255), nullable=True),
    Column("verified_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # The webhook signing secret, encrypted with the installation's key (store/secrets.py);
    # after a rotation the previous one signs too, for a while.
    Column("webhook_secret", Text, nullable=True),
    Column("webhook_secret_previous", Text, nullable=True),
    Column("webhook_secret_rotated_at", BigInteger, nullable=True),
    # Comma-separated networks whose clients may use the line's session keys; null: any.
    Column("acl", Text, nullable=True),
    # Appended (after a newline) to every text the line's users send; null: none.
    Column("signature", Text, nullable=True),
)

operators = Table(
    "operators",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False, index=True),
    Column("username", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("device_id", BigInteger, nullable=False, index=True),
    Column("operator_id", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

contacts = Table(
    "contacts",
    metadata,
    Column("device_id", BigInteger, primary_key=True, autoincrement=False),
    Column("number", String(16), primary_key=True),
    Column("id", BigInteger, nullable=False, unique=True),
    Column("first_name", String(255), nullable=True),
    Column("last_name", String(255), nullable=True),
    Column("email", String(255), nullable=True),
    Column("notes", Text, nullable=True),
    Column("city", String(255), nullable=True),
    Column("state", String(255), nullable=True),
    Column("zipcode", String(32), nullable=True),
    Column("birthday", String(32), nullable=True),
    Column("business_name", String(255), nullable=True),
    Column("job_title", String(255), nullable=True),
    Column("address_line1", String(255), nullable=True),
    Column("address_line2", String(255), nullable=True),
    Column("country", String(255), nullable=True),
    Column("custom1", String(255), nullable=True),
    Column("custom2", String(255), nullable=True),
    # Texts from a blocked number are kept hidden and fire nothing; sends to it end at once.
    Column("blocked", Boolean, nullable=False, server_default=false()),
    Column("opted_out", Boolean, nullable=False, default=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

opt_outs = Table(
    "opt_outs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False),
    Column("number", String(16), nullable=False),
    Column("opt_out", Boolean, nullable=False),
    Column("keyword", String(64), nullable=False),
    Column("message_id", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "device_id", "number", "id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("device_id", BigInteger, primary_key=True, autoincrement=False),
    Column("fingerprint", String(20), primary_key=True),
    # Comma-joined E.164 numbers of everyone in the conversation but the line.
    Column("members", Text, nullable=False),
    Column("last_message_id", BigInteger, nullable=False),
    Column("last_message_at", BigInteger, nullable=False),
    Column("last_message_body", Text, nullable=False),
    Column("last_contact_id", BigInteger, nullable=False),
    Column("unread_count", Integer, nullable=False, default=0),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "device_id", "last_message_at", "fingerprint"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False),
    Column("root_id", BigInteger, nullable=False),
    Column("fingerprint", String(20), nullable=False),
    Column("contact_id", BigInteger, nullable=False),
    # MO: the contact texted the line; ZO: the line texted the contact.
    Column("direction", String(2), nullable=False),
    Column("line_number", String(16), nullable=False),
    Column("contact_number", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("connector", String(64), nullable=True),
    Column("carrier_ref", String(128), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("scheduled_at", BigInteger, nullable=True),
    # The history of an outbound text's status is its lifecycle: queued at created_at,
    # in progress at sent_at, its final status at ended_at (store/statuses.py).
    Column("sent_at", BigInteger, nullable=True),
    Column("ended_at", BigInteger, nullable=True),
    Column("delivered_at", BigInteger, nullable=True),
    Column("read_at", BigInteger, nullable=True),
    Column("deleted_at", BigInteger, nullable=True),
    Column("canceled_at", BigInteger, nullable=True),
    # The outbox: a text waiting to be handed to a carrier is due at due_at (its
    # scheduled time, or a retry's); null once handed over or ended (store/outbox.py).
    Column("due_at", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_until", BigInteger, nullable=True),
    # Which claim holds the lease, so only that claim may finish the text.
    Column("lease_token", BigInteger, nullable=True),
    # The line's own answer to STOP or HELP goes out even to a contact who opted out.
    Column("ignore_opt_out", Boolean, nullable=False, default=False),
    # An inbound text from a number the line had blocked (stored hidden); null otherwise.
    Column("blocked", Boolean, nullable=True),
    # "mms" for a picture message (messaging/send, or an inbound MMS); null for a text.
    Column("transport", String(3), nullable=True),
    # How many attachments an MMS has (rows in `attachments`); null for a text.
    Column("attachments", Integer, nullable=True),
    Index(None, "device_id", "id"),
    Index(None, "device_id", "fingerprint", "id"),
)
# Partial indexes: they hold only the rows they are for, so the common writes (outbound
# texts, and every status change) do not pay for them.
IN_PROGRESS = 1
# Finds texts still waiting for a delivery receipt.
Index(
    "ix_messages_in_progress",
    messages.c.sent_at,
    sqlite_where=messages.c.status == IN_PROGRESS,
    postgresql_where=messages.c.status == IN_PROGRESS,
)
# The outbox: texts waiting for a carrier, soonest due first.
Index(
    "ix_messages_due",
    messages.c.due_at,
    sqlite_where=messages.c.due_at.is_not(None),
    postgresql_where=messages.c.due_at.is_not(None),
)
# A carrier that repeats an inbound text must not create a second message.
Index(
    "uq_messages_inbound_carrier_ref",
    messages.c.connector,
    messages.c.carrier_ref,
    unique=True,
    sqlite_where=messages.c.direction == "MO",
    postgresql_where=messages.c.direction == "MO",
)

# What the people who use a line say about themselves (user/get, user/save): the line's
# own profile has operator_id 0, each operator's their own id.
profiles = Table(
    "profiles",
    metadata,
    Column("device_id", BigInteger, primary_key=True, autoincrement=False),
    Column("operator_id", BigInteger, primary_key=True, autoincrement=False),
    Column("first_name", String(255), nullable=True),
    Column("last_name", String(255), nullable=True),
    Column("business_name", String(255), nullable=True),
    Column("email", String(255), nullable=True),
    Column("phone_key", String(255), nullable=True),
    Column("notes", Text, nullable=True),
    Column("loc", String(255), nullable=True),
    Column("zipcode", String(32), nullable=True),
    Column("birthday", String(32), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Named lists of a line's contacts, each with its own address (group:/<id>).
groups = Table(
    "groups",
    metadata,
    Column("device_id", BigInteger, primary_key=True, autoincrement=False),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("type", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

group_members = Table(
    "group_members",
    metadata,
    Column("device_id", BigInteger, primary_key=True, autoincrement=False),
    Column("group_id", BigInteger, primary_key=True, autoincrement=False),
    Column("number", String(16), primary_key=True),
    Column("contact_id", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# Hosted content: one row per stored object (its bytes are in the content store, by
# key). Only sessions of the owning line may read it.
media = Table(
    "media",
    metadata,
    Column("storage_key", String(64), primary_key=True),
    Column("device_id", BigInteger, nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("mime_type", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Retention removes the oldest first.
    Index(None, "created_at"),
    # A line's quota adds up its content.
    Index(None, "device_id", "created_at"),
)

# An MMS's parts, in order: each names hosted content (several messages may share one).
attachments = Table(
    "attachments",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False),
    Column("storage_key", String(64), nullable=False, index=True),
)

# Lines with an inbox page open somewhere, until when (store/live_lines.py).
live_lines = Table(
    "live_lines",
    metadata,
    Column("device_id", BigInteger, primary_key=True, autoincrement=False),
    Column("until", BigInteger, nullable=False),
)

# Everything a webhook would report, written in the transaction that made the change.
events = Table(
    "events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False),
    # core.events.EventKind
    Column("kind", String(32), nullable=False),
    Column("message_id", BigInteger, nullable=True),
    # An opt-out change's own payload (JSON).
    Column("data", Text, nullable=True),
    # A message event's message as it was: what changes over its life.
    Column("status", Integer, nullable=True),
    Column("delivered_at", BigInteger, nullable=True),
    Column("read_at", BigInteger, nullable=True),
    Column("deleted_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

# The line's webhooks. Those of one line for the same event are one receiver with
# redundant hosts.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False),
    # message or optout; send, receive, progress, read, delete, or change
    Column("type", String(16), nullable=False),
    Column("event", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("method", String(8), nullable=False),
    # scheme://host:port: the queue its deliveries wait in.
    Column("host", String(300), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "device_id", "type", "event"),
)

# One delivery per event that a receiver wants, keyed by the event's id (an event has
# one line and one kind, so at most one receiver).
deliveries = Table(
    "deliveries",
    metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    # The host whose queue it waits in; it moves when that host is down and another of
    # the receiver's hosts is up.
    Column("host", String(300), nullable=False),
    # core.deliveries.DeliveryState
    Column("state", String(16), nullable=False),
    # Every attempt ever made; the failed ones are numbered by it in delivery_failures.
    Column("attempts", Integer, nullable=False, default=0),
    # Attempts since window_start: the back-off counts these, so a replay starts afresh.
    Column("window_attempts", Integer, nullable=False, default=0),
    Column("event_at", BigInteger, nullable=False),
    # The 72 hours run from here: the event, or the replay that gave it a new start.
    Column("window_start", BigInteger, nullable=False),
    Column("next_at", BigInteger, nullable=False),
    # A claim is the pair (leased_by, lease_until): a worker records an attempt only if
    # the row still carries the pair it claimed with.
    Column("lease_until", BigInteger, nullable=True),
    Column("leased_by", Integer, nullable=True),
    Column("last_attempt_at", BigInteger, nullable=True),
    # The last attempt: an HTTP status, or an error kind (webhooks.attempts.FailureKind).
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(32), nullable=True),
    Column("last_elapsed_ms", Integer, nullable=True),
    Column("delivered_at", BigInteger, nullable=True),
    Column("given_up_at", BigInteger, nullable=True),
    Index(None, "device_id", "event_id"),
)
# Only deliveries still to be made are in the queue's indexes: by host and due time (the
# queues), and by the start of their 72 hours (giving up).
Index(
    "ix_deliveries_due",
    deliveries.c.host,
    deliveries.c.next_at,
    sqlite_where=deliveries.c.state.in_(["pending", "failed"]),
    postgresql_where=deliveries.c.state.in_(["pending", "failed"]),
)
Index(
    "ix_deliveries_window",
    deliveries.c.window_start,
    sqlite_where=deliveries.c.state.in_(["pending", "failed"]),
    postgresql_where=deliveries.c.state.in_(["pending", "failed"]),
)

# Every failed attempt of a delivery (the one that succeeded is in the delivery's row).
delivery_failures = Table(
    "delivery_failures",
    metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("at", BigInteger, nullable=False),
    Column("host", String(300), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", Integer, nullable=True),
    Column("elapsed_ms", Integer, nullable=False),
    Column("error", String(200), nullable=True),
)

# What every worker knows of a webhook host's health (core.webhook_policy.HostHealth).
webhook_hosts = Table(
    "webhook_hosts",
    metadata,
    Column("host", String(300), primary_key=True),
    Column("first_failure_at", BigInteger, nullable=True),
    Column("last_failure_at", BigInteger, nullable=True),
    Column("down_since", BigInteger, nullable=True),
    Column("next_probe_at", BigInteger, nullable=True),
    Column("last_success_at", BigInteger, nullable=True),
)

# The simulated phone network's own memory: texts it owes a receipt for, and texts
# its handsets have sent to a line.
sim_submissions = Table(
    "sim_submissions",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("source", String(16), nullable=False),
    Column("destination", String(16), nullable=False),
    Column("body", Text, nullable=False),
    # delivered, failed, or silent (never confirmed)
    Column("outcome", String(16), nullable=False),
    Column("due_at", BigInteger, nullable=False),
    # True once its receipt was given (or, for a text never confirmed, at once).
    Column("done", Boolean, nullable=False, default=False),
    # A picture message's parts as the handset got them: JSON list of type and size.
    Column("media", Text, nullable=True),
    Index(None, "done", "due_at"),
)

sim_inbound = Table(
    "sim_inbound",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("source", String(16), nullable=False),
    Column("destination", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("done", Boolean, nullable=False, default=False),
    Column("lease_until", BigInteger, nullable=True),
    # A handset's picture message: JSON list of its parts, already in the content store.
    Column("media", Text, nullable=True),
    Index(None, "done", "created_at"),
)

# The SMPP connector's own memory (carriers/smpp, store/smpp.py). One row per part of a
# text an SMSC accepted, written before the text is reported in progress, so receipts
# (which name the SMSC's id) find their text after a restart, and a text resent after a
# crash skips the parts the SMSC already has.
smpp_submits = Table(
    "smpp_submits",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("part", Integer, primary_key=True, autoincrement=False),
    Column("parts", Integer, nullable=False),
    Column("connector", String(64), nullable=False),
    # The SMSC's message id, normalised (core.receipts.canonical_id); null when rejected.
    Column("smsc_id", String(65), nullable=True),
    # accepted, delivered, failed (by receipt) or rejected (by the submit_sm_resp)
    Column("state", String(12), nullable=False),
    # The SMPP command_status of a refusal, or the receipt's stat.
    Column("smpp_status", Integer, nullable=True),
    Column("stat", String(16), nullable=True),
    Column("submitted_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "connector", "smsc_id"),
)

# Receipts that came before their submit_sm_resp was recorded (or name an id never
# recorded): kept until the submit is, then applied.
smpp_early_receipts = Table(
    "smpp_early_receipts",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("smsc_id", String(65), primary_key=True),
    Column("delivered", Boolean, nullable=False),
    Column("stat", String(16), nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Index(None, "received_at"),
)

# Parts of inbound texts whose other parts have not all come yet. Acknowledged to the
# SMSC only once stored here, so a crash loses none.
smpp_parts = Table(
    "smpp_parts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("connector", String(64), nullable=False),
    Column("source", String(21), nullable=False),
    Column("destination", String(21), nullable=False),
    Column("reference", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("wide", Boolean, nullable=False),
    Column("data_coding", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Index(None, "connector", "source", "destination", "reference", "total", "seq", unique=True),
)

# Every spam flag and clear of a line, with its reason (core/spam.py).
line_flags = Table(
    "line_flags",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False),
    # flag or clear
    Column("action", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    # automatic, or who cleared it (operator)
    Column("actor", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "device_id", "id"),
)

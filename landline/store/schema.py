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
    MetaData,
    String,
    Table,
    Text,
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
    Index(None, "device_id", "last_message_at"),
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
    Column("delivered_at", BigInteger, nullable=True),
    Column("read_at", BigInteger, nullable=True),
    Column("deleted_at", BigInteger, nullable=True),
    Column("canceled_at", BigInteger, nullable=True),
    Index(None, "device_id", "id"),
    Index(None, "device_id", "fingerprint", "id"),
)
# Partial indexes: they hold only the rows they are for, so the common writes (outbound
# texts, and every status change) do not pay for them.
IN_PROGRESS = 1
# Finds texts still waiting for a delivery receipt.
Index(
    "ix_messages_in_progress",
    messages.c.updated_at,
    sqlite_where=messages.c.status == IN_PROGRESS,
    postgresql_where=messages.c.status == IN_PROGRESS,
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

message_status = Table(
    "message_status",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("status", Integer, primary_key=True, autoincrement=False),
    Column("at", BigInteger, nullable=False),
)

# Work for the dispatcher: one row per outbound message not yet handed to a carrier.
outbox = Table(
    "outbox",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False),
    Column("available_at", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_until", BigInteger, nullable=True),
    Column("leased_by", Integer, nullable=True),
    # The line's own answer to STOP or HELP goes out even to a contact who opted out.
    Column("ignore_opt_out", Boolean, nullable=False, default=False),
    Index(None, "available_at"),
)

# Everything a webhook would report, written in the transaction that made the change.
events = Table(
    "events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", BigInteger, nullable=False),
    # message.send, message.receive, message.progress, message.read, message.delete,
    # optout.change
    Column("kind", String(32), nullable=False),
    Column("message_id", BigInteger, nullable=True),
    Column("data", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
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
    Column("done", Boolean, nullable=False, default=False),
    Column("lease_until", BigInteger, nullable=True),
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
    Index(None, "done", "created_at"),
)

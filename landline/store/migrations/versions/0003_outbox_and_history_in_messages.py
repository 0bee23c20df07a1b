"""The outbox and the status history move into messages

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 01:40:00

A text's statuses follow its lifecycle, so the times it was handed to a carrier
(sent_at) and ended (ended_at) say its whole history; and a text waiting for a carrier
is marked by due_at (with its lease) on its own row. Two rows fewer at every step of a
text's life.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINAL = "(0, 4, 5, 6, 7, -1234, -124, -801)"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ended_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("lease_until", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("lease_token", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("ignore_opt_out", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_index("ix_messages_in_progress", sqlite_where=sa.text("status = 1"))

    # What the two tables held, onto the messages.
    op.execute(
        "UPDATE messages SET sent_at = (SELECT at FROM message_status s"
        " WHERE s.message_id = messages.id AND s.status = 1)"
    )
    op.execute(
        "UPDATE messages SET ended_at = (SELECT max(at) FROM message_status s"
        f" WHERE s.message_id = messages.id AND s.status IN {FINAL})"
        f" WHERE status IN {FINAL}"
    )
    op.execute(
        "UPDATE messages SET"
        " due_at = (SELECT available_at FROM outbox o WHERE o.message_id = messages.id),"
        " attempts = (SELECT attempts FROM outbox o WHERE o.message_id = messages.id),"
        " ignore_opt_out = (SELECT ignore_opt_out FROM outbox o"
        " WHERE o.message_id = messages.id)"
        " WHERE id IN (SELECT message_id FROM outbox)"
    )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_in_progress",
            ["sent_at"],
            unique=False,
            sqlite_where=sa.text("status = 1"),
            postgresql_where=sa.text("status = 1"),
        )
        batch_op.create_index(
            "ix_messages_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("due_at IS NOT NULL"),
            postgresql_where=sa.text("due_at IS NOT NULL"),
        )
    op.drop_table("message_status")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_available_at")
    op.drop_table("outbox")
    with op.batch_alter_table("sim_submissions", schema=None) as batch_op:
        batch_op.drop_column("lease_until")


def downgrade() -> None:
    with op.batch_alter_table("sim_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.BIGINT(), nullable=True))
    op.create_table(
        "outbox",
        sa.Column("message_id", sa.BIGINT(), nullable=False),
        sa.Column("device_id", sa.BIGINT(), nullable=False),
        sa.Column("available_at", sa.BIGINT(), nullable=False),
        sa.Column("attempts", sa.INTEGER(), nullable=False),
        sa.Column("lease_until", sa.BIGINT(), nullable=True),
        sa.Column("leased_by", sa.INTEGER(), nullable=True),
        sa.Column("ignore_opt_out", sa.BOOLEAN(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_available_at"), ["available_at"], unique=False)
    op.execute(
        "INSERT INTO outbox (message_id, device_id, available_at, attempts, ignore_opt_out)"
        " SELECT id, device_id, due_at, attempts, ignore_opt_out FROM messages"
        " WHERE due_at IS NOT NULL"
    )
    op.create_table(
        "message_status",
        sa.Column("message_id", sa.BIGINT(), nullable=False),
        sa.Column("status", sa.INTEGER(), nullable=False),
        sa.Column("at", sa.BIGINT(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "status", name=op.f("pk_message_status")),
    )
    op.execute(
        "INSERT INTO message_status (message_id, status, at) SELECT id,"
        " CASE WHEN direction = 'MO' THEN status ELSE 2 END, created_at FROM messages"
    )
    op.execute(
        "INSERT INTO message_status (message_id, status, at)"
        " SELECT id, 1, sent_at FROM messages WHERE sent_at IS NOT NULL"
    )
    op.execute(
        "INSERT INTO message_status (message_id, status, at) SELECT id, status, ended_at"
        " FROM messages WHERE ended_at IS NOT NULL AND direction = 'ZO'"
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_due")
        batch_op.drop_index("ix_messages_in_progress")
        batch_op.create_index(
            "ix_messages_in_progress",
            ["updated_at"],
            unique=False,
            sqlite_where=sa.text("status = 1"),
            postgresql_where=sa.text("status = 1"),
        )
        for column in (
            "ignore_opt_out",
            "lease_token",
            "lease_until",
            "attempts",
            "due_at",
            "ended_at",
            "sent_at",
        ):
            batch_op.drop_column(column)

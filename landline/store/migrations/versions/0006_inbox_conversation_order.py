"""The inbox: its order of conversations, fully indexed; lines with a page open

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:05:00

The web inbox pages through a line's conversations latest first, ties broken by
fingerprint, by keyset. With the fingerprint in the index the database walks it and
stops after a page, instead of sorting every conversation of the line for each page.
The new index begins with the old one's columns, so it replaces it.

`live_lines` marks the lines that have an inbox page open somewhere, so that their
events are kept for the pages' live updates even when no webhook wants them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_lines",
        sa.Column("device_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_live_lines")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_device_id_last_message_at"))
        batch_op.create_index(
            batch_op.f("ix_conversations_device_id_last_message_at_fingerprint"),
            ["device_id", "last_message_at", "fingerprint"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("live_lines")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_device_id_last_message_at_fingerprint"))
        batch_op.create_index(
            batch_op.f("ix_conversations_device_id_last_message_at"),
            ["device_id", "last_message_at"],
            unique=False,
        )

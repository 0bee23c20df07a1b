"""The inbox's order of conversations, fully indexed

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02 04:05:00

The web inbox pages through a line's conversations latest first, ties broken by
fingerprint, by keyset. With the fingerprint in the index the database walks it and
stops after a page, instead of sorting every conversation of the line for each page.
The new index begins with the old one's columns, so it replaces it.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_device_id_last_message_at"))
        batch_op.create_index(
            batch_op.f("ix_conversations_device_id_last_message_at_fingerprint"),
            ["device_id", "last_message_at", "fingerprint"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_device_id_last_message_at_fingerprint"))
        batch_op.create_index(
            batch_op.f("ix_conversations_device_id_last_message_at"),
            ["device_id", "last_message_at"],
            unique=False,
        )

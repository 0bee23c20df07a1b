"""media: hosted content, MMS attachments, the transport of a message

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("storage_key", name=op.f("pk_media")),
    )
    op.create_index(op.f("ix_media_created_at"), "media", ["created_at"], unique=False)
    op.create_index(
        op.f("ix_media_device_id_created_at"), "media", ["device_id", "created_at"], unique=False
    )
    op.create_table(
        "attachments",
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "position", name=op.f("pk_attachments")),
    )
    op.create_index(
        op.f("ix_attachments_storage_key"), "attachments", ["storage_key"], unique=False
    )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("transport", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("attachments", sa.Integer(), nullable=True))
    with op.batch_alter_table("sim_submissions") as batch:
        batch.add_column(sa.Column("media", sa.Text(), nullable=True))
    with op.batch_alter_table("sim_inbound") as batch:
        batch.add_column(sa.Column("media", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sim_inbound") as batch:
        batch.drop_column("media")
    with op.batch_alter_table("sim_submissions") as batch:
        batch.drop_column("media")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("attachments")
        batch.drop_column("transport")
    op.drop_index(op.f("ix_attachments_storage_key"), table_name="attachments")
    op.drop_table("attachments")
    op.drop_index(op.f("ix_media_device_id_created_at"), table_name="media")
    op.drop_index(op.f("ix_media_created_at"), table_name="media")
    op.drop_table("media")

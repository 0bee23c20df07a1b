"""SMPP connector memory and spam flags

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:40:00

The SMPP connector's record of what each SMSC accepted (smpp_submits), receipts that
came before it (smpp_early_receipts), parts of inbound texts still waiting for their
siblings (smpp_parts); and every spam flag and clear of a line (line_flags).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "smpp_submits",
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("part", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("smsc_id", sa.String(length=65), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("smpp_status", sa.Integer(), nullable=True),
        sa.Column("stat", sa.String(length=16), nullable=True),
        sa.Column("submitted_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "part", name=op.f("pk_smpp_submits")),
    )
    op.create_index(
        op.f("ix_smpp_submits_connector_smsc_id"), "smpp_submits", ["connector", "smsc_id"]
    )
    op.create_table(
        "smpp_early_receipts",
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("smsc_id", sa.String(length=65), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("stat", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "smsc_id", name=op.f("pk_smpp_early_receipts")),
    )
    op.create_index(
        op.f("ix_smpp_early_receipts_received_at"), "smpp_early_receipts", ["received_at"]
    )
    op.create_table(
        "smpp_parts",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=21), nullable=False),
        sa.Column("destination", sa.String(length=21), nullable=False),
        sa.Column("reference", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("wide", sa.Boolean(), nullable=False),
        sa.Column("data_coding", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_parts")),
    )
    op.create_index(
        op.f("ix_smpp_parts_connector_source_destination_reference_total_seq"),
        "smpp_parts",
        ["connector", "source", "destination", "reference", "total", "seq"],
        unique=True,
    )
    op.create_table(
        "line_flags",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_flags")),
    )
    op.create_index(op.f("ix_line_flags_device_id_id"), "line_flags", ["device_id", "id"])


def downgrade() -> None:
    op.drop_table("line_flags")
    op.drop_table("smpp_parts")
    op.drop_table("smpp_early_receipts")
    op.drop_table("smpp_submits")

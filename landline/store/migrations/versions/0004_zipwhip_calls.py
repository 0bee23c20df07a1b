"""Profiles, signatures, groups, blocking and the contact fields old Zipwhip clients send

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTACT_TEXT = (
    "business_name",
    "job_title",
    "address_line1",
    "address_line2",
    "country",
    "custom1",
    "custom2",
)


def upgrade() -> None:
    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature", sa.Text(), nullable=True))
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        for name in CONTACT_TEXT:
            batch_op.add_column(sa.Column(name, sa.String(255), nullable=True))
        batch_op.add_column(
            sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocked", sa.Boolean(), nullable=True))
    op.create_table(
        "profiles",
        sa.Column("device_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("operator_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_name", sa.String(255), nullable=True),
        sa.Column("last_name", sa.String(255), nullable=True),
        sa.Column("business_name", sa.String(255), nullable=True),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("phone_key", sa.String(255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("loc", sa.String(255), nullable=True),
        sa.Column("zipcode", sa.String(32), nullable=True),
        sa.Column("birthday", sa.String(32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "operator_id", name=op.f("pk_profiles")),
    )
    op.create_table(
        "groups",
        sa.Column("device_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "id", name=op.f("pk_groups")),
    )
    op.create_table(
        "group_members",
        sa.Column("device_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("group_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "device_id", "group_id", "number", name=op.f("pk_group_members")
        ),
    )


def downgrade() -> None:
    op.drop_table("group_members")
    op.drop_table("groups")
    op.drop_table("profiles")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("blocked")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("blocked")
        for name in reversed(CONTACT_TEXT):
            batch_op.drop_column(name)
    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.drop_column("signature")

"""coupons and coupon_issuances (DESIGN §6)

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("total_stock", sa.Integer, nullable=False),
        sa.Column("starts_at", _TZ, nullable=True),
        sa.Column("ends_at", _TZ, nullable=True),
        sa.Column("created_at", _TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("total_stock >= 1", name="ck_coupons_total_stock"),
    )
    op.create_table(
        "coupon_issuances",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column(
            "event_id",
            sa.Text,
            sa.ForeignKey("coupons.id", name="fk_issuances_coupon"),
            nullable=False,
        ),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("coupon_code", sa.Text, nullable=False),
        sa.Column("issued_at", _TZ, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False, server_default=""),
        sa.Column("persisted_at", _TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("event_id", "user_id", name="uq_issuances_event_user"),
        sa.UniqueConstraint("event_id", "slot", name="uq_issuances_event_slot"),
        sa.CheckConstraint("slot >= 1", name="ck_issuances_slot"),
    )


def downgrade() -> None:
    op.drop_table("coupon_issuances")
    op.drop_table("coupons")

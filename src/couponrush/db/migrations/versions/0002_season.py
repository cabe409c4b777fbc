"""a season of sales: archived events, create definitions, coupon states, tokens, audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    _events()
    _coupon_states()
    _tokens()
    _audit()


def _events() -> None:
    # Events: archived ones, and the definition of the create request (a repeated create
    # with the same definition answers 200), newest first for the paged list.
    op.add_column("coupons", sa.Column("archived_at", _TZ, nullable=True))
    op.add_column("coupons", sa.Column("definition", sa.Text, nullable=True))
    newest = [sa.text("created_at DESC"), sa.text("id DESC")]
    op.create_index("ix_coupons_newest", "coupons", newest)


def _coupon_states() -> None:
    # Coupons after the sale: issued -> redeemed (once, for one order) or revoked.
    op.add_column(
        "coupon_issuances",
        sa.Column("state", sa.Text, nullable=False, server_default="issued"),
    )
    op.add_column("coupon_issuances", sa.Column("order_id", sa.Text, nullable=True))
    op.add_column("coupon_issuances", sa.Column("redeemed_at", _TZ, nullable=True))
    op.add_column("coupon_issuances", sa.Column("revoked_at", _TZ, nullable=True))
    op.add_column("coupon_issuances", sa.Column("revoke_reason", sa.Text, nullable=True))
    op.create_check_constraint(
        "ck_issuances_state", "coupon_issuances", "state IN ('issued', 'redeemed', 'revoked')"
    )
    op.create_unique_constraint("uq_issuances_coupon_code", "coupon_issuances", ["coupon_code"])


def _tokens() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("created_at", _TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("revoked_at", _TZ, nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
        sa.CheckConstraint("scope IN ('admin', 'redeemer', 'viewer')", name="ck_api_tokens_scope"),
    )


def _audit() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("at", _TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("token_id", sa.BigInteger, nullable=True),
        sa.Column("token_name", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("detail", postgresql.JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("ix_audit_target", "audit_log", ["target", sa.text("id DESC")])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("api_tokens")
    op.drop_constraint("uq_issuances_coupon_code", "coupon_issuances")
    op.drop_constraint("ck_issuances_state", "coupon_issuances")
    for column in ("revoke_reason", "revoked_at", "redeemed_at", "order_id", "state"):
        op.drop_column("coupon_issuances", column)
    op.drop_index("ix_coupons_newest", "coupons")
    for column in ("definition", "archived_at"):
        op.drop_column("coupons", column)

"""the fair opening: an event's opening (mode, pre-queue, admission, proof) and its seed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The opening's fields as the event's meta hash holds them (core.event.opening_meta),
    # seed and commitment included, so that a restore keeps the commitment it published.
    # NULL: first come, first served.
    op.add_column("coupons", sa.Column("opening", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("coupons", "opening")

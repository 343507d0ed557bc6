"""OpenID4VP transactions in the database: the EU and NL wallet verifier (issue 16).

- ``openid4vp_transactions``: one presentation request to a wallet, from the QR code or the
  button until the wallet answered and the result was collected. Changed only by
  compare-and-set on ``state``, so a request object is served once and a response taken once
  on any node. Keyed by the SHA-256 of the secret transaction id; ``request_id`` is the
  public id the wallet sees. Everything else (nonce, query, sealed response key, sealed
  verified identity) is in ``sealed``, sealed with the vault key ring.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Frozen: later changes go in new revisions, never here. A new table: nodes still on the
previous version neither read nor write it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "openid4vp_transactions",
        sa.Column("transaction_digest", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("transaction_digest", name="pk_openid4vp_transactions"),
        sa.UniqueConstraint("request_id", name="uq_openid4vp_transactions_request_id"),
    )
    op.create_index(
        "ix_openid4vp_transactions_expires_at", "openid4vp_transactions", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_openid4vp_transactions_expires_at", "openid4vp_transactions")
    op.drop_table("openid4vp_transactions")

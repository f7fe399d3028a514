"""Who may use the service: organisations, users with one role each, API tokens stored as hashes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``organisations``, ``users`` and ``api_tokens``."""
    op.create_table("organisations", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("name", sa.String(128), nullable=False, unique=True),
                    sa.Column("partner", sa.Boolean(), nullable=False, server_default=sa.false()),
                    sa.Column("created_at", TZ, nullable=False))
    op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("username", sa.String(64), nullable=False, unique=True),
                    sa.Column("org_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=False),
                    sa.Column("role", sa.String(16), nullable=False),
                    sa.Column("password_hash", sa.Text(), nullable=False),
                    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
                    sa.Column("created_at", TZ, nullable=False),
                    sa.CheckConstraint("role IN ('admin', 'analyst', 'reviewer', 'partner')", name="ck_users_role"))
    op.create_table("api_tokens", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
                    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
                    sa.Column("prefix", sa.String(16), nullable=False),
                    sa.Column("created_at", TZ, nullable=False),
                    sa.Column("expires_at", TZ, nullable=False),
                    sa.Column("revoked_at", TZ, nullable=True))
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])


def downgrade() -> None:
    """Drop them (newest first)."""
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("organisations")

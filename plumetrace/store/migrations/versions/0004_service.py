"""The analyst service: jobs and their uploads, web sessions, login attempts, plans, survey samples, hit details.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the service's tables; add ``hits.details`` and ``source_estimates.posterior``."""
    with op.batch_alter_table("hits") as batch:
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
    with op.batch_alter_table("source_estimates") as batch:
        batch.add_column(sa.Column("posterior", sa.JSON(), nullable=True))
    op.create_table("uploads", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
                    sa.Column("filename", sa.String(255), nullable=False),
                    sa.Column("size", sa.Integer(), nullable=False),
                    sa.Column("data", sa.LargeBinary(), nullable=False),
                    sa.Column("created_at", TZ, nullable=False))
    op.create_table("jobs", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("kind", sa.String(32), nullable=False),
                    sa.Column("status", sa.String(16), nullable=False),
                    sa.Column("stage", sa.String(64), nullable=False, server_default="queued"),
                    sa.Column("progress", sa.Float(), nullable=False, server_default="0"),
                    sa.Column("message", sa.Text(), nullable=True),
                    sa.Column("content_hash", sa.String(64), nullable=False),
                    sa.Column("upload_id", sa.Integer(), sa.ForeignKey("uploads.id"), nullable=False),
                    sa.Column("survey_id", sa.Integer(), nullable=True),
                    sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
                    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
                    sa.Column("created_at", TZ, nullable=False),
                    sa.Column("started_at", TZ, nullable=True),
                    sa.Column("finished_at", TZ, nullable=True),
                    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="ck_jobs_status"))
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_content_hash", "jobs", ["content_hash"])
    op.create_table("web_sessions", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("session_hash", sa.String(64), nullable=False, unique=True),
                    sa.Column("csrf_token", sa.String(64), nullable=False),
                    sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
                    sa.Column("created_at", TZ, nullable=False),
                    sa.Column("expires_at", TZ, nullable=False),
                    sa.Column("revoked_at", TZ, nullable=True))
    op.create_table("login_attempts", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("username", sa.String(64), nullable=False),
                    sa.Column("client", sa.String(64), nullable=False),
                    sa.Column("ok", sa.Boolean(), nullable=False),
                    sa.Column("at", TZ, nullable=False))
    op.create_index("ix_login_attempts_at", "login_attempts", ["at"])
    op.create_table("plans", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("name", sa.String(128), nullable=False),
                    sa.Column("kind", sa.String(32), nullable=False),
                    sa.Column("flight_min", sa.Float(), nullable=False),
                    sa.Column("paths", sa.JSON(), nullable=False),
                    sa.Column("document", sa.JSON(), nullable=True),
                    sa.Column("meta", sa.JSON(), nullable=True),
                    sa.Column("created_at", TZ, nullable=False))
    op.create_table("survey_samples", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", ondelete="CASCADE"),
                              nullable=False, unique=True),
                    sa.Column("columns", sa.JSON(), nullable=False),
                    sa.Column("stride", sa.Integer(), nullable=False),
                    sa.Column("n", sa.Integer(), nullable=False),
                    sa.Column("data", sa.LargeBinary(), nullable=False))


def downgrade() -> None:
    """Drop them (newest first)."""
    op.drop_table("survey_samples")
    op.drop_table("plans")
    op.drop_index("ix_login_attempts_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_table("web_sessions")
    op.drop_index("ix_jobs_content_hash", table_name="jobs")
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("uploads")
    with op.batch_alter_table("source_estimates") as batch:
        batch.drop_column("posterior")
    with op.batch_alter_table("hits") as batch:
        batch.drop_column("details")

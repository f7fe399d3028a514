"""Leads shared with partner authorities, their events, partner service targets, and the hash-chained audit log.

``audit_log`` is append-only in the database too: a trigger refuses UPDATE and DELETE on SQLite and on PostgreSQL
(where it is a PL/pgSQL function), so the application cannot rewrite history; ``plumetrace audit verify``
detects whatever is done around it (rows changed with the trigger dropped, inserted, deleted or reordered).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
STATES = "('draft', 'reviewed', 'shared', 'acknowledged', 'actioned', 'closed')"
TLP = "('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')"


def upgrade() -> None:
    """Create ``partner_settings``, ``leads``, ``lead_events``, ``lead_recipients`` and ``audit_log``."""
    op.create_table("partner_settings", sa.Column("org_id", sa.Integer(), sa.ForeignKey("organisations.id"),
                                                  primary_key=True),
                    sa.Column("sla_hours", sa.JSON(), nullable=False),
                    sa.Column("webhook_url", sa.Text(), nullable=True),
                    sa.Column("webhook_secret", sa.String(128), nullable=True))
    op.create_table("leads", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("site_id", sa.Integer(), nullable=False),
                    sa.Column("title", sa.String(200), nullable=False),
                    sa.Column("state", sa.String(16), nullable=False),
                    sa.Column("tlp", sa.String(16), nullable=False, server_default="AMBER"),
                    sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
                    sa.Column("reviewer_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
                    sa.Column("partner_org_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=True),
                    sa.Column("snapshot", sa.JSON(), nullable=False),
                    sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
                    sa.Column("action_kind", sa.String(32), nullable=True),
                    sa.Column("outcome", sa.String(32), nullable=True),
                    sa.Column("created_at", TZ, nullable=False),
                    sa.Column("reviewed_at", TZ, nullable=True),
                    sa.Column("shared_at", TZ, nullable=True),
                    sa.Column("acknowledged_at", TZ, nullable=True),
                    sa.Column("actioned_at", TZ, nullable=True),
                    sa.Column("closed_at", TZ, nullable=True),
                    sa.Column("updated_at", TZ, nullable=False),
                    sa.CheckConstraint(f"state IN {STATES}", name="ck_leads_state"),
                    sa.CheckConstraint(f"tlp IN {TLP}", name="ck_leads_tlp"))
    op.create_index("ix_leads_partner_org_id", "leads", ["partner_org_id"])
    op.create_table("lead_recipients", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("lead_id", sa.Integer(), sa.ForeignKey("leads.id"), nullable=False),
                    sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
                    sa.UniqueConstraint("lead_id", "user_id", name="uq_lead_recipients"))
    op.create_table("lead_events", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("lead_id", sa.Integer(), sa.ForeignKey("leads.id"), nullable=False, index=True),
                    sa.Column("kind", sa.String(32), nullable=False),
                    sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
                    sa.Column("comment", sa.Text(), nullable=True),
                    sa.Column("detail", sa.JSON(), nullable=True),
                    sa.Column("at", TZ, nullable=False))
    op.create_table("audit_log", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("seq", sa.Integer(), nullable=False, unique=True),
                    sa.Column("at", sa.String(40), nullable=False),
                    sa.Column("actor", sa.String(64), nullable=False),
                    sa.Column("action", sa.String(64), nullable=False),
                    sa.Column("subject", sa.String(128), nullable=False),
                    sa.Column("detail", sa.Text(), nullable=False),
                    sa.Column("prev_hash", sa.String(64), nullable=False),
                    sa.Column("hash", sa.String(64), nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "RAISE EXCEPTION 'audit_log is append-only'; END $$")
        op.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
    else:
        op.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
        op.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def downgrade() -> None:
    """Drop them (newest first)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("audit_log")
    op.drop_table("lead_events")
    op.drop_table("lead_recipients")
    op.drop_index("ix_leads_partner_org_id", table_name="leads")
    op.drop_table("leads")
    op.drop_table("partner_settings")

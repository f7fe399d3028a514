"""Initial schema: settings, platforms, surveys, hits, source estimates, evidence maps, sites, site evidence.

On PostgreSQL the PostGIS extension is enabled and ``sites`` and ``source_estimates`` get a generated
``geom geometry(Point, 4326)`` column with a GiST index.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables (and the PostGIS columns on PostgreSQL)."""
    op.create_table("settings", sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text()))
    op.create_table("platforms", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("name", sa.String(128), unique=True))
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("platform_id", sa.Integer(), sa.ForeignKey("platforms.id"), nullable=True),
        sa.Column("start_time", sa.Float(), nullable=False),
        sa.Column("end_time", sa.Float(), nullable=False),
        sa.Column("n_samples", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("wind_source", sa.String(64), nullable=True),
        sa.Column("stability", sa.String(4), nullable=True),
        sa.Column("east_min", sa.Float(), nullable=False),
        sa.Column("east_max", sa.Float(), nullable=False),
        sa.Column("north_min", sa.Float(), nullable=False),
        sa.Column("north_max", sa.Float(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("ingested_at", TZ, nullable=False),
    )
    op.create_index("ix_surveys_content_hash", "surveys", ["content_hash"], unique=True)
    op.create_table(
        "hits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("t_start", sa.Float(), nullable=False),
        sa.Column("t_end", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("peak_sigma", sa.Float(), nullable=False),
        sa.Column("source_class", sa.String(64), nullable=False),
        sa.Column("class_probability", sa.Float(), nullable=False),
    )
    op.create_index("ix_hits_survey_id", "hits", ["survey_id"])
    op.create_table(
        "source_estimates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("east", sa.Float(), nullable=False),
        sa.Column("north", sa.Float(), nullable=False),
        sa.Column("height_m", sa.Float(), nullable=False),
        sa.Column("species", sa.String(64), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("rate_g_s", sa.Float(), nullable=False),
        sa.Column("rate_lo_g_s", sa.Float(), nullable=False),
        sa.Column("rate_hi_g_s", sa.Float(), nullable=False),
        sa.Column("radius90_m", sa.Float(), nullable=False),
        sa.Column("credible90_geojson", sa.JSON(), nullable=True),
        sa.Column("log_bayes", sa.Float(), nullable=False),
        sa.Column("source_class", sa.String(64), nullable=False),
        sa.Column("class_probability", sa.Float(), nullable=False),
        sa.Column("building_id", sa.String(128), nullable=True),
        sa.Column("building_probability", sa.Float(), nullable=True),
    )
    op.create_index("ix_source_estimates_survey_id", "source_estimates", ["survey_id"])
    op.create_index("ix_source_estimates_lat", "source_estimates", ["lat"])
    op.create_index("ix_source_estimates_lon", "source_estimates", ["lon"])
    op.create_table(
        "evidence_maps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("species", sa.String(64), nullable=False),
        sa.Column("x0", sa.Float(), nullable=False),
        sa.Column("y0", sa.Float(), nullable=False),
        sa.Column("step", sa.Float(), nullable=False),
        sa.Column("nx", sa.Integer(), nullable=False),
        sa.Column("ny", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_evidence_maps_survey_id", "evidence_maps", ["survey_id"])
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("east", sa.Float(), nullable=False),
        sa.Column("north", sa.Float(), nullable=False),
        sa.Column("radius90_m", sa.Float(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("species", sa.JSON(), nullable=False),
        sa.Column("log_bayes", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("activity", sa.String(16), nullable=False),
        sa.Column("source_class", sa.String(64), nullable=False),
        sa.Column("building_id", sa.String(128), nullable=True),
        sa.Column("rate_g_s", sa.Float(), nullable=True),
        sa.Column("first_seen", sa.Float(), nullable=True),
        sa.Column("last_seen", sa.Float(), nullable=True),
        sa.Column("n_covering", sa.Integer(), nullable=False),
        sa.Column("n_detected", sa.Integer(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_sites_lat", "sites", ["lat"])
    op.create_index("ix_sites_lon", "sites", ["lon"])
    op.create_table(
        "site_evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("log_bf", sa.Float(), nullable=True),
        sa.Column("detected", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_site_evidence_site_id", "site_evidence", ["site_id"])
    op.create_index("ix_site_evidence_survey_id", "site_evidence", ["survey_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        for table in ("sites", "source_estimates"):
            op.execute(f"ALTER TABLE {table} ADD COLUMN geom geometry(Point, 4326) "
                       "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED")
            op.execute(f"CREATE INDEX ix_{table}_geom ON {table} USING GIST (geom)")


def downgrade() -> None:
    """Drop everything this revision created (the PostGIS extension stays: other schemas may use it)."""
    for table in ("site_evidence", "sites", "evidence_maps", "source_estimates", "hits", "surveys", "platforms",
                  "settings"):
        op.drop_table(table)

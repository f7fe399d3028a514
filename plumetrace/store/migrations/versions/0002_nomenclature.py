"""One vocabulary (docs/nomenclature.md): store columns named like the JSON keys of contract 3.

``source_estimates``: ``radius90_m`` → ``credible90_radius_m``, ``rate_lo_g_s`` / ``rate_hi_g_s`` →
``rate_ci90_low_g_s`` / ``rate_ci90_high_g_s``, ``credible90_geojson`` → ``credible90``; ``sites``:
``radius90_m`` → ``credible90_radius_m``; ``surveys`` gains ``preset`` (the locator preset used). Data are kept.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RENAMES = {
    "source_estimates": [("radius90_m", "credible90_radius_m"), ("rate_lo_g_s", "rate_ci90_low_g_s"),
                         ("rate_hi_g_s", "rate_ci90_high_g_s"), ("credible90_geojson", "credible90")],
    "sites": [("radius90_m", "credible90_radius_m")],
}


def upgrade() -> None:
    """Rename the columns (batch mode: SQLite rebuilds the table) and add ``surveys.preset``."""
    for table, pairs in RENAMES.items():
        with op.batch_alter_table(table) as batch:
            for old, new in pairs:
                batch.alter_column(old, new_column_name=new)
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("preset", sa.String(32), nullable=True))


def downgrade() -> None:
    """Back to the names of revision 0001."""
    with op.batch_alter_table("surveys") as batch:
        batch.drop_column("preset")
    for table, pairs in RENAMES.items():
        with op.batch_alter_table(table) as batch:
            for old, new in pairs:
                batch.alter_column(new, new_column_name=old)

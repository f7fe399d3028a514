"""The store: SQLite (embedded default) or PostgreSQL/PostGIS, with Alembic migrations."""

from plumetrace.store.db import DEFAULT_URL, Store, resolve_url

__all__ = ["DEFAULT_URL", "Store", "resolve_url"]

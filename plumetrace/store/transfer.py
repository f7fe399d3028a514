"""Copy a whole store into another: the embedded SQLite store of a demo or a field laptop onto the team's server.

Every row of every table, in foreign-key order, in one transaction on the target.

The target must be an empty store at the same schema revision (it is migrated on opening). On PostgreSQL the
id sequences are moved past the copied ids, so that new rows do not collide. The audit trail is copied as it is,
with its chain head, so ``plumetrace audit verify`` on the copy checks the same chain.
"""

from __future__ import annotations

from sqlalchemy import func, select, text

from plumetrace.exceptions import InputError
from plumetrace.store.db import Store
from plumetrace.store.models import Base

__all__ = ["copy_store"]


def copy_store(source: Store, target: Store) -> dict[str, int]:
    """Copy every row of ``source`` into the empty store ``target``; returns the rows copied per table."""
    if source.revision() != target.revision():
        raise InputError(f"the stores are at schema revisions {source.revision()} and {target.revision()}")
    counts: dict[str, int] = {}
    with source.engine.connect() as src, target.engine.begin() as dst:
        for table in Base.metadata.sorted_tables:
            if dst.scalar(select(func.count()).select_from(table)):
                raise InputError(f"the target store is not empty: its table {table.name} has rows")
        for table in Base.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in src.execute(table.select())]
            if rows:
                dst.execute(table.insert(), rows)
            counts[table.name] = len(rows)
            if target.dialect == "postgresql" and "id" in table.c:
                dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                 f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"))
    return counts

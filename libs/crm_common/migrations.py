"""Schema migrations: versioned SQL files for PostgreSQL, index specs for MongoDB.

`migrate_pg` applies the platform tables (crm_common/sql) and then each service's `NNNN_name.sql`
files in order, once each, under an advisory lock so replicas and a migration Job can all call it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import asyncpg
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

__all__ = ["PLATFORM_MONGO_INDEXES", "ensure_mongo_indexes", "migrate_pg"]

log = logging.getLogger(__name__)

# Any constant works as long as every caller uses the same one ("crm:migrate" as a 64-bit integer).
_ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"crm:migrate").digest()[:8], "big", signed=True)
_FILE_RE = re.compile(r"^(\d{4,})_([A-Za-z0-9_\-]+)\.sql$")

_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    scope       text        NOT NULL,
    version     text        NOT NULL,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, version)
)
"""

SqlDir = Path | Traversable | tuple[str, Path | Traversable]


def _scope_of(folder: Path | Traversable) -> str:
    # "<package>/<folder>" stays the same whether the files come from the source tree or an installed
    # wheel (services/loyalty/migrations and site-packages/loyalty/migrations both give "loyalty/...").
    parent = getattr(folder, "parent", None)
    return f"{parent.name}/{folder.name}" if parent is not None and parent.name else folder.name


def _files(folder: Path | Traversable) -> list[tuple[str, str, str]]:
    found = []
    for entry in folder.iterdir():
        match = _FILE_RE.match(entry.name)
        if match and entry.is_file():
            found.append((match.group(1), match.group(2), entry.read_text(encoding="utf-8")))
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {folder}")
    return sorted(found)


async def migrate_pg(dsn: str, *sql_dirs: SqlDir) -> list[str]:
    """Apply pending migrations; return the ones applied now as "scope:NNNN_name" (empty when current).

    Each item of `sql_dirs` is a folder (scope "<parent>/<name>") or a `(scope, folder)` pair. Every
    file runs in its own transaction together with its schema_migrations row, so a failing file leaves
    nothing half-applied and the next run starts there. A file whose text changed after it was applied
    is reported, not re-run: write a new file instead.
    """
    platform = resources.files("crm_common") / "sql"
    dirs: list[tuple[str, Path | Traversable]] = [("crm_common/sql", platform)]
    for item in sql_dirs:
        dirs.append(item if isinstance(item, tuple) else (_scope_of(item), item))

    applied: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        # Session-level lock: held across all files, released in finally (or when the connection dies).
        await conn.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK_KEY)
        try:
            await conn.execute(_BOOTSTRAP)
            rows = await conn.fetch("SELECT scope, version, name, checksum FROM schema_migrations")
            done = {(r["scope"], r["version"]): r for r in rows}
            for scope, folder in dirs:
                for version, name, sql in _files(folder):
                    checksum = hashlib.sha256(sql.encode()).hexdigest()
                    previous = done.get((scope, version))
                    if previous is not None:
                        if previous["checksum"] != checksum:
                            log.warning("migration %s:%s_%s changed after it was applied", scope, version, name)
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (scope, version, name, checksum) VALUES ($1, $2, $3, $4)",
                            scope,
                            version,
                            name,
                            checksum,
                        )
                    log.info("applied migration %s:%s_%s", scope, version, name)
                    applied.append(f"{scope}:{version}_{name}")
        finally:
            if not conn.is_closed():
                await conn.execute("SELECT pg_advisory_unlock($1)", _ADVISORY_LOCK_KEY)
    finally:
        await conn.close()
    return applied


# Platform collections of a MongoDB-backed service (outbox, inbox, dead letters, relay leader lock).
PLATFORM_MONGO_INDEXES: dict[str, list[IndexModel]] = {
    "outbox": [
        # Covers the relay's query and its sort (created_at, then the time-ordered _id of rows added together).
        IndexModel([("source", ASCENDING), ("sent_at", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("sent_at", ASCENDING)]),
    ],
    "processed_events": [
        IndexModel([("consumer", ASCENDING), ("event_id", ASCENDING)], unique=True),
    ],
    "dead_letters": [
        IndexModel([("consumer", ASCENDING), ("event_id", ASCENDING)], unique=True),
    ],
}


async def ensure_mongo_indexes(db: AsyncDatabase, specs: Mapping[str, Iterable[IndexModel]]) -> None:
    """Create the platform collections' indexes and then the service's own (idempotent)."""
    for name, models in [*PLATFORM_MONGO_INDEXES.items(), *specs.items()]:
        models = list(models)
        if models:
            await db[name].create_indexes(models)

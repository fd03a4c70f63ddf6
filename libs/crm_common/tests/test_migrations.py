"""PostgreSQL migrations against the embedded server: order, idempotence, concurrent runners."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from crm_common.migrations import ensure_mongo_indexes, migrate_pg


def _service_migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "shop" / "migrations"
    folder.mkdir(parents=True)
    (folder / "0002_add_price.sql").write_text("ALTER TABLE items ADD COLUMN price_fen bigint NOT NULL DEFAULT 0;")
    (folder / "0001_items.sql").write_text("CREATE TABLE items (id text PRIMARY KEY);")
    (folder / "README.md").write_text("not a migration")
    return folder


async def test_migrations_apply_in_order_once(pg_dsn_factory: Callable[[str], str], tmp_path: Path) -> None:
    dsn = pg_dsn_factory("mig_once")
    folder = _service_migrations(tmp_path)

    first = await migrate_pg(dsn, folder)
    second = await migrate_pg(dsn, folder)

    assert first == [
        "crm_common/sql:0001_platform",
        "shop/migrations:0001_items",
        "shop/migrations:0002_add_price",
    ]
    assert second == []
    conn = await asyncpg.connect(dsn)
    try:
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        assert {"outbox", "processed_events", "dead_letters", "jobs", "schema_migrations", "items"} <= tables
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 3
    finally:
        await conn.close()


async def test_concurrent_migrate_calls_do_not_fail(pg_dsn_factory: Callable[[str], str], tmp_path: Path) -> None:
    dsn = pg_dsn_factory("mig_concurrent")
    folder = _service_migrations(tmp_path)

    results = await asyncio.gather(*(migrate_pg(dsn, folder) for _ in range(5)))

    applied = [versions for versions in results if versions]
    assert len(applied) == 1 and len(applied[0]) == 3


async def test_failing_migration_leaves_nothing_half_applied(
    pg_dsn_factory: Callable[[str], str], tmp_path: Path
) -> None:
    dsn = pg_dsn_factory("mig_failing")
    folder = tmp_path / "bad" / "migrations"
    folder.mkdir(parents=True)
    (folder / "0001_half.sql").write_text("CREATE TABLE half (id int); SELECT 1/0;")

    with pytest.raises(asyncpg.DataError):
        await migrate_pg(dsn, folder)

    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE scope = 'bad/migrations'") == 0
    finally:
        await conn.close()


async def test_mongo_platform_indexes_are_created(mongo_uri_factory: Callable[[str], str]) -> None:
    from pymongo import AsyncMongoClient, IndexModel

    client: AsyncMongoClient = AsyncMongoClient(mongo_uri_factory("mig_mongo"))
    try:
        db = client.get_default_database()
        await ensure_mongo_indexes(db, {"members": [IndexModel([("brand_id", 1), ("phone", 1)], unique=True)]})
        await ensure_mongo_indexes(db, {})  # idempotent
        inbox = await db["processed_events"].index_information()
        assert any(spec.get("unique") and spec["key"] == [("consumer", 1), ("event_id", 1)] for spec in inbox.values())
        assert len(await db["members"].index_information()) == 2  # _id + ours
    finally:
        await client.close()

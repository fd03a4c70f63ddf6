"""The embedded servers start, answer, persist across a NATS restart, and yield to URL overrides."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pymongo
import pytest

from crm_devstack.infra import Infra, ensure_database, replace_db_in_url
from crm_devstack.registry import StackPorts, load_dev_secrets, service_env


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    """This module's own Infra: it restarts NATS, so it does not share the session one."""
    with Infra(tmp_path_factory.mktemp("devstack"), fsync=False) as infra:
        yield infra


async def test_postgres_answers_select_1(servers: Infra) -> None:
    conn = await asyncpg.connect(servers.pg_admin_dsn)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert int(await conn.fetchval("SHOW max_connections")) == 300
    finally:
        await conn.close()


async def test_ensure_database_creates_once_then_is_a_no_op(servers: Infra) -> None:
    assert await ensure_database(servers.pg_admin_dsn, "crm_idempotent") is True
    assert await ensure_database(servers.pg_admin_dsn, "crm_idempotent") is False
    conn = await asyncpg.connect(servers.pg_dsn_for("crm_idempotent"))
    try:
        assert await conn.fetchval("SELECT current_database()") == "crm_idempotent"
    finally:
        await conn.close()


def test_mongo_transaction_commits_two_inserts(servers: Infra) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(servers.mongo_uri_for("crm_tx"))
    try:
        db = client.get_default_database()
        assert db.name == "crm_tx"
        with client.start_session() as session, session.start_transaction():
            db.members.insert_one({"_id": "m1"}, session=session)
            db.outbox.insert_one({"_id": "e1", "member": "m1"}, session=session)
        assert db.members.count_documents({}) == 1
        assert db.outbox.count_documents({}) == 1
    finally:
        client.close()


async def test_jetstream_publish_is_acked_and_survives_restart(servers: Infra) -> None:
    nc = await nats.connect(servers.nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="DEVSTACK", subjects=["devstack.>"])
        ack = await js.publish("devstack.hello", b"one", headers={"Nats-Msg-Id": "m-1"})
        assert ack.stream == "DEVSTACK" and ack.seq == 1
    finally:
        await nc.close()

    port_before = servers.nats_url
    await servers.arestart_nats()
    assert servers.nats_url == port_before

    nc = await nats.connect(servers.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("DEVSTACK")
        assert info.state.messages == 1  # the stream and its data were recovered from the store dir
        ack = await js.publish("devstack.hello", b"two")
        assert ack.seq == 2
    finally:
        await nc.close()


def test_sync_restart_nats_keeps_the_same_url(servers: Infra) -> None:
    url = servers.nats_url
    servers.restart_nats()
    assert servers.nats_url == url
    assert [p.name for p in servers.processes].count("nats") == 1


def test_env_urls_are_used_and_nothing_is_started(servers: Infra, tmp_path: Path) -> None:
    environ = {
        "CRM_PG_DSN": servers.pg_admin_dsn,
        "CRM_NATS_URL": servers.nats_url,
        "CRM_MONGO_URI": servers.mongo_uri,
    }
    with Infra(tmp_path, environ=environ) as reused:
        assert reused.embedded == frozenset()
        assert reused.processes == []
        assert reused.nats_url == servers.nats_url
        assert reused.pg_dsn_for("crm_x") == servers.pg_dsn_for("crm_x")
    assert not (tmp_path / "nats").exists() and not (tmp_path / "pg").exists()


def test_only_the_overridden_server_is_skipped(servers: Infra, tmp_path: Path) -> None:
    with Infra(tmp_path, environ={"CRM_NATS_URL": servers.nats_url}, fsync=False) as partial:
        assert partial.embedded == frozenset({"postgres", "mongo"})
        assert partial.nats_url == servers.nats_url
        assert sorted(p.name for p in partial.processes) == ["mongo", "postgres"]
    assert not (tmp_path / "nats").exists()


def test_stop_leaves_no_child_running(tmp_path: Path) -> None:
    infra = Infra(tmp_path, fsync=False).start()
    procs = infra.processes
    assert len(procs) == 3
    infra.stop()
    assert all(not p.running for p in procs)


def test_replace_db_keeps_host_and_query() -> None:
    uri = "mongodb://127.0.0.1:1234/?directConnection=true"
    assert replace_db_in_url(uri, "crm_members") == "mongodb://127.0.0.1:1234/crm_members?directConnection=true"
    assert replace_db_in_url("postgresql://u:p@h:5/postgres?sslmode=disable", "crm_loyalty") == (
        "postgresql://u:p@h:5/crm_loyalty?sslmode=disable"
    )


def test_service_env_gives_each_service_its_own_database(servers: Infra) -> None:
    ports = StackPorts.from_base(20000)
    loyalty = service_env("loyalty", servers, ports, environ={"OTEL_SERVICE_NAME": "x"})
    members = service_env("members", servers, ports, environ={})
    assert loyalty["CRM_PG_DSN"].endswith("/crm_loyalty")
    assert "CRM_MONGO_URI" not in loyalty and "CRM_PG_DSN" not in members
    assert members["CRM_MONGO_URI"].split("?")[0].endswith("/crm_members")
    assert loyalty["CRM_GRPC_PORT"] == "20002" and loyalty["CRM_METRICS_PORT"] == "20012"
    assert loyalty["CRM_MEMBERS_ADDR"] == "127.0.0.1:20001"
    assert loyalty["OTEL_SERVICE_NAME"] == "x"
    assert loyalty["CRM_ENV"] == "dev" and loyalty["CRM_ADMIN_PASSWORD"] == "admin"
    # Dev secrets are generated once and reused by every service and every restart.
    assert loyalty["CRM_JWT_SECRET"] == members["CRM_JWT_SECRET"]
    assert load_dev_secrets(servers.data_dir)["CRM_PII_KEY"] == members["CRM_PII_KEY"]
    prod = service_env("loyalty", servers, ports, environ={"CRM_ENV": "prod"})
    assert "CRM_JWT_SECRET" not in prod and "CRM_ADMIN_PASSWORD" not in prod


def test_pytest_plugin_fixtures_work_from_async_tests(tmp_path: Path) -> None:
    """Run a tiny test session that uses every fixture of ``crm_common.testing``."""
    (tmp_path / "test_uses_fixtures.py").write_text(textwrap.dedent(
        """
        import asyncpg, nats, nats.errors, nats.js.errors, pymongo

        async def test_all(pg_dsn_factory, mongo_uri_factory, nats_url, nats_restart):
            dsn = pg_dsn_factory("test.module-a")
            assert dsn.endswith("/test_module_a")
            assert pg_dsn_factory("test.module-a").endswith("/test_module_a_2")
            conn = await asyncpg.connect(dsn)
            assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname='public'") == 0
            await conn.close()
            client = pymongo.MongoClient(mongo_uri_factory("members"))
            assert client.get_default_database().name == "members"
            client.close()
            nc = await nats.connect(nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
            await nc.jetstream().add_stream(name="P", subjects=["p.>"])
            nats_restart()
            # The client notices the restart only on its next I/O; like the outbox relay, retry to a PubAck.
            for _ in range(50):
                try:
                    ack = await nc.jetstream().publish("p.x", b"after restart", timeout=1)
                    break
                except (nats.errors.TimeoutError, nats.errors.ConnectionClosedError,
                        nats.js.errors.NoStreamResponseError):
                    continue
            assert ack.stream == "P"
            await nc.close()
        """
    ))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "crm_common.testing", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", "/dev/null",
         "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=session",
         "-o", "asyncio_default_test_loop_scope=session", str(tmp_path)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr

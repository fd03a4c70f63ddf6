"""Pytest plugin: real PostgreSQL, NATS JetStream and MongoDB-wire servers, started once per session.

Enable with ``pytest_plugins = ["crm_common.testing"]``. Servers start on free ports in a temp dir (or come
from ``CRM_PG_DSN`` / ``CRM_NATS_URL`` / ``CRM_MONGO_URI``). The fixtures are synchronous on purpose: they are
subprocess work, and sync fixtures are usable from async tests on any event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crm_devstack.infra import Infra, InfraError, recreate_database, run_coro_sync


def _db_name(name: str, used: set[str]) -> str:
    """A valid, session-unique database name derived from ``name`` (e.g. a module's ``__name__``)."""
    base = re.sub(r"[^a-z0-9_]", "_", name.lower()).strip("_")[:50] or "db"
    if not base[0].isalpha():
        base = f"t_{base}"
    candidate, n = base, 1
    while candidate in used:  # two modules asking for the same name must not share a database
        n += 1
        candidate = f"{base}_{n}"
    used.add(candidate)
    return candidate


@contextlib.contextmanager
def server_data_dir(name: str) -> Iterator[Path]:
    """A private temp folder for embedded servers' data, removed afterwards.

    Not under pytest's basetemp: pytest resets ``/tmp/pytest-of-<user>`` to 0700 whenever a session
    starts, which would lock out PostgreSQL's own system user (it cannot run as root) mid-run.
    """
    path = Path(tempfile.mkdtemp(prefix=f"crm-{name}-"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """One `Infra` for the whole session: free ports, a temp data dir (logs under ``logs/``), fsync off."""
    with server_data_dir("infra") as data_dir:
        server = Infra(data_dir, fsync=False)
        # Started in the main thread: children die with the thread that spawned them.
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def pg_dsn_factory(infra: Infra) -> Callable[[str], str]:
    """``factory(name) -> DSN`` of a freshly (re)created, empty database on the session's server."""
    used: set[str] = set()

    def factory(name: str) -> str:
        dbname = _db_name(name, used)
        # In its own thread and loop, so it also works when called from inside an async test.
        run_coro_sync(recreate_database(infra.pg_admin_dsn, dbname))
        return infra.pg_dsn_for(dbname)

    return factory


@pytest.fixture(scope="session")
def nats_url(infra: Infra) -> str:
    """URL of the session's NATS server (JetStream enabled)."""
    return infra.nats_url


@pytest.fixture(scope="session")
def mongo_uri_factory(infra: Infra) -> Callable[[str], str]:
    """``factory(name) -> URI`` whose default database is fresh (dropped if a previous run left it)."""
    import pymongo

    used: set[str] = set()

    def factory(name: str) -> str:
        dbname = _db_name(name, used)
        uri = infra.mongo_uri_for(dbname)
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(uri)
        try:
            client.drop_database(dbname)
        finally:
            client.close()
        return uri

    return factory


@pytest.fixture(scope="session")
def nats_restart(infra: Infra) -> Callable[[], None]:
    """``restart()`` stops the NATS server and starts it again on the same port and store.

    It blocks until NATS accepts connections again (well under a second); clients then reconnect on
    their own, which is exactly what a test of consumer resilience wants to observe.
    """

    def restart() -> None:
        try:
            infra.restart_nats()
        except InfraError as exc:
            # Only an embedded NATS can be restarted; with CRM_NATS_URL the server is not ours to stop.
            pytest.skip(f"NATS restart needs the embedded server: {exc}")

    return restart


async def eventually(probe: Callable[[], Awaitable[Any]], check: Callable[[Any], bool], *, timeout: float = 30.0,
                     interval: float = 0.2) -> Any:
    """Poll ``probe`` until ``check`` holds for its result (events are applied asynchronously); return it."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not check(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)
        value = await probe()
    return value

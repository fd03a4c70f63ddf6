"""Members through the gateway, on a real socket: lookup by phone (`GET /v1/brands/{b}/members?phone=`) vs a raw
pymongo ``find_one`` loop on the same embedded MongoDB-wire server, and vs a bare FastAPI JSON route served the
same way (plus the members service alone, the same audited ``SearchMembers`` over gRPC, to show which layer costs
what). Two callers look up: a till with its store's POS key (the volume path; it sees phones masked, so nothing is
audited) and a brand admin, who sees PII, so every read also stores its audit entry before it is answered. Then
import rows/s (a CSV uploaded to ``POST /member-imports`` until the job is done) vs raw
``insert_many`` of documents shaped exactly like the imported ones.

Lookups are measured first, in steady state: LOOKUPS members come in through the real import, the collection is
padded to a realistic size with raw documents of another brand, and the import's events are relayed before the
clock starts (a relay draining a backlog would load the server under both sides).

Deployed as in production and ``make dev``: the members service, the gateway and the bare FastAPI app each run in
their own process (``python -m members``, ``python -m gateway``, uvicorn); this process is only the load generator
and the baseline's driver, so the gateway no longer shares one interpreter with the client that loads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from bench.harness import Result, measure, progress, report, spread
from crm.members.v1 import members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common import grpc_client
from crm_common.testing import server_data_dir
from crm_devstack.infra import Infra, ManagedProcess, free_port
from crm_devstack.runner import wait_grpc_serving, wait_http_ok

CONCURRENCY = 16
# The embedded MongoDB-wire server is slow and shares the machine; BENCH_MEMBERS_ROWS shrinks the import for a
# quick look on a busy host (the figure that counts is the ratio, which both sides share).
LOOKUPS = int(os.environ.get("BENCH_MEMBERS_LOOKUPS", "1000"))
ROUNDS = int(os.environ.get("BENCH_MEMBERS_ROUNDS", "3"))
IMPORT_ROWS = int(os.environ.get("BENCH_MEMBERS_ROWS", "20000"))
RAW_BATCH = 1_000  # the import's own batch size (members.adapters.imports.BATCH)
PAD_ROWS = int(os.environ.get("BENCH_MEMBERS_PAD", "20000"))  # other members in the collection during lookups
LOOKUP_PHONES = 500_000_000  # the lookup members' phones start at 13500000000, apart from the import rounds
JWT_SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
PII_KEY = "bench-pii-key-not-a-real-secret"
ROOT = Path(__file__).resolve().parent.parent


def bare_app() -> FastAPI:
    """The bare baseline: one FastAPI JSON route, no middleware, no backend (``uvicorn --factory``)."""
    app = FastAPI()

    @app.get("/members")
    async def members(phone: str) -> dict[str, Any]:
        return {"items": [{"id": "m", "phone": phone}], "next_cursor": None}

    return app


@contextlib.asynccontextmanager
async def _process(name: str, argv: list[str], env: dict[str, str], logs: Path) -> AsyncIterator[ManagedProcess]:
    proc = ManagedProcess(
        name, argv, log_path=logs / f"{name}.log", env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, cwd=ROOT
    )
    await asyncio.to_thread(proc.start)
    try:
        yield proc
    finally:
        await asyncio.to_thread(proc.stop)


class _RawHttp:
    """A minimal HTTP/1.1 keep-alive GET client for the lookup loops: one connection per worker, no pool.

    The load generator shares the machine's two cores with what it measures; httpx spends about as much CPU per
    request as a bare FastAPI route (and retries a failing ``import sniffio`` on every one), which the subject
    would pay for. Both HTTP subjects (the gateway and the bare route) are driven with this same client.
    """

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.prefix = f"Host: {host}:{port}\r\n{extra}Accept: application/json\r\n\r\n".encode()
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path`` (already URL-encoded); the status and the body."""
        request = b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.prefix
        while self.idle:
            conn = self.idle.pop()
            conn[1].write(request)
            try:
                return await self._answer(conn)
            except (asyncio.IncompleteReadError, ConnectionError):
                conn[1].close()  # the server closed it while idle (uvicorn's keep-alive timeout): next one
        conn = await asyncio.open_connection(self.host, self.port)
        conn[1].write(request)
        return await self._answer(conn)

    async def _answer(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> tuple[int, bytes]:
        reader = conn[0]
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = next(int(v) for k, _, v in (h.partition(b":") for h in lines[1:]) if k.lower() == b"content-length")
        body = await reader.readexactly(length)
        self.idle.append(conn)
        return status, body

    async def close(self) -> None:
        """Close every idle connection."""
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _spread(call: Callable[[int], Awaitable[object]], n: int) -> None:
    await spread(call, n, concurrency=CONCURRENCY)


def _csv(start: int, rows: int, store_id: str) -> bytes:
    lines = ["phone,name,gender,store_id,tags"]
    lines += [f"13{start + i:09d},会员{i},female,{store_id},bench" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


async def run() -> list[str]:
    """Start embedded MongoDB-wire + NATS, then members, the gateway and the bare app as processes; measure."""
    progress("members: starting embedded MongoDB-wire server and NATS")
    with server_data_dir("bench-members") as tmp:
        # PostgreSQL is not needed: an override in the given environment keeps Infra from starting it.
        infra = Infra(
            tmp, fsync=False, environ={"CRM_PG_DSN": "postgresql://unused@127.0.0.1:1/unused"}, progress=progress
        )
        await infra.astart()
        try:
            return await _run(infra, Path(tmp) / "logs")
        finally:
            await infra.astop()


async def _run(infra: Infra, logs: Path) -> list[str]:
    from gateway.auth import TokenIssuer

    dbname = f"bench_members_{uuid.uuid4().hex[:6]}"
    members_addr = f"127.0.0.1:{free_port()}"
    gateway_port, bare_port = free_port(), free_port()
    members_env = {
        "CRM_ENV": "test",
        "CRM_SERVICE_NAME": "members",
        "CRM_MONGO_URI": infra.mongo_uri_for(dbname),
        "CRM_NATS_URL": infra.nats_url,
        "CRM_GRPC_PORT": members_addr.rsplit(":", 1)[1],
        "CRM_PII_KEY": PII_KEY,
        "CRM_ADMIN_PASSWORD": "bench-admin-password",
        "CRM_SHUTDOWN_GRACE_SECONDS": "1",
        "CRM_LOG_LEVEL": "WARNING",
    }
    gateway_env = {
        "CRM_ENV": "test",
        "CRM_SERVICE_NAME": "gateway",
        "CRM_JWT_SECRET": JWT_SECRET,
        "CRM_SESSION_STORE": "memory",
        "CRM_NATS_URL": infra.nats_url,
        "CRM_MEMBERS_ADDR": members_addr,
        "CRM_GATEWAY_PORT": str(gateway_port),
        "CRM_RATE_LIMIT_PER_MINUTE": "10000000",
        "CRM_RATE_LIMIT_BURST": "1000000",
        "CRM_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024),
        "CRM_RPC_TIMEOUT_SECONDS": "60",
        "CRM_SHUTDOWN_GRACE_SECONDS": "1",
        "CRM_LOG_LEVEL": "WARNING",
    }
    bare_argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "bench.bench_members:bare_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(bare_port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    async with (
        _process("members", [sys.executable, "-m", "members"], members_env, logs) as members_proc,
        _process("gateway", [sys.executable, "-m", "gateway"], gateway_env, logs) as gateway_proc,
        _process("bare", bare_argv, {}, logs) as bare_proc,
    ):
        await wait_grpc_serving(members_addr, members_proc)
        gateway_url, bare_url = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{bare_port}"
        await wait_http_ok(f"{gateway_url}/healthz", gateway_proc)
        await wait_http_ok(f"{bare_url}/members?phone=1", bare_proc)
        progress(f"members: service, gateway and bare app up in their own processes (logs in {logs})")
        stub, channel = grpc_client.stub(MembersServiceStub, members_addr, service="members", timeout=60.0)
        brand = await stub.CreateBrand(
            members_pb2.CreateBrandRequest(code=f"bench{uuid.uuid4().hex[:6]}", name="Bench")
        )
        store = await stub.CreateStore(members_pb2.CreateStoreRequest(brand_id=brand.id, code="s1", name="S1"))
        await channel.close()
        token = TokenIssuer(JWT_SECRET, 3600).issue(
            staff_id="bench-admin", role="brand_admin", brand_id=brand.id, store_ids=()
        )
        headers = {"Authorization": f"Bearer {token}"}
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_uri_for(dbname), tz_aware=True)
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        try:
            async with (
                httpx.AsyncClient(base_url=gateway_url, headers=headers, timeout=120, limits=limits) as gw,
                httpx.AsyncClient(base_url=bare_url, timeout=60, limits=limits) as bare,
            ):
                return await _measure(gw, bare, mongo, brand.id, store.id, members_addr)
        finally:
            await mongo.close()


async def _import(gw: httpx.AsyncClient, brand_id: str, data: bytes) -> dict[str, Any]:
    r = await gw.post(f"/v1/brands/{brand_id}/member-imports", files={"file": ("members.csv", data, "text/csv")})
    r.raise_for_status()
    job_id = r.json()["id"]
    while True:
        status = (await gw.get(f"/v1/brands/{brand_id}/member-imports/{job_id}")).json()
        if status["status"] in ("done", "failed"):
            return status
        await asyncio.sleep(0.05)


async def _measure(
    gw: httpx.AsyncClient,
    bare: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
    brand_id: str,
    store_id: str,
    members_addr: str,
) -> list[str]:
    members = mongo.get_default_database()["members"]
    # Lookups first, in steady state. The members they look up come through the real import (LOOKUPS rows), the
    # rest of a realistic collection is padded in raw (no events); then the import's MemberRegistered events are
    # relayed before measuring, so the relay draining a backlog does not load the server during the lookups.
    seed = await _import(gw, brand_id, _csv(LOOKUP_PHONES, LOOKUPS, store_id))
    assert seed["imported"] == LOOKUPS, seed
    template = await members.find_one({"brand_id": brand_id})
    assert template is not None
    await _raw_insert(members, template, PAD_ROWS)
    outbox = mongo.get_default_database()["outbox"]
    for _ in range(1200):
        if not await outbox.count_documents({"sent_at": None}):
            break
        await asyncio.sleep(0.5)
    progress(f"members: {LOOKUPS:,} members imported, {PAD_ROWS:,} padded in raw, outbox drained")
    phones = [f"13{LOOKUP_PHONES + i:09d}" for i in range(LOOKUPS)]
    hashes = [d["phone_hash"] async for d in members.find({"brand_id": brand_id}, {"phone_hash": 1}).limit(LOOKUPS)]
    created = await gw.post(f"/v1/brands/{brand_id}/stores/{store_id}/api-keys", json={"name": "bench till"})
    created.raise_for_status()
    lookups = await _lookups(gw, bare, members, brand_id, phones, hashes, members_addr, created.json()["key"])

    imported, raw = Result("gateway import", []), Result("raw insert_many", [])
    for r in range(ROUNDS):
        data = _csv(r * IMPORT_ROWS, IMPORT_ROWS, store_id)
        started = time.perf_counter()
        status = await _import(gw, brand_id, data)
        imported.rounds.append(IMPORT_ROWS / (time.perf_counter() - started))
        assert status["imported"] == IMPORT_ROWS, status
        progress(f"  import via gateway: round {r + 1}/{ROUNDS}: {imported.rounds[-1]:,.0f} rows/s")
        raw.rounds.append(await _raw_insert(members, template, IMPORT_ROWS))
        progress(f"  raw insert_many: round {r + 1}/{ROUNDS}: {raw.rounds[-1]:,.0f} rows/s")
    return [*lookups, report(f"members import rows/s ({IMPORT_ROWS:,}-row CSV via gateway)", imported, raw, goal=0.5)]


async def _raw_insert(members: Any, template: dict[str, Any], rows: int) -> float:
    """The same documents the import wrote (one imported member, re-keyed), into the same collection and indexes
    under another brand, in the import's batch size; rows/s."""
    raw_brand = f"raw-{uuid.uuid4().hex[:6]}"
    docs = []
    for i in range(rows):
        doc = copy.copy(template)
        doc.update(_id=uuid.uuid4().hex, brand_id=raw_brand, phone_hash=f"{raw_brand}:{i}")
        docs.append(doc)
    started = time.perf_counter()
    for k in range(0, rows, RAW_BATCH):
        await members.insert_many(docs[k : k + RAW_BATCH], ordered=False)
    return rows / (time.perf_counter() - started)


async def _lookups(
    gw: httpx.AsyncClient,
    bare: httpx.AsyncClient,
    members: Any,
    brand_id: str,
    phones: list[str],
    hashes: list[str],
    members_addr: str,
    till_key: str,
) -> list[str]:
    gw_raw = _RawHttp(str(gw.base_url).rstrip("/"), {"Authorization": gw.headers["Authorization"]})
    till_raw = _RawHttp(str(gw.base_url).rstrip("/"), {"X-API-Key": till_key})
    bare_raw = _RawHttp(str(bare.base_url).rstrip("/"))

    def via(client: _RawHttp, masked: bool) -> Callable[[int], Awaitable[None]]:
        async def lookups(n: int) -> None:
            async def one(i: int) -> None:
                status, body = await client.get(f"/v1/brands/{brand_id}/members?phone={phones[i % len(phones)]}")
                assert status == 200, body
                [item] = json.loads(body)["items"]
                assert ("****" in item["phone"]) is masked, item

            await _spread(one, n)

        return lookups

    via_till, via_staff = via(till_raw, masked=True), via(gw_raw, masked=False)

    async def via_driver(n: int) -> None:
        async def one(i: int) -> None:
            doc = await members.find_one({"brand_id": brand_id, "phone_hash": hashes[i % len(hashes)]})
            assert doc is not None

        await _spread(one, n)

    async def via_bare(n: int) -> None:
        async def one(i: int) -> None:
            status, _ = await bare_raw.get(f"/members?phone={phones[i % len(phones)]}")
            assert status == 200

        await _spread(one, n)

    # The members service alone (the same SearchMembers call the gateway makes, audited): which layer costs what.
    stub, channel = grpc_client.stub(MembersServiceStub, members_addr, service="members", timeout=60.0)
    access = members_pb2.PiiAccess(actor_id="bench-admin", purpose="GET /v1/brands/{brand_id}/members")

    async def via_grpc(n: int) -> None:
        async def one(i: int) -> None:
            request = members_pb2.SearchMembersRequest(brand_id=brand_id, phone=phones[i % len(phones)], access=access)
            assert len((await stub.SearchMembers(request)).members) == 1

        await _spread(one, n)

    till, staff = Result("till via gateway", []), Result("staff via gateway", [])
    driver, fastapi = Result("pymongo find_one", []), Result("bare FastAPI", [])
    service = Result("members gRPC", [])
    progress("members: lookup by phone")
    try:
        for _ in range(ROUNDS):  # alternate so machine noise hits all alike
            till.rounds += (await measure("till (POS key) GET /members?phone=", via_till, ops=LOOKUPS, rounds=1)).rounds
            staff.rounds += (await measure("staff (PII rights) GET /members?phone=", via_staff, ops=LOOKUPS,
                                           rounds=1)).rounds
            driver.rounds += (await measure("pymongo find_one", via_driver, ops=LOOKUPS, rounds=1)).rounds
            fastapi.rounds += (await measure("bare FastAPI route", via_bare, ops=LOOKUPS, rounds=1)).rounds
            service.rounds += (await measure("members SearchMembers over gRPC", via_grpc, ops=LOOKUPS, rounds=1)).rounds
    finally:
        for client in (gw_raw, till_raw, bare_raw):
            await client.close()
        await channel.close()
    return [
        report("members lookup by phone at the till (POS key → gateway → gRPC → Mongo; masked)", till, driver,
               goal=0.5),
        # The goal is the till's row: a lookup by phone is the till's volume path. Staff reads of unmasked PII
        # must also store an audit entry before answering, which the baseline's find_one does not do.
        report("members lookup by phone by staff with PII rights (unmasked; each read audited)", staff, driver),
        report("members lookup by phone at the till vs a bare FastAPI JSON route", till, fastapi),
        report("members lookup by phone, members service alone over gRPC (audited)", service, driver),
    ]

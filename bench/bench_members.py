"""Members through the gateway, on a real socket: lookup by phone (`GET /v1/brands/{b}/members?phone=`) vs a raw
pymongo ``find_one`` loop on the same embedded MongoDB-wire server, and vs a bare FastAPI JSON route served the
same way; and import rows/s (a 20k-row CSV uploaded to ``POST /member-imports`` until the job is done) vs raw
``insert_many`` of documents shaped exactly like the imported ones. Everything runs in this process and loop."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from bench.harness import Result, measure, progress, report, spread
from crm.members.v1 import members_pb2
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common import grpc_client
from crm_common.grpc_server import serving
from crm_common.testing import server_data_dir
from crm_devstack.infra import Infra

CONCURRENCY = 16
# The embedded MongoDB-wire server is slow and shares the machine; BENCH_MEMBERS_ROWS shrinks the import for a
# quick look on a busy host (the figure that counts is the ratio, which both sides share).
LOOKUPS = int(os.environ.get("BENCH_MEMBERS_LOOKUPS", "1000"))
ROUNDS = 3
IMPORT_ROWS = int(os.environ.get("BENCH_MEMBERS_ROWS", "20000"))
RAW_BATCH = 1_000  # the import's own batch size (members.adapters.imports.BATCH)
JWT_SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
PII_KEY = "bench-pii-key-not-a-real-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _http_server(app: Any) -> AsyncIterator[str]:
    """``app`` under uvicorn on a free local port (lifespan on); yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # surfaces a startup failure
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/members")
    async def members(phone: str) -> dict[str, Any]:
        return {"items": [{"id": "m", "phone": phone}], "next_cursor": None}

    return app


async def _spread(call: Callable[[int], Awaitable[object]], n: int) -> None:
    await spread(call, n, concurrency=CONCURRENCY)


def _csv(start: int, rows: int, store_id: str) -> bytes:
    lines = ["phone,name,gender,store_id,tags"]
    lines += [f"13{start + i:09d},会员{i},female,{store_id},bench" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


async def run() -> list[str]:
    """Start embedded MongoDB-wire + NATS, members and the gateway in-process, measure; return report rows."""
    progress("members: starting embedded MongoDB-wire server and NATS")
    with server_data_dir("bench-members") as tmp:
        # PostgreSQL is not needed: an override in the given environment keeps Infra from starting it.
        infra = Infra(tmp, fsync=False, environ={"CRM_PG_DSN": "postgresql://unused@127.0.0.1:1/unused"},
                      progress=progress)
        await infra.astart()
        try:
            return await _run(infra)
        finally:
            await infra.astop()


async def _run(infra: Infra) -> list[str]:
    from gateway.app import create_app
    from gateway.auth import TokenIssuer
    from gateway.settings import GatewaySettings
    from members.bootstrap import Settings, build

    dbname = f"bench_members_{uuid.uuid4().hex[:6]}"
    settings = Settings(mongo_uri=infra.mongo_uri_for(dbname), nats_url=infra.nats_url, env="test", grpc_port=0,
                        pii_key=PII_KEY, admin_password="bench-admin-password", shutdown_grace_seconds=1.0)
    async with serving(await build(settings), settings) as members_addr:
        stub, channel = grpc_client.stub(MembersServiceStub, members_addr, service="members", timeout=60.0)
        brand = await stub.CreateBrand(members_pb2.CreateBrandRequest(code=f"bench{uuid.uuid4().hex[:6]}",
                                                                      name="Bench"))
        store = await stub.CreateStore(members_pb2.CreateStoreRequest(brand_id=brand.id, code="s1", name="S1"))
        await channel.close()
        gw_settings = GatewaySettings(
            env="test", jwt_secret=JWT_SECRET, session_store="memory", members_addr=members_addr,
            rate_limit_per_minute=10_000_000, rate_limit_burst=1_000_000, max_upload_bytes=64 * 1024 * 1024,
            rpc_timeout_seconds=60.0,
        )
        token = TokenIssuer(JWT_SECRET, 3600).issue(staff_id="bench-admin", role="brand_admin", brand_id=brand.id,
                                                    store_ids=())
        headers = {"Authorization": f"Bearer {token}"}
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_uri_for(dbname), tz_aware=True)
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        try:
            async with (
                _http_server(create_app(gw_settings)) as gateway_url,
                _http_server(_bare_app()) as bare_url,
                httpx.AsyncClient(base_url=gateway_url, headers=headers, timeout=120, limits=limits) as gw,
                httpx.AsyncClient(base_url=bare_url, timeout=60, limits=limits) as bare,
            ):
                return await _measure(gw, bare, mongo, brand.id, store.id)
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


async def _measure(gw: httpx.AsyncClient, bare: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]],
                   brand_id: str, store_id: str) -> list[str]:
    members = mongo.get_default_database()["members"]
    imported, raw = Result("gateway import", []), Result("raw insert_many", [])
    template: dict[str, Any] | None = None
    for r in range(ROUNDS):
        data = _csv(r * IMPORT_ROWS, IMPORT_ROWS, store_id)
        started = time.perf_counter()
        status = await _import(gw, brand_id, data)
        imported.rounds.append(IMPORT_ROWS / (time.perf_counter() - started))
        assert status["imported"] == IMPORT_ROWS, status
        progress(f"  import via gateway: round {r + 1}/{ROUNDS}: {imported.rounds[-1]:,.0f} rows/s")
        if template is None:
            template = await members.find_one({"brand_id": brand_id})
            assert template is not None
        # The same documents the import wrote (one imported member, re-keyed), into the same collection and
        # indexes under another brand, in the import's batch size.
        raw_brand = f"raw-{uuid.uuid4().hex[:6]}"
        docs = []
        for i in range(IMPORT_ROWS):
            doc = copy.copy(template)
            doc.update(_id=uuid.uuid4().hex, brand_id=raw_brand, phone_hash=f"{raw_brand}:{i}")
            docs.append(doc)
        started = time.perf_counter()
        for k in range(0, IMPORT_ROWS, RAW_BATCH):
            await members.insert_many(docs[k:k + RAW_BATCH], ordered=False)
        raw.rounds.append(IMPORT_ROWS / (time.perf_counter() - started))
        progress(f"  raw insert_many: round {r + 1}/{ROUNDS}: {raw.rounds[-1]:,.0f} rows/s")

    phones = [f"13{i:09d}" for i in range(0, IMPORT_ROWS, max(1, IMPORT_ROWS // LOOKUPS))]
    hashes = [d["phone_hash"] async for d in members.find({"brand_id": brand_id}, {"phone_hash": 1}).limit(LOOKUPS)]

    async def via_gateway(n: int) -> None:
        async def one(i: int) -> None:
            r = await gw.get(f"/v1/brands/{brand_id}/members", params={"phone": phones[i % len(phones)]})
            assert r.status_code == 200 and len(r.json()["items"]) == 1, r.text

        await _spread(one, n)

    async def via_driver(n: int) -> None:
        async def one(i: int) -> None:
            doc = await members.find_one({"brand_id": brand_id, "phone_hash": hashes[i % len(hashes)]})
            assert doc is not None

        await _spread(one, n)

    async def via_bare(n: int) -> None:
        async def one(i: int) -> None:
            r = await bare.get("/members", params={"phone": phones[i % len(phones)]})
            assert r.status_code == 200

        await _spread(one, n)

    lookup, driver, fastapi = Result("gateway", []), Result("pymongo find_one", []), Result("bare FastAPI", [])
    progress("members: lookup by phone")
    for _ in range(ROUNDS):  # alternate so machine noise hits all alike
        lookup.rounds += (await measure("gateway GET /members?phone=", via_gateway, ops=LOOKUPS, rounds=1)).rounds
        driver.rounds += (await measure("pymongo find_one", via_driver, ops=LOOKUPS, rounds=1)).rounds
        fastapi.rounds += (await measure("bare FastAPI route", via_bare, ops=LOOKUPS, rounds=1)).rounds
    return [
        report("members lookup by phone via gateway (HTTP→gRPC→Mongo, audited)", lookup, driver, goal=0.5),
        report("members lookup by phone via gateway vs bare FastAPI JSON route", lookup, fastapi),
        report(f"members import rows/s ({IMPORT_ROWS:,}-row CSV via gateway)", imported, raw, goal=0.5),
    ]

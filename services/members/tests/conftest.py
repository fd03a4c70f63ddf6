"""The members service in-process on real gRPC, MongoDB-wire and NATS JetStream: one per test module, each on a
database of its own (named after the module)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common.grpc_client import stub
from crm_common.grpc_server import serving
from members.bootstrap import Settings, build

ADMIN_PASSWORD = "admin-test-password"


def uid() -> str:
    """A short test-unique id."""
    return uuid.uuid4().hex[:10]


def phone() -> str:
    """A valid, test-unique Chinese mobile number (139 + 8 random digits)."""
    return "139" + str(uuid.uuid4().int % 10**8).zfill(8)


@pytest_asyncio.fixture(scope="module")
async def settings(
    request: pytest.FixtureRequest, mongo_uri_factory: Callable[[str], str], nats_url: str
) -> Settings:
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return Settings(
        mongo_uri=mongo_uri_factory(module),
        nats_url=nats_url,
        env="test",
        pii_key="test-pii-key-not-a-real-secret",
        admin_password=ADMIN_PASSWORD,
        grpc_port=0,
    )


@pytest_asyncio.fixture(scope="module")
async def service(settings: Settings) -> AsyncIterator[Any]:
    svc = await build(settings)
    async with serving(svc, settings) as address:
        svc.extra["address"] = address
        yield svc


@pytest_asyncio.fixture(scope="module")
async def client(service: Any) -> AsyncIterator[MembersServiceStub]:
    members_stub, channel = stub(MembersServiceStub, service.extra["address"], service="members", timeout=60.0)
    yield members_stub
    await channel.close()


@pytest_asyncio.fixture(scope="module")
async def db(settings: Settings) -> AsyncIterator[Any]:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    yield mongo.get_default_database()
    await mongo.close()

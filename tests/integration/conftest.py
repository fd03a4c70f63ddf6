"""Black-box helpers over the whole suite (the `stack` fixture lives in tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from crm_common.testing import eventually
from crm_devstack.runner import Stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the gateway (no credentials)."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        yield client


async def login(api: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    """Authorization headers for a staff login."""
    resp = await api.post("/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture(scope="session")
async def admin(api: httpx.AsyncClient, stack_admin_password: str) -> dict[str, str]:
    """Headers of the bootstrap group admin."""
    return await login(api, "admin", stack_admin_password)


_counter = 0


def unique(prefix: str) -> str:
    """A code unique within this test session."""
    global _counter
    _counter += 1
    return f"{prefix}{os.getpid()}x{_counter}"


def phone(n: int) -> str:
    """A valid mainland mobile number, distinct per ``n``."""
    return f"139{n:08d}"


class Kit:
    """Small helpers the integration tests share (fixtures, because test modules are not importable)."""

    eventually = staticmethod(eventually)
    unique = staticmethod(unique)
    phone = staticmethod(phone)
    login = staticmethod(login)


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit


@pytest.fixture(scope="session")
async def brand(api: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    """A brand with one store, shared by tests that only need somewhere to register members."""
    resp = await api.post("/v1/brands", json={"code": unique("b"), "name": "Integration 品牌"}, headers=admin)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    store = await api.post(
        f"/v1/brands/{body['id']}/stores",
        json={"code": unique("s"), "name": "静安店", "city": "上海", "lat": 31.22, "lng": 121.45},
        headers=admin,
    )
    assert store.status_code == 201, store.text
    return {"id": body["id"], "store_id": store.json()["id"]}

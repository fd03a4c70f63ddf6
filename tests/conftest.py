"""Fixtures shared by the whole-stack test layers (integration and browser)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from crm_common.testing import server_data_dir
from crm_devstack.runner import Stack, start_stack

STACK_ADMIN_PASSWORD = "integration-admin-pw"


@pytest.fixture(scope="session")
def stack_admin_password() -> str:
    """The bootstrap group admin's password in the test stack."""
    return STACK_ADMIN_PASSWORD


@pytest.fixture(scope="session")
async def stack() -> AsyncIterator[Stack]:
    """The whole suite started exactly as `make dev` starts it (free ports), once per session."""
    environ = {
        **os.environ,
        "CRM_ENV": "dev",
        "CRM_ADMIN_PASSWORD": STACK_ADMIN_PASSWORD,
        # One stack serves every whole-stack test (schemathesis and the CDNOW replay included), mostly as the
        # same admin; rate limits have their own tests in gateway/tests/test_ratelimit.py.
        "CRM_RATE_LIMIT_PER_MINUTE": "1000000",
        "CRM_RATE_LIMIT_BURST": "100000",
        "CRM_LOGIN_RATE_LIMIT_PER_MINUTE": "100000",
        "CRM_API_KEY_RATE_LIMIT_PER_MINUTE": "100000",
        # An empty quiet-hours window: campaigns send whatever the hour the tests run at (dev keeps 21:00–09:00).
        "CRM_QUIET_HOURS_START": "00:00",
        "CRM_QUIET_HOURS_END": "00:00",
    }
    for key in ("CRM_PG_DSN", "CRM_NATS_URL", "CRM_MONGO_URI"):
        environ.pop(key, None)  # the suite must prove it starts its own servers
    for key in [k for k in environ if k.startswith("CRM_SMS_")]:
        environ.pop(key)  # never a real SMS provider from a test: campaigns send to the stack's SMS sandbox
    with server_data_dir("stack") as data_dir:
        running = await start_stack(data_dir, ports=None, fsync=False, environ=environ)
        try:
            yield running
        finally:
            await running.stop()



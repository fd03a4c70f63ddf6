"""The composition root refuses development secrets in production before touching any server."""

from __future__ import annotations

import pytest

from members.bootstrap import Settings, build

URI = "mongodb://127.0.0.1:1/crm_members"


async def test_production_refuses_the_default_pii_key() -> None:
    settings = Settings(mongo_uri=URI, env="production", admin_password="a-real-admin-password")
    with pytest.raises(SystemExit):
        await build(settings)


async def test_production_refuses_the_default_admin_password() -> None:
    settings = Settings(mongo_uri=URI, env="production", pii_key="a-real-pii-key-from-the-vault")
    with pytest.raises(SystemExit):
        await build(settings)


def test_dev_defaults_are_allowed_outside_production() -> None:
    settings = Settings(mongo_uri=URI, env="dev")
    assert settings.service_name == "members" and settings.admin_password == "admin"

"""The role → permission table: who holds the admin-only loyalty and report permissions."""

from __future__ import annotations

import pytest

from gateway.auth import ROLE_PERMISSIONS, Permission, Role

ADMINS = {Role.GROUP_ADMIN, Role.BRAND_ADMIN}


@pytest.mark.parametrize("permission", [Permission.LOYALTY_ADMIN, Permission.REPORT_WRITE])
def test_loyalty_and_report_administration_belong_to_admins_only(permission):
    holders = {role for role, granted in ROLE_PERMISSIONS.items() if permission in granted}

    assert holders == ADMINS


def test_only_a_group_admin_creates_brands():
    holders = {role for role, granted in ROLE_PERMISSIONS.items() if Permission.BRAND_WRITE in granted}

    assert holders == {Role.GROUP_ADMIN}


def test_analysts_change_nothing():
    writes = {p for p in ROLE_PERMISSIONS[Role.ANALYST] if not p.value.endswith(":read")}

    assert writes == set()


def test_a_pos_key_holds_only_till_permissions():
    assert ROLE_PERMISSIONS[Role.POS] == {Permission.ORDER_WRITE, Permission.MEMBER_READ, Permission.COUPON_REDEEM}


async def test_who_am_i_lists_the_new_permissions_for_a_brand_admin(client, as_role):
    r = await client.get("/v1/auth/me", headers=as_role("brand_admin"))

    assert {"loyalty:admin", "report:write"} <= set(r.json()["permissions"])

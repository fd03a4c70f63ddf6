"""Token refresh re-checks the staff account with the members service (GetStaff).

Deactivation ends the session at the next refresh (401, session revoked, its access tokens refused at once);
a changed role or store list is carried into the new access token; a members outage is a 503 that spends
nothing, so the client's retry still works.
"""

from __future__ import annotations

import httpx
import jwt

CLERK = {"username": "clerk.a", "password": "clerk-pass"}


async def _login(client: httpx.AsyncClient) -> dict[str, str]:
    r = await client.post("/v1/auth/token", json=CLERK)
    assert r.status_code == 200, r.text
    return r.json()


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": token})


def _staff(backends, username: str = "clerk.a"):
    return backends.members.staff[username][1]


async def test_refresh_asks_the_members_service_for_the_account(client, backends):
    pair = await _login(client)

    r = await _refresh(client, pair["refresh_token"])

    assert r.status_code == 200, r.text
    assert backends.members.staff_lookups == [("brand-a", "staff-clerk-a")]


async def test_a_deactivated_account_cannot_refresh_and_its_session_ends(client, backends):
    pair = await _login(client)
    _staff(backends).active = False

    refused = await _refresh(client, pair["refresh_token"])
    _staff(backends).active = True  # even reactivated, that session is over
    again = await _refresh(client, pair["refresh_token"])
    still_open = await client.get("/v1/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"})

    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert again.status_code == 401
    assert still_open.status_code == 401  # the session's access token is revoked with it
    app = client._transport.app  # type: ignore[attr-defined]
    revoked = [e for e in app.state.audit.recent if e["action"] == "session.revoke"]
    assert [(e["actor"], e["outcome"]) for e in revoked] == [("staff:staff-clerk-a", "account_inactive")]


async def test_a_deleted_account_cannot_refresh(client, backends):
    pair = await _login(client)
    _staff(backends).id = "staff-someone-else"  # GetStaff now answers NOT_FOUND for the session's id

    r = await _refresh(client, pair["refresh_token"])

    assert r.status_code == 401


async def test_a_new_role_and_store_list_take_effect_on_refresh(client, backends):
    pair = await _login(client)
    staff = _staff(backends)
    staff.role = "store_manager"
    del staff.store_ids[:]
    staff.store_ids.extend(["store-a1", "store-a2"])

    r = await _refresh(client, pair["refresh_token"])
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    me = await client.get("/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    # And the next refresh token carries the new scope too.
    later = await _refresh(client, r.json()["refresh_token"])

    assert (claims["role"], claims["store_ids"]) == ("store_manager", ["store-a1", "store-a2"])
    assert me.json()["role"] == "store_manager"
    assert jwt.decode(later.json()["access_token"], options={"verify_signature": False})["role"] == "store_manager"


async def test_an_account_moved_to_another_brand_must_log_in_again(client, backends):
    pair = await _login(client)
    _staff(backends).brand_id = "brand-b"

    r = await _refresh(client, pair["refresh_token"])

    assert r.status_code == 401


async def test_a_members_outage_is_a_503_and_the_refresh_token_survives_it(client, backends):
    pair = await _login(client)
    backends.members.staff_unavailable = True

    down = await _refresh(client, pair["refresh_token"])
    backends.members.staff_unavailable = False
    retried = await _refresh(client, pair["refresh_token"])

    assert down.status_code == 503
    assert "mongodb" not in down.text
    assert retried.status_code == 200, retried.text

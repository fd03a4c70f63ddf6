"""Login, refresh, expiry, revocation, lockout and signing-key rotation."""

from __future__ import annotations

import asyncio
import time

import httpx
import jwt
import pytest

from gateway.app import create_app
from gateway.auth import TokenIssuer
from gateway.errors import ProblemError
from gateway.settings import GatewaySettings

PROBLEM = "application/problem+json"
ADMIN = {"username": "admin", "password": "admin-pass"}
OLD_KEY = "old-key-0123456789abcdef0123456789abcdef"
NEW_KEY = "new-key-0123456789abcdef0123456789abcdef"


async def _login(client: httpx.AsyncClient, creds: dict[str, str] = ADMIN) -> dict[str, str]:
    r = await client.post("/v1/auth/token", json=creds)
    assert r.status_code == 200, r.text
    return r.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _member_read(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/v1/brands/brand-a/members/m-a1", headers=_bearer(token))).status_code


async def test_login_answers_a_short_access_token_and_a_refresh_token(client):
    body = await _login(client)

    assert body["expires_in"] == 900
    assert body["refresh_token"] and body["refresh_expires_in"] > 13 * 24 * 3600
    header = jwt.get_unverified_header(body["access_token"])
    assert header == {"alg": "HS256", "kid": "k0", "typ": "JWT"}


async def test_refresh_gives_a_new_working_pair(client):
    first = await _login(client)

    r = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})

    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert await _member_read(client, second["access_token"]) == 200


async def test_a_reused_refresh_token_revokes_the_whole_session(client):
    first = await _login(client)
    rotated = (await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()

    replay = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})

    assert replay.status_code == 401
    assert replay.headers["content-type"] == PROBLEM
    # The thief's replay also ends the legitimate holder's session: neither token of it works any more.
    assert (await client.post("/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})).status_code == 401
    assert await _member_read(client, rotated["access_token"]) == 401
    assert await _member_read(client, first["access_token"]) == 401


async def test_an_unknown_refresh_token_is_401(client):
    r = await client.post("/v1/auth/refresh", json={"refresh_token": "nope.nope"})

    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM


async def test_logout_revokes_the_access_token_and_its_refresh_token(client):
    pair = await _login(client)
    assert await _member_read(client, pair["access_token"]) == 200

    out = await client.post("/v1/auth/logout", headers=_bearer(pair["access_token"]),
                            json={"refresh_token": pair["refresh_token"]})

    assert out.status_code == 204
    assert await _member_read(client, pair["access_token"]) == 401
    assert (await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status_code == 401


async def test_logout_of_one_session_leaves_another_session_working(client):
    laptop = await _login(client)
    tablet = await _login(client)

    await client.post("/v1/auth/logout", headers=_bearer(laptop["access_token"]))

    assert await _member_read(client, laptop["access_token"]) == 401
    assert await _member_read(client, tablet["access_token"]) == 200


async def test_an_expired_access_token_is_401_but_its_refresh_token_still_renews(settings):
    # 3 s, not 1: the renewed token must outlive a refresh + read on a loaded CI machine.
    short = settings.model_copy(update={"token_ttl_seconds": 3})
    app = create_app(short)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            pair = await _login(client)
            await asyncio.sleep(4.1)  # pyjwt compares whole seconds
            assert await _member_read(client, pair["access_token"]) == 401
            renewed = await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
            assert renewed.status_code == 200
            assert await _member_read(client, renewed.json()["access_token"]) == 200


async def test_five_failures_lock_the_username_with_retry_after_even_for_the_right_password(client):
    for _ in range(5):
        wrong = await client.post("/v1/auth/token", json={"username": "admin", "password": "nope"})
        assert wrong.status_code == 401

    locked = await client.post("/v1/auth/token", json=ADMIN)

    assert locked.status_code == 429
    assert locked.headers["content-type"] == PROBLEM
    assert locked.json()["type"].endswith("/account-locked")
    assert 0 < int(locked.headers["retry-after"]) <= 900
    # Other usernames are not affected.
    other = await client.post("/v1/auth/token", json={"username": "clerk.a", "password": "clerk-pass"})
    assert other.status_code == 200


async def test_an_unknown_username_locks_exactly_like_a_known_one(client):
    for _ in range(5):
        await client.post("/v1/auth/token", json={"username": "nobody", "password": "x"})

    r = await client.post("/v1/auth/token", json={"username": "nobody", "password": "x"})

    assert r.status_code == 429  # no way to tell existing usernames from made-up ones


async def test_a_success_before_the_limit_forgets_earlier_failures(client):
    for _ in range(4):
        await client.post("/v1/auth/token", json={"username": "admin", "password": "nope"})
    await _login(client)
    for _ in range(4):
        await client.post("/v1/auth/token", json={"username": "admin", "password": "nope"})

    assert (await client.post("/v1/auth/token", json=ADMIN)).status_code == 200


async def test_logins_are_audited_without_credentials(client):
    await client.post("/v1/auth/token", json={"username": "admin", "password": "wrong-pw-xyz"})
    await _login(client)

    events = client._transport.app.state.audit.recent  # type: ignore[attr-defined]
    assert [(e["action"], e["outcome"]) for e in events][-2:] == [("login", "failed"), ("login", "ok")]
    assert "wrong-pw-xyz" not in repr(events) and "admin-pass" not in repr(events)


async def test_who_am_i_returns_the_token_scope(client):
    pair = await _login(client, {"username": "clerk.a", "password": "clerk-pass"})

    me = (await client.get("/v1/auth/me", headers=_bearer(pair["access_token"]))).json()

    assert me["role"] == "clerk" and me["brand_id"] == "brand-a" and me["store_ids"] == ["store-a1"]
    assert me["sees_pii"] is False
    assert "order:write" in me["permissions"] and "report:read" not in me["permissions"]


# --- key rotation -----------------------------------------------------------------------------------------


def _settings(base: GatewaySettings, keys: dict[str, str], active: str) -> GatewaySettings:
    return base.model_copy(update={"jwt_keys": keys, "jwt_active_kid": active})


async def _with(settings: GatewaySettings, token: str) -> int:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            return await _member_read(client, token)


async def test_signing_keys_rotate_without_logging_anyone_out(settings):
    old_token = TokenIssuer({"k1": OLD_KEY}, 600).issue(staff_id="s", role="group_admin", brand_id="",
                                                        store_ids=())
    # Step 1: the new key is added for verification; k1 still signs.
    assert await _with(_settings(settings, {"k1": OLD_KEY, "k2": NEW_KEY}, "k1"), old_token) == 200
    # Step 2: k2 signs new tokens; tokens of k1 keep working until they expire.
    step2 = _settings(settings, {"k1": OLD_KEY, "k2": NEW_KEY}, "k2")
    new_token = TokenIssuer(step2.verification_keys, 600, active_kid="k2").issue(
        staff_id="s", role="group_admin", brand_id="", store_ids=())
    assert jwt.get_unverified_header(new_token)["kid"] == "k2"
    assert await _with(step2, old_token) == 200
    assert await _with(step2, new_token) == 200
    # Step 3: k1 is dropped; its tokens stop, k2's go on.
    step3 = _settings(settings, {"k2": NEW_KEY}, "k2")
    assert await _with(step3, old_token) == 401
    assert await _with(step3, new_token) == 200


async def test_a_token_naming_an_unknown_kid_is_401(client):
    claims = {"iss": "crm-gateway", "aud": "crm:staff", "sub": "x", "role": "group_admin", "brand_id": "",
              "store_ids": [], "iat": int(time.time()), "exp": int(time.time()) + 60, "jti": "j"}
    token = jwt.encode(claims, "x" * 40, algorithm="HS256", headers={"kid": "k9"})

    assert await _member_read(client, token) == 401


async def test_a_token_signed_with_a_swapped_kid_key_is_401(settings):
    keys = {"k1": OLD_KEY, "k2": NEW_KEY}
    claims = {"iss": "crm-gateway", "aud": "crm:staff", "sub": "x", "role": "group_admin", "brand_id": "",
              "store_ids": [], "iat": int(time.time()), "exp": int(time.time()) + 60, "jti": "j"}
    # Signed with k1's key but claiming k2: the kid picks the key, so the signature fails.
    token = jwt.encode(claims, OLD_KEY, algorithm="HS256", headers={"kid": "k2"})

    assert await _with(_settings(settings, keys, "k1"), token) == 401


def test_an_active_kid_without_a_key_refuses_to_start(settings):
    with pytest.raises(ValueError, match="jwt_active_kid"):
        GatewaySettings.model_validate({**settings.model_dump(), "jwt_keys": {"k1": OLD_KEY},
                                        "jwt_active_kid": "k2"})


class _FlakyKV:
    """A KV store whose reads can be switched off, as during a NATS restart."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.down = False

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        async def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            if self.down:
                raise ConnectionError("nats: connection closed")
            return await attr(*args, **kwargs)

        return call


async def test_revocation_check_survives_a_kv_outage_without_forgetting_local_revocations() -> None:
    from gateway.kv import MemoryKV
    from gateway.sessions import SessionStore

    kv = _FlakyKV(MemoryKV())
    store = SessionStore(kv, lockout_max_failures=5, lockout_window_seconds=900)  # type: ignore[arg-type]
    await store.revoke("jti-revoked", until=time.time() + 60)
    kv.down = True
    assert await store.is_revoked("jti-live", "sid-live") is False  # requests keep flowing
    assert await store.is_revoked("jti-revoked") is True  # what this replica knows still counts


async def test_pos_key_seen_recently_works_through_a_kv_outage_and_a_new_key_does_not() -> None:
    from gateway.kv import MemoryKV
    from gateway.sessions import ApiKeyStore

    kv = _FlakyKV(MemoryKV())
    keys = ApiKeyStore(kv)  # type: ignore[arg-type]
    key, secret = await keys.create(brand_id="b", store_id="s", name="till 1", created_by="u")
    _, unseen = await keys.create(brand_id="b", store_id="s", name="till 2", created_by="u")
    assert (await keys.authenticate(secret)).id == key.id
    kv.down = True
    assert (await keys.authenticate(secret)).id == key.id
    with pytest.raises(ConnectionError):
        await keys.authenticate(unseen)


def test_a_verified_token_is_remembered_until_it_expires_and_no_longer() -> None:
    issuer = TokenIssuer({"k1": OLD_KEY}, 1)
    token = issuer.issue(staff_id="s", role="group_admin", brand_id="", store_ids=())
    first = issuer.verify(token)
    assert issuer.verified_before(token) == first
    assert issuer.verify(token) is first
    # A forged copy (another signature) is not the remembered token: it is verified, and refused.
    forged = token[: token.rindex(".") + 1] + ("A" if token[-1] != "A" else "B") * 10
    with pytest.raises(ProblemError) as refused:
        issuer.verify(forged)
    assert refused.value.status == 401
    # Past its expiry a remembered token is a 401 like any other expired one.
    time.sleep(max(0.0, first.expires_at - time.time()) + 0.2)
    assert issuer.verified_before(token) is None
    with pytest.raises(ProblemError) as expired:
        issuer.verify(token)
    assert expired.value.status == 401

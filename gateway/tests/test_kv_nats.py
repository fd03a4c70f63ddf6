"""`NatsKV` against a real JetStream (the embedded NATS of ``crm_common.testing``): the same contract as
`MemoryKV`, including compare-and-set under contention and records that outlive their own expiry."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import nats
import pytest

from gateway.kv import MemoryKV, NatsKV
from gateway.sessions import ApiKeyStore, RefreshRejected, SessionStore


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[nats.js.JetStreamContext]:
    nc = await nats.connect(nats_url, name="gateway-kv-test")
    try:
        yield nc.jetstream()
    finally:
        await nc.drain()


@pytest.fixture
async def kv(js) -> AsyncIterator[NatsKV]:
    bucket = f"gw_test_{uuid.uuid4().hex[:12]}"
    yield await NatsKV.open(js, bucket, ttl_seconds=60)
    await js.delete_key_value(bucket)


async def test_put_get_delete_round_trip(kv):
    assert await kv.get("rt.x") is None

    await kv.put("rt.x", {"sub": "staff-1", "store_ids": ["s1"]})
    found = await kv.get("rt.x")
    await kv.delete("rt.x")

    assert found is not None and found.value == {"sub": "staff-1", "store_ids": ["s1"]}
    assert found.revision > 0
    assert await kv.get("rt.x") is None


async def test_create_only_when_absent(kv):
    assert await kv.create("lock.a", {"n": 1}) is True
    assert await kv.create("lock.a", {"n": 2}) is False
    assert (await kv.get("lock.a")).value == {"n": 1}


async def test_create_replaces_a_record_past_its_own_expiry(kv):
    # The bucket TTL sweeps late; a record whose expires_at has passed must count as absent.
    await kv.put("lock.b", {"n": 1, "expires_at": time.time() - 1})

    assert await kv.get("lock.b") is None
    assert await kv.create("lock.b", {"n": 2}) is True
    assert (await kv.get("lock.b")).value == {"n": 2}


async def test_create_after_delete(kv):
    await kv.put("lock.c", {"n": 1})
    await kv.delete("lock.c")

    assert await kv.create("lock.c", {"n": 2}) is True


async def test_update_is_compare_and_set(kv):
    await kv.put("rt.y", {"used": False})
    first = await kv.get("rt.y")

    won = await kv.update("rt.y", {"used": True}, first.revision)
    lost = await kv.update("rt.y", {"used": "again"}, first.revision)

    assert (won, lost) == (True, False)
    assert (await kv.get("rt.y")).value == {"used": True}


async def test_concurrent_updates_at_one_revision_let_exactly_one_win(kv):
    await kv.put("rt.z", {"used": False})
    revision = (await kv.get("rt.z")).revision

    results = await asyncio.gather(*(kv.update("rt.z", {"used": i}, revision) for i in range(8)))

    assert results.count(True) == 1


async def test_keys_by_prefix_skip_expired_and_other_prefixes(kv):
    await kv.put("store.s1.k1", {"id": "k1"})
    await kv.put("store.s1.k2", {"id": "k2", "expires_at": time.time() - 1})
    await kv.put("store.s2.k3", {"id": "k3"})

    assert await kv.keys("store.s1.") == ["store.s1.k1"]
    assert await kv.keys("store.") == ["store.s1.k1", "store.s2.k3"]


async def test_keys_of_an_empty_bucket(kv):
    assert await kv.keys("store.") == []


async def test_open_binds_an_existing_bucket_so_replicas_share_it(js, kv):
    await kv.put("rev.t", {"expires_at": time.time() + 60})
    bucket = kv._kv._name  # the bucket just opened

    other_replica = await NatsKV.open(js, bucket, ttl_seconds=60)

    assert await other_replica.get("rev.t") is not None


@pytest.mark.parametrize("backend", ["memory", "nats"])
async def test_a_refresh_token_works_once_on_either_store(backend, kv):
    store = SessionStore(MemoryKV() if backend == "memory" else kv, lockout_max_failures=3,
                         lockout_window_seconds=60)
    session, token = await store.start(staff_id="st-1", role="clerk", brand_id="b", store_ids=("s1",),
                                       ttl_seconds=60)

    results = await asyncio.gather(store.rotate(token), store.rotate(token), return_exceptions=True)

    # Two uses of one token look like theft, whichever came first: the session ends, so a pair that one
    # of the racers may have got (on the in-process store the first finishes before the second starts)
    # is dead too — exactly one compare-and-set won, and nobody keeps a working session.
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) <= 1
    assert await store.is_revoked(session.session_id)
    for _, refresh in winners:
        with pytest.raises(RefreshRejected):
            await store.rotate(refresh)


async def test_failed_logins_from_two_replicas_all_count(kv):
    replicas = [SessionStore(kv, lockout_max_failures=4, lockout_window_seconds=60) for _ in range(2)]

    await asyncio.gather(*(r.record_failure("Clerk.A") for r in replicas for _ in range(2)))

    assert await replicas[0].locked_for("clerk.a") > 0


async def test_pos_keys_list_and_revoke_on_jetstream(kv):
    # Listing once failed on NATS (nats-py's client-side key filters); this is the route's own store.
    keys = ApiKeyStore(kv)
    assert await keys.list("b", "s1") == []
    first, secret = await keys.create(brand_id="b", store_id="s1", name="till 1", created_by="staff:x")
    await keys.create(brand_id="b", store_id="s2", name="till 2", created_by="staff:x")

    listed = await keys.list("b", "s1")
    revoked = await keys.revoke("b", "s1", first.id)

    assert [k.id for k in listed] == [first.id]
    assert revoked and await keys.authenticate(secret) is None
    assert await keys.list("b", "s1") == []


@pytest.mark.parametrize("key_id", [";u", "a b", "..", "*", ">", "0" * 31])
async def test_revoking_an_id_we_never_issue_is_no_such_key_not_a_kv_error(kv, key_id):
    # Found by schemathesis: DELETE …/api-keys/%3Bu reached JetStream with an invalid key (500).
    assert await ApiKeyStore(kv).revoke("b", "s1", key_id) is False

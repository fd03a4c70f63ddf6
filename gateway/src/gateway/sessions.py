"""Refresh tokens (rotating, stored hashed), revoked token ids, login lockouts and POS API keys.

All of it lives in a `KVStore` shared by every replica. Secrets (refresh tokens, API keys) are stored only
as SHA-256 hashes: they are 256-bit random strings, so a fast hash is enough (slow password hashes exist
for guessable secrets); a leaked bucket therefore yields nothing that opens the API.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client import Counter

from gateway.kv import KVStore

log = logging.getLogger(__name__)

KV_FALLBACKS = Counter(
    "crm_gateway_kv_fallbacks_total",
    "Requests authorised from the replica's local cache because the shared KV store was unreachable",
    ["check"],
)
API_KEY_CACHE_SECONDS = 600.0
"""How long a POS key seen valid keeps working from this replica's memory while the KV store is down."""

API_KEY_PREFIX = "crmpos_"
_KEY_ID = re.compile(r"[0-9a-f]{32}")
"""The shape of the ids `ApiKeyStore.create` issues (uuid4 hex)."""


def digest(secret: str) -> str:
    """The stored form of a secret (hex SHA-256)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _opaque(text: str) -> str:
    # Usernames and ids may hold characters a KV key may not (and usernames are nobody's business in a
    # bucket listing), so keys carry a hash of them.
    return hashlib.sha256(text.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class StaffSession:
    """What a refresh token stands for: one login of one staff member."""

    session_id: str
    staff_id: str
    role: str
    brand_id: str
    store_ids: tuple[str, ...]
    expires_at: float


def _session_of(record: dict[str, Any]) -> StaffSession:
    return StaffSession(record["sid"], record["sub"], record["role"], record["brand_id"],
                        tuple(record["store_ids"]), float(record["expires_at"]))


class RefreshRejected(Exception):
    """The refresh token is unknown, expired, revoked or was already used (then its session is revoked)."""

    def __init__(self, reused: bool = False) -> None:
        super().__init__("refresh token rejected")
        self.reused = reused


class SessionStore:
    """Refresh-token rotation with reuse detection, revocation by token or session id, and lockouts."""

    def __init__(self, kv: KVStore, *, lockout_max_failures: int, lockout_window_seconds: int) -> None:
        self._kv = kv
        self.lockout_max_failures = lockout_max_failures
        self.lockout_window_seconds = lockout_window_seconds
        # Revocations this replica has made or seen, kept until they expire: during a NATS outage the
        # per-request revocation check answers from here instead of failing every request. Orders must keep
        # flowing while NATS restarts (the outbox holds their events), and access tokens live 15 minutes.
        self._revoked_seen: dict[str, float] = {}

    # --- refresh tokens ------------------------------------------------------------------------------------

    async def start(self, *, staff_id: str, role: str, brand_id: str, store_ids: tuple[str, ...],
                    ttl_seconds: int) -> tuple[StaffSession, str]:
        """A new session and its first refresh token (returned once, stored hashed)."""
        session = StaffSession(uuid.uuid4().hex, staff_id, role, brand_id, tuple(store_ids),
                               time.time() + ttl_seconds)
        return session, await self._new_refresh(session)

    async def _new_refresh(self, session: StaffSession) -> str:
        token = f"{session.session_id}.{secrets.token_urlsafe(32)}"
        await self._kv.put(f"rt.{digest(token)}", {
            "sid": session.session_id, "sub": session.staff_id, "role": session.role,
            "brand_id": session.brand_id, "store_ids": list(session.store_ids),
            "expires_at": session.expires_at, "used": False,
        })
        return token

    async def peek(self, refresh_token: str) -> StaffSession | None:
        """The session a refresh token names, without spending it (None when unknown or expired).

        Refresh looks first, checks the account with the members service, and only then spends the token:
        a members outage must not burn a token the client can no longer use (its retry would look like
        theft and end the session).
        """
        found = await self._kv.get(f"rt.{digest(refresh_token)}")
        return None if found is None else _session_of(found.value)

    async def rotate(self, refresh_token: str, *, role: str | None = None,
                     store_ids: tuple[str, ...] | None = None) -> tuple[StaffSession, str]:
        """Spend ``refresh_token`` for a new one of the same session, carrying the account's current
        ``role`` and ``store_ids`` when given (a promotion or a store change takes effect on refresh).

        A refresh token works once. A second use means two parties hold it (one of them stole it), and we
        cannot tell which is which, so the whole session is revoked: both must log in again.
        """
        key = f"rt.{digest(refresh_token)}"
        found = await self._kv.get(key)
        if found is None:
            raise RefreshRejected()
        record = found.value
        session = _session_of(record)
        if record.get("used") or not await self._kv.update(key, {**record, "used": True}, found.revision):
            await self.revoke(session.session_id, until=session.expires_at)
            raise RefreshRejected(reused=True)
        if await self.is_revoked(session.session_id):
            raise RefreshRejected()
        session = replace(session, role=session.role if role is None else role,
                          store_ids=session.store_ids if store_ids is None else tuple(store_ids))
        return session, await self._new_refresh(session)

    async def session_of(self, refresh_token: str) -> str | None:
        """The session id of a refresh token that is still usable, if any."""
        found = await self._kv.get(f"rt.{digest(refresh_token)}")
        return None if found is None else str(found.value["sid"])

    # --- revocation ----------------------------------------------------------------------------------------

    async def revoke(self, token_or_session_id: str, *, until: float) -> None:
        """Refuse the access token with this ``jti`` (or every token of this session) until ``until``."""
        self._revoked_seen[_opaque(token_or_session_id)] = until
        await self._kv.put(f"rev.{_opaque(token_or_session_id)}", {"expires_at": until})

    async def is_revoked(self, *ids: str) -> bool:
        """Whether any of ``ids`` (a token's ``jti`` and ``sid``) was revoked.

        When the KV store cannot be reached, answers from the revocations this replica knows of.
        """
        now = time.time()
        keys = [_opaque(i) for i in ids if i]
        if any(self._revoked_seen.get(k, 0) > now for k in keys):
            return True
        try:
            for key in keys:
                found = await self._kv.get(f"rev.{key}")
                if found is not None:
                    self._revoked_seen[key] = float(found.value.get("expires_at", now + 900))
                    return True
        except Exception:
            KV_FALLBACKS.labels("revocation").inc()
            log.warning("session store unreachable; revocation checked against this replica's cache")
        self._revoked_seen = {k: t for k, t in self._revoked_seen.items() if t > now}
        return False

    # --- lockout -------------------------------------------------------------------------------------------

    async def locked_for(self, username: str) -> int:
        """Seconds until ``username`` may try again (0: not locked)."""
        found = await self._kv.get(self._lock_key(username))
        if found is None:
            return 0
        recent = self._recent(found.value)
        if len(recent) < self.lockout_max_failures:
            return 0
        return max(1, int(recent[0] + self.lockout_window_seconds - time.time()) + 1)

    async def record_failure(self, username: str) -> None:
        """Count one failed login (compare-and-set, so concurrent failures on several replicas all count)."""
        key = self._lock_key(username)
        for _ in range(10):
            now = time.time()
            found = await self._kv.get(key)
            failures = [*self._recent(found.value if found else {}), now][-self.lockout_max_failures:]
            value = {"failures": failures, "expires_at": now + self.lockout_window_seconds}
            written = (await self._kv.create(key, value) if found is None
                       else await self._kv.update(key, value, found.revision))
            if written:
                return

    async def clear_failures(self, username: str) -> None:
        """A successful login forgets earlier failures."""
        await self._kv.delete(self._lock_key(username))

    def _recent(self, value: dict[str, Any]) -> list[float]:
        horizon = time.time() - self.lockout_window_seconds
        return sorted(t for t in value.get("failures", []) if t > horizon)

    @staticmethod
    def _lock_key(username: str) -> str:
        return f"lock.{_opaque(username.strip().lower())}"


@dataclass(frozen=True)
class ApiKey:
    """A POS integration key of one store (never the secret itself)."""

    id: str
    brand_id: str
    store_id: str
    name: str
    prefix: str
    created_at: float
    created_by: str

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "brand_id": self.brand_id, "store_id": self.store_id, "name": self.name,
                "prefix": self.prefix, "created_at": self.created_at, "created_by": self.created_by}

    @classmethod
    def of(cls, record: dict[str, Any]) -> ApiKey:
        return cls(record["id"], record["brand_id"], record["store_id"], record["name"], record["prefix"],
                   float(record["created_at"]), record["created_by"])


class ApiKeyStore:
    """POS keys by hash (for authentication) and by store (for listing and revocation)."""

    def __init__(self, kv: KVStore) -> None:
        self._kv = kv
        self._recent: dict[str, tuple[ApiKey, float]] = {}
        """Keys this replica authenticated lately, so POS orders survive a short NATS outage."""

    async def create(self, *, brand_id: str, store_id: str, name: str, created_by: str) -> tuple[ApiKey, str]:
        """A new key; the secret is returned here and never again."""
        secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(uuid.uuid4().hex, brand_id, store_id, name, secret[: len(API_KEY_PREFIX) + 6], time.time(),
                     created_by)
        await self._kv.put(f"hash.{digest(secret)}", key.record())
        await self._kv.put(self._index(brand_id, store_id, key.id), {**key.record(), "hash": digest(secret)})
        return key, secret

    async def authenticate(self, secret: str) -> ApiKey | None:
        """The key behind ``secret``, if it exists and was not revoked."""
        if not secret.startswith(API_KEY_PREFIX):
            return None
        hashed = digest(secret)
        try:
            found = await self._kv.get(f"hash.{hashed}")
        except Exception:
            cached = self._recent.get(hashed)
            if cached is None or time.time() - cached[1] > API_KEY_CACHE_SECONDS:
                raise
            KV_FALLBACKS.labels("api_key").inc()
            log.warning("session store unreachable; POS key accepted from this replica's cache")
            return cached[0]
        if found is None:
            self._recent.pop(hashed, None)
            return None
        key = ApiKey.of(found.value)
        self._recent[hashed] = (key, time.time())
        return key

    async def list(self, brand_id: str, store_id: str) -> list[ApiKey]:
        """The store's live keys, oldest first."""
        prefix = self._index(brand_id, store_id, "")
        keys = []
        for name in await self._kv.keys(prefix):
            found = await self._kv.get(name)
            if found is not None:
                keys.append(ApiKey.of(found.value))
        return sorted(keys, key=lambda k: k.created_at)

    async def revoke(self, brand_id: str, store_id: str, key_id: str) -> bool:
        """Revoke one key of the store; False when the store has no such key."""
        if not _KEY_ID.fullmatch(key_id):
            return False  # not an id we issue (and not a valid KV key): no such key
        index = self._index(brand_id, store_id, key_id)
        found = await self._kv.get(index)
        if found is None:
            return False
        self._recent.pop(found.value["hash"], None)
        await self._kv.delete(f"hash.{found.value['hash']}")
        await self._kv.delete(index)
        return True

    @staticmethod
    def _index(brand_id: str, store_id: str, key_id: str) -> str:
        return f"store.{_opaque(brand_id + '/' + store_id)}.{key_id}"

"""Refresh tokens (rotating, stored hashed), revoked token ids, login lockouts and POS API keys.

All of it lives in a `KVStore` shared by every replica. Secrets (refresh tokens, API keys) are stored only
as SHA-256 hashes: they are 256-bit random strings, so a fast hash is enough (slow password hashes exist
for guessable secrets); a leaked bucket therefore yields nothing that opens the API.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from gateway.kv import KVStore

API_KEY_PREFIX = "crmpos_"


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

    async def rotate(self, refresh_token: str) -> tuple[StaffSession, str]:
        """Spend ``refresh_token`` for a new one of the same session.

        A refresh token works once. A second use means two parties hold it (one of them stole it), and we
        cannot tell which is which, so the whole session is revoked: both must log in again.
        """
        key = f"rt.{digest(refresh_token)}"
        found = await self._kv.get(key)
        if found is None:
            raise RefreshRejected()
        record = found.value
        session = StaffSession(record["sid"], record["sub"], record["role"], record["brand_id"],
                               tuple(record["store_ids"]), float(record["expires_at"]))
        if record.get("used") or not await self._kv.update(key, {**record, "used": True}, found.revision):
            await self.revoke(session.session_id, until=session.expires_at)
            raise RefreshRejected(reused=True)
        if await self.is_revoked(session.session_id):
            raise RefreshRejected()
        return session, await self._new_refresh(session)

    async def session_of(self, refresh_token: str) -> str | None:
        """The session id of a refresh token that is still usable, if any."""
        found = await self._kv.get(f"rt.{digest(refresh_token)}")
        return None if found is None else str(found.value["sid"])

    # --- revocation ----------------------------------------------------------------------------------------

    async def revoke(self, token_or_session_id: str, *, until: float) -> None:
        """Refuse the access token with this ``jti`` (or every token of this session) until ``until``."""
        await self._kv.put(f"rev.{_opaque(token_or_session_id)}", {"expires_at": until})

    async def is_revoked(self, *ids: str) -> bool:
        """Whether any of ``ids`` (a token's ``jti`` and ``sid``) was revoked."""
        for token_id in ids:
            if token_id and await self._kv.get(f"rev.{_opaque(token_id)}") is not None:
                return True
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
        found = await self._kv.get(f"hash.{digest(secret)}")
        return None if found is None else ApiKey.of(found.value)

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
        index = self._index(brand_id, store_id, key_id)
        found = await self._kv.get(index)
        if found is None:
            return False
        await self._kv.delete(f"hash.{found.value['hash']}")
        await self._kv.delete(index)
        return True

    @staticmethod
    def _index(brand_id: str, store_id: str, key_id: str) -> str:
        return f"store.{_opaque(brand_id + '/' + store_id)}.{key_id}"

"""The gateway's only state: small JSON records with expiry, in a key-value store every replica shares.

Refresh tokens, revoked token ids, failed-login counters and POS key hashes must be seen by every replica
(a token revoked on one replica must not work on another), and the gateway has no database. Every
deployment already runs NATS with JetStream, so its KV buckets are the shared store; `MemoryKV` is the same
contract inside one process, for tests. Records carry their own ``expires_at`` because a JetStream bucket's
TTL is per bucket, not per key: the bucket TTL only sweeps what is certainly dead.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import (
    BadRequestError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
)
from nats.js.kv import KeyValue

Record = dict[str, Any]


@dataclass(frozen=True)
class Versioned:
    """A record and the revision to compare-and-set against."""

    value: Record
    revision: int


class KVStore(Protocol):
    """Compare-and-set JSON records; keys use ``[A-Za-z0-9_=.-]`` (the JetStream KV alphabet)."""

    async def get(self, key: str) -> Versioned | None:
        """The live record (not expired), or None."""

    async def put(self, key: str, value: Record) -> None:
        """Write unconditionally."""

    async def create(self, key: str, value: Record) -> bool:
        """Write only if no live record exists; False when one does."""

    async def update(self, key: str, value: Record, revision: int) -> bool:
        """Write only if the record is still at ``revision``; False when someone else wrote first."""

    async def delete(self, key: str) -> None:
        """Forget the key."""

    async def keys(self, prefix: str) -> list[str]:
        """Keys starting with ``prefix`` (small listings only: a store's POS keys)."""


def _live(value: Record) -> bool:
    expires = value.get("expires_at")
    return expires is None or expires > time.time()


class MemoryKV:
    """`KVStore` in one process's memory: for tests and a single-replica dev gateway."""

    def __init__(self) -> None:
        self._data: dict[str, Versioned] = {}
        self._revision = 0

    def _next(self) -> int:
        self._revision += 1
        return self._revision

    async def get(self, key: str) -> Versioned | None:
        entry = self._data.get(key)
        return entry if entry is not None and _live(entry.value) else None

    async def put(self, key: str, value: Record) -> None:
        self._data[key] = Versioned(dict(value), self._next())

    async def create(self, key: str, value: Record) -> bool:
        if await self.get(key) is not None:
            return False
        await self.put(key, value)
        return True

    async def update(self, key: str, value: Record, revision: int) -> bool:
        entry = self._data.get(key)
        if entry is None or entry.revision != revision:
            return False
        await self.put(key, value)
        return True

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def keys(self, prefix: str) -> list[str]:
        return sorted(k for k, v in self._data.items() if k.startswith(prefix) and _live(v.value))


class NatsKV:
    """`KVStore` on a JetStream KV bucket (replicated with the NATS cluster)."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str, *, ttl_seconds: float | None) -> NatsKV:
        """Bind to ``bucket``, creating it (file storage, ``ttl_seconds`` sweep) when it does not exist."""
        try:
            return cls(await js.key_value(bucket))
        except (NotFoundError, BadRequestError):
            pass
        config = KeyValueConfig(bucket=bucket, history=1, ttl=ttl_seconds, storage=StorageType.FILE)
        try:
            return cls(await js.create_key_value(config))
        except BadRequestError:
            # Another replica created it between our lookup and create.
            return cls(await js.key_value(bucket))

    async def get(self, key: str) -> Versioned | None:
        try:
            entry = await self._kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        if not entry.value:
            return None
        value = json.loads(entry.value)
        return Versioned(value, entry.revision or 0) if _live(value) else None

    async def put(self, key: str, value: Record) -> None:
        await self._kv.put(key, _encode(value))

    async def create(self, key: str, value: Record) -> bool:
        current = await self._raw_revision(key)
        if current is None:
            try:
                await self._kv.create(key, _encode(value))
            except (KeyWrongLastSequenceError, BadRequestError):
                return False
            return True
        # An expired record still occupies the key: replace it, but only if nobody else is doing the same.
        live, revision = current
        return False if live else await self.update(key, value, revision)

    async def update(self, key: str, value: Record, revision: int) -> bool:
        try:
            await self._kv.update(key, _encode(value), last=revision)
        except (KeyWrongLastSequenceError, BadRequestError):
            return False
        return True

    async def delete(self, key: str) -> None:
        await self._kv.delete(key)

    async def keys(self, prefix: str) -> list[str]:
        # Not `KeyValue.keys(filters=...)`: nats-py matches those filters as substrings on the client (so a
        # subject wildcard like "store.x.>" matches nothing) and raises NoKeysError for an empty result.
        # A watcher on the subject filter lets the server do the filtering instead.
        subject = prefix + ">" if prefix.endswith(".") else ">"
        watcher = await self._kv.watch(subject, ignore_deletes=True, meta_only=True)
        names: list[str] = []
        try:
            async for entry in watcher:
                if entry is None:  # the end of the current keys
                    break
                if entry.key.startswith(prefix):
                    names.append(entry.key)
        finally:
            await watcher.stop()
        found = []
        for name in sorted(set(names)):
            if await self.get(name) is not None:
                found.append(name)
        return found

    async def _raw_revision(self, key: str) -> tuple[bool, int] | None:
        try:
            entry = await self._kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        if not entry.value:
            return None
        return _live(json.loads(entry.value)), entry.revision or 0


def _encode(value: Record) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()

"""The PII read audit, written by group commit into bucket documents: concurrent reads share one insert.

An unmasked read is answered only after its audit entry is stored (never lost, never late), but each request
does not pay for its own write: entries that arrive while a write is in flight wait for the next one, which
stores them all. Entries of one brand written together share one document (MongoDB's bucket pattern),
``{brand_id, at, first_at, count, reads: [{actor_id, member_ids, purpose, what, at}, ...]}``, so a busy till
costs the database one document and one index entry per flush instead of one per read (a third of a lookup's
database CPU on the embedded server). ``at`` is the newest entry's time, which the ``(brand_id, at)`` index
serves; read a brand's audit as ``find({"brand_id": b, "at": {"$gte": since}})`` and unwind ``reads``.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

Doc = dict[str, Any]

LINGER_SECONDS = 0.002
"""How long a flush waits for company while reads are arriving concurrently (never when the last write held a
single entry): PostgreSQL's ``commit_delay`` idea. On a busy console it grew buckets from ~2 to ~3 entries and
lookups by 10–15%; a lone read is written at once."""
MAX_ENTRIES = 1000
"""Reads stored by one flush at most (the rest go in the next)."""
MAX_BUCKET_IDS = 20_000
"""Member ids in one bucket at most: an export lists up to 1,000 per page, and a document must stay far below
MongoDB's 16 MiB (20k ids are ~700 KB)."""


class AuditWriter:
    """Stores audit entries in per-brand buckets; ``record`` returns once its entry is durable."""

    def __init__(self, collection: AsyncCollection[Doc], *, max_entries: int = MAX_ENTRIES,
                 linger_seconds: float = LINGER_SECONDS) -> None:
        self.collection = collection
        self.max_entries = max_entries
        self.linger_seconds = linger_seconds
        self._pending: list[tuple[Doc, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._last_batch = 0

    async def record(self, entry: Doc) -> None:
        """Queue ``entry`` (``brand_id``, ``actor_id``, ``member_ids``, ``purpose``, ``what``, ``at``) and wait
        until the write holding it is stored; raises if that write failed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="pii-audit-flush")
        # Shielded: a cancelled caller (client gone) must not cancel the write others are waiting on.
        await asyncio.shield(done)

    async def _flush(self) -> None:
        if self._last_batch > 1 and len(self._pending) < self.max_entries:
            await asyncio.sleep(self.linger_seconds)  # reads are arriving together: let this write take more
        while self._pending:
            batch, self._pending = self._pending[: self.max_entries], self._pending[self.max_entries :]
            self._last_batch = len(batch)
            try:
                # ordered=False: one bucket cannot stop the others; any error fails every caller of the
                # flush, who then answer with an error instead of unaudited data.
                await self.collection.insert_many(buckets([entry for entry, _ in batch]), ordered=False)
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def drain(self) -> None:
        """Wait for the writes in flight (shutdown)."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)


def buckets(entries: list[Doc]) -> list[Doc]:
    """The bucket documents holding ``entries``: one per brand, split when a bucket's member ids would pass
    ``MAX_BUCKET_IDS``; entries keep their order."""
    docs: list[Doc] = []
    open_buckets: dict[str, tuple[Doc, int]] = {}  # brand → its latest bucket and the member ids it holds
    for entry in entries:
        read = {k: v for k, v in entry.items() if k != "brand_id"}
        size = len(read.get("member_ids", ()))
        bucket, ids = open_buckets.get(entry["brand_id"], (None, 0))
        if bucket is None or ids + size > MAX_BUCKET_IDS:
            bucket, ids = {"_id": uuid.uuid4().hex, "brand_id": entry["brand_id"], "at": read["at"],
                           "first_at": read["at"], "count": 0, "reads": []}, 0
            docs.append(bucket)
        bucket["reads"].append(read)
        bucket["count"] += 1
        bucket["at"] = max(bucket["at"], read["at"])
        bucket["first_at"] = min(bucket["first_at"], read["at"])
        open_buckets[entry["brand_id"]] = (bucket, ids + size)
    return docs

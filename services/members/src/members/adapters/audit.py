"""The PII read audit, written by group commit: concurrent reads share one ``insert_many``.

An unmasked read is answered only after its audit document is stored (never lost, never late), but each
request no longer pays for its own round trip: records that arrive while a write is in flight wait for the
next one, which takes them all. Under load that turns N inserts into a handful; alone, a read costs the
same single insert as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

Doc = dict[str, Any]

MAX_BATCH = 1000


class AuditWriter:
    """Stores audit documents in batches; ``record`` returns once its document is durable."""

    def __init__(self, collection: AsyncCollection[Doc], *, max_batch: int = MAX_BATCH) -> None:
        self.collection = collection
        self.max_batch = max_batch
        self._pending: list[tuple[Doc, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, doc: Doc) -> None:
        """Queue ``doc`` and wait until the batch holding it is stored; raises if that write failed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((doc, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="pii-audit-flush")
        # Shielded: a cancelled caller (client gone) must not cancel the write others are waiting on.
        await asyncio.shield(done)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                # ordered=False: one document cannot stop the others; any error fails the whole batch's
                # callers, who then answer with an error instead of unaudited data.
                await self.collection.insert_many([doc for doc, _ in batch], ordered=False)
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

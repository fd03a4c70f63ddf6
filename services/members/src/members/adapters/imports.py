"""Member imports: a file uploaded in chunks, then processed in the background in batches of rows.

Memory stays flat whatever the file size: chunks are spooled to a temporary file on disk, CSV is read
with ``csv.reader`` and XLSX with openpyxl's read-only (streaming) mode, one batch of rows at a time, and
bad rows go straight to the ``import_errors`` collection. Each batch commits its members, their
MemberRegistered events, its errors and the job's progress checkpoint in one transaction, so a crashed
job resumes after its last batch, and importing the same file again finds every good row already there
(same file hash and row number) and changes nothing.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import hashlib
import itertools
import logging
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from crm.members.v1 import members_pb2
from crm_common.errors import DomainError, InvalidArgument, NotFound
from crm_common.outbox import MongoOutbox
from members.adapters.repository import Doc, Repository, identity_id, now
from members.domain.attributes import AttributeSchema
from members.domain.imports import ON_EXISTING, ImportRow, fill_blanks, parse_row, resolve_columns, validate_mapping
from members.domain.tags import TagRule

if TYPE_CHECKING:
    from members.adapters.grpc_api import MembersServicer

log = logging.getLogger(__name__)

MAX_CHUNK = 1024 * 1024
MAX_CHUNKS = 512  # 512 MiB; far above any member list a brand keeps
BATCH = 1000
PARALLEL = 1
FIRST_ERRORS = 100
_BATCH_ATTEMPTS = 3
_CLASSIFY = {"_id": 1, "phone_hash": 1, "import_sha": 1, "import_row": 1, "merged_into": 1, "status": 1}


def _ts(moment: datetime | None) -> Any:
    from google.protobuf.timestamp_pb2 import Timestamp

    stamp = Timestamp()
    if moment is not None:
        stamp.FromDatetime(moment)
    return stamp


class ImportRunner:
    """Creates, feeds, runs and reports member import jobs."""

    def __init__(
        self,
        servicer: MembersServicer,
        repo: Repository,
        outbox: MongoOutbox,
        *,
        batch: int = BATCH,
        parallel: int = PARALLEL,
    ) -> None:
        self.parallel = parallel
        self.servicer = servicer
        self.repo = repo
        self.outbox = outbox
        self.batch = batch
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # --- API ----------------------------------------------------------------------------------------

    async def _job(self, brand_id: str, import_id: str) -> Doc:
        job = await self.repo.imports.find_one({"_id": (import_id or "").strip(), "brand_id": (brand_id or "").strip()})
        if job is None:
            raise NotFound("import not found", reason="IMPORT_NOT_FOUND", field="import_id")
        return job

    async def message(self, job: Doc) -> members_pb2.MemberImport:
        """The job with its first errors."""
        errors = [
            e async for e in self.repo.import_errors.find({"import_id": job["_id"]}).sort("row", 1).limit(FIRST_ERRORS)
        ]
        out = members_pb2.MemberImport(
            id=job["_id"],
            brand_id=job["brand_id"],
            status=job["status"],
            total=job["total"],
            imported=job["imported"],
            failed=job["failed"],
            skipped=job["skipped"],
            merged=job["merged"],
            errors=[members_pb2.ImportError(row=e["row"], field=e["field"], message=e["message"]) for e in errors],
            format=job["format"],
            created_at=_ts(job["created_at"]),
            bytes=job.get("bytes", 0),
        )
        if job.get("finished_at"):
            out.finished_at.CopyFrom(_ts(job["finished_at"]))
        return out

    async def create(self, request: members_pb2.CreateMemberImportRequest) -> members_pb2.MemberImport:
        """A new job waiting for its chunks."""
        brand = await self.servicer._brand_or_404(request.brand_id)
        fmt = (request.format or "").strip().lower()
        if fmt not in ("csv", "xlsx"):
            raise InvalidArgument("format must be csv or xlsx", field="format")
        on_existing = request.on_existing or "report"
        if on_existing not in ON_EXISTING:
            raise InvalidArgument("on_existing must be report or merge", field="on_existing")
        schema = await self.servicer.attribute_schema(brand["_id"])
        mapping = validate_mapping(dict(request.mapping), schema)
        if request.default_store_id and await self.repo.get_store(brand["_id"], request.default_store_id) is None:
            raise InvalidArgument("no such store in this brand", reason="UNKNOWN_STORE", field="default_store_id")
        from members.adapters.grpc_api import new_id

        job = {
            "_id": new_id("imp"),
            "brand_id": brand["_id"],
            "status": "uploading",
            "format": fmt,
            "mapping": mapping,
            "on_existing": on_existing,
            "default_store_id": request.default_store_id,
            "actor_id": request.actor_id,
            "total": 0,
            "imported": 0,
            "failed": 0,
            "skipped": 0,
            "merged": 0,
            "created_at": now(),
            "bytes": 0,
        }
        await self.repo.imports.insert_one(job)
        return await self.message(job)

    async def append(self, request: members_pb2.AppendMemberImportChunkRequest) -> members_pb2.MemberImport:
        """Store chunk ``seq``; sending it again replaces it with the same bytes."""
        job = await self._job(request.brand_id, request.import_id)
        if job["status"] != "uploading":
            raise InvalidArgument("the import has started; no more chunks", reason="IMPORT_STARTED", field="seq")
        if not 0 <= request.seq < MAX_CHUNKS or len(request.data) > MAX_CHUNK:
            raise InvalidArgument(f"chunks are at most 1 MiB, at most {MAX_CHUNKS} of them", field="data")
        await self.repo.import_chunks.replace_one(
            {"_id": f"{job['_id']}:{request.seq:06d}"},
            {
                "_id": f"{job['_id']}:{request.seq:06d}",
                "import_id": job["_id"],
                "seq": request.seq,
                "data": bytes(request.data),
            },
            upsert=True,
        )
        return await self.message(job)

    async def start(self, request: members_pb2.StartMemberImportRequest) -> members_pb2.MemberImport:
        """Check the chunks are all there, fingerprint the file and queue it."""
        job = await self._job(request.brand_id, request.import_id)
        if job["status"] != "uploading":
            return await self.message(job)  # started already: starting is idempotent
        seqs = [
            c["seq"] async for c in self.repo.import_chunks.find({"import_id": job["_id"]}, {"seq": 1}).sort("seq", 1)
        ]
        if seqs != list(range(request.chunks)) or not seqs:
            raise InvalidArgument(f"expected chunks 0..{request.chunks - 1}, have {len(seqs)}", field="chunks")
        digest = hashlib.sha256()
        size = 0
        async for chunk in self._chunks(job["_id"]):
            digest.update(chunk)
            size += len(chunk)
        result = await self.repo.imports.find_one_and_update(
            {"_id": job["_id"], "status": "uploading"},
            {"$set": {"status": "queued", "sha256": digest.hexdigest(), "bytes": size, "queued_at": now()}},
            return_document=True,
        )
        self.spawn(job["_id"])
        return await self.message(result or await self._job(request.brand_id, request.import_id))

    async def get(self, brand_id: str, import_id: str) -> members_pb2.MemberImport:
        """The job's progress."""
        return await self.message(await self._job(brand_id, import_id))

    async def errors(
        self, request: members_pb2.ListMemberImportErrorsRequest
    ) -> members_pb2.ListMemberImportErrorsResponse:
        """Errors after ``after_row``, in row order."""
        job = await self._job(request.brand_id, request.import_id)
        limit = min(request.limit or 1000, 10_000)
        rows = [
            e
            async for e in self.repo.import_errors.find({"import_id": job["_id"], "row": {"$gt": request.after_row}})
            .sort("row", 1)
            .limit(limit + 1)
        ]
        page = rows[:limit]
        return members_pb2.ListMemberImportErrorsResponse(
            errors=[members_pb2.ImportError(row=e["row"], field=e["field"], message=e["message"]) for e in page],
            next_after_row=page[-1]["row"] if len(rows) > limit else 0,
        )

    # --- background ---------------------------------------------------------------------------------

    def spawn(self, import_id: str) -> None:
        """Run a job in the background (once per process)."""
        task = self._tasks.get(import_id)
        if task is None or task.done():
            self._tasks[import_id] = asyncio.create_task(self._guarded(import_id), name=f"import-{import_id}")

    async def resume(self) -> None:
        """Pick up jobs a previous process left queued or running (they restart after their checkpoint)."""
        async for job in self.repo.imports.find({"status": {"$in": ["queued", "running"]}}, {"_id": 1}):
            self.spawn(job["_id"])

    async def stop(self) -> None:
        """Cancel running jobs; their checkpoints let the next process resume them."""
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()

    async def wait(self, import_id: str) -> None:
        """Until a job spawned here finishes (tests and benchmarks)."""
        task = self._tasks.get(import_id)
        if task is not None:
            await task

    async def _chunks(self, import_id: str) -> Any:
        # A small batch size: each chunk is up to 1 MiB and the driver would otherwise fetch 101 at once.
        async for chunk in self.repo.import_chunks.find({"import_id": import_id}).sort("seq", 1).batch_size(2):
            yield chunk["data"]

    async def _guarded(self, import_id: str) -> None:
        try:
            await self._run(import_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("import %s failed", import_id)
            await self.repo.imports.update_one(
                {"_id": import_id}, {"$set": {"status": "failed", "error": type(exc).__name__, "finished_at": now()}}
            )

    async def _run(self, import_id: str) -> None:
        job = await self.repo.imports.find_one({"_id": import_id})
        if job is None or job["status"] not in ("queued", "running"):
            return
        await self.repo.imports.update_one({"_id": import_id}, {"$set": {"status": "running", "started_at": now()}})
        brand = await self.repo.get_brand(job["brand_id"])
        assert brand is not None
        context = _Context(
            job=job,
            schema=await self.servicer.attribute_schema(job["brand_id"]),
            stores={s["code"]: s["_id"] for s in await self.repo.list_stores(job["brand_id"])},
            guides={s["_id"] for s in await self.repo.list_staff(job["brand_id"]) if s["active"]},
            today=datetime.now(ZoneInfo(brand["timezone"])).date(),
            rules=await self.servicer.auto_tags.rules(job["brand_id"]),
        )
        with tempfile.TemporaryFile() as spool:
            async for chunk in self._chunks(import_id):
                spool.write(chunk)
            spool.seek(0)
            rows = _xlsx_rows(spool) if job["format"] == "xlsx" else _csv_rows(spool)
            try:
                header = await asyncio.to_thread(next, rows, None)
                if header is None:
                    raise InvalidArgument("the file is empty", field="file")
                context.columns = resolve_columns([str(h or "") for h in header], job["mapping"])
            except DomainError as err:
                await self.repo.imports.update_one(
                    {"_id": import_id}, {"$set": {"status": "failed", "finished_at": now()}}
                )
                await self.repo.import_errors.replace_one(
                    {"_id": f"{import_id}:{0:09d}"},
                    {
                        "_id": f"{import_id}:{0:09d}",
                        "import_id": import_id,
                        "row": 0,
                        "field": err.field or "file",
                        "message": err.message,
                    },
                    upsert=True,
                )
                return
            done = set(await self.repo.import_batches.distinct("first_row", {"import_id": import_id}))
            numbered = enumerate(rows, start=1)
            pending: set[asyncio.Task[None]] = set()
            while True:
                batch = await asyncio.to_thread(lambda: list(itertools.islice(numbered, self.batch)))
                if not batch:
                    break
                if batch[0][0] in done:
                    continue  # committed before a restart
                # A few batches in flight: the database, not Python, is the bottleneck, and it commits
                # independent transactions in parallel. Each batch records itself, so resuming is exact.
                if len(pending) >= self.parallel:
                    finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for task in finished:
                        task.result()
                pending.add(asyncio.create_task(self._batch(context, batch)))
            for task in pending:
                await task
        await self.repo.imports.update_one({"_id": import_id}, {"$set": {"status": "done", "finished_at": now()}})

    # --- one batch ----------------------------------------------------------------------------------

    def _prepare(self, ctx: _Context, batch: list[tuple[int, Any]]) -> tuple[list[Doc], list[Doc]]:
        """CPU work of a batch, off the event loop: validation, encryption and hashing."""
        good: list[Doc] = []
        errors: list[Doc] = []
        job = ctx.job
        for row, values in batch:
            if not any(v not in (None, "") for v in values):
                continue  # blank lines are not rows anyone meant
            try:
                parsed = parse_row(
                    row,
                    values,
                    ctx.columns,
                    schema=ctx.schema,
                    today=ctx.today,
                    default_store_id=job.get("default_store_id", ""),
                )
                store_id = parsed.member.store_id
                if parsed.store_code:
                    store_id = ctx.stores.get(parsed.store_code, "")
                    if not store_id:
                        raise InvalidArgument("no store with this code", field="store_code")
                elif store_id and store_id not in ctx.stores.values():
                    raise InvalidArgument("no such store in this brand", field="store_id")
                if parsed.member.guide_id and parsed.member.guide_id not in ctx.guides:
                    raise InvalidArgument("no such active staff in this brand", field="guide_id")
            except DomainError as err:
                errors.append(_error(job["_id"], row, err.field or "", err.message))
                continue
            good.append(self._doc(ctx, parsed, store_id))
        return good, errors

    def _doc(self, ctx: _Context, parsed: ImportRow, store_id: str) -> Doc:
        import dataclasses

        cmd = dataclasses.replace(parsed.member, store_id=store_id, attributes=parsed.attributes)
        extra: Doc = {
            "tags": parsed.tags,
            "import_id": ctx.job["_id"],
            "import_sha": ctx.job["sha256"],
            "import_row": parsed.row,
        }
        if parsed.card_no:
            extra["card_no"] = parsed.card_no
        return self.servicer.new_member_doc(ctx.job["brand_id"], cmd, now(), ctx.rules, **extra)

    async def _batch(self, ctx: _Context, batch: list[tuple[int, Any]]) -> None:
        for attempt in range(_BATCH_ATTEMPTS):
            good, errors = await asyncio.to_thread(self._prepare, ctx, batch)
            try:
                await self._commit(ctx, batch[0][0], good, errors)
                return
            except DuplicateKeyError:
                # A registration raced this batch between lookup and insert: look again.
                if attempt == _BATCH_ATTEMPTS - 1:
                    raise

    async def _commit(self, ctx: _Context, first_row: int, good: list[Doc], errors: list[Doc]) -> None:
        job = ctx.job
        brand_id = job["brand_id"]
        # In-batch duplicates: the first row wins, later ones are reported against it.
        first_by_phone: dict[str, int] = {}
        first_by_card: dict[str, int] = {}
        unique: list[Doc] = []
        for doc in good:
            row = doc["import_row"]
            if doc["phone_hash"] in first_by_phone:
                errors.append(_error(job["_id"], row, "phone", f"duplicates row {first_by_phone[doc['phone_hash']]}"))
                continue
            card = doc.get("card_no")
            if card and card in first_by_card:
                errors.append(_error(job["_id"], row, "card_no", f"duplicates row {first_by_card[card]}"))
                continue
            first_by_phone[doc["phone_hash"]] = row
            if card:
                first_by_card[card] = row
            unique.append(doc)
        existing = {
            d["phone_hash"]: d
            for d in await self.repo.find_in(
                "members",
                "phone_hash",
                [d["phone_hash"] for d in unique],
                {"brand_id": brand_id},
                # Only what classifying needs, unless the merge policy will compare profiles.
                None if job["on_existing"] == "merge" else _CLASSIFY,
            )
        }
        cards = [identity_id(brand_id, "card", d["card_no"]) for d in unique if d.get("card_no")]
        taken_cards = {d["value"]: d["member_id"] for d in await self.repo.find_in("identities", "_id", cards)}
        new: list[Doc] = []
        merges: list[tuple[Doc, Doc]] = []
        skipped = 0
        for doc in unique:
            row = doc["import_row"]
            other = existing.get(doc["phone_hash"])
            if other is not None:
                if other.get("import_sha") == job["sha256"]:
                    if other.get("import_row") == row:
                        skipped += 1  # this very row, imported by an earlier run of the same file
                    else:
                        errors.append(_error(job["_id"], row, "phone", f"duplicates row {other.get('import_row')}"))
                elif job["on_existing"] == "merge" and other.get("status", "active") == "active":
                    merges.append((other, doc))
                else:
                    member_id = other.get("merged_into") or other["_id"]
                    errors.append(_error(job["_id"], row, "phone", f"a member with this phone exists ({member_id})"))
                continue
            if doc.get("card_no") and doc["card_no"] in taken_cards:
                errors.append(
                    _error(
                        job["_id"], row, "card_no", f"a member with this card exists ({taken_cards[doc['card_no']]})"
                    )
                )
                continue
            new.append(doc)
        at = now()
        updates: list[tuple[Doc, Doc]] = []
        for other, doc in merges:
            incoming = {k: doc.get(k) for k in ("name_enc", "gender", "birthday", "store_id", "guide_id", "card_no")}
            incoming.update(tags=doc.get("tags", []), attributes=doc.get("attributes", {}))
            change = fill_blanks(other, incoming)
            if "name_enc" in change:
                change["name_keys"] = doc.get("name_keys", [])
            change.pop("card_no", None)  # a card needs its identity claim: not filled by a merge
            if change:
                updates.append((other, change))
            else:
                skipped += 1
        errors.sort(key=lambda e: e["row"])

        async def write(s: AsyncClientSession) -> None:
            if new:
                await self.repo.members.insert_many(new, session=s)
                claims = [
                    {
                        "_id": identity_id(brand_id, "card", d["card_no"]),
                        "brand_id": brand_id,
                        "kind": "card",
                        "value": d["card_no"],
                        "member_id": d["_id"],
                    }
                    for d in new
                    if d.get("card_no")
                ]
                if claims:
                    await self.repo.identities.insert_many(claims, session=s)
                await self.outbox.add_many(
                    [(self.servicer.registered_event(d), brand_id, d["_id"]) for d in new], session=s
                )
            for other, change in updates:
                await self.servicer._save_member(other, change, s, at, ctx.rules)
            if errors:
                await self.repo.import_errors.insert_many(errors, session=s)
            await self.repo.import_batches.insert_one(
                {"_id": f"{job['_id']}:{first_row}", "import_id": job["_id"], "first_row": first_row}, session=s
            )
            await self.repo.imports.update_one(
                {"_id": job["_id"]},
                {
                    "$inc": {
                        "imported": len(new),
                        "failed": len(errors),
                        "skipped": skipped,
                        "merged": len(updates),
                        "total": len(new) + len(errors) + skipped + len(updates),
                    },
                },
                session=s,
            )

        await self.repo.transaction(write)


class _Context:
    """What every batch of a job needs, loaded once."""

    def __init__(
        self,
        *,
        job: Doc,
        schema: AttributeSchema,
        stores: dict[str, str],
        guides: set[str],
        today: Any,
        rules: tuple[TagRule, ...],
    ) -> None:
        self.rules = rules
        self.job = job
        self.schema = schema
        self.stores = stores
        self.guides = guides
        self.today = today
        self.columns: dict[str, int] = {}


def _error(import_id: str, row: int, field: str, message: str) -> Doc:
    return {"_id": f"{import_id}:{row:09d}", "import_id": import_id, "row": row, "field": field, "message": message}


def _csv_rows(spool: IO[bytes]) -> Iterator[list[str]]:
    # Excel in China saves CSV as GB18030 more often than not; UTF-8 (with or without BOM) otherwise.
    head = spool.read(64 * 1024)
    spool.seek(0)
    encoding = "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        encoding = "gb18030"
    text = codecs.getreader(encoding)(spool, errors="replace")
    yield from csv.reader(text)


def _xlsx_rows(spool: IO[bytes]) -> Iterator[tuple[Any, ...]]:
    # read_only streams the sheet XML row by row instead of building the whole workbook in memory.
    workbook = load_workbook(spool, read_only=True, data_only=True)
    try:
        yield from workbook.active.iter_rows(values_only=True)  # type: ignore[union-attr]
    finally:
        workbook.close()

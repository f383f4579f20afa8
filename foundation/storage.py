"""Where attachment bytes live: content-addressed by sha256, whole or absent. Two backends behind one protocol,
chosen by the `blob_store` setting: files under var/ (one machine, or a shared disk), or PostgreSQL tables (every web
worker on every machine that reaches the database sees every blob)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from sqlalchemy import CheckConstraint, Column, Integer, LargeBinary, PrimaryKeyConstraint, String, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Field, SQLModel, col

from foundation.clock import utc_now
from foundation.db import UTCDateTime, create_engine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from foundation.settings import Settings

T = TypeVar("T")
log = logging.getLogger("supervision.storage")
SHA256_HEX = frozenset("0123456789abcdef")
HASH_PAGE = 1000  # hashes read per query while listing a database store


@runtime_checkable
class BlobStore(Protocol):
    def put(self, content: bytes) -> str:
        """Store `content` (if not already there) and return its sha256."""
        ...

    def get(self, sha256: str) -> bytes:
        """The stored bytes; FileNotFoundError if absent."""
        ...

    def put_derived(self, sha256: str, kind: str, content: bytes) -> None:
        """Keep a copy made from the blob `sha256` (a display copy of a photo) under `kind`."""
        ...

    def get_derived(self, sha256: str, kind: str) -> bytes | None:
        """The copy of `kind` made from the blob `sha256`, or None if none was made."""
        ...

    def hashes(self) -> Iterator[str]:
        """The sha256 of every stored blob (derived copies not included: see derived_copies), in no particular order."""
        ...

    def derived_copies(self) -> Iterator[tuple[str, str]]:
        """(sha256, kind) of every stored derived copy (what a backup copies beside the blobs)."""
        ...


async def read_blob(store: BlobStore, sha256: str) -> bytes:
    """A blob read off the event loop: every backend blocks its caller (a disk read, or a query on the store's own
    connection), so a request handler never calls `get` itself (tests/unit/test_blob_calls.py keeps it so)."""
    return await asyncio.to_thread(store.get, sha256)


async def write_blob(store: BlobStore, content: bytes) -> str:
    """A blob written off the event loop; its sha256."""
    return await asyncio.to_thread(store.put, content)


@dataclass(eq=False)
class StagedBlob:
    """Bytes written ahead of the transaction that names them, so that the transaction only moves them into place.
    On SQLite a writing transaction holds the database's one write lock: the disk (the write and its fsync) is not
    waited for under it. Until `commit_staged` the bytes are not in the store (`hashes` does not list them); a staged
    blob dropped without being committed (its request refused) is removed, so a refusal still stores nothing."""

    sha256: str
    content: bytes  # for the database store, which writes in one statement at commit
    path: Path | None = None  # the file store's file written ahead, renamed into place at commit
    derived_kind: str | None = None  # a derived copy (of the blob `sha256`) of this kind, not the blob itself


STAGING = "staging"  # the file store's folder of bytes written ahead (not a blob folder: two hex digits)
STAGED_FOR_HOURS = 1  # a staged file older than this was left by a process that stopped: removed at the next start


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def stage_blob(store: BlobStore, content: bytes, *, derived_of: str | None = None, kind: str | None = None) -> StagedBlob:
    """Write `content` ahead (blocking: call it in a thread, before the transaction), as a blob or, with `derived_of`
    and `kind`, as a copy made from that blob. The database store writes in one statement at commit: it keeps the
    bytes until then."""
    staged = StagedBlob(sha256=checked_sha256(derived_of) if derived_of else hashlib.sha256(content).hexdigest(), content=content, derived_kind=checked_kind(kind) if kind else None)
    if isinstance(store, FileBlobStore):
        store.stage(staged)
    return staged


def commit_staged(store: BlobStore, staged: StagedBlob) -> None:
    """Put staged bytes in the store (blocking: a rename for files). Inside the transaction that names them: a row
    that commits always names bytes that are there."""
    if isinstance(store, FileBlobStore) and staged.path is not None:
        store.commit(staged)
    elif staged.derived_kind:
        store.put_derived(staged.sha256, staged.derived_kind, staged.content)
    else:
        store.put(staged.content)


def checked_sha256(sha256: str) -> str:
    if len(sha256) != 64 or not SHA256_HEX.issuperset(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return sha256


def checked_kind(kind: str) -> str:
    if not kind.replace("-", "").isalnum() or len(kind) > 40:
        raise ValueError(f"not a kind of copy: {kind!r}")
    return kind


class FileBlobStore:
    """`root/ab/cd/abcd…` files, written to a temporary name and renamed, so a file is whole or absent."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        checked_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        path = self._path(sha256)
        if not path.exists():
            self._write(path, content)
        return sha256

    def get(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def _derived_path(self, sha256: str, kind: str) -> Path:
        checked_kind(kind)
        original = self._path(sha256)
        return self.root / "derived" / original.parent.relative_to(self.root) / f"{sha256}.{kind}"

    def stage(self, staged: StagedBlob) -> None:
        """Write a staged blob's bytes to a file of their own under staging/, removed if the blob is dropped."""
        folder = self.root / STAGING
        folder.mkdir(parents=True, exist_ok=True)
        staged.path = folder / uuid.uuid4().hex
        self._write(staged.path, staged.content)
        staged.content = b""  # on disk now; not held twice
        weakref.finalize(staged, _discard, staged.path)

    def commit(self, staged: StagedBlob) -> None:
        """Move a staged file into its place (a copy already there stays, and the staged one goes)."""
        assert staged.path is not None
        final = self._derived_path(staged.sha256, staged.derived_kind) if staged.derived_kind else self._path(staged.sha256)
        if final.exists():
            staged.path.unlink(missing_ok=True)
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, final)

    def sweep_staging(self, older_than_hours: float = STAGED_FOR_HOURS) -> int:
        """Remove bytes staged by a process that stopped before committing or dropping them; how many."""
        folder = self.root / STAGING
        if not folder.is_dir():
            return 0
        cutoff = time.time() - older_than_hours * 3600
        removed = 0
        for path in folder.iterdir():
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def put_derived(self, sha256: str, kind: str, content: bytes) -> None:
        path = self._derived_path(sha256, kind)
        if not path.exists():
            self._write(path, content)

    def get_derived(self, sha256: str, kind: str) -> bytes | None:
        path = self._derived_path(sha256, kind)
        return path.read_bytes() if path.exists() else None

    def hashes(self) -> Iterator[str]:
        """Files named by their sha256 two folders down (temporary files and derived copies are not blobs)."""
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if len(first.name) != 2 or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                if not second.is_dir():
                    continue
                for path in sorted(second.iterdir()):
                    name = path.name
                    if len(name) == 64 and SHA256_HEX.issuperset(name) and name.startswith(first.name + second.name):
                        yield name

    def derived_copies(self) -> Iterator[tuple[str, str]]:
        for path in sorted((self.root / "derived").glob("??/??/*.*")):
            sha256, _, kind = path.name.partition(".")
            if len(sha256) == 64 and SHA256_HEX.issuperset(sha256) and kind.replace("-", "").isalnum():
                yield sha256, kind

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)


class StoredBlob(SQLModel, table=True):
    """A blob of the PostgreSQL store: its bytes under their sha256, written in one statement (whole or absent)."""

    __tablename__ = "blobs"
    __table_args__ = (CheckConstraint("length(sha256) = 64", name="sha256_length"),)

    sha256: str = Field(sa_column=Column(String(64), primary_key=True))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size_bytes: int = Field(sa_column=Column(Integer, nullable=False))
    stored_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class StoredBlobCopy(SQLModel, table=True):
    """A copy made from a blob (a photo's display copy), under the blob's sha256 and the copy's kind."""

    __tablename__ = "blob_copies"
    __table_args__ = (PrimaryKeyConstraint("sha256", "kind"),)

    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(40), nullable=False))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class DatabaseBlobStore:
    """Blobs in the `blobs` and `blob_copies` tables of the system's PostgreSQL database, so every web worker on
    every machine serves what any of them stored. Each write is its own committed statement, done before the row
    that names the blob is committed (a row always names bytes that are there; bytes of a request that then failed
    stay, unnamed, like a file would). The protocol is synchronous (callers run it in a thread or accept the wait, as
    with a file): the store runs its own event loop and small connection pool in a thread of this process, made at
    first use (so a forked or spawned worker makes its own)."""

    def __init__(self, database_url: str, connections: int = 4) -> None:
        if not database_url.startswith("postgresql"):
            raise ValueError("the database blob store needs a PostgreSQL database")
        self.database_url = database_url
        self.connections = connections
        self._guard = threading.Lock()
        self._owner_pid = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: AsyncEngine | None = None

    def _started(self) -> tuple[asyncio.AbstractEventLoop, AsyncEngine]:
        with self._guard:
            if self._loop is None or self._engine is None or self._owner_pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="blob-store", daemon=True).start()
                self._loop, self._owner_pid = loop, os.getpid()
                self._engine = create_engine(self.database_url, pool_size=self.connections, max_overflow=0)
            return self._loop, self._engine

    def _run(self, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
        loop, engine = self._started()

        async def call() -> T:
            return await work(engine)

        done: Future[T] = asyncio.run_coroutine_threadsafe(call(), loop)
        return done.result()

    def put(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()

        async def work(engine: AsyncEngine) -> None:
            async with engine.begin() as connection:
                # Bytes already there are not sent again (the same photo filed twice, a retried upload).
                if (await connection.execute(select(col(StoredBlob.sha256)).where(col(StoredBlob.sha256) == sha256))).first() is not None:
                    return
                await connection.execute(
                    pg_insert(StoredBlob)
                    .values(sha256=sha256, content=content, size_bytes=len(content), stored_at=utc_now())
                    .on_conflict_do_nothing(index_elements=["sha256"])
                )

        self._run(work)
        return sha256

    def get(self, sha256: str) -> bytes:
        checked_sha256(sha256)

        async def work(engine: AsyncEngine) -> bytes | None:
            async with engine.connect() as connection:
                return (await connection.execute(select(col(StoredBlob.content)).where(col(StoredBlob.sha256) == sha256))).scalar_one_or_none()

        content = self._run(work)
        if content is None:
            raise FileNotFoundError(f"no blob {sha256} in the database blob store")
        return content

    def put_derived(self, sha256: str, kind: str, content: bytes) -> None:
        checked_sha256(sha256)
        checked_kind(kind)

        async def work(engine: AsyncEngine) -> None:
            async with engine.begin() as connection:
                await connection.execute(
                    pg_insert(StoredBlobCopy).values(sha256=sha256, kind=kind, content=content).on_conflict_do_nothing(index_elements=["sha256", "kind"])
                )

        self._run(work)

    def get_derived(self, sha256: str, kind: str) -> bytes | None:
        checked_sha256(sha256)
        checked_kind(kind)

        async def work(engine: AsyncEngine) -> bytes | None:
            async with engine.connect() as connection:
                found = select(col(StoredBlobCopy.content)).where(col(StoredBlobCopy.sha256) == sha256, col(StoredBlobCopy.kind) == kind)
                return (await connection.execute(found)).scalar_one_or_none()

        return self._run(work)

    def hashes(self) -> Iterator[str]:
        """Every blob's sha256 in order, a page at a time (a store of millions is never held in memory)."""
        after = ""
        while True:

            async def page(engine: AsyncEngine, after: str = after) -> list[str]:
                async with engine.connect() as connection:
                    listed = select(col(StoredBlob.sha256)).where(col(StoredBlob.sha256) > after).order_by(col(StoredBlob.sha256)).limit(HASH_PAGE)
                    return list((await connection.execute(listed)).scalars())

            found = self._run(page)
            yield from found
            if len(found) < HASH_PAGE:
                return
            after = found[-1]

    def derived_copies(self) -> Iterator[tuple[str, str]]:
        """Every derived copy's (sha256, kind), a page at a time."""
        after = ("", "")
        while True:

            async def page(engine: AsyncEngine, after: tuple[str, str] = after) -> list[tuple[str, str]]:
                async with engine.connect() as connection:
                    listed = (
                        select(col(StoredBlobCopy.sha256), col(StoredBlobCopy.kind))
                        .where(
                            (col(StoredBlobCopy.sha256) > after[0])
                            | ((col(StoredBlobCopy.sha256) == after[0]) & (col(StoredBlobCopy.kind) > after[1]))
                        )
                        .order_by(col(StoredBlobCopy.sha256), col(StoredBlobCopy.kind))
                        .limit(HASH_PAGE)
                    )
                    return [(row[0], row[1]) for row in await connection.execute(listed)]

            found = self._run(page)
            yield from found
            if len(found) < HASH_PAGE:
                return
            after = found[-1]

    def close(self) -> None:
        """Close the pool and stop the store's thread (at the app's shutdown); a later use starts them again."""
        with self._guard:
            loop, engine, self._loop, self._engine = self._loop, self._engine, None, None
        if loop is None or engine is None:
            return
        asyncio.run_coroutine_threadsafe(engine.dispose(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)


def store_answers(store: BlobStore) -> bool:
    """Whether the store can be read (the first of its hashes listed; an empty store answers too) and, for files,
    written (its folder is there or can be made, and is a folder)."""
    try:
        if isinstance(store, FileBlobStore):
            store.root.mkdir(parents=True, exist_ok=True)
            if not os.access(store.root, os.W_OK | os.X_OK):
                raise PermissionError(f"cannot write into {store.root}")
        next(iter(store.hashes()), None)
    except Exception:
        log.exception("the blob store does not answer")
        return False
    return True


@dataclass
class CopyReport:
    """What `copy_blobs` did: blobs copied (or found already there) whose bytes hash to their name in the target,
    and the sha256 of those that did not (damaged in the source, or read back wrong from the target)."""

    checked: int = 0
    damaged_in_source: list[str] = dataclass_field(default_factory=list)
    damaged_in_target: list[str] = dataclass_field(default_factory=list)

    @property
    def whole(self) -> bool:
        return not self.damaged_in_source and not self.damaged_in_target


def copy_blobs(source: BlobStore, target: BlobStore, progress: Callable[[int], None] | None = None) -> CopyReport:
    """Copy every blob of `source` into `target`, hashing the bytes read from the source and again the bytes read
    back from the target: a blob counts as moved only when both hash to its name. Derived copies are not moved
    (they are made again from the blob when first asked for). Safe to run again: what is there is not rewritten."""
    report = CopyReport()
    for sha256 in source.hashes():
        content = source.get(sha256)
        if hashlib.sha256(content).hexdigest() != sha256:
            report.damaged_in_source.append(sha256)
            continue
        target.put(content)
        if hashlib.sha256(target.get(sha256)).hexdigest() != sha256:
            report.damaged_in_target.append(sha256)
            continue
        report.checked += 1
        if progress is not None:
            progress(report.checked)
    return report


_OPENED: dict[tuple[str, str], FileBlobStore | DatabaseBlobStore] = {}
_OPENING = threading.Lock()


def open_blob_store(settings: Settings, backend: str | None = None) -> FileBlobStore | DatabaseBlobStore:
    """The blob store the settings choose (`blob_store`: file or postgresql), or the one `backend` names: one per
    process and place, so the web app, its jobs and the demo loaders share one connection pool."""
    chosen = backend or settings.blob_store
    if chosen == "postgresql":
        key = (chosen, settings.database_url)
    elif chosen == "file":
        key = (chosen, str((settings.var_dir / "attachments").absolute()))
    else:
        raise ValueError(f"no blob store {chosen!r}: file or postgresql")
    with _OPENING:
        if key not in _OPENED:
            store = DatabaseBlobStore(key[1]) if chosen == "postgresql" else FileBlobStore(Path(key[1]))
            if isinstance(store, FileBlobStore):
                store.sweep_staging()
            _OPENED[key] = store
        return _OPENED[key]

"""Backup and restore of the whole system: a consistent copy of the database (SQLite's online backup API, which
reads the WAL too; PostgreSQL's pg_dump in its custom format) and of every blob in the blob store, with a manifest of
every file's sha256 and the schema's migration revision. The database is copied first, then the blobs: blobs are
written before the rows that name them are committed and never removed, so every blob the copied database names is
in the copied store, however much is filed meanwhile. The nightly job runs the same backup into backup_dir."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.clock import utc_now
from foundation.db import create_engine
from foundation.errors import Conflict, InvalidInput
from foundation.jobs import Job, daily_job
from foundation.settings import Settings, get_settings
from foundation.storage import BlobStore, open_blob_store

log = logging.getLogger("supervision.backup")

MANIFEST = "manifest.json"
FORMAT = "supervision-backup/1"
SQLITE_FILE = "database.sqlite3"
POSTGRESQL_FILE = "database.pgdump"
NIGHTLY_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")


def blob_store(settings: Settings) -> BlobStore:
    """The blob store the system's settings name (the one the web app and the jobs write to)."""
    return open_blob_store(settings)


@dataclass(frozen=True)
class BackupReport:
    folder: Path
    dialect: str
    revision: str
    blobs: int
    derived: int
    bytes: int


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise InvalidInput(f"the database URL names no SQLite file: {url.render_as_string()}", zh="数据库地址未指明 SQLite 文件")
    return Path(url.database)


def postgresql_program(settings: Settings, name: str) -> str:
    """The path of pg_dump or pg_restore: the configured folder's, else the newest Debian server version's, else the
    PATH's (Debian's /usr/bin wrappers pick a version of their own)."""
    if settings.postgresql_bin_dir:
        candidate = Path(settings.postgresql_bin_dir) / name
        if not os.access(candidate, os.X_OK):
            raise InvalidInput(f"postgresql_bin_dir {settings.postgresql_bin_dir} has no program {name}", zh=f"postgresql_bin_dir 中没有 {name}")
        return str(candidate)
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}") if p.parent.parent.name.isdecimal() and os.access(p, os.X_OK)),
        key=lambda p: int(p.parent.parent.name),
    )
    if versions:
        return str(versions[-1])
    found = shutil.which(name)
    if found is None:
        raise InvalidInput(f"{name} not found: install PostgreSQL's client programs or set postgresql_bin_dir", zh=f"找不到 {name}")
    return found


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for pg_dump/pg_restore (the password in the environment, never in argv)."""
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432), "--dbname", url.database or "postgres"]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(program: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(program, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InvalidInput(f"{Path(program[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}", zh="数据库备份或恢复失败")


async def _revision(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return str((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one())
    finally:
        await engine.dispose()


def _empty_folder(folder: Path, what: str) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise Conflict(f"{what} {folder} is not an empty folder; give a new or empty one", zh=f"{folder} 不是空文件夹")


def _copy_sqlite(source: Path, target: Path) -> str:
    """SQLite's online backup in one step, so the copy is the database as one read transaction saw it (WAL
    included); the copy's migration revision."""
    if not source.exists():
        raise InvalidInput(f"no SQLite database at {source}", zh="找不到数据库文件")
    origin, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        origin.execute("PRAGMA busy_timeout=10000")
        origin.backup(copy)
        if copy.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise InvalidInput(f"the copy of {source} fails SQLite's quick_check", zh="数据库副本校验失败")
        return str(copy.execute("SELECT version_num FROM alembic_version").fetchone()[0])
    finally:
        origin.close()
        copy.close()


async def back_up(settings: Settings, folder: Path, store: BlobStore | None = None) -> BackupReport:
    """Copy the database, then every blob, into the new or empty `folder`, and write the manifest last (a folder
    without a manifest is not a backup)."""
    store = store or blob_store(settings)
    _empty_folder(folder, "backup folder")
    folder.mkdir(parents=True, exist_ok=True)
    url = make_url(settings.database_url)
    files: dict[str, dict[str, Any]] = {}
    if settings.is_sqlite:
        dialect, name = "sqlite", SQLITE_FILE
        revision = await asyncio.to_thread(_copy_sqlite, _sqlite_path(url), folder / name)
    else:
        dialect, name = "postgresql", POSTGRESQL_FILE
        revision = await _revision(settings.database_url)
        args, env = _libpq(url)
        program = [postgresql_program(settings, "pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(folder / name), *args]
        await asyncio.to_thread(_run, program, env)
    files[name] = {"sha256": await asyncio.to_thread(_sha256_of, folder / name), "bytes": (folder / name).stat().st_size}
    blobs, derived = await asyncio.to_thread(_copy_blobs, store, folder, files)
    manifest = {
        "format": FORMAT,
        "created_at": utc_now().isoformat(),
        "database": {"dialect": dialect, "file": name, "revision": revision},
        "blobs": blobs,
        "derived": derived,
        "files": files,
    }
    draft = folder / f"{MANIFEST}.partial"
    draft.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(draft, folder / MANIFEST)
    size = sum(int(f["bytes"]) for f in files.values())
    log.info("backup of %s (revision %s) in %s: %d blobs, %d derived copies, %d bytes", dialect, revision, folder, blobs, derived, size)
    return BackupReport(folder=folder, dialect=dialect, revision=revision, blobs=blobs, derived=derived, bytes=size)


def _blob_name(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256}"


def _derived_name(sha256: str, kind: str) -> str:
    return f"derived/{sha256[:2]}/{sha256}.{kind}"


def _write_file(folder: Path, name: str, content: bytes, files: dict[str, dict[str, Any]]) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    files[name] = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}


def _copy_blobs(store: BlobStore, folder: Path, files: dict[str, dict[str, Any]]) -> tuple[int, int]:
    blobs = derived = 0
    for sha256 in sorted(store.hashes()):
        content = store.get(sha256)
        if hashlib.sha256(content).hexdigest() != sha256:
            raise InvalidInput(f"blob {sha256} in the store does not have that sha256: the store is damaged", zh="附件存储中的文件已损坏")
        _write_file(folder, _blob_name(sha256), content, files)
        blobs += 1
    for sha256, kind in sorted(store.derived_copies()):
        copy = store.get_derived(sha256, kind)
        if copy is not None:
            _write_file(folder, _derived_name(sha256, kind), copy, files)
            derived += 1
    return blobs, derived


@dataclass(frozen=True)
class RestoreReport:
    dialect: str
    revision: str
    blobs: int
    derived: int


def read_manifest(folder: Path) -> dict[str, Any]:
    """The backup's manifest, after checking every file it lists is there with its sha256 (nothing is restored from a
    backup that fails)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise InvalidInput(f"{folder} has no {MANIFEST}: not a backup, or one that did not finish", zh="该文件夹不是完整的备份（缺少清单）")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path} is not readable JSON: {error}", zh="备份清单无法读取") from None
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"{path} is not a {FORMAT} manifest", zh="备份清单格式不对")
    bad = []
    for name, entry in sorted(manifest["files"].items()):
        file = folder / name
        if ".." in Path(name).parts or not file.is_file():
            bad.append(f"{name} is missing")
        elif _sha256_of(file) != entry["sha256"]:
            bad.append(f"{name} has changed (sha256 differs from the manifest)")
    if bad:
        shown = "; ".join(bad[:10]) + (f"; and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise InvalidInput(f"the backup in {folder} is damaged: {shown}", zh=f"备份已损坏：{len(bad)} 个文件缺失或被改动")
    return manifest


async def _database_is_empty(database_url: str) -> bool:
    if database_url.startswith("sqlite"):
        path = _sqlite_path(make_url(database_url))
        if not path.exists() or path.stat().st_size == 0:
            return True
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return not names


def _restore_sqlite(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    origin, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        origin.backup(copy)
        copy.execute("PRAGMA journal_mode=WAL")
    finally:
        origin.close()
        copy.close()


async def restore(settings: Settings, folder: Path, store: BlobStore | None = None) -> RestoreReport:
    """Check the backup in `folder` against its manifest, then restore it into the database and blob store `settings`
    name, which must both be empty (a restore never mixes a backup into a working system)."""
    store = store or blob_store(settings)
    manifest = await asyncio.to_thread(read_manifest, folder)
    database = manifest["database"]
    dialect = "sqlite" if settings.is_sqlite else "postgresql"
    if database["dialect"] != dialect:
        raise InvalidInput(
            f"the backup is of a {database['dialect']} database; the settings name a {dialect} one", zh="备份的数据库类型与目标不同"
        )
    if not await _database_is_empty(settings.database_url):
        raise Conflict(
            "the target database is not empty: restore into a new, empty database (it refuses to mix a backup into a working system)",
            zh="目标数据库不是空的：请恢复到一个新建的空数据库",
        )
    if not await asyncio.to_thread(_store_is_empty, store):
        raise Conflict("the target blob store is not empty: restore with a new, empty var_dir", zh="目标附件存储不是空的：请使用新的空 var_dir")
    url = make_url(settings.database_url)
    if dialect == "sqlite":
        await asyncio.to_thread(_restore_sqlite, folder / database["file"], _sqlite_path(url))
    else:
        args, env = _libpq(url)
        program = [postgresql_program(settings, "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", *args, str(folder / database["file"])]
        await asyncio.to_thread(_run, program, env)
    revision = await _revision(settings.database_url)
    if revision != database["revision"]:
        raise InvalidInput(f"the restored database is at revision {revision}, the manifest says {database['revision']}", zh="恢复后的数据库版本与清单不符")
    blobs, derived = await asyncio.to_thread(_restore_blobs, store, folder, manifest["files"])
    log.info("restored %s (revision %s) from %s: %d blobs, %d derived copies", dialect, revision, folder, blobs, derived)
    return RestoreReport(dialect=dialect, revision=revision, blobs=blobs, derived=derived)


def _store_is_empty(store: BlobStore) -> bool:
    return next(iter(store.hashes()), None) is None


def _restore_blobs(store: BlobStore, folder: Path, files: dict[str, dict[str, Any]]) -> tuple[int, int]:
    blobs = derived = 0
    for name in sorted(files):
        if name.startswith("blobs/"):
            if store.put((folder / name).read_bytes()) != Path(name).name:
                raise InvalidInput(f"{name} does not hold the blob its name says", zh="备份中的附件与其名称不符")
            blobs += 1
    for name in sorted(files):
        if name.startswith("derived/"):
            sha256, _, kind = Path(name).name.partition(".")
            store.put_derived(sha256, kind, (folder / name).read_bytes())
            derived += 1
    return blobs, derived


def nightly_folders(root: Path) -> Iterator[Path]:
    """The nightly backups in `root` (finished ones: named by their date, with a manifest), oldest first."""
    if root.is_dir():
        yield from sorted(p for p in root.iterdir() if NIGHTLY_NAME.fullmatch(p.name) and (p / MANIFEST).is_file())


async def write_nightly_backup(settings: Settings, period: str) -> dict[str, Any]:
    """The day's backup into backup_dir/<day>, written under a temporary name and renamed when whole (a day backed up
    already is not made again); then only the newest backup_keep are kept."""
    if not settings.backup_dir:
        return {"backup": "off (backup_dir is not set)"}
    root = Path(settings.backup_dir)
    final = root / period
    if not (final / MANIFEST).is_file():
        draft = root / f".{period}.partial"
        if draft.exists():
            await asyncio.to_thread(shutil.rmtree, draft)  # what a run that died left behind
        report = await back_up(settings, draft)
        if final.exists():
            await asyncio.to_thread(shutil.rmtree, final)
        os.replace(draft, final)
    else:
        report = None
    kept = list(nightly_folders(root))
    removed = []
    for old in kept[: max(0, len(kept) - settings.backup_keep)]:
        await asyncio.to_thread(shutil.rmtree, old)
        removed.append(old.name)
    return {
        "folder": str(final),
        "revision": report.revision if report else None,
        "blobs": report.blobs if report else None,
        "bytes": report.bytes if report else None,
        "removed": removed,
    }


async def nightly_backup(session: AsyncSession, period: str, now: datetime) -> dict[str, Any]:
    """The scheduled job: the backup of the system the settings name (its own connections, not the job's session)."""
    return await write_nightly_backup(get_settings(), period)


JOBS: list[Job] = [
    daily_job("operations.nightly_backup", "每日备份：数据库与附件存储完整备份到 backup_dir，保留最近 backup_keep 份", 2, 40, nightly_backup),
]

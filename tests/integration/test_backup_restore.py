"""The restore drill: a district with its demo data and issued documents is backed up while a social worker keeps
filing patrols with photos, restored into a new database and an empty blob store, and everything a district relies
on is there: every table's records, every photo by its hash, the ledgers' balances, the audit chain, and every
issued document still verifies. A restore refuses a target that is not empty and a backup that was changed."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import inspect, text

from foundation.audit import verify_chain
from foundation.db import create_engine, metadata
from foundation.errors import Conflict, InvalidInput
from foundation.settings import Settings, load_settings
from foundation.storage import FileBlobStore
from supervision.app import create_app
from supervision.backup import MANIFEST, back_up, blob_store, nightly_folders, restore, write_nightly_backup
from supervision.demo import DEMO_PASSWORD
from supervision.schedule import job_named
from tests.database import fresh_database_url, migrated_demo_database
from tests.integration.evidence import jpeg, record_body


async def table_rows(url: str) -> dict[str, set[tuple[Any, ...]]]:
    """Every table's primary keys (all columns for a table without one)."""
    engine = create_engine(url)
    rows: dict[str, set[tuple[Any, ...]]] = {}
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            for table in metadata.sorted_tables:
                assert table.name in names, table.name
                key = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
                listed = ", ".join(f'"{k}"' for k in key)
                rows[table.name] = {tuple(r) for r in (await connection.execute(text(f'SELECT {listed} FROM "{table.name}"'))).all()}
    finally:
        await engine.dispose()
    return rows


async def ledger_balances(url: str) -> dict[str, int]:
    """What each payer owes on the programmes' ledger (the property subsidy's too), and what the budgets have spent."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            sums = {}
            for table, group in (("programme_ledger", "programme || '/' || payer"), ("programme_budgets", "programme")):
                column = "spent_fen" if table == "programme_budgets" else "amount_fen"
                for name, total in (await connection.execute(text(f"SELECT {group}, SUM({column}) FROM {table} GROUP BY {group}"))).all():
                    sums[f"{table}:{name}"] = int(total)
            return sums
    finally:
        await engine.dispose()


async def patrols_filed(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT COUNT(*) FROM inspection_records WHERE source = 'patrol'"))).scalar_one())
    finally:
        await engine.dispose()


async def log_in(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@dataclass
class Drill:
    source: Settings
    target: Settings
    folder: Path
    before: dict[str, set[tuple[Any, ...]]]
    after: dict[str, set[tuple[Any, ...]]]
    filed_during_backup: int
    source_hashes_at_start: set[str]
    large_photo: str  # the sha256 of a photo larger than the display size: the store keeps a display copy of it


@pytest.fixture(scope="module")
async def drill(tmp_root: Path) -> AsyncIterator[Drill]:
    # The demo loaders keep their files in the suite's var_dir: the source system's blob store is that one.
    source = load_settings(database_url=await migrated_demo_database(tmp_root, "drill_source"))
    target = load_settings(database_url=await fresh_database_url(tmp_root, "drill_target"), var_dir=tmp_root / "drill-restored-var")
    folder = tmp_root / "drill-backup"
    app = create_app(source)
    before = await table_rows(source.database_url)
    hashes_at_start = set(blob_store(source).hashes())
    buffer = io.BytesIO()
    Image.new("RGB", (source.photo_display_max_side + 400, 1200), (120, 160, 90)).save(buffer, "JPEG")
    large_photo = buffer.getvalue()
    filed: list[tuple[float, float]] = []  # when each patrol's upload began and its filing was answered
    stop = asyncio.Event()

    async def file_patrols(client: httpx.AsyncClient) -> None:
        worker = await log_in(client, "xbl01-worker")
        large = await client.post("/api/attachments", files={"file": ("large.jpg", large_photo, "image/jpeg")}, headers=worker)
        assert large.status_code == 201, large.text
        estate = (await client.get("/api/registry/estates", headers=worker)).json()["items"][0]["id"]
        while not stop.is_set():
            began = asyncio.get_running_loop().time()
            photo = await client.post("/api/attachments", files={"file": ("photo.jpg", jpeg(), "image/jpeg")}, headers=worker)
            assert photo.status_code == 201, photo.text
            body = record_body(estate, failed={"P01": [photo.json()["id"]]})
            answer = await client.post("/api/patrols", json=body, headers=worker)
            assert answer.status_code == 201, answer.text
            filed.append((began, asyncio.get_running_loop().time()))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://drill.local", timeout=120) as client:
        filer = asyncio.create_task(file_patrols(client))
        while len(filed) < 2 and not filer.done():
            await asyncio.sleep(0.05)
        started = asyncio.get_running_loop().time()
        await back_up(source, folder)
        ended = asyncio.get_running_loop().time()
        count = len(filed)
        while len(filed) < count + 2 and not filer.done():  # and still filing after the backup
            await asyncio.sleep(0.05)
        stop.set()
        await filer
    await app.state.engine.dispose()
    after = await table_rows(source.database_url)
    await restore(target, folder)
    during = sum(began <= ended and answered >= started for began, answered in filed)
    yield Drill(source, target, folder, before, after, during, hashes_at_start, hashlib.sha256(large_photo).hexdigest())


async def test_a_backup_taken_while_patrols_are_filed_restores_every_record_elsewhere(drill: Drill) -> None:
    restored = await table_rows(drill.target.database_url)
    assert drill.filed_during_backup >= 1  # a patrol was being filed while the backup ran
    assert drill.after["inspection_records"] > drill.before["inspection_records"]
    for table, rows in restored.items():
        # Each record restored is one the source had; a table the filing did not touch is restored whole.
        assert rows <= drill.after[table], table
        if drill.before[table] == drill.after[table]:
            assert rows == drill.before[table], table
        else:
            assert len(drill.before[table]) <= len(rows) <= len(drill.after[table]), table
    assert restored["estates"] and restored["issued_documents"] and restored["programme_ledger"]
    assert await ledger_balances(drill.target.database_url) == await ledger_balances(drill.source.database_url)
    engine = create_engine(drill.target.database_url)
    try:
        async with engine.connect() as connection:
            chain = await connection.run_sync(verify_chain)
    finally:
        await engine.dispose()
    assert chain.holds and chain.checked > 0, chain.problem


async def test_every_photo_and_document_of_the_restored_system_is_there_by_its_hash_and_verifies(drill: Drill) -> None:
    store = blob_store(drill.target)
    assert drill.source_hashes_at_start <= set(store.hashes())
    engine = create_engine(drill.target.database_url)
    try:
        async with engine.connect() as connection:
            photos = {r[0] for r in (await connection.execute(text("SELECT sha256 FROM attachments"))).all()}
            documents = (await connection.execute(text("SELECT code, pdf_sha256 FROM issued_documents"))).all()
    finally:
        await engine.dispose()
    assert photos and documents
    for sha256 in photos:
        assert hashlib.sha256(store.get(sha256)).hexdigest() == sha256
    copies = {kind for sha256, kind in store.derived_copies() if sha256 == drill.large_photo}
    assert copies, "the display copy of the large photo was not restored"
    for kind in copies:
        assert store.get_derived(drill.large_photo, kind) == blob_store(drill.source).get_derived(drill.large_photo, kind)
    app = create_app(drill.target)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://restored.local") as client:
            for code, sha256 in documents:
                content = store.get(sha256)
                answer = await client.post("/api/documents/verify", files={"file": ("copy", content, "application/octet-stream")})
                assert answer.status_code == 200, answer.text
                assert answer.json()["genuine"] is True and answer.json()["code"] == code
    finally:
        await app.state.engine.dispose()


async def test_the_manifest_names_every_file_with_its_sha256_and_the_migration(drill: Drill) -> None:
    manifest = json.loads((drill.folder / MANIFEST).read_text())
    engine = create_engine(drill.source.database_url)
    try:
        async with engine.connect() as connection:
            revision = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    finally:
        await engine.dispose()
    assert manifest["database"]["revision"] == revision
    assert manifest["database"]["dialect"] == ("sqlite" if drill.source.is_sqlite else "postgresql")
    on_disk = {p.relative_to(drill.folder).as_posix() for p in drill.folder.rglob("*") if p.is_file()} - {MANIFEST}
    assert set(manifest["files"]) == on_disk
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((drill.folder / name).read_bytes()).hexdigest() == entry["sha256"], name


async def test_a_restore_into_a_system_with_data_is_refused_and_says_why(drill: Drill) -> None:
    with pytest.raises(Conflict, match="target database is not empty"):
        await restore(drill.target, drill.folder)
    empty_database = load_settings(database_url=await fresh_database_url(drill.folder.parent, "drill_refused"), var_dir=drill.target.var_dir)
    with pytest.raises(Conflict, match="blob store is not empty"):
        await restore(empty_database, drill.folder)
    assert await patrols_filed(drill.target.database_url) > 0
    # The command says it to the operator, and exits 1.
    env = {**os.environ, "SUPERVISION_DATABASE_URL": drill.target.database_url, "SUPERVISION_VAR_DIR": str(drill.target.var_dir)}
    done = subprocess.run([sys.executable, "-m", "supervision.cli", "restore", str(drill.folder)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "target database is not empty" in done.stderr, done.stderr


async def test_a_changed_or_incomplete_backup_is_refused_before_anything_is_restored(drill: Drill, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(drill.folder, damaged)
    photo = next(p for p in sorted((damaged / "blobs").rglob("*")) if p.is_file())
    original = photo.read_bytes()
    photo.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))  # a zip (xlsx) already ends in 0x00
    target = load_settings(database_url=await fresh_database_url(tmp_path, "drill_damaged"), var_dir=tmp_path / "var")
    with pytest.raises(InvalidInput, match=f"{photo.relative_to(damaged).as_posix()} has changed"):
        await restore(target, damaged)
    photo.unlink()
    with pytest.raises(InvalidInput, match="is missing"):
        await restore(target, damaged)
    (damaged / MANIFEST).unlink()
    with pytest.raises(InvalidInput, match="no manifest.json"):
        await restore(target, damaged)
    assert not list(FileBlobStore(tmp_path / "var" / "attachments").hashes())
    engine = create_engine(target.database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(lambda sync: inspect(sync).get_table_names()) == []
    finally:
        await engine.dispose()


async def test_the_nightly_backup_keeps_the_newest_copies_and_makes_one_per_day(drill: Drill, tmp_path: Path) -> None:
    job = job_named("operations.nightly_backup")
    assert job.cron == {"hour": "2", "minute": "40"}
    settings = drill.target.model_copy(update={"backup_dir": str(tmp_path / "nightly"), "backup_keep": 2})
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        result = await write_nightly_backup(settings, day)
        assert result["folder"] == str(tmp_path / "nightly" / day)
    assert [p.name for p in nightly_folders(tmp_path / "nightly")] == ["2026-11-02", "2026-11-03"]
    assert result["removed"] == ["2026-11-01"]
    again = await write_nightly_backup(settings, "2026-11-03")  # the same day again: nothing new is made
    assert again["revision"] is None and again["removed"] == []
    off = await write_nightly_backup(drill.target, "2026-11-04")
    assert off == {"backup": "off (backup_dir is not set)"}



async def test_a_backup_into_a_folder_that_holds_files_is_refused(drill: Drill, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("something else")
    with pytest.raises(Conflict, match="not an empty folder"):
        await back_up(drill.source, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]

"""Where photos and documents live: the file store and the PostgreSQL store keep the same blobs under the same
sha256, and `supervision blobs migrate` moves every blob between them, checking every hash."""

from __future__ import annotations

import gc
import hashlib
import os
import time
from pathlib import Path

import pytest

from foundation.settings import SettingsError, load_settings
from foundation.storage import DatabaseBlobStore, FileBlobStore, commit_staged, copy_blobs, stage_blob
from supervision.cli import migrate_blobs
from tests.database import on_postgres


def test_the_file_store_lists_its_blobs_and_nothing_else(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    assert list(store.hashes()) == []
    stored = sorted(store.put(f"photo {n}".encode()) for n in range(5))
    store.put_derived(stored[0], "display-2048", b"a smaller copy")
    (tmp_path / "blobs" / stored[1][:2] / stored[1][2:4] / "tmpabc123").write_bytes(b"half a write")
    assert list(store.hashes()) == stored


def test_a_blob_whose_bytes_do_not_match_its_name_is_not_moved(tmp_path: Path) -> None:
    source, target = FileBlobStore(tmp_path / "old"), FileBlobStore(tmp_path / "new")
    whole = source.put(b"a patrol photo")
    damaged = source.put(b"a fix photo")
    (tmp_path / "old" / damaged[:2] / damaged[2:4] / damaged).write_bytes(b"a fix photo, bit-rotted")
    report = copy_blobs(source, target)
    assert (report.checked, report.damaged_in_source, report.whole) == (1, [damaged], False)
    assert list(target.hashes()) == [whole] and target.get(whole) == b"a patrol photo"


def test_blobs_move_to_postgresql_and_back_keeping_every_hash(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    old = load_settings(database_url=database_url, var_dir=tmp_path / "old-var")
    files = FileBlobStore(old.var_dir / "attachments")
    contents = [f"photo {n} ".encode() * 1000 for n in range(30)]
    hashes = {files.put(content) for content in contents}
    if not on_postgres():
        # The blobs would go into the system's database, which must be PostgreSQL: refused, saying so.
        assert migrate_blobs(old, "postgresql") == 2
        assert "PostgreSQL" in capsys.readouterr().err
        with pytest.raises(SettingsError, match="blob_store = postgresql"):
            load_settings(database_url=database_url, blob_store="postgresql")
        return
    assert migrate_blobs(old, "postgresql") == 0
    assert "SUPERVISION_BLOB_STORE=postgresql" in capsys.readouterr().out
    database = DatabaseBlobStore(database_url)
    try:
        assert hashes <= set(database.hashes())
        for content in contents:
            assert database.get(hashlib.sha256(content).hexdigest()) == content
        # Again: nothing is rewritten, everything is checked again.
        assert copy_blobs(files, database).checked == len(hashes)
        # And back into the files of another machine.
        new = load_settings(database_url=database_url, var_dir=tmp_path / "new-var", blob_store="postgresql")
        assert migrate_blobs(new, "file") == 0
        moved = FileBlobStore(new.var_dir / "attachments")
        assert hashes <= set(moved.hashes())
        assert all(hashlib.sha256(moved.get(h)).hexdigest() == h for h in hashes)
        with pytest.raises(FileNotFoundError):
            database.get("0" * 64)
    finally:
        database.close()


async def test_health_answers_503_when_the_blob_store_cannot_be_used(tmp_path: Path, engine, database_url: str) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from supervision.app import create_app

    var = tmp_path / "var"
    var.mkdir()
    (var / "attachments").write_text("a file where the photos' folder should be")  # a misconfigured mount
    app = create_app(load_settings(database_url=database_url, var_dir=var), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as client:
        answer = await client.get("/health")
    assert answer.status_code == 503
    assert answer.json() | {"database": "?"} == {"status": "failing", "database": "?", "database_answers": True, "blob_store": "file", "blob_store_answers": False}


def test_bytes_written_ahead_are_stored_only_when_committed_and_gone_when_dropped(tmp_path: Path) -> None:
    """A request's photo is written ahead of its transaction (off SQLite's write lock): not in the store until the
    transaction commits it (a rename), and removed when the request is refused and drops it."""
    store = FileBlobStore(tmp_path / "blobs")
    kept, dropped = b"photo of a cleared stairwell", b"photo of a refused report"
    staged = stage_blob(store, kept)
    copy = stage_blob(store, b"its display copy", derived_of=staged.sha256, kind="display-2048")
    assert list(store.hashes()) == [] and store.get_derived(staged.sha256, "display-2048") is None
    commit_staged(store, staged)
    commit_staged(store, copy)
    assert list(store.hashes()) == [hashlib.sha256(kept).hexdigest()] and store.get(staged.sha256) == kept
    assert store.get_derived(staged.sha256, "display-2048") == b"its display copy"
    again = stage_blob(store, kept)  # the same photo sent again: committed onto what is there
    commit_staged(store, again)
    stage_blob(store, dropped)  # refused: dropped at once
    gc.collect()
    assert list((tmp_path / "blobs" / "staging").iterdir()) == []
    assert sorted(store.hashes()) == [hashlib.sha256(kept).hexdigest()]


def test_a_file_staged_by_a_process_that_stopped_is_swept(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    left = tmp_path / "blobs" / "staging" / "left-by-a-killed-worker"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"half a request")
    os.utime(left, (time.time() - 7200, time.time() - 7200))
    fresh = stage_blob(store, b"a request under way")
    assert store.sweep_staging() == 1 and not left.exists() and fresh.path is not None and fresh.path.exists()

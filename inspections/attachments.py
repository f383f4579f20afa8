"""Photos: uploaded before the record or fix report that shows them, stored by content, shown only within scope."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal
from foundation.clock import utc_now
from foundation.errors import Conflict, InvalidInput, NotFound, TooLarge
from foundation.heavy import off_loop
from foundation.storage import BlobStore, StagedBlob, commit_staged, stage_blob
from foundation.text import clean_file_name
from inspections import schemas
from inspections.flag_rules import hash_bands
from inspections.photos import PhotoFacts, PhotoLimits, display_copy, inspect_photo, perceptual_hash
from inspections.scope import owner_key, visible_attachments
from inspections.tables import Attachment, PhotoHashBand

# Attempts at a write that lost a race before giving up.
ATTEMPTS = 4
# Photos one record, fix report or veto may show (the API's bodies say the same).
MAX_PHOTOS = 20


# Photos


@dataclass(frozen=True)
class ReceivedPhoto:
    """A photo received with a request, judged by its size, pixels and content but not stored yet: the use case
    that shows it stores it (keep_photos) only after checking the right to act and the rest of the form."""

    content: bytes
    sha256: str
    original_name: str
    claimed_taken_at: datetime | None
    facts: PhotoFacts
    # The copy served for display (None when the photo is small enough to serve as it is) and its kind in the store.
    display: bytes | None
    display_kind: str
    phash: str | None = None  # perceptual hash (photos.perceptual_hash)
    # The photo and its display copy written ahead to the store (stage_blob), when received with a store: the use
    # case's transaction then only moves them into place (no disk wait under SQLite's write lock).
    staged: tuple[StagedBlob, ...] = ()


async def receive_photo(
    content: bytes, original_name: str, claimed_taken_at: datetime | None, limits: PhotoLimits, store: BlobStore | None = None
) -> ReceivedPhoto:
    """Check a received file is a photo within the size and pixel limits, and make its display copy; nothing is
    stored. With a store, the photo and its copy are written ahead (staged), before the use case's transaction,
    which stores them by moving them into place; a refused request's staged bytes are removed. Decoding and writing
    are done off the event loop."""
    max_bytes = limits.max_bytes
    if len(content) > max_bytes:
        raise TooLarge(f"the file has {len(content)} bytes; the limit is {max_bytes} bytes ({max_bytes // (1024 * 1024)} MB)", zh=f"照片超过 {max_bytes // (1024 * 1024)} MB，请压缩后再上传", field="file")
    if not content:
        raise InvalidInput("the file is empty", zh="照片文件是空的", field="file")
    sha256, facts, display, phash, staged = await off_loop(_judge_photo, content, limits, store)
    return ReceivedPhoto(
        content=content,
        sha256=sha256,
        original_name=clean_file_name(original_name),
        claimed_taken_at=claimed_taken_at,
        facts=facts,
        display=display,
        display_kind=_display_kind(limits.display_side),
        phash=phash,
        staged=staged,
    )


def required_store(store: BlobStore | None) -> BlobStore:
    if store is None:
        raise ValueError("photos received with a form need the blob store to keep them in")
    return store


async def keep_photos(session: AsyncSession, store: BlobStore, actor: Principal, photos: Sequence[ReceivedPhoto]) -> list[int]:
    """Store received photos inside the caller's transaction, which has already checked everything else and commits
    them with what shows them (the one way a form's photos are stored). The same photo already uploaded by the same
    owner is that attachment. The bytes are written last, once the rows are in, so a refusal writes nothing."""
    owner = owner_key(actor)
    ids: list[int] = []
    for photo in photos:
        existing = (await session.execute(select(col(Attachment.id)).where(col(Attachment.sha256) == photo.sha256, col(Attachment.owner) == owner))).scalar()
        if existing is not None:
            ids.append(existing)
            continue
        attachment = Attachment(
            sha256=photo.sha256,
            owner=owner,
            content_type=photo.facts.content_type,
            size_bytes=len(photo.content),
            original_name=photo.original_name,
            uploaded_at=utc_now(),
            uploaded_by_user_id=actor.user_id,
            uploaded_by=actor.label,
            claimed_taken_at=photo.claimed_taken_at,
            exif_taken_at=photo.facts.exif_taken_at,
            exif_latitude_micro=photo.facts.latitude_micro,
            exif_longitude_micro=photo.facts.longitude_micro,
            phash=photo.phash,
        )
        session.add(attachment)
        await session.flush()
        if photo.phash is not None:
            session.add_all(PhotoHashBand(attachment_id=attachment.id or 0, band=band, value=value) for band, value in hash_bands(photo.phash))
        ids.append(attachment.id or 0)
    for photo in photos:
        # Staged photos are moved into place; others are written here. Disk work either way: in a worker thread.
        if photo.staged:
            for staged in photo.staged:
                await asyncio.to_thread(commit_staged, store, staged)
            continue
        await asyncio.to_thread(store.put, photo.content)
        if photo.display is not None:
            await asyncio.to_thread(store.put_derived, photo.sha256, photo.display_kind, photo.display)
    return list(dict.fromkeys(ids))


async def upload_photo(
    session: AsyncSession,
    store: BlobStore,
    actor: Principal,
    content: bytes,
    original_name: str,
    claimed_taken_at: datetime | None,
    limits: PhotoLimits,
) -> Attachment:
    """Keep a photo for a record to come (or a fix report). The same photo uploaded again by the same owner is
    the same attachment."""
    photo = await receive_photo(content, original_name, claimed_taken_at, limits, store)
    for _ in range(ATTEMPTS):
        try:
            async with session.begin_nested():
                (attachment_id,) = await keep_photos(session, store, actor, [photo])
        except IntegrityError:
            # The same owner sent the same photo at the same moment: the other request's attachment is this one.
            continue
        return await session.get_one(Attachment, attachment_id)
    raise Conflict("the same photo is being uploaded at the same time; retry", zh="同一张照片正在同时上传，请重新上传")


async def adopt_photos(session: AsyncSession, actor: Principal, attachment_ids: Sequence[int]) -> list[int]:
    """Take photos another owner uploaded as the actor's own (the same bytes in the store, an attachment of the
    actor's with the original's facts): a social worker shows a resident's photos on the order she raises."""
    owner = owner_key(actor)
    ids: list[int] = []
    for original in (await session.execute(select(Attachment).where(col(Attachment.id).in_(list(attachment_ids))).order_by(col(Attachment.id)))).scalars():
        existing = (await session.execute(select(col(Attachment.id)).where(col(Attachment.sha256) == original.sha256, col(Attachment.owner) == owner))).scalar()
        if existing is not None:
            ids.append(existing)
            continue
        copy = Attachment(
            sha256=original.sha256, owner=owner, content_type=original.content_type, size_bytes=original.size_bytes, original_name=original.original_name,
            uploaded_at=utc_now(), uploaded_by_user_id=actor.user_id, uploaded_by=actor.label, claimed_taken_at=original.claimed_taken_at,
            exif_taken_at=original.exif_taken_at, exif_latitude_micro=original.exif_latitude_micro, exif_longitude_micro=original.exif_longitude_micro, phash=original.phash,
        )
        session.add(copy)
        await session.flush()
        if original.phash is not None:
            session.add_all(PhotoHashBand(attachment_id=copy.id or 0, band=band, value=value) for band, value in hash_bands(original.phash))
        ids.append(copy.id or 0)
    return list(dict.fromkeys(ids))


async def own_photos(session: AsyncSession, actor: Principal, photo_ids: Iterable[int], *, zh: str, field: str | None = "photo") -> None:
    """Refuse photo ids that are not the actor's own uploads (one may show only what one uploaded)."""
    wanted = set(photo_ids)
    if not wanted:
        return
    own = set(
        (await session.execute(select(col(Attachment.id)).where(col(Attachment.id).in_(wanted), col(Attachment.owner) == owner_key(actor)))).scalars()
    )
    missing = sorted(wanted - own)
    if missing:
        raise InvalidInput(f"photos {', '.join(map(str, missing))} are not photos you uploaded; upload them first (POST /api/attachments)", zh=zh, field=field)


def _judge_photo(content: bytes, limits: PhotoLimits, store: BlobStore | None) -> tuple[str, PhotoFacts, bytes | None, str | None, tuple[StagedBlob, ...]]:
    facts, fingerprint = inspect_photo(content, limits.max_pixels)  # refuses what is not a photo within the limits first
    phash = perceptual_hash(fingerprint)  # its greyscale copy (full size for a PNG or WebP) is let go here
    del fingerprint
    sha256, display = hashlib.sha256(content).hexdigest(), display_copy(content, limits.display_side)
    staged: tuple[StagedBlob, ...] = ()
    if store is not None:
        staged = (stage_blob(store, content),)
        if display is not None:
            staged += (stage_blob(store, display, derived_of=sha256, kind=_display_kind(limits.display_side)),)
    return sha256, facts, display, phash, staged


def _display_kind(side: int) -> str:
    return f"display-{side}"


async def photo_content(store: BlobStore, attachment: Attachment, display_side: int, *, original: bool = False) -> bytes:
    """What is served of a photo: its display copy (made now for photos kept before copies were), or with
    `original` the bytes as uploaded, the filed evidence."""
    # The store's reads wait on a disk or on the database: in a worker thread, not on the event loop.
    if original or not attachment.content_type.startswith("image/"):
        return await asyncio.to_thread(store.get, attachment.sha256)
    kind = _display_kind(display_side)
    copy = await asyncio.to_thread(store.get_derived, attachment.sha256, kind)
    if copy is None:
        content = await asyncio.to_thread(store.get, attachment.sha256)
        copy = await off_loop(display_copy, content, display_side)
        if copy is None:
            return content
        await asyncio.to_thread(store.put_derived, attachment.sha256, kind, copy)
    return copy


async def get_attachment(session: AsyncSession, actor: Principal, attachment_id: int) -> Attachment:
    found = (
        await session.execute(select(Attachment).where(col(Attachment.id) == attachment_id, visible_attachments(actor)))
    ).scalar()
    if found is None:
        raise NotFound("attachment", attachment_id)
    return found


def attachment_out(a: Attachment) -> schemas.AttachmentOut:
    return schemas.AttachmentOut(
        id=a.id or 0,
        sha256=a.sha256,
        content_type=a.content_type,
        size_bytes=a.size_bytes,
        original_name=a.original_name,
        uploaded_at=a.uploaded_at,
        uploaded_by=a.uploaded_by,
        claimed_taken_at=a.claimed_taken_at,
        exif_taken_at=a.exif_taken_at,
        exif_latitude=None if a.exif_latitude_micro is None else a.exif_latitude_micro / 1_000_000,
        exif_longitude=None if a.exif_longitude_micro is None else a.exif_longitude_micro / 1_000_000,
    )


def evidence_photo(attachment_id: int, shown_on: str) -> schemas.EvidencePhotoOut:
    return schemas.EvidencePhotoOut(attachment_id=attachment_id, shown_on=shown_on, url=f"/api/attachments/{attachment_id}", page_url=f"/photos/{attachment_id}")

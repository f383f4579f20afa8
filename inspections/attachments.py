"""Photos: uploaded before the record or fix report that shows them, stored by content, shown only within scope."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inspections import schemas
from inspections.photos import inspect_photo
from inspections.scope import owner_key, visible_attachments
from inspections.storage import BlobStore
from inspections.tables import Attachment
from supervision.core.access import Principal
from supervision.core.clock import utc_now
from supervision.core.errors import Conflict, InvalidInput, NotFound, TooLarge

# Attempts at a write that lost a race before giving up.
ATTEMPTS = 4


# Photos


async def upload_photo(
    session: AsyncSession,
    store: BlobStore,
    actor: Principal,
    content: bytes,
    original_name: str,
    claimed_taken_at: datetime | None,
    max_bytes: int,
) -> Attachment:
    """Keep a photo for a record to come (or a fix report). The same photo uploaded again by the same owner is
    the same attachment."""
    if len(content) > max_bytes:
        raise TooLarge(f"the file has {len(content)} bytes; the limit is {max_bytes} bytes ({max_bytes // (1024 * 1024)} MB)", zh=f"照片超过 {max_bytes // (1024 * 1024)} MB，请压缩后再上传", field="file")
    if not content:
        raise InvalidInput("the file is empty", zh="照片文件是空的", field="file")
    # Decoding the image and writing the file are CPU and disk work: in a worker thread, not on the event loop.
    facts = await asyncio.to_thread(inspect_photo, content)
    sha256 = await asyncio.to_thread(store.put, content)
    owner = owner_key(actor)
    for _ in range(ATTEMPTS):
        existing = (
            await session.execute(select(Attachment).where(Attachment.sha256 == sha256, Attachment.owner == owner))
        ).scalar()
        if existing is not None:
            return existing
        attachment = Attachment(
            sha256=sha256,
            owner=owner,
            content_type=facts.content_type,
            size_bytes=len(content),
            original_name=original_name[:200],
            uploaded_at=utc_now(),
            uploaded_by_user_id=actor.user_id,
            uploaded_by=actor.label,
            claimed_taken_at=claimed_taken_at,
            exif_taken_at=facts.exif_taken_at,
            exif_latitude_micro=facts.latitude_micro,
            exif_longitude_micro=facts.longitude_micro,
        )
        session.add(attachment)
        try:
            await session.commit()
            return attachment
        except IntegrityError:
            await session.rollback()
    raise Conflict("the same photo is being uploaded at the same time; retry")


async def get_attachment(session: AsyncSession, actor: Principal, attachment_id: int) -> Attachment:
    found = (
        await session.execute(select(Attachment).where(Attachment.id == attachment_id, visible_attachments(actor)))
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

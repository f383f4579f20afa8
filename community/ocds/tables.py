"""The releases as published: append-only (triggers refuse UPDATE and DELETE), each kept as the exact bytes served
with their SHA-256, so a published release never changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class PublishedRelease(SQLModel, table=True):
    __tablename__ = "ocds_releases"
    __table_args__ = (
        UniqueConstraint("release_id", name="uq_ocds_releases_release_id"),
        Index("ix_ocds_releases_ocid_sequence", "ocid", "sequence", unique=True),
    )

    id: int = surrogate_key()
    ocid: str = Field(max_length=120, index=True)
    release_id: str = Field(max_length=160)  # unique in the world: the OCID and the release's sequence number
    sequence: int  # 1, 2, 3 … within the OCID
    call_id: int = Field(index=True)  # the call it reports (community/calls), for the pages
    tag: str = Field(max_length=30)
    stage_status: str = Field(max_length=20)  # the call's status at this moment, for the public list
    title: str = Field(max_length=300)
    release_date: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # the release's own date
    published_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    body: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))  # the release's JSON, byte for byte as served
    sha256: str = Field(max_length=64)

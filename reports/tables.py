"""Documents the system issued: what they are and the sha256 of their bytes, so a copy can be checked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from supervision.core.db import UTCDateTime


class IssuedDocument(SQLModel, table=True):
    __tablename__ = "issued_documents"
    __table_args__ = (UniqueConstraint("kind", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=24, unique=True)  # in the verification address and the QR code
    kind: str = Field(max_length=20)  # batch_summary, payment_notice, estate_report
    subject: str = Field(max_length=80)  # e.g. "batch:3", "batch:3/company:7", "estate:12/2026-10/score:40"
    number: str = Field(max_length=40)  # the number printed on every page
    title: str = Field(max_length=200)
    total_fen: int | None = None
    checksum: str = Field(max_length=64)  # of the content (printed, first 16 characters)
    pdf_sha256: str = Field(max_length=64)  # of the bytes as issued
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

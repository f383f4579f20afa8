"""Documents the system issued: what they are and the sha256 of their bytes (kept in the blob store), so a copy can be
checked and the same bytes served again; append-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, fen_column, surrogate_key


class IssuedDocument(SQLModel, table=True):
    __tablename__ = "issued_documents"
    # One kept document per subject; documents issued before their bytes were kept (migration 0010) stay beside it.
    __table_args__ = (
        Index("uq_issued_documents_kept_kind_subject", "kind", "subject", unique=True, sqlite_where=text("kept"), postgresql_where=text("kept")),
    )

    id: int = surrogate_key()
    code: str = Field(max_length=32, unique=True)  # 128 random bits in hex: the verification address and the QR code
    kind: str = Field(max_length=20)  # batch_summary, payment_notice, estate_report, batch_lines
    subject: str = Field(max_length=80)  # e.g. "batch:3", "batch:3/company:7", "estate:12/2026-10/score:40"
    number: str = Field(max_length=40)  # the number printed on every page
    title: str = Field(max_length=200)
    total_fen: int | None = fen_column(nullable=True)
    checksum: str = Field(max_length=64)  # of the content (printed, first 16 characters)
    pdf_sha256: str = Field(max_length=64)  # of the bytes as issued (PDF or XLSX): their name in the blob store
    media_type: str = Field(default="application/pdf", max_length=80)
    pages: int | None = None  # of a PDF, printed as "共 N 页"
    kept: bool = True  # False only for documents issued before 0010, whose bytes were not kept
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

"""Helpers for evidence tests: photos made on the spot, record bodies, demo lookups."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from PIL import Image
from sqlalchemy import select

from foundation.clock import BUSINESS_TZ, business_today
from people.tables import User
from registry.tables import ContractEstate, ServiceContract

_counter = iter(range(1, 1_000_000))


def jpeg(gps: tuple[float, float] | None = None, taken: str | None = None) -> bytes:
    """A small JPEG, different every call, with EXIF time and GPS position when given."""
    n = next(_counter)
    image = Image.new("RGB", (64, 48), ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256))
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if gps:
        lat, lon = gps
        exif.get_ifd(0x8825).update(
            {1: "N", 2: (abs(lat), 0.0, 0.0), 3: "E", 4: (abs(lon), 0.0, 0.0)}
        )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def scan_png() -> bytes:
    """A small PNG, different every call: a scanned certificate or receipt (uploads are judged by decoding them)."""
    n = next(_counter)
    buffer = io.BytesIO()
    Image.new("L", (40, 30), (n * 29) % 256).save(buffer, "PNG")
    return buffer.getvalue()


def scan_pdf(text: str = "scanned") -> bytes:
    """A one-page PDF: a scanned document."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer)
    sheet.drawString(72, 720, text)
    sheet.save()
    return buffer.getvalue()


async def upload(client: Any, headers: dict[str, str], content: bytes | None = None, **form: str) -> int:
    response = await client.post("/api/attachments", files={"file": ("photo.jpg", content or jpeg(), "image/jpeg")}, data=form, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def recent(hours: float | None = None) -> str:
    """A moment `hours` ago; by default a moment of today's business day (an hour ago, or its first moment just after
    midnight in Shanghai), so that a test filing "today's" patrol does not file yesterday's between 00:00 and 01:00."""
    now = datetime.now(UTC)
    if hours is not None:
        return (now - timedelta(hours=hours)).isoformat()
    midnight = datetime.combine(business_today(), time(), BUSINESS_TZ)
    return max(now - timedelta(hours=1), midnight).isoformat()


def record_body(estate_id: int, *, failed: dict[str, list[int]] | None = None, passed: tuple[str, ...] = ("C01", "G01"), **extra: Any) -> dict[str, Any]:
    """A record body: `passed` items pass; each item of `failed` fails with a note and the given photo ids."""
    results: list[dict[str, Any]] = [{"item": code, "passed": True} for code in passed]
    for code, photos in (failed or {}).items():
        results.append({"item": code, "passed": False, "note": f"{code} 不合格", "photo_ids": photos})
    return {"client_id": str(uuid.uuid4()), "estate_id": estate_id, "inspected_at": recent(), "results": results} | extra


async def company_user_of(db: Any, estate_id: int) -> tuple[int, str]:
    """The company under contract for an estate today, and the username of its demo account."""
    async with db() as session:
        company_id = (
            await session.execute(
                select(ServiceContract.company_id)
                .join(ContractEstate, ContractEstate.contract_id == ServiceContract.id)
                .where(ContractEstate.estate_id == estate_id)
            )
        ).scalars().first()
        username = (await session.execute(select(User.username).where(User.company_id == company_id))).scalar_one()
    return company_id, username


async def other_company_user(db: Any, company_id: int) -> str:
    async with db() as session:
        return (
            await session.execute(select(User.username).where(User.company_id.is_not(None), User.company_id != company_id).order_by(User.id))  # type: ignore[union-attr]
        ).scalars().first()


async def principal(db: Any, username: str):  # type: ignore[no-untyped-def]
    """The principal a demo user acts as, for calling use cases directly (with a chosen `now`)."""
    from people.service import principal_of

    async with db() as session:
        return principal_of((await session.execute(select(User).where(User.username == username))).scalar_one())


async def approve_late(client: Any, officer: dict[str, str], record_id: int, reason: str = "补录：当日无信号，已核实") -> None:
    """The street officer approves a late record (filed more than 48 hours after its claimed time)."""
    response = await client.post(f"/api/inspections/{record_id}/late-decision", json={"approve": True, "reason": reason}, headers=officer)
    assert response.status_code == 201, response.text

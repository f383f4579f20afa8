"""The floor for the HTTP benchmarks: minimal Litestar routes on the same database with the same engine set-up,
and nothing else (no auth, no validation beyond the body, no audit): one insert, one select of a page of rows, and
a multipart upload read and recorded by one insert."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated

from litestar import Litestar, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery, JSONBody
from sqlalchemy import text

from foundation.db import create_engine

ENGINE = create_engine(os.environ["SUPERVISION_DATABASE_URL"])


async def _insert(client_id: str, body: str) -> int:
    async with ENGINE.begin() as connection:
        row = await connection.execute(
            text("INSERT INTO bench_floor (client_id, body, at) VALUES (:c, :b, :t) RETURNING id"),
            {"c": client_id, "b": body, "t": datetime.now(UTC).replace(tzinfo=None)},
        )
        return row.scalar_one()


@post("/floor", status_code=201)
async def insert_one(data: JSONBody[dict[str, object]]) -> dict[str, int]:
    return {"id": await _insert(str(data.get("client_id")), str(data))}


@get("/floor/read")
async def read_some(n: FromQuery[int] = 50) -> list[dict[str, object]]:
    async with ENGINE.connect() as connection:
        rows = await connection.execute(text("SELECT id, client_id, at FROM bench_floor ORDER BY id DESC LIMIT :n"), {"n": n})
        return [{"id": r.id, "client_id": r.client_id, "at": str(r.at)} for r in rows]


@post("/floor/upload", status_code=201)
async def upload_one(data: Annotated[dict[str, UploadFile], Body(media_type=RequestEncodingType.MULTI_PART)]) -> dict[str, int]:
    content = await data["file"].read()
    return {"id": await _insert(os.urandom(16).hex(), f"{len(content)} bytes")}


async def create_table() -> None:
    async with ENGINE.begin() as connection:
        await connection.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY "
                + ("AUTOINCREMENT" if ENGINE.dialect.name == "sqlite" else "GENERATED ALWAYS AS IDENTITY")
                + ", client_id VARCHAR(64) UNIQUE NOT NULL, body TEXT NOT NULL, at TIMESTAMP NOT NULL)"
            )
        )


def create_app() -> Litestar:
    # A photo upload may carry 10 MB plus its multipart envelope, as in the system.
    return Litestar([insert_one, read_some, upload_one], on_startup=[create_table], on_shutdown=[ENGINE.dispose], request_max_body_size=11 * 1024 * 1024)

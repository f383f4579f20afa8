"""The floor for the patrol benchmark: a minimal Litestar route that inserts one row into the same database with
the same engine set-up, and nothing else (no auth, no validation beyond the body, no audit)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from litestar import Litestar, post
from sqlalchemy import text

from supervision.core.db import create_engine

ENGINE = create_engine(os.environ["SUPERVISION_DATABASE_URL"])


@post("/floor", status_code=201)
async def insert_one(data: dict[str, object]) -> dict[str, int]:
    async with ENGINE.begin() as connection:
        row = await connection.execute(
            text("INSERT INTO bench_floor (client_id, body, at) VALUES (:c, :b, :t) RETURNING id"),
            {"c": str(data.get("client_id")), "b": str(data), "t": datetime.now(UTC).replace(tzinfo=None)},
        )
        return {"id": row.scalar_one()}


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
    return Litestar([insert_one], on_startup=[create_table], on_shutdown=[ENGINE.dispose])

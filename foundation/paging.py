"""Paged lists: one request shape, one response shape, one query helper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    page_size: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


async def fetch_page(session: AsyncSession, query: Select[Any], paging: PageRequest) -> tuple[list[Any], int]:
    """Rows of one page of `query` and the total count of its rows."""
    total = (await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one()
    rows = (await session.execute(query.limit(paging.page_size).offset(paging.offset))).scalars().all()
    return list(rows), int(total)

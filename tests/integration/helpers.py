"""Small lookups of the demo district for tests."""

from __future__ import annotations

import io
import re
from fractions import Fraction
from typing import Any

from pypdf import PdfReader
from sqlalchemy import func, select

from foundation.audit import AuditEntry
from registry.tables import Community, Estate


async def community_id(db: Any, code: str) -> int:
    async with db() as session:
        return (await session.execute(select(Community.id).where(Community.code == code))).scalar_one()


async def estate_ids_of(db: Any, community_code: str) -> list[int]:
    async with db() as session:
        return list(
            (
                await session.execute(
                    select(Estate.id).join(Community, Community.id == Estate.community_id).where(Community.code == community_code).order_by(Estate.id)
                )
            ).scalars()
        )


async def count(db: Any, model: Any, *conditions: Any) -> int:
    async with db() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*conditions))).scalar_one()


async def audit_count(db: Any, action: str | None = None) -> int:
    return await count(db, AuditEntry, *( [AuditEntry.action == action] if action else []))


def assert_problem(response: Any, status: int, *fragments: str) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with this status whose detail mentions each fragment."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers["content-type"]
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]
    return body


def pdf_text(content: bytes) -> str:
    """The text of a PDF as a reader's tool extracts it."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def waiting_on(client: Any, headers: dict[str, str], title_part: str) -> list[dict[str, Any]]:
    """The unread notifications of the user of `headers` whose title mentions `title_part`: what they are told waits
    on them (a notice is settled, read, once the thing is done, whoever did it)."""
    answer = await client.get("/api/notifications?unread=true&page_size=200", headers=headers)
    assert answer.status_code == 200, answer.text
    return [n for n in answer.json()["items"] if title_part in n["title"]]


def todo_count(home: str, title: str) -> int:
    """How many things the to-do line `title` of a home page counts (0 when the line is not there)."""
    found = re.search(rf'<span class="todo-title">{re.escape(title)}</span>\s*<span class="todo-count" aria-label="(\d+) 项">', home)
    return int(found.group(1)) if found else 0


async def adjust(client: Any, api: str, batch_id: int, body: dict[str, Any], proposer: dict[str, str], approver: dict[str, str]) -> Any:
    """A correction of an issued batch as it is made: one officer proposes it (`api`: "/api/subsidies" or
    "/api/programmes/<code>"), another approves it; answers the approval, whose body is the adjustment batch."""
    proposed = await client.post(f"{api}/batches/{batch_id}/adjustments", json=body, headers=proposer)
    assert proposed.status_code == 202, proposed.text
    approved = await client.post(f"{api}/adjustments/{proposed.json()['id']}/approve", headers=approver)
    assert approved.status_code == 201, approved.text
    return approved


def assert_refused_page(response: Any, status: int, *fragments: str) -> None:
    """The answer is the refusal page a browser shows, in Chinese (never the API's English problem+json)."""
    assert response.status_code == status, (response.status_code, response.text[-400:])
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    assert ("无权访问" if status == 403 else "找不到该记录") in response.text
    for fragment in fragments:
        assert fragment in response.text, response.text[-400:]


def link_named(html: str, text: str) -> str:
    """The address of the first link on a page that reads `text` (a page link, never the API's)."""
    found = re.search(rf'<a href="([^"]+)"[^>]*>{re.escape(text)}</a>', html)
    assert found, f"no link reading {text!r}"
    assert not found.group(1).startswith("/api/"), f"{text!r} links to the API, which a page's session cannot open: {found.group(1)}"
    return found.group(1)


def roomiest(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The property line a correction can raise furthest: a correction never pays a line past its estate's area at
    the best coefficient for its days, so the line with the most room under it (not vetoed, priced below the best
    coefficient, the largest share of its amount left to it). Which line is first in a run depends on the generated
    evidence; a test that raises a line by a few yuan takes this one."""
    priced = [line for line in lines if not line["vetoed"] and 0 < Fraction(line["coefficient"]) < 1]
    assert priced, "no line priced below the best coefficient"
    return max(priced, key=lambda line: line["amount_fen"] * (1 / Fraction(line["coefficient"]) - 1))

"""The finance desk (/programmes): every programme that pays through the system on one page, with the year's
budget, what its batches paid and what waits, figures that add up to what the batches and budgets store."""

from __future__ import annotations

import re
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlmodel import col

from foundation.clock import BUSINESS_TZ, business_today
from foundation.money import yuan
from subsidies.engine.registry import programmes
from subsidies.engine.tables import Budget, ProgrammeBatch
from tests.integration.test_pages import page_login


def row_of(html: str, code: str) -> list[str]:
    """The cells of a programme's row, as text."""
    row = re.search(rf'<tr id="programme-{code}">(.*?)</tr>', html, re.S)
    assert row, code
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


async def test_finance_sees_every_programme_with_figures_that_match_the_batches_and_budgets(client, db) -> None:  # type: ignore[no-untyped-def]
    year = business_today().year
    start, end = datetime.combine(date(year, 1, 1), time.min, BUSINESS_TZ), datetime.combine(date(year + 1, 1, 1), time.min, BUSINESS_TZ)
    await page_login(client, "finance")
    answer = await client.get("/programmes")
    assert answer.status_code == 200 and "财政总览" in answer.text
    codes = [of.code for of in programmes()]
    assert {"relief", "care", "activity_funds", "community_tranches"} <= set(codes), codes
    async with db() as session:
        for code in codes:
            cells = row_of(answer.text, code)
            if code == "property":
                paid = (await session.execute(select(func.coalesce(func.sum(ProgrammeBatch.total_fen), 0)).where(ProgrammeBatch.programme == code, col(ProgrammeBatch.issued_at) >= start, col(ProgrammeBatch.issued_at) < end))).scalar_one()
                assert cells[1] == "—" and cells[4] == yuan(int(paid)), cells
                continue
            budget, spent = (await session.execute(select(func.coalesce(func.sum(Budget.amount_fen), 0), func.coalesce(func.sum(Budget.spent_fen), 0)).where(Budget.programme == code, Budget.year == year))).one()
            paid = (await session.execute(select(func.coalesce(func.sum(ProgrammeBatch.total_fen), 0)).where(ProgrammeBatch.programme == code, col(ProgrammeBatch.issued_at) >= start, col(ProgrammeBatch.issued_at) < end))).scalar_one()
            assert cells[4] == yuan(int(paid)), (code, cells)
            if budget:
                assert cells[1:4] == [yuan(int(budget)), yuan(int(spent)), yuan(int(budget - spent))], (code, cells)
    # The four relief funds hold 10,000,000 yuan together (RULES.md), and the demo paid some of it.
    relief = row_of(answer.text, "relief")
    assert relief[1] == "10,000,000.00" and relief[4] != "0.00" and relief[7].startswith("JZJJ-")


async def test_the_desk_is_for_finance_and_the_district_and_refuses_a_year_it_cannot_show(client) -> None:  # type: ignore[no-untyped-def]
    await page_login(client, "xbl-officer")
    assert (await client.get("/programmes")).status_code == 403
    client.cookies.clear()
    await page_login(client, "admin")
    assert (await client.get("/programmes", params={"year": business_today().year - 1})).status_code == 200
    refused = await client.get("/programmes", params={"year": 1999})
    assert refused.status_code == 400 and "年份应在" in refused.text

"""A second programme added without touching the engine: "activity funds" claimed with invoices by a community,
confirmed by its street, approved by finance, paid once per invoice out of a budget per street. Its rules, table
and routes are written here (in the tests, not in the product), registered, and run through the engine: a run,
the approval steps in order, a batch issued exactly once (retries, two people at the same moment), a budget that
never goes below zero (a clear 409, and the database's CHECK behind it), and the documents made from the batch."""

from __future__ import annotations

import asyncio
import io
import subprocess
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Annotated

import httpx
import msgspec
import openpyxl
import pytest
import sqlalchemy as sa
from litestar import Controller, Litestar, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from foundation.access import Principal, Role
from foundation.db import create_engine, create_session_factory, unit_of_work, writing
from foundation.errors import Conflict, RuleViolation
from foundation.money import yuan
from foundation.periods import Month, period_zh
from foundation.schemas import Strict
from foundation.settings import load_settings
from foundation.web.auth import allow
from foundation.web.body import StrictBody
from people.queries import principal_named
from people.tables import User
from registry.tables import Community
from subsidies.engine import service as engine
from subsidies.engine.queries import registry_names
from subsidies.engine.registry import DescribedLine, DocumentColumn, Documents, LineView, Payers, Priced, Programme, register, without_limit
from subsidies.engine.rules import LineDraft, Party, PayerSplit, Step
from subsidies.engine.tables import Budget, PaidLine, ProgrammeBatch, ProgrammeRun
from supervision.app import create_app
from tests.database import migrated_demo_database
from tests.integration.helpers import adjust, waiting_on

CODE = "activity_test"
LAST_MONTH = Month.of_instant(datetime.now(UTC)).previous()

# The programme's table (its own metadata: it is no table of the product).
metadata = sa.MetaData()
claims = sa.Table(
    "activity_test_claims", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("community_id", sa.Integer, nullable=False),
    sa.Column("street_id", sa.Integer, nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("invoice", sa.String(40), nullable=False, unique=True),  # an invoice is claimed once, ever
    sa.Column("amount_fen", sa.Integer, nullable=False),
)


# Its rules: pure.
CAP_FEN = 5_000_000  # a claim never pays more than 50,000 yuan


def claim_line(claim_id: int, community_id: int, street_id: int, month: str, invoice: str, amount_fen: int) -> LineDraft:
    return LineDraft(
        key=f"invoice:{invoice}", payee=Party("community", community_id), holder=Party("street", street_id), beneficiary=Party("community", community_id),
        period=month, amount_fen=min(amount_fen, CAP_FEN), reason=f"活动经费报销（发票 {invoice}）", evidence=f"claim:{claim_id}",
    )


# Its service: price a month from the claims.
async def price(session: AsyncSession, period: str) -> Priced:
    rows = (await session.execute(sa.select(claims).where(claims.c.month == period).order_by(claims.c.id))).all()
    return Priced("rules-of-the-test-programme".ljust(64, "0"), [claim_line(r.id, r.community_id, r.street_id, r.month, r.invoice, r.amount_fen) for r in rows])


async def describe(session: AsyncSession, lines: Sequence[LineView]) -> dict[int, DescribedLine]:
    names = await registry_names(session, {line.beneficiary for line in lines})
    return {line.id: DescribedLine([names[line.beneficiary], line.period, line.reason], [line.period, line.evidence]) for line in lines}


async def names(session: AsyncSession, parties: Collection[Party]) -> dict[Party, str]:
    return await registry_names(session, parties)


def check_period(text: str) -> str:
    month = Month.parse(text, "period")
    if month.last_day >= datetime.now(UTC).date():
        raise RuleViolation(f"{month} has not ended", field="period")
    return str(month)


ACTIVITY = Programme(
    code=CODE,
    name="社区活动经费",
    number_prefix="HDJF",
    steps=(
        Step("confirm", frozenset({Role.STREET_OFFICER}), "confirmed", per_holder=True, zh="街道审核"),
        Step("approve", frozenset({Role.FINANCE}), "approved", zh="区财政审批"),
    ),
    runs_by=frozenset({Role.FINANCE}),
    payers=lambda: Payers(Fraction(0), PayerSplit("city", "half_up")),  # the district pays alone
    price=price,
    check_period=check_period,
    names=names,
    documents=Documents(
        summary_title="社区活动经费拨付汇总表", notice_title="社区活动经费拨付通知书", sheet_title="活动经费拨付明细",
        columns=(DocumentColumn("社区", 50), DocumentColumn("月份", 18), DocumentColumn("事由", 80)), sheet_headers=("月份", "依据"), describe=describe,
        holder_title="街道", payee_title="社区",
    ),
    holder_of=lambda principal: Party("street", principal.street_id) if principal.street_id else None,
    budget="holder",
    most_for_line=without_limit,  # an invoice's amount may have been entered too low: a correction pays the rest
)


# Its routes: a committee director claims an invoice.
class ClaimIn(Strict):
    invoice: Annotated[str, msgspec.Meta(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
    amount_fen: Annotated[int, msgspec.Meta(ge=1, le=10**10)]
    month: str


class ClaimOut(msgspec.Struct):
    id: int


class ClaimController(Controller):
    path = "/api/activity-test/claims"
    guards = [allow({Role.COMMITTEE_DIRECTOR}, "claiming activity funds")]

    @post("/", dto=StrictBody[ClaimIn], return_dto=None)
    async def claim_activity_funds(self, data: JSONBody[ClaimIn], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> ClaimOut:
        street = (await db.execute(sa.select(Community.street_id).where(Community.id == principal.community_id))).scalar_one()
        try:
            async with db.begin_nested():
                new = (await db.execute(claims.insert().values(community_id=principal.community_id, street_id=street, month=data.month, invoice=data.invoice, amount_fen=data.amount_fen))).inserted_primary_key
        except IntegrityError:
            raise Conflict(f"invoice {data.invoice} was already claimed") from None
        assert new is not None
        return ClaimOut(id=new[0])


register(ACTIVITY)


@pytest.fixture(scope="module")
def programme_app(engine: AsyncEngine, database_url: str) -> Litestar:
    app = create_app(load_settings(database_url=database_url), engine=engine)
    app.register(ClaimController)
    return app


@pytest.fixture
async def api(programme_app: Litestar, engine: AsyncEngine) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncConnection]]:
    """The programme's app inside one rolled-back transaction, its table made in it."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        await connection.run_sync(metadata.create_all)
        original = programme_app.state.session_factory, programme_app.state.write_session_factory, programme_app.state.lookup
        joined = create_session_factory(connection, join_transaction_mode="create_savepoint")
        programme_app.state.session_factory = programme_app.state.write_session_factory = programme_app.state.lookup = joined
        transport = httpx.ASGITransport(app=programme_app, raise_app_exceptions=True)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local", headers={"user-agent": "testclient"}) as client:
                yield client, connection
        finally:
            programme_app.state.session_factory, programme_app.state.write_session_factory, programme_app.state.lookup = original
            await transaction.rollback()


async def login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    from supervision.demo import DEMO_PASSWORD

    answer = await client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def pdf_text(content: bytes, folder: Path) -> str:
    path = folder / "programme.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


async def test_a_programme_written_in_the_tests_pays_its_claims_through_the_engine_once(api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client, connection = api
    admin, finance, officer, director = [await login(client, u) for u in ("admin", "finance", "xbl-officer", "xbl01-director")]
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    budget = await client.put(f"/api/programmes/{CODE}/budgets", json={"year": LAST_MONTH.first_day.year, "holder": f"street:{street}", "amount_fen": 25_000_000}, headers=admin)
    assert budget.status_code == 200, budget.text
    for invoice, amount in (("INV-0001", 120_000), ("INV-0002", 80_050)):
        claimed = await client.post("/api/activity-test/claims", json={"invoice": invoice, "amount_fen": amount, "month": str(LAST_MONTH)}, headers=director)
        assert claimed.status_code == 201, claimed.text

    started = await client.post(f"/api/programmes/{CODE}/runs", json={"period": str(LAST_MONTH)}, headers=finance)
    assert started.status_code == 201, started.text
    run = started.json()
    assert (run["state"], run["lines"], run["total_fen"], run["city_fen"], run["district_fen"]) == ("draft", 2, 200_050, 0, 200_050)
    lines = (await client.get(f"/api/programmes/{CODE}/runs/{run['id']}/lines", headers=finance)).json()["items"]
    assert {line["key"] for line in lines} == {"invoice:INV-0001", "invoice:INV-0002"} and all(line["payee"].startswith("community:") for line in lines)

    # The draft waits on the street's officer, who is told so; finance is told only when its turn comes.
    title = f"社区活动经费{period_zh(str(LAST_MONTH))}核算"
    assert [n["link"] for n in await waiting_on(client, officer, f"{title}待街道审核")] == ["/programmes"]
    assert await waiting_on(client, await login(client, "finance2"), f"{title}待区财政审批") == []
    # The steps in their order, each by its role: finance cannot approve what the street has not confirmed.
    early = await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/approvals/approve", headers=finance)
    assert early.status_code == 409, early.text
    assert (await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/batch", headers=finance)).status_code == 409
    assert (await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/approvals/confirm", headers=finance)).status_code == 403
    confirmed = await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/approvals/confirm", headers=officer)
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed", confirmed.text
    assert (await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/approvals/confirm", headers=officer)).status_code == 409
    assert await waiting_on(client, officer, f"{title}待街道审核") == []  # done
    # Now it waits on finance: on the second officer, not on the one who started the run and may not approve it.
    assert len(await waiting_on(client, await login(client, "finance2"), f"{title}待区财政审批")) == 1
    assert await waiting_on(client, finance, f"{title}待区财政审批") == []
    # Finance started the run, so another finance officer approves it (separation of duties).
    assert (await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/approvals/approve", headers=finance)).status_code == 403
    approved = await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/approvals/approve", headers=await login(client, "finance2"))
    assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text
    assert await waiting_on(client, await login(client, "finance2"), f"{title}待区财政审批") == []
    assert len(await waiting_on(client, finance, f"{title}已审批、待生成拨付批次")) == 1

    # The payee's account as the administrator recorded it before the batch was issued.
    payee_kind, payee_id = lines[0]["payee"].split(":")
    account = {"bank_name": "天津银行和平支行", "bank_account": "6217 0000 1234 5678 901"}
    assert (await client.put(f"/api/payee-accounts/{payee_kind}/{payee_id}", json=account, headers=admin)).status_code == 200

    # Issued once: a retry answers the same batch.
    first = await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/batch", headers=finance)
    retry = await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/batch", headers=finance)
    assert first.status_code == 200, first.text
    assert retry.json() == first.json()
    assert await waiting_on(client, finance, f"{title}已审批、待生成拨付批次") == []
    batch = first.json()
    assert batch["number"] == f"HDJF-{LAST_MONTH}-001" and batch["total_fen"] == 200_050 and batch["lines"] == 2
    left = (await client.get(f"/api/programmes/{CODE}/budgets", headers=finance)).json()
    assert [(b["holder"], b["spent_fen"], b["left_fen"]) for b in left] == [(f"street:{street}", 200_050, 25_000_000 - 200_050)]

    # The documents were made as the batch was issued, from the engine's batch.
    summary = await client.get(f"/api/programmes/batches/{batch['id']}/summary.pdf", headers=finance)
    assert summary.status_code == 200 and summary.headers["content-type"] == "application/pdf", summary.text
    text = pdf_text(summary.content, tmp_path)
    assert "社区活动经费拨付汇总表" in text and batch["number"] in text and "2,000.50" in text and "街道审核" in text and "INV-0002" in text
    community = lines[0]["payee"].split(":")[1]
    notice = await client.get(f"/api/programmes/batches/{batch['id']}/notices/community/{community}", headers=finance)
    notice_text = pdf_text(notice.content, tmp_path)
    assert notice.status_code == 200 and "社区活动经费拨付通知书" in notice_text
    assert "开户银行" in notice_text and account["bank_name"] in notice_text and account["bank_account"] in notice_text
    # An account changed after the batch was issued: the notice issued keeps the account it was issued with.
    changed = {"bank_name": "中国银行天津和平支行", "bank_account": "1111 2222 3333 4444"}
    assert (await client.put(f"/api/payee-accounts/{payee_kind}/{payee_id}", json=changed, headers=admin)).status_code == 200
    assert (await client.get(f"/api/programmes/batches/{batch['id']}/notices/community/{community}", headers=finance)).content == notice.content
    # Both are official documents: the issuing authority and the date written below it, the lines to sign, people by
    # name and post, never an account and its role key.
    for official in (text, notice_text):
        assert "区财政局" in official and "年" in official.split("区财政局")[-1] and all(f"{line}：" in official for line in ("经办", "复核", "审批"))
        assert "(finance)" not in official and "(street_officer)" not in official
    sheet = await client.get(f"/api/programmes/batches/{batch['id']}/lines.xlsx", headers=finance)
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet.content), read_only=True)["明细"].iter_rows(values_only=True))
    assert rows[0][:5] == ("批次编号", "街道", "社区", "开户银行", "银行账号") and round(rows[-1][-3] * 100) == 200_050
    assert all(row[3:5] == (account["bank_name"], account["bank_account"]) for row in rows[1:-1]), rows  # every line, as issued
    assert len(set(rows[0])) == len(rows[0]), rows[0]  # each column named once

    # Two adjustments of the same line: the second one's 原金额 is what the line paid with the first (not its
    # original amount), so that 原金额 + 差额 = 应付 on its row. An adjustment batch has its summary only: its
    # spreadsheet and notices are not "not made yet" (409, make them with POST) but do not exist (404).
    line = next(line for line in lines if line["key"] == "invoice:INV-0001")
    adjusted = []
    for n, corrected in enumerate((line["amount_fen"] + 3_000, line["amount_fen"] + 2_000)):
        body = {"client_id": f"programme-adjustment-{n}", "reason": "发票金额复核", "corrections": [{"line_id": line["id"], "amount_fen": corrected}]}
        answer = await adjust(client, f"/api/programmes/{CODE}", batch["id"], body, finance, await login(client, "finance2"))
        adjusted.append(answer.json())
    second = await client.get(f"/api/programmes/batches/{adjusted[1]['id']}/summary.pdf", headers=finance)
    assert second.status_code == 200, second.text
    row = next(r for r in pdf_text(second.content, tmp_path).splitlines() if r.split()[-1:] == ["-10.00"] and "调整合计" not in r and "合计" not in r.split()[:1])
    assert row.split()[-3:] == [yuan(line["amount_fen"] + 3_000), yuan(line["amount_fen"] + 2_000), "-10.00"], row
    made = await client.post(f"/api/programmes/batches/{adjusted[1]['id']}/documents", headers=finance)
    assert made.status_code == 200 and [d["kind"] for d in made.json()] == ["batch_summary"], made.text
    for path in ("lines.xlsx", f"notices/{line['payee'].replace(':', '/')}"):
        absent = await client.get(f"/api/programmes/batches/{adjusted[1]['id']}/{path}", headers=finance)
        assert absent.status_code == 404, (path, absent.text)
    genuine = (await client.post("/api/documents/verify", files={"file": ("s.pdf", summary.content, "application/pdf")})).json()
    assert genuine["genuine"] and genuine["number"] == batch["number"]
    # A download writes nothing, and the company of another programme sees nothing of this one.
    assert (await client.get(f"/api/programmes/batches/{batch['id']}/summary.pdf", headers=director)).status_code == 403

    # The same invoice is never paid again: a supplementary run has nothing left (and is refused, not left as an
    # empty draft that would wait on approvals nobody can give), and the database refuses a second payment.
    again = await client.post(f"/api/programmes/{CODE}/runs", json={"period": str(LAST_MONTH), "supplementary": True}, headers=finance)
    assert again.status_code == 422 and "没有可拨付的条目" in again.json()["detail_zh"], again.text
    assert (await connection.execute(sa.select(sa.func.count()).select_from(ProgrammeRun).where(ProgrammeRun.programme == CODE))).scalar_one() == 1
    savepoint = await connection.begin_nested()
    with pytest.raises(IntegrityError):
        await connection.execute(sa.insert(PaidLine).values(programme=CODE, line_key="invoice:INV-0001", batch_id=batch["id"], line_id=lines[1]["id"]))
    await savepoint.rollback()


async def test_a_batch_that_would_take_a_budget_below_zero_is_refused_and_nothing_is_paid(api) -> None:  # type: ignore[no-untyped-def]
    client, connection = api
    admin, finance, officer, director = [await login(client, u) for u in ("admin", "finance", "xbl-officer", "xbl01-director")]
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    holder = f"street:{street}"
    await client.put(f"/api/programmes/{CODE}/budgets", json={"year": LAST_MONTH.first_day.year, "holder": holder, "amount_fen": 100_000}, headers=admin)
    await client.post("/api/activity-test/claims", json={"invoice": "INV-0100", "amount_fen": 100_001, "month": str(LAST_MONTH)}, headers=director)
    run = (await client.post(f"/api/programmes/{CODE}/runs", json={"period": str(LAST_MONTH)}, headers=finance)).json()
    await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/approvals/confirm", headers=officer)
    await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/approvals/approve", headers=await login(client, "finance2"))

    refused = await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/batch", headers=finance)
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json"), refused.text
    assert "budget" in refused.json()["detail"] and "1,000.01" in refused.json()["detail"] and "1,000.00 yuan left" in refused.json()["detail"]
    street_name = (await client.get(f"/api/registry/streets/{street}", headers=admin)).json()["name"]
    assert f"年{street_name}需 1,000.01 元，余额 1,000.00 元" in refused.json()["detail_zh"], refused.json()["detail_zh"]  # the street by its name
    assert (await connection.execute(sa.select(sa.func.count()).select_from(ProgrammeBatch).where(ProgrammeBatch.programme == CODE))).scalar_one() == 0
    assert (await connection.execute(sa.select(Budget.spent_fen).where(Budget.programme == CODE, Budget.holder == holder))).scalar_one() == 0
    assert (await client.get(f"/api/programmes/{CODE}/runs/{run['id']}", headers=finance)).json()["state"] == "approved"
    # Nor can a budget be cut below what was spent, and the database itself refuses a balance below zero.
    assert (await client.put(f"/api/programmes/{CODE}/budgets", json={"year": LAST_MONTH.first_day.year, "holder": holder, "amount_fen": -1}, headers=admin)).status_code == 400
    # A budget is granted to a holder the programme knows, never to one made up.
    for unknown in ("street:999999", "bogus:99", "street"):
        refused = await client.put(f"/api/programmes/{CODE}/budgets", json={"year": LAST_MONTH.first_day.year, "holder": unknown, "amount_fen": 100}, headers=admin)
        assert refused.status_code == 422 and "holder" in refused.json()["detail"] and "预算归属方" in refused.json()["detail_zh"], refused.text
    savepoint = await connection.begin_nested()
    with pytest.raises(IntegrityError, match="(?i)within_budget"):
        await connection.execute(sa.update(Budget).where(Budget.programme == CODE, Budget.holder == holder).values(spent_fen=Budget.spent_fen + 100_001))
    await savepoint.rollback()
    # Raised, the same batch goes through.
    await client.put(f"/api/programmes/{CODE}/budgets", json={"year": LAST_MONTH.first_day.year, "holder": holder, "amount_fen": 100_001}, headers=admin)
    assert (await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/batch", headers=finance)).status_code == 200


async def test_an_adjustment_is_proposed_by_one_officer_approved_by_another_and_numbers_run_on(api) -> None:  # type: ignore[no-untyped-def]
    client, _ = api
    admin, finance, finance2, officer, director = [await login(client, u) for u in ("admin", "finance", "finance2", "xbl-officer", "xbl01-director")]
    street = (await client.get("/api/auth/me", headers=officer)).json()["street_id"]
    await client.put(f"/api/programmes/{CODE}/budgets", json={"year": LAST_MONTH.first_day.year, "holder": f"street:{street}", "amount_fen": 10_000_000}, headers=admin)

    async def paid(invoice: str, supplementary: bool) -> dict:  # type: ignore[type-arg]
        await client.post("/api/activity-test/claims", json={"invoice": invoice, "amount_fen": 50_000, "month": str(LAST_MONTH)}, headers=director)
        run = (await client.post(f"/api/programmes/{CODE}/runs", json={"period": str(LAST_MONTH), "supplementary": supplementary}, headers=finance)).json()
        await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/approvals/confirm", headers=officer)
        await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/approvals/approve", headers=finance2)
        return (await client.post(f"/api/programmes/{CODE}/runs/{run['id']}/batch", headers=finance)).json()  # type: ignore[no-any-return]

    batch = await paid("INV-0200", supplementary=False)
    line = (await client.get(f"/api/programmes/{CODE}/runs/{batch['run_id']}/lines", headers=finance)).json()["items"][0]
    body = {"client_id": "engine-adjust-1", "reason": "发票金额更正", "corrections": [{"line_id": line["id"], "amount_fen": 45_000}]}
    proposed = await client.post(f"/api/programmes/{CODE}/batches/{batch['id']}/adjustments", json=body, headers=finance)
    assert proposed.status_code == 202 and proposed.json()["delta_fen"] == -5_000, proposed.text
    assert (await client.get(f"/api/programmes/{CODE}/budgets", headers=finance)).json()[0]["spent_fen"] == 50_000  # nothing moved yet
    changed = await client.post(f"/api/programmes/{CODE}/batches/{batch['id']}/adjustments", json=body | {"reason": "另一说明"}, headers=finance)
    assert changed.status_code == 409, changed.text
    assert len(await waiting_on(client, finance2, "社区活动经费更正待审批")) == 1
    own = await client.post(f"/api/programmes/{CODE}/adjustments/{proposed.json()['id']}/approve", headers=finance)
    assert own.status_code == 403 and own.json()["rule"] == "approve_own_adjustment", own.text
    approved = await client.post(f"/api/programmes/{CODE}/adjustments/{proposed.json()['id']}/approve", headers=finance2)
    assert approved.status_code == 201 and approved.json()["number"] == f"{batch['number']}-ADJ01" and approved.json()["total_fen"] == -5_000, approved.text
    assert (await client.post(f"/api/programmes/{CODE}/adjustments/{proposed.json()['id']}/approve", headers=finance2)).json() == approved.json()
    assert (await client.get(f"/api/programmes/{CODE}/budgets", headers=finance)).json()[0]["spent_fen"] == 45_000
    assert (await client.get(f"/api/programmes/{CODE}/adjustments", headers=finance)).json() == []
    # The period's next run's batch takes the next number: the adjustment is no run's batch.
    assert (await paid("INV-0201", supplementary=True))["number"] == f"HDJF-{LAST_MONTH}-002"


async def test_a_budget_beyond_21_million_yuan_is_stored_to_the_fen(api) -> None:  # type: ignore[no-untyped-def]
    """2^31 fen is 21,474,836.48 yuan, the limit of a 32-bit column; a district's yearly budget passes it, and the
    API accepts up to 10^13 fen, so every money column holds 64 bits."""
    client, _ = api
    admin = await login(client, "admin")
    for amount in (3_000_000_001, 10**13):
        put = await client.put(f"/api/programmes/{CODE}/budgets", json={"year": LAST_MONTH.first_day.year, "holder": "street:1", "amount_fen": amount}, headers=admin)
        assert put.status_code == 200, put.text
        budgets = (await client.get(f"/api/programmes/{CODE}/budgets", headers=admin)).json()
        assert [b["amount_fen"] for b in budgets if b["holder"] == "street:1"] == [amount]


async def account(session: AsyncSession, username: str) -> Principal:
    found = await principal_named(session, username)
    assert found is not None, username
    return found


async def test_two_people_issuing_at_the_same_moment_get_one_batch_and_never_overdraw_the_budget(tmp_root) -> None:
    """Real concurrency, in a database of its own: two finance officers issue two approved runs at the same moment,
    each run twice; the budget can pay either run but not both. One batch, answered to both who issued it; the
    other run refused for the budget; the budget spent exactly once."""
    url = await migrated_demo_database(tmp_root, "programme_engine")
    engine_ = create_engine(url)
    try:
        async with engine_.begin() as connection:
            await connection.run_sync(metadata.create_all)
            community, street = (await connection.execute(sa.select(Community.id, Community.street_id).order_by(Community.id).limit(1))).one()
        factory = create_session_factory(writing(engine_))
        async with factory() as session:  # the demo's accounts: finance starts, finance2 approves (separation of duties)
            officer_name = (await session.execute(sa.select(User.username).where(User.role == "street_officer", User.street_id == street).limit(1))).scalar_one()
            finance, other_finance, admin, officer = [await account(session, name) for name in ("finance", "finance2", "admin", officer_name)]
        year = LAST_MONTH.first_day.year - 1
        async with unit_of_work(factory) as session:
            await engine.set_budget(session, admin, CODE, year, f"street:{street}", 150_000)
        runs = []
        for month in (f"{year}-03", f"{year}-04"):
            async with unit_of_work(factory) as session:
                await session.execute(claims.insert().values(community_id=community, street_id=street, month=month, invoice=f"RACE-{month}", amount_fen=100_000))
                await session.commit()
                run = await engine.start_run(session, finance, CODE, month)
                await engine.approve(session, officer, run.id or 0, "confirm")
                await engine.approve(session, other_finance, run.id or 0, "approve")
                runs.append(run.id or 0)

        async def issue(who: Principal, run_id: int) -> int | str:
            async with unit_of_work(factory) as session:
                try:
                    return (await engine.issue_batch(session, who, run_id)).id or 0
                except Conflict as refused:
                    return refused.detail

        outcome = await asyncio.gather(*(issue(who, run_id) for run_id in runs for who in (finance, other_finance)))
        issued = [o for o in outcome if isinstance(o, int)]
        refused = [o for o in outcome if isinstance(o, str)]
        assert len(issued) == 2 and len(set(issued)) == 1, outcome
        assert len(refused) == 2 and all("budget" in o for o in refused), outcome
        async with factory() as session:
            spent, granted = (await session.execute(sa.select(Budget.spent_fen, Budget.amount_fen).where(Budget.programme == CODE))).one()
            batches = (await session.execute(sa.select(sa.func.count()).select_from(ProgrammeBatch).where(ProgrammeBatch.programme == CODE))).scalar_one()
        assert batches == 1 and spent == 100_000 and granted == 150_000
    finally:
        await engine_.dispose()
